/* SPDX-License-Identifier: MIT */
/*
 * cache.h - the cache layer: creating caches and finding an object's
 * cache from its address.
 */
#ifndef USLAB_CACHE_H
#define USLAB_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "chunk.h"
#include "failslab.h"
#include "internal.h"
#include "magazine.h"
#include "slab.h"

/* The public SLAB_* flags kmem_cache_create() accepts. */
#define US_SLAB_FLAGS_VALID                                                 \
	(SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON |            \
	 SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 |           \
	 SLAB_STORE_USER | SLAB_RECLAIM_ACCOUNT | SLAB_PANIC |              \
	 SLAB_TYPESAFE_BY_RCU | SLAB_MEM_SPREAD | SLAB_TRACE |              \
	 SLAB_DEBUG_OBJECTS | SLAB_NOLEAKTRACE | SLAB_NO_MERGE |            \
	 SLAB_FAILSLAB | SLAB_ACCOUNT | SLAB_NO_USER_FLAGS | SLAB_KASAN |   \
	 SLAB_SKIP_KFENCE)


/* Set up the bootstrap caches and the cache list; once, from us_init(). */
void us_cache_init(void);

/*
 * kmem_cache_create() with uslab's own US_CACHE_* flags allowed.
 * Returns NULL with errno EINVAL or ENOMEM; never panics.
 */
struct kmem_cache *us_cache_create(const char *name, unsigned int size,
				   unsigned int align, unsigned int flags,
				   void (*ctor)(void *));

/* The same, from the kernel's struct kmem_cache_args. */
struct kmem_cache *us_cache_create_args(const char *name, unsigned int size,
					const struct kmem_cache_args *a,
					unsigned int flags);

/* Report a pointer that no cache can take, naming who was given it. */
US_NORETURN void us_cache_invalid_pointer(const char *who, const void *p,
					  const char *why);

/*
 * The free path's verdict on p, in three dependent loads at most (the
 * registry word and p's page entry, which can load side by side; then
 * the cache's first line): the cache whose allocated object starts at p,
 * if p is exactly that and the cache is one a caller may free into; else
 * NULL, and us_cache_reject() says why.  No lock.
 */
static inline struct kmem_cache *us_cache_find(const void *p)
{
	struct us_page *pg;
	struct kmem_cache *c;

	if (unlikely(!us_chunk_in_slab(p)))
		return NULL;
	pg = us_chunk_page_of(p);
	c = atomic_load_explicit(&pg->cache, memory_order_relaxed);
	/* Never NULL: us_chunk_no_cache fails the test. */
	if (unlikely(!us_slab_offset_is_object(c, us_page_obj_offset(pg, p))))
		return NULL;
	return c;
}

/* The free of obj, an object of c, once an object of c has been counted. */
US_SHARED void us_cache_free_counted(struct kmem_cache *c, void *obj);

/*
 * The free paths: the verdict of us_cache_find(), with the cache known
 * to be s unless `any`, and the push into the magazines.  Frees p and
 * returns true if p is exactly an allocated object (of s); else returns
 * false with p untouched, for the caller's report.  A NULL s is no
 * page's cache (us_chunk_no_cache), so it fails the first comparison.
 *
 * The index is compared with the cache's free_gate, not its object
 * count.  The two are equal until allocation profiling counts an object
 * of the cache; from then on the gate is 0, every free fails the first
 * comparison, and the second, out of line, sends a true object to
 * us_cache_free_counted(), which debits its site: a tail call, so that
 * the fast path tests nothing for profiling and keeps no stack frame.
 */
static inline __attribute__((always_inline)) bool
us_cache_free_in(struct kmem_cache *s, bool any, void *p)
{
	struct us_page *pg;
	struct kmem_cache *c;
	uint64_t i;

	if (unlikely(!us_chunk_in_slab(p)))
		return false;
	pg = us_chunk_page_of(p);
	c = atomic_load_explicit(&pg->cache, memory_order_relaxed);
	if (!any && unlikely(c != s))
		return false;
	i = us_slab_offset_index(c, us_page_obj_offset(pg, p));
	if (likely(i < atomic_load_explicit(&c->free_gate,
					    memory_order_relaxed))) {
		us_mag_free(c, p);
		return true;
	}
	if (i >= c->objects)
		return false;
	us_cache_free_counted(c, p);
	return true;
}

/* kmem_cache_free()'s: p an object of s. */
static inline __attribute__((always_inline)) bool
us_cache_free_of(struct kmem_cache *s, void *p)
{
	return us_cache_free_in(s, false, p);
}

/* kfree()'s and free()'s: p an object of any cache. */
static inline __attribute__((always_inline)) bool us_cache_free_any(void *p)
{
	return us_cache_free_in(NULL, true, p);
}

/*
 * p, in slab chunk ch, is not an object us_cache_find() accepts: report
 * why, as given to who, and abort.
 */
US_NORETURN void us_cache_reject(struct us_chunk *ch, const void *p,
				 const char *who);

/*
 * kmem_cache_alloc_node() past its fast path: flags and node checked;
 * an object of node (any, for NUMA_NO_NODE, or for an invalid node
 * without __GFP_THISNODE); __GFP_ZERO and __GFP_NOFAIL honoured.
 */
void *us_cache_alloc_node(struct kmem_cache *s, gfp_t flags, int node);

/*
 * A slow path's first question: are these flags plain, sent off the
 * fast path only because allocation profiling counts (us_gfp_slow)?
 * Then us_cache_alloc_counted() serves them.
 */
static inline bool us_cache_counting_only(gfp_t flags)
{
	return !(flags & ~(gfp_t)US_GFP_PLAIN) && !us_failslab_armed();
}

/* One object of s from the fast path's magazines, counted to its site. */
void *us_cache_alloc_counted(struct kmem_cache *s);

/*
 * On a __GFP_NOFAIL allocation's attempt'th failure: return every
 * cache's free memory to the OS and wait a little; past the last attempt,
 * report and abort.
 */
void us_cache_nofail_wait(unsigned int attempt, size_t size);

/*
 * The most CPU slots a cache descriptor can hold, with us_nr_nodes
 * nodes: the slot count that us_cpu_init() folds the CPUs onto beyond it.
 */
unsigned int us_cache_max_cpu_slots(void);

/* Call fn on every cache, holding the cache-list lock. */
void us_cache_for_each(void (*fn)(struct kmem_cache *c, void *arg), void *arg);

/*
 * One step of a walk that calls out between caches, holding no lock
 * then (uslab_slabinfo() writes to the caller's stream, which may
 * allocate or run the caller's code): call fn, under the cache-list
 * lock, on the cache made first after the one *pos names (0: the
 * first), and move *pos to it.  False when no cache is left.  A cache
 * made or destroyed meanwhile is seen or not; none is seen twice.
 */
bool us_cache_visit_next(uint64_t *pos,
			 void (*fn)(struct kmem_cache *c, void *arg), void *arg);

/* Problems found in every structure of c (tests). */
unsigned int us_cache_validate(struct kmem_cache *c);

/* How many of uslab's locks are held now (tests, in a quiet process). */
unsigned int us_cache_locks_held(void);

void us_cache_fork_prepare(void);
void us_cache_fork_parent(void);
void us_cache_fork_child(void);

#endif /* USLAB_CACHE_H */
