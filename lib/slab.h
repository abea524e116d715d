/* SPDX-License-Identifier: MIT */
/*
 * slab.h - the slab layer: a cache's slabs and their free lists.
 */
#ifndef USLAB_SLAB_H
#define USLAB_SLAB_H

#include <stdbool.h>
#include <stdint.h>

#include "chunk.h"
#include "cpu.h"
#include "internal.h"
#include "node.h"

/*
 * A cache's slabs are kept per NUMA node: node 0's pool is c->slabs, the
 * others follow its CPU slots in its descriptor (cache.c lays them out).
 * uslab's own static caches have node 0's alone.
 */
static inline unsigned int us_slab_nr_pools(const struct kmem_cache *c)
{
	return (c->flags & US_CACHE_STATIC) ? 1 : us_nr_nodes;
}

static inline struct us_slab_pool *us_slab_pool(struct kmem_cache *c,
						unsigned int node)
{
	if (likely(node == 0) || (c->flags & US_CACHE_STATIC))
		return &c->slabs;
	return &((struct us_slab_pool *)(void *)&c->cpu[us_nr_cpus])[node - 1];
}

/*
 * Fill in c's object geometry (size, align, offset, objects, order,
 * slab_size, colour, reciprocal) for objects of object_size bytes.
 * Returns 0, or -EINVAL if no slab can hold such an object.
 */
int us_slab_geometry(struct kmem_cache *c, unsigned int object_size,
		     unsigned int align, unsigned int flags, bool has_ctor);

/* Initialise c's slab pool and hardening secret. */
void us_slab_pool_init(struct kmem_cache *c);

/*
 * Take up to n objects out of c's slabs of the calling thread's node,
 * growing the cache as needed.  Returns how many were taken: at least
 * one, or 0 with errno ENOMEM.  Takes c's slab lock; calls the
 * constructor with no lock held.
 */
unsigned int us_slab_alloc_batch(struct kmem_cache *c, void **objs,
				 unsigned int n);

/* The same from node's slabs, on node's memory. */
unsigned int us_slab_alloc_batch_node(struct kmem_cache *c, void **objs,
				      unsigned int n, unsigned int node);

/*
 * Return n objects of c to their slabs.  The caller has checked that each
 * belongs to c; an object already on its slab's free list is reported
 * and the process aborts.  A slab they leave empty starts to age from
 * idle_since (ms): now, or when they went idle in a magazine.  Takes c's
 * slab lock.
 */
void us_slab_free_batch_idle(struct kmem_cache *c, void *const *objs,
			     unsigned int n, uint64_t idle_since);

/* us_slab_free_batch_idle() of objects idle from now. */
void us_slab_free_batch(struct kmem_cache *c, void *const *objs,
			unsigned int n);

/* Empty slabs a cache keeps however recently they emptied. */
#define US_SLAB_KEEP_EMPTY 2

/*
 * Give c's empty slabs that have been empty since before `before` (ms;
 * UINT64_MAX: all of them, with their pages back to the OS at once) back
 * to the page layer.  SLAB_TYPESAFE_BY_RCU
 * caches keep theirs.  Takes c's slab lock.  Returns the bytes released;
 * *waiting (if not NULL) gets the bytes of empty slabs kept.
 */
size_t us_slab_reap(struct kmem_cache *c, uint64_t before, uint64_t *waiting);

/*
 * Would a refill of `want` objects of c on this CPU's node grow a slab:
 * fewer free objects than that in its partial and empty slabs?  A hint:
 * true when read, under the slab lock.
 */
bool us_slab_may_grow(struct kmem_cache *c, unsigned int want);

/*
 * Release every slab of c that holds no object, whatever its flags.
 * Returns the number of objects still out of the slabs.
 */
uint64_t us_slab_release_all(struct kmem_cache *c);

/* The address of slab's first object. */
static inline char *us_slab_base(const struct us_slab *slab)
{
	return us_chunk_slot_start(slab) + slab->base_off;
}

/*
 * p's offset from the first object of slab, p's slab: slots are aligned
 * to their size, so p's offset in its slot is a mask away.  Below the
 * first object it wraps to a huge number.
 */
static inline uintptr_t us_slab_obj_offset(const struct kmem_cache *c,
					   const struct us_slab *slab,
					   const void *p)
{
	return ((uintptr_t)p & (c->slab_size - 1)) - slab->base_off;
}

