/* SPDX-License-Identifier: MIT */
/*
 * tcache.h - per-thread magazines, where no restartable sequence runs.
 */
#ifndef USLAB_TCACHE_H
#define USLAB_TCACHE_H

#include <stdbool.h>

#include "anchor.h"
#include "internal.h"

/* Thread-cache slots: one per kmalloc-N and malloc-N cache, and for
 * programs' own caches. */
#define US_TCACHE_SLOTS 336

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
 * they work on the magazines, and set top, end, base and prev_rounds
 * again before they return or call out (callout.h): whenever code
 * outside them can run on this thread, those describe the magazines.
 * Other threads read top, base and prev_rounds, relaxed, for the objects
 * the slot holds (statistics: us_tcache_cached()); the owner stores them
 * relaxed.  A slot that holds the sentinel magazine has top and end at
 * its empty array, so that both fast paths fail; slot 0, which caches
 * without a slot name, holds it for good.  One slot is a cache line.
 */
struct us_tcache_slot {
	void **top;
	void **end;
	void **base;		/* loaded->objs */
	struct us_mag *loaded;
	struct us_mag *prev;
	uint64_t allocs;	/* fast operations not yet counted */
	uint64_t frees;
	uint32_t prev_rounds;	/* prev->rounds */
	uint32_t used;		/* a slow path since the last trim */
};

/*
 * Pop slot s (the fast paths' pop, above): its top round, or NULL if the
 * magazine is empty; clear: also the word it leaves (valgrind).  Push
 * obj on it: US_TC_PUSHED, or US_TC_NO if the magazine is full (or the
 * sentinel), or US_TC_TWICE if obj is on top already: a double free,
 * which the caller reports.
 */
enum { US_TC_NO, US_TC_PUSHED, US_TC_TWICE };

static inline __attribute__((always_inline)) void *
us_tcache_slot_pop(struct us_tcache_slot *s, bool clear)
{
	void **top = __atomic_load_n(&s->top, __ATOMIC_RELAXED);
	void *obj = top[-1];

	if (likely(obj)) {
		if (clear)
			top[-1] = NULL;
		__atomic_store_n(&s->top, top - 1, __ATOMIC_RELAXED);
		s->allocs++;
	}
	return obj;
}

static inline __attribute__((always_inline)) int
us_tcache_slot_push(struct us_tcache_slot *s, void *obj)
{
	void **top = __atomic_load_n(&s->top, __ATOMIC_RELAXED);

	if (top >= s->end)
		return US_TC_NO;
	if (unlikely(top[-1] == obj))
		return US_TC_TWICE;
	*top = obj;
	__atomic_store_n(&s->top, top + 1, __ATOMIC_RELAXED);
	s->frees++;
	return US_TC_PUSHED;
}

/*
 * The objects slot s holds, from what its owner publishes, for a reader
 * on another thread (or in another process: uslabtop): exact while the
 * owner is between operations; while it is inside one, a count out of
 * a magazine's range is left out.
 */
static inline uint64_t us_tcache_slot_held(const struct us_tcache_slot *s)
{
	void **top = __atomic_load_n(&s->top, __ATOMIC_RELAXED);
	void **base = __atomic_load_n(&s->base, __ATOMIC_RELAXED);
	uint32_t prev = __atomic_load_n(&s->prev_rounds, __ATOMIC_RELAXED);
	uint64_t held = 0;

	if (top > base && top - base <= US_MAG_MAX_ROUNDS)
		held += (uint64_t)(top - base);
	if (prev <= US_MAG_MAX_ROUNDS)
		held += prev;
	return held;
}

/*
 * Slots below this serve the kmalloc-N and malloc-N caches (16 and 57);
 * from it up, 256 of the caches a program makes at a time.  A thread
 * writes its slots of a program's caches only once such a cache exists
 * (tcache.c), so that what a thread's cache costs in resident memory
 * grows with the caches in use, not with the slots.
 */
#define US_TCACHE_FIRST_USER 80

struct us_tcache {
	struct us_tcache_slot slot[US_TCACHE_SLOTS];
	struct us_list link;	/* [tcache lock] every thread's, tcache.c */
	uint64_t trim_at;	/* ms: the next trim (tcache.c) */
	uint32_t slow_ops;	/* slow paths, for the trim's clock */
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

/* Give the calling thread's magazines of c back (kmem_cache_shrink()). */
void us_tcache_flush_mine_of(struct kmem_cache *c);

/*
 * c is being destroyed: take its magazines from every thread's slot to
 * its depot, and free its slot for another cache; c keeps to the per-CPU
 * paths from here on.  No thread may be using c (kmem_cache_destroy()'s
 * contract).
 */
void us_tcache_cache_destroy(struct kmem_cache *c);

/* Objects of c in every thread's magazines, as of now (statistics). */
uint64_t us_tcache_cached(struct kmem_cache *c);

/*
 * fork: the thread caches' lock, taken after the cache list's; released
 * in the parent, reset in the child, which keeps every thread's cache on
 * its list, so that what the threads that do not exist there hold is
 * counted, and drained by kmem_cache_destroy(), as cached.
 */
void us_tcache_fork_prepare(void);
void us_tcache_fork_parent(void);
void us_tcache_fork_child(void);
bool us_tcache_lock_is_held(void);

/* Where uslabtop finds the thread caches (anchor.h). */
extern const struct us_anchor_tcaches us_tcache_anchor;

/* Add the calling thread's uncounted fast operations on c (statistics). */
void us_tcache_count_mine(struct kmem_cache *c);

#endif /* USLAB_TCACHE_H */
