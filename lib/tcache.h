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

/*
 * A thread's slot for one cache: its loaded and previous magazines, as a
 * CPU's slot has them.  The fast paths (magazine.h) work on the loaded
 * one at top, as the sequences do at a CPU slot's top:
 *
 *   pop   takes top[-1] unless it is NULL, which it is exactly when the
 *         magazine is empty: below its first round lies its guard word
 *         (struct us_mag), so the pop needs no bound;
 *   push  stores at top while top is below end, the rounds this thread
 *         keeps in the magazine (at most US_TCACHE_BYTES of objects).
 *
 * top, not loaded->rounds, is the truth while the thread runs outside
 * tcache.c.  Its slow paths write top back into loaded->rounds before
 * they work on the magazines, and set top and end again before they
 * return or call out (callout.h): whenever code outside them can run on
 * this thread, top and end describe the loaded magazine.  A slot that
 * holds the sentinel magazine has top and end at its empty array, so
 * that both fast paths fail; slot 0, which caches without a slot name,
 * holds it for good.
 */
struct us_tcache_slot {
	void **top;
	void **end;
	struct us_mag *loaded;
	struct us_mag *prev;
	uint64_t allocs;	/* fast operations not yet counted */
	uint64_t frees;
};

struct us_tcache {
	struct us_tcache_slot slot[US_TCACHE_SLOTS];
};

/*
 * The calling thread's cache where the fast paths may use it; NULL where
 * the thread has none (yet, or any more), where the per-CPU sequences run
 * instead, and under valgrind, whose client requests the out-of-line
 * paths make (memtool.h).
 */
extern US_SHARED __thread struct us_tcache *us_tcache_fast
	__attribute__((tls_model("initial-exec")));

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
