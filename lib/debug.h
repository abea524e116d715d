/* SPDX-License-Identifier: MIT */
/*
 * debug.h - the debug layer: slab_debug checks and kernel-format reports.
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
 * Reports follow SLUB's wording and layout (a rule, "BUG <cache>: what",
 * INFO lines, hex dumps, a stack trace, "FIX <cache>: action") and are
 * written with write(2) from a stack buffer.  By default the damage is
 * repaired and the program continues, as SLUB does; with X in
 * USLAB_DEBUG, or for a cache without debugging, the process aborts
 * after the report.
 *
 * Locking: reports take the report lock, a leaf below every other lock,
 * so that their lines do not interleave.  Checks of a free object run
 * under the cache's slab lock (the object is on a list); those of an
 * allocated object run with no lock (it is the caller's).
 */
#ifndef USLAB_DEBUG_H
#define USLAB_DEBUG_H

#include <stdbool.h>
#include <stdint.h>

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

/* Stack frames kept per track. */
#define US_TRACK_DEPTH 6

/* The last allocation or free of an object (SLAB_STORE_USER). */
struct us_track {
	void *frames[US_TRACK_DEPTH];	/* innermost first; 0 ends */
	uint64_t when;			/* ms, us_os_now_ms() */
	uint32_t cpu;
	uint32_t tid;
};

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

/* The debug cache's alloc (of node; negative: any) and free. */
void *us_debug_alloc(struct kmem_cache *c, int node);
void us_debug_free(struct kmem_cache *c, void *obj);

/*
 * Check, under the slab lock, that obj may be freed into its slab (not
 * already free) and that its red zones and padding are intact; returns
 * false, having reported, if it must not be freed.  Records the free
 * (freer, captured before the lock) and poisons the object.  Called by
 * slab.c.
 */
bool us_debug_free_checks(struct kmem_cache *c, struct us_slab *slab,
			  void *obj, const struct us_track *freer);

/*
 * Check every object of c: free objects for poison and red zones,
 * allocated ones for red zones.  Returns the number of damaged objects,
 * each reported and repaired.  No-op for a cache without debugging.
 */
unsigned int us_debug_validate(struct kmem_cache *c);

/*
 * kmem_cache_destroy() of a cache with objects left: list them, grouped
 * by allocation site when the cache stores its users.
 */
void us_debug_report_leaks(struct kmem_cache *c, uint64_t live);

/*
 * Kernel-format reports of misuse the cheap checks catch in any cache.
 * They return only for a debug cache in repair mode; the caller then
 * leaves the object alone ("not freed").
 */
void us_bug_invalid_pointer(struct kmem_cache *c, const char *who,
			    const void *p, const char *why);
void us_bug_wrong_cache(struct kmem_cache *c, struct kmem_cache *owner,
			const void *p);
void us_bug_already_free(struct kmem_cache *c, const void *p);
/* The same for a large block freed twice ("kmalloc-large"); aborts. */
US_NORETURN void us_bug_large_already_free(const void *p, size_t room);
US_NORETURN void us_bug_freepointer(struct kmem_cache *c,
				    struct us_slab *slab, void *obj,
				    void *bad);

/* fork: the report lock, taken after every other lock. */
void us_debug_fork_prepare(void);
void us_debug_fork_parent(void);
void us_debug_fork_child(void);

#endif /* USLAB_DEBUG_H */
