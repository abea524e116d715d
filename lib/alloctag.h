/* SPDX-License-Identifier: MIT */
/*
 * alloctag.h - memory allocation profiling: the kernel's allocation tags
 * and /proc/allocinfo (CONFIG_MEM_ALLOC_PROFILING), in userspace.
 *
 * A call site of the tagged interface (<uslab.h>'s alloc_hooks()) has a
 * static struct alloc_tag and makes it the thread's current tag
 * (uslab_current_alloc_tag) for the length of the call, as the kernel
 * makes it current->alloc_tag.  While counting is on, every object the
 * entry points hand out is counted to the current tag's site: a call
 * with no current tag (a program built against 0.2, or without the
 * macros) to the "untagged" site, and one made with US_TAG_NONE current
 * (libuslab-malloc's own calls) to none.
 *
 * What this layer owns, all in memory it maps itself when counting is
 * first turned on (os.h's second exception, after the stack depot):
 *
 *   sites      One record per site, numbered from 1 in the order each
 *              was first counted: its tag, and its text ("file:line
 *              func:name") copied, so that a site outlives a library
 *              dlclose()d with its objects still allocated.  A tag
 *              learns its number (tag->uslab_site) when registered.
 *   vectors    Per slab, one 32-bit site number per object, made when
 *              the slab's first object is counted (installed by CAS in
 *              slab->tags) and given back when the slab layer returns the
 *              slab to the page layer.  The number is the count: storing
 *              it counts the object, storing 0 debits it, and a reading
 *              sums the vectors (anchor.h, us_tag_vectors_sum()).
 *   counters   One {bytes, calls} pair per site, for large blocks, which
 *              keep their site in their chunk header (ch->tag); added
 *              to atomically, as large blocks are never a fast path.
 *
 * An object counted at its allocation is debited at its free, whether or
 * not counting is still on: the free paths look for a tag in every cache
 * that has had an object counted (its free_gate shut), and in every
 * large block.
 * Turning counting off stops new counts; objects counted before are
 * still debited, so the table stays exact for what it counted.
 *
 * Locks: tag_lock, a leaf taken with no other lock held and nothing taken
 * under it, registers a site and hands out and takes back vectors.  The
 * fast paths take none.  While counting is on, us_gfp_slow sends plain
 * slab allocations to the entry points' slow functions, which take the
 * magazines as the fast path does and call us_tag_slab_alloc(), a leaf
 * on its common path.  The free paths test nothing for it: counting an
 * object of a cache shuts the cache's free_gate, so that the verdict's
 * comparison fails for every object (cache.h), and a second one, out of
 * line, tail-calls us_cache_free_counted() (cache.c) for a true object,
 * which stores 0 in the object's slot with the inline
 * us_tag_slab_free() below and then pushes the object, with no call.
 */
#ifndef USLAB_ALLOCTAG_H
#define USLAB_ALLOCTAG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "anchor.h"
#include "chunk.h"
#include "internal.h"
#include "slab.h"

/* The current tag libuslab-malloc sets around its own kmalloc() calls. */
#define US_TAG_NONE ((struct alloc_tag *)1)

/* Counting new allocations (us_tag_state). */
#define US_TAG_COUNTING 1u

extern US_LOCAL _Atomic uint32_t us_tag_state;

/*
 * Is counting on?  One load, which orders the tables mapped before
 * counting was turned on before what the caller reads of them.
 */
static inline bool us_tag_counting(void)
{
	return atomic_load_explicit(&us_tag_state, memory_order_acquire) &
	       US_TAG_COUNTING;
}

/* Read USLAB_ALLOCINFO; from us_init(). */
void us_tag_init(void);

/*
 * Count obj, just handed out by c, to the current site.  Returns obj, so
 * that a caller that hands it out next may tail-call this.
 */
void *us_tag_slab_alloc(struct kmem_cache *c, void *obj);

/*
 * The region the vectors are carved from, mapped when counting is first
 * turned on; a vector's handle is its offset in eights.  Set once, before
 * any slab can have a vector (slab->tags).
 */
extern US_LOCAL char *us_tag_vectors;

/*
 * Set object i's site number in the vector with handle h.  Readers on
 * other threads read the numbers while they change: relaxed atomic
 * stores (plain moves).
 */
static inline void us_tag_vector_set(uint32_t h, uint32_t i, uint32_t id)
{
	_Atomic uint32_t *ids =
		(_Atomic uint32_t *)(void *)(us_tag_vectors + (size_t)h * 8 +
					     sizeof(struct us_tag_vector_head));

	atomic_store_explicit(&ids[i], id, memory_order_relaxed);
}

/*
 * Debit obj, about to be freed into c, from its site, if it has one: a
 * store of 0 in its slot of its slab's vector.  The free paths ask only
 * for a cache some object of which was counted (free_gate 0), through
 * us_cache_free_counted(), which inlines this so that the counted free
 * makes no call.
 */
static inline void us_tag_slab_free(struct kmem_cache *c, void *obj)
{
	struct us_slab *slab = us_chunk_slab(us_chunk_of(obj), obj);
	uint32_t h = atomic_load_explicit(&slab->tags, memory_order_acquire);

	if (h)
		us_tag_vector_set(h, us_slab_obj_index(c, slab, obj), 0);
}

/*
 * libuslab-malloc's call sites: set by USLAB_ALLOCINFO at start-up, when
 * libuslab-malloc then sends every call to its slow paths, which count
 * what they hand out to the caller's return address with
 * us_tag_malloc_count() (a site per address, named when the table is
 * read).
 */
extern US_SHARED bool us_tag_malloc_on;
US_SHARED void us_tag_malloc_count(void *p, const void *ra);

/* Count large block ch, just handed out, to the current site. */
void us_tag_large_alloc(struct us_chunk *ch);

/* Debit large block ch, about to be freed, if it was counted. */
void us_tag_large_free(struct us_chunk *ch);

/*
 * Large block from, counted to a site of `usable` bytes, now lives in
 * to (perhaps the same chunk) with to->usable bytes: move its count.
 */
void us_tag_large_moved(uint32_t site, size_t usable, struct us_chunk *to);

/* The slab layer gives slab back to the page layer: its vector too. */
void us_tag_slab_release(struct us_slab *slab);

/* fork(): tag_lock, as the other leaves. */
void us_tag_fork_prepare(void);
void us_tag_fork_parent(void);
void us_tag_fork_child(void);

/* Where uslabtop -a finds the tables (anchor.h). */
extern const struct us_anchor_tags us_tag_anchor;

/* USLAB_ALLOCINFO=exit or file:PATH: the table, at exit. */
void us_tag_report(void);

#endif /* USLAB_ALLOCTAG_H */
