/* SPDX-License-Identifier: MIT */
/*
 * debug.h - debug caches: USLAB_DEBUG, their object layout, their checks.
 *
 * A cache is a debug cache when it has any of SLAB_CONSISTENCY_CHECKS (F),
 * SLAB_RED_ZONE (Z), SLAB_POISON (P), SLAB_STORE_USER (U) or SLAB_TRACE
 * (T), from kmem_cache_create() or from USLAB_DEBUG.  Every allocation
 * and free of a debug cache goes through this layer to the slab lists;
 * its CPU slots keep the capacity-0 sentinel magazine, so the fast paths
 * fail over to the locked paths, which test US_CACHE_DEBUG once: caches
 * without debugging pay nothing on the fast path and one predictable
 * branch on the locked one.
 *
 * Object layout of a debug cache, one stride of `size` bytes (slab.c
 * adds the first object's left red zone before the slab's base):
 *
 *   | object | right red zone | free pointer | alloc track | free track |
 *   ^ obj      [Z]              [P, Z, ctor]    [U]           [U]
 *   | padding (0x5a) | left red zone of the next object [Z] |
 *
 * Values are the kernel's: red zones 0xcc while the object is allocated
 * and 0xbb while it is free; a free object of a P cache without a
 * constructor holds 0x6b with a last byte of 0xa5, which is also what
 * a new object holds until the caller writes it.
 *
 * A damaged object is reported in SLUB's words through bug.h, with its
 * trailer (the slab, the object, its owners, a hex dump of each part);
 * by default the damage is repaired and the program continues, as SLUB
 * does; with X in USLAB_DEBUG the process aborts after the report.
 *
 * debug.c calls nothing in slab.c or above it: slab.c calls it with
 * what it knows (the slab, the object), and drives the debug cache's
 * allocations, frees and walks; the free pointer in a report is read
 * with slab.h's us_slab_fp_peek().
 *
 * Locking: checks of a free object run under the cache's slab lock (the
 * object is on a list); those of an allocated object run with no lock
 * (it is the caller's).  Reports take the report lock (bug.h).
 */
#ifndef USLAB_DEBUG_H
#define USLAB_DEBUG_H

#include <stdbool.h>
#include <stdint.h>

#include "bug.h"
#include "internal.h"

/* The SLAB_* flags that make a cache a debug cache. */
#define US_DEBUG_FLAGS                                                      \
	(SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON |            \
	 SLAB_STORE_USER | SLAB_TRACE)

/* The kernel's byte values (include/linux/poison.h). */
#define US_RED_INACTIVE 0xbb
#define US_RED_ACTIVE 0xcc
#define US_POISON_INUSE 0x5a
#define US_POISON_FREE 0x6b
#define US_POISON_END 0xa5

/* Parse USLAB_DEBUG (once, at start-up); warn about what it cannot use. */
void us_debug_init(void);

/*
 * The flags a new cache called name gets: its own, with USLAB_DEBUG's
 * debug flags for it added, and US_CACHE_DEBUG if it has any.
 */
unsigned int us_debug_cache_flags(const char *name, unsigned int flags);

/* Lay out a debug cache's stride (called by us_slab_geometry). */
void us_debug_layout(struct kmem_cache *c, bool has_ctor);

/* Fill every object of a new slab as free (called by slab_grow). */
void us_debug_init_slab(struct kmem_cache *c, struct us_slab *slab);

/*
 * Check that obj, just taken from its slab, is intact and free, and arm
 * it (red zones active, owner recorded); under the slab lock, so that no
 * walk of the cache sees it half-armed.  owner is a struct us_track.
 */
void us_debug_alloc_checks(struct kmem_cache *c, struct us_slab *slab,
			   void *obj, const void *owner);

/*
 * Check, under the slab lock, that obj's red zones and padding are
 * intact before it is freed (slab.c has made sure it is not free
 * already); returns false, having reported, if it must not be freed.
 * Records the free (freer, captured before the lock) and poisons the
 * object.
 */
bool us_debug_free_checks(struct kmem_cache *c, struct us_slab *slab,
			  void *obj, const struct us_track *freer);

/*
 * obj is freed again: SLUB's report, with the object's trailer; returns
 * in repair mode, leaving it free.  Slab lock held.
 */
void us_debug_already_free(struct kmem_cache *c, struct us_slab *slab,
			   void *obj);

/*
 * For slab.c's walks over every object of a debug cache, under its slab
 * lock.  us_debug_check_one() checks one object, free or allocated, for
 * its poison and red zones, counting a damaged one (reported and
 * repaired) in *(unsigned int *)damaged.
 */
void us_debug_check_one(struct kmem_cache *c, struct us_slab *slab,
			void *obj, bool is_free, void *damaged);

/*
 * kmem_cache_destroy() of a debug cache with objects left: begin the
 * report, list each object (us_debug_leak_one() for every object of the
 * walk), and end it with the objects grouped by allocation site when
 * the cache stores its users.
 */
#define US_DEBUG_LEAK_SITES 32

struct us_debug_leaks {
	struct {
		void *ip;
		uint64_t count, min_age, max_age;
	} site[US_DEBUG_LEAK_SITES];
	unsigned int nsites, listed;
	uint64_t other, now;
};

void us_debug_leaks_begin(struct kmem_cache *c, struct us_debug_leaks *l);
void us_debug_leak_one(struct kmem_cache *c, struct us_slab *slab,
		       void *obj, bool is_free, void *leaks);
void us_debug_leaks_end(struct kmem_cache *c, struct us_debug_leaks *l,
			uint64_t live);

#endif /* USLAB_DEBUG_H */