/*
 * Is off, an offset from a slab's first object, exactly an object's
 * start?  With size = odd << size_shift, off is a multiple of size
 * exactly when (off * odd^-1) rotated right by size_shift is at most
 * (2^64 - 1) / size, and then it is the quotient (Hacker's Delight,
 * 10-17); otherwise it is above that bound, so above any object index.
 * So one comparison with the object count answers both "a multiple?"
 * and "inside the slab?", an offset below the first object included
 * (it wrapped to a huge number).  A multiply, a rotate, no division.
 * us_slab_offset_index() is that number: the object's index, or at
 * least the object count.
 */
static inline uint64_t us_slab_offset_index(const struct kmem_cache *c,
					    uintptr_t off)
{
	uint64_t q = (uint64_t)off * c->size_inverse;
	unsigned int k = c->size_shift;

	return (q >> k) | (q << ((64 - k) & 63));
}

static inline bool us_slab_offset_is_object(const struct kmem_cache *c,
					    uintptr_t off)
{
	return us_slab_offset_index(c, off) < c->objects;
}

/* The index of object p in its slab, by multiplication (no division). */
static inline uint32_t us_slab_obj_index(const struct kmem_cache *c,
					 const struct us_slab *slab,
					 const void *p)
{
	uint64_t off = us_slab_obj_offset(c, slab, p);

	return (uint32_t)((off * c->reciprocal) >> 40);
}

/*
 * Is p, an address in slab's slot, exactly the start of one of its
 * objects?  (For an address from anywhere, us_slab_holds_object().)
 */
static inline bool us_slab_is_object(const struct kmem_cache *c,
				     const struct us_slab *slab, const void *p)
{
	return us_slab_offset_is_object(c, us_slab_obj_offset(c, slab, p));
}

/*
 * Free pointers are stored encoded with the cache's secret and their own
 * address (hardening against a forged free list).
 */
static inline void *us_slab_fp_encode(const struct kmem_cache *c, void *next,
				      const void *at)
{
	return (void *)((uintptr_t)next ^ c->secret ^
			__builtin_bswap64((uint64_t)(uintptr_t)at));
}

/*
 * The decoded free pointer obj holds (meaningful if obj is free), for a
 * report: the caller has the word open to the memory tools.
 */
static inline void *us_slab_fp_peek(const struct kmem_cache *c, void *obj)
{
	void **at = (void **)(void *)((char *)obj + c->offset);

	return us_slab_fp_encode(c, *at, at);
}

/* Is p, from anywhere, the start of one of slab's objects? */
static inline bool us_slab_holds_object(const struct kmem_cache *c,
					const struct us_slab *slab,
					const void *p)
{
	return ((uintptr_t)p & ~(uintptr_t)(c->slab_size - 1)) ==
		       (uintptr_t)us_chunk_slot_start(slab) &&
	       us_slab_is_object(c, slab, p);
}

/*
 * A debug cache's allocation (of node, or the caller's for a negative
 * one) and free: every object goes to and from its slab, checked and
 * armed by debug.h under the slab lock; the owner's stack is captured
 * before the lock is taken.  A free that the checks refuse leaves the
 * object allocated.  Allocation: NULL with errno ENOMEM.
 */
void *us_slab_alloc_debug(struct kmem_cache *c, int node);
void us_slab_free_debug(struct kmem_cache *c, void *obj);

/*
 * Check every object of a debug cache: free ones for poison and red
 * zones, allocated ones for red zones.  Returns the number of damaged
 * objects, each reported and repaired.  0 for a cache without debugging.
 */
unsigned int us_slab_check_debug(struct kmem_cache *c);

/*
 * kmem_cache_destroy() of a debug cache with live objects left: list
 * them, grouped by allocation site when the cache stores its users.
 */
void us_slab_report_leaks(struct kmem_cache *c, uint64_t live);

struct us_slab_counts {
	uint64_t partial, full, empty;
	uint64_t inuse;
	uint64_t refills, flushes, grown, reaped, reused, alloc_failed;
};

void us_slab_counts(struct kmem_cache *c, struct us_slab_counts *out);

/* Number of problems in c's slab lists and free lists (tests). */
unsigned int us_slab_validate(struct kmem_cache *c);

void us_slab_fork_prepare(struct kmem_cache *c);
void us_slab_fork_parent(struct kmem_cache *c);
void us_slab_fork_child(struct kmem_cache *c);

#endif /* USLAB_SLAB_H */
