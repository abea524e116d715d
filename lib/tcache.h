/* SPDX-License-Identifier: MIT */
/*
 * tcache.h - per-thread magazines, where no restartable sequence runs.
 */
#ifndef USLAB_TCACHE_H
#define USLAB_TCACHE_H

#include <stdbool.h>

#include "internal.h"

/* Thread-cache slots: one per kmalloc-N and malloc-N cache, and spare. */
#define US_TCACHE_SLOTS 96

/* A thread keeps at most about this many bytes per cache and magazine. */
#define US_TCACHE_BYTES ((size_t)16 << 10)

/* Lay out the bootstrap cache of thread caches; once, from us_init(). */
void us_tcache_init(void);

/* Give c a thread-cache slot if it may have one; from cache creation. */
void us_tcache_cache_init(struct kmem_cache *c);

/* The bootstrap cache of thread caches, for the cache list; or NULL. */
struct kmem_cache *us_tcache_boot_cache(void);

/*
 * Allocate from, or free to, the calling thread's own magazines.  Only
 * for a cache with a slot, and only where the per-CPU fast paths cannot
 * run lock-free (no rseq).  The alloc returns NULL, errno ENOMEM, when
 * out of memory; both return false (nothing done) where the thread has
 * no cache and cannot make one now: the caller then takes the per-CPU
 * locked paths.
 */
bool us_tcache_alloc(struct kmem_cache *c, void **obj);

/* Has the calling thread a cache now (made if need be)?  Then free. */
bool us_tcache_ready(void);
void us_tcache_free(struct kmem_cache *c, void *obj);

/* Give the calling thread's magazines back (uslab_shrink_all()). */
void us_tcache_flush_mine(void);

/* Add the calling thread's uncounted fast operations on c (statistics). */
void us_tcache_count_mine(struct kmem_cache *c);

#endif /* USLAB_TCACHE_H */
