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
#include "internal.h"
#include "slab.h"

/* The public SLAB_* flags kmem_cache_create() accepts. */
#define US_SLAB_FLAGS_VALID                                                 \
	(SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON |            \
	 SLAB_HWCACHE_ALIGN | SLAB_STORE_USER | SLAB_PANIC |                \
	 SLAB_TYPESAFE_BY_RCU | SLAB_TRACE | SLAB_NO_MERGE)

/* GFP flags that need no work beyond the fast path. */
#define US_GFP_PLAIN (__GFP_NOWARN | __GFP_HIGH | __GFP_DIRECT_RECLAIM)
#define US_GFP_VALID (US_GFP_PLAIN | __GFP_ZERO | __GFP_NOFAIL)

/* Set up the bootstrap caches and the cache list; once, from us_init(). */
void us_cache_init(void);

/*
 * kmem_cache_create() with uslab's own US_CACHE_* flags allowed.
 * Returns NULL with errno EINVAL or ENOMEM; never panics.
 */
struct kmem_cache *us_cache_create(const char *name, unsigned int size,
				   unsigned int align, unsigned int flags,
				   void (*ctor)(void *));

/* Report a pointer that no cache can take, naming who was given it. */
US_NORETURN void us_cache_invalid_pointer(const char *who, const void *p,
					  const char *why);

/*
 * The cache of p, an address in slab chunk ch, checked to be the start
 * of an allocated slab's object of a cache a caller may free into: not
 * one of uslab's own (cache descriptors, magazines), which have no
 * per-CPU slots.  Anything else is reported, and the process aborts.
 * No lock.
 */
static inline struct kmem_cache *us_cache_of(struct us_chunk *ch,
					     const void *p, const char *who)
{
	struct us_slab *slab;
	struct kmem_cache *c;

	if (unlikely(((uintptr_t)p & US_CHUNK_MASK) == 0))
		us_cache_invalid_pointer(who, p, "not in a slab in use");
	slab = us_chunk_slab(ch, p);
	c = atomic_load_explicit(&slab->cache, memory_order_relaxed);
	if (unlikely(!c))
		us_cache_invalid_pointer(who, p, "not in a slab in use");
	if (unlikely(c->flags & US_CACHE_NOMAGAZINE))
		us_cache_invalid_pointer(who, p, "uslab's own object (a cache "
					 "descriptor or a magazine), not "
					 "kmalloc memory");
	if (unlikely(!us_slab_is_object(c, slab, p)))
		us_cache_invalid_pointer(c->name, p,
					 "not the start of an object");
	return c;
}

/*
 * On a __GFP_NOFAIL allocation's attempt'th failure: return every
 * cache's free memory to the OS and wait a little; past the last attempt,
 * report and abort.
 */
void us_cache_nofail_wait(unsigned int attempt, size_t size);

/* Call fn on every cache, holding the cache-list lock. */
void us_cache_for_each(void (*fn)(struct kmem_cache *c, void *arg), void *arg);

/* Problems found in every structure of c (tests). */
unsigned int us_cache_validate(struct kmem_cache *c);

/* How many of uslab's locks are held now (tests, in a quiet process). */
unsigned int us_cache_locks_held(void);

void us_cache_fork_prepare(void);
void us_cache_fork_parent(void);
void us_cache_fork_child(void);

#endif /* USLAB_CACHE_H */
