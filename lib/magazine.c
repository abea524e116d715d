/* SPDX-License-Identifier: MIT */
/*
 * magazine.c - the magazine layer: per-CPU slots and the depot.
 *
 * Owns the magazines of every cache and the bootstrap caches they are
 * allocated from.  After Bonwick & Adams, "Magazines and Vmem" (USENIX
 * 2001), section 3, with the kernel's later names in brackets (SLUB
 * sheaves and barn, Linux 6.18):
 *
 *   slot   per CPU: `loaded` [main sheaf] and `prev` [spare], under the
 *          slot lock.  Invariant: both are real magazines of this cache
 *          or the sentinel; all their rounds are free objects of this
 *          cache.
 *   depot  per cache [barn]: lists of full and of empty magazines under
 *          the depot lock, newest first, each stamped with the time it
 *          came in.  The depot holds the cache's working set: what the
 *          CPUs handed back and will soon want again.
 *
 * Reaping (Bonwick's working-set reap): a magazine that sits in the
 * depot for the decay period (reclaim.c) was not needed for that long,
 * so the sweep sends it back to the slabs, and the slabs it leaves empty
 * count as idle since the magazine was: they go back to the OS in the
 * same sweep.  The lists are newest first, so the idle ones are a tail
 * cut off in one step.  A depot also never keeps more than
 * US_DEPOT_MAX_BYTES of objects (max_full magazines); a full magazine
 * beyond that is flushed at once.  The CPU slots are reaped too: one
 * whose counters have not moved for the decay period belongs to a CPU
 * that stopped using the cache, and its two magazines go back to the
 * slabs as idle since the counters last moved (us_mag_reap_slots()).
 * Bonwick's reap leaves them be, and their objects, the last a program
 * freed, lie scattered over every slab, so a program that frees
 * everything would keep every chunk it ever used mapped.
 *
 * Sizes are in bytes, not objects: a cache in use has magazines of
 * US_MAG_START_BYTES of objects (at least one, at most
 * US_MAG_MAX_ROUNDS), so that a magazine of a 64 KiB class pins what one
 * of a 64-byte class does, and they grow with contention up to
 * US_MAG_GROW_BYTES.
 *
 * A new cache's first magazine is smaller, US_MAG_FIRST_ROUNDS, and the
 * next one made has the full capacity (depot_capacity_to_make_locked()).
 * Most caches of a short process (a shell's child, a tool a script runs)
 * hold a few objects for its whole life, and a 2 KiB magazine each,
 * written when first loaded, cost a page fault per two classes
 * (bench/README.md, "Starting a process").  A cache that outgrows its
 * first magazine makes a second one, a full one, on its next refill or
 * trade, and the first is freed when it reaches the depot empty, as
 * magazines of a capacity that contention has since grown are.  One
 * step, so that no working set of a few dozen objects is left swapping
 * between two small magazines.
 *
 * The fast paths (magazine.h) pop and push `loaded`.  The slow paths
 * below first try `prev`, then the depot, then the slabs.  They drop the
 * slot lock before any work that can take long or that takes the slab
 * lock for a whole magazine, and relock the slot of the CPU they are then
 * on; whatever they find there they accept (another thread may have
 * refilled it meanwhile) and park their own magazine in the depot.
 *
 * Magazine sizes.  A cache starts with magazines of a capacity chosen
 * by object size; when its depot lock is found held US_DEPOT_CONTENTION
 * times within a second, new magazines get the next capacity (Bonwick's
 * dynamic magazine resizing).  Old magazines stay in use; empty ones of
 * an old capacity are freed when the depot would hand them out.
 *
 * Bootstrap: magazines of capacity N are objects of the static cache
 * "uslab-mag-N" (a power of two bytes each), which has no magazines of
 * its own (US_CACHE_NOMAGAZINE) and so never recurses.
 *
 * Lock order (design essay, 7): slot, then depot, then slab locks; a
 * magazine cache's slab lock is taken under a depot lock.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "bug.h"
#include "cpu.h"
#include "magazine.h"
#include "os.h"
#include "reclaim.h"
#include "report.h"
#include "slab.h"

#define US_DEPOT_CONTENTION 16
#define US_DEPOT_WINDOW_MS 1000

struct us_mag us_mag_sentinel = { NULL, 0, 0, 0, NULL };

#define NR_MAG_CACHES 6
/* US_FORK_STATE: the fork handlers lock and unlock their slab pools. */
static struct kmem_cache mag_cache_6 US_FORK_STATE, mag_cache_14 US_FORK_STATE,
	mag_cache_30 US_FORK_STATE, mag_cache_62 US_FORK_STATE,
	mag_cache_126 US_FORK_STATE, mag_cache_254 US_FORK_STATE;
static struct kmem_cache *const mag_caches[NR_MAG_CACHES] = {
	&mag_cache_6,  &mag_cache_14,  &mag_cache_30,
	&mag_cache_62, &mag_cache_126, &mag_cache_254,
};

static unsigned int mag_rounds(unsigned int i)
{
	return ((64u << i) - (unsigned int)sizeof(struct us_mag)) /
	       (unsigned int)sizeof(void *);
}

static inline void *mag_pop(struct us_mag *m)
{
	return us_mag_pop(m);
}

void us_mag_init(void)
{
	for (unsigned int i = 0; i < NR_MAG_CACHES; i++) {
		struct kmem_cache *mc = mag_caches[i];
		unsigned int size = 64u << i;

		us_format(mc->name, sizeof(mc->name), "uslab-mag-%u",
			  mag_rounds(i));
		mc->flags = US_CACHE_NOMAGAZINE | US_CACHE_STATIC;
		if (us_slab_geometry(mc, size, US_CACHE_LINE, 0, false) != 0)
			us_panic("cannot lay out %s", mc->name);
		us_slab_pool_init(mc);
	}
}

struct kmem_cache *us_mag_boot_cache(unsigned int i)
{
	return i < NR_MAG_CACHES ? mag_caches[i] : NULL;
}

/* The capacity of c's magazines once it is in use. */
static unsigned int full_capacity(const struct kmem_cache *c)
{
	return US_MAX(1u, US_MIN(US_MAG_MAX_ROUNDS,
				 (unsigned int)(US_MAG_START_BYTES / c->size)));
}

/* How many full magazines of this capacity fit US_DEPOT_MAX_BYTES. */
static uint32_t depot_max_full(const struct kmem_cache *c, unsigned int capacity)
{
	size_t n = US_DEPOT_MAX_BYTES / ((size_t)capacity * c->size);

	return (uint32_t)US_MIN(US_MAX(n, (size_t)2), (size_t)4096);
}

/* Twice the capacity, within US_MAG_GROW_BYTES and the largest magazine. */
static unsigned int next_capacity(const struct kmem_cache *c,
				  unsigned int capacity)
{
	unsigned int most = US_MAX(capacity,
				   US_MIN(US_MAG_MAX_ROUNDS,
					  (unsigned int)(US_MAG_GROW_BYTES / c->size)));

	return US_MIN(capacity * 2, most);
}

/* The smallest bootstrap magazine cache holding a capacity. */
static struct kmem_cache *mag_cache_for(unsigned int capacity)
{
	for (unsigned int i = 0; i < NR_MAG_CACHES; i++)
		if (mag_rounds(i) >= capacity)
			return mag_caches[i];
	return NULL;
}

static struct us_mag *mag_new(unsigned int capacity)
{
	struct us_mag *m;

	if (!us_slab_alloc_batch(mag_cache_for(capacity), (void **)&m, 1))
		return NULL;
	m->next = NULL;
	m->rounds = 0;
	m->capacity = capacity;
	m->guard = NULL;
	return m;
}

static void mag_delete(struct us_mag *m)
{
	void *obj = m;

	us_slab_free_batch(mag_cache_for(m->capacity), &obj, 1);
}

void us_mag_cache_init(struct kmem_cache *c)
{
	struct us_depot *d = &c->depot;

	/* Small until it is in use (depot_capacity_to_make_locked()). */
	memset(d, 0, sizeof(*d));
	d->capacity = US_MIN(full_capacity(c), US_MAG_FIRST_ROUNDS);
	d->max_full = depot_max_full(c, d->capacity);
	d->window_start = us_os_now_ms();

	for (unsigned int i = 0; i < us_nr_cpus; i++) {
		struct us_cpu_slot *slot = &c->cpu[i];

		memset(slot, 0, sizeof(*slot));
		slot->loaded = &us_mag_sentinel;
		slot->prev = &us_mag_sentinel;
		slot->base = (void **)UINTPTR_MAX;	/* closed, */
		us_mag_slot_open(slot);			/* if they run */
	}
}

/* ----------------------------------------------------------------- depot */

static void depot_lock(struct kmem_cache *c)
{
	struct us_depot *d = &c->depot;
	uint64_t now;

	if (likely(us_trylock(&d->lock)))
		return;
	us_lock(&d->lock);
	us_stat_add(&d->contended, 1);
	now = us_os_now_ms();
	if (now - d->window_start >= US_DEPOT_WINDOW_MS) {
		d->window_start = now;
		d->window_contended = 0;
	}
	if (++d->window_contended >= US_DEPOT_CONTENTION) {
		d->capacity = next_capacity(c, d->capacity);
		d->max_full = depot_max_full(c, d->capacity);
		d->window_contended = 0;
	}
}

static void depot_unlock(struct kmem_cache *c)
{
	us_unlock(&c->depot.lock);
}

/*
 * Bytes of objects in full magazines in the depots of the caches of each
 * slab order: what a cache about to grow could have of the others' once
 * their slabs are empty (make_room()).  One atomic add a magazine that
 * enters or leaves a depot.
 */
static _Atomic uint64_t depot_bytes[US_SLAB_MAX_ORDER + 1];

static void depot_bytes_add(struct us_depot *d, struct us_mag *m, int sign)
{
	const struct kmem_cache *c = us_container_of(d, struct kmem_cache,
						     depot);
	uint64_t bytes = (uint64_t)m->rounds * c->size;

	if (sign > 0)
		atomic_fetch_add_explicit(&depot_bytes[c->order], bytes,
					  memory_order_relaxed);
	else
		atomic_fetch_sub_explicit(&depot_bytes[c->order], bytes,
					  memory_order_relaxed);
}

/* A full magazine from the depot, or NULL; depot locked. */
static struct us_mag *depot_pop_full_locked(struct us_depot *d)
{
	struct us_mag *m = d->full;

	US_ASSERT_HELD(&d->lock);

	if (m) {
		d->full = m->next;
		d->nfull--;
		depot_bytes_add(d, m, -1);
		us_stat_add(&d->full_taken, 1);
	}
	return m;
}

/*
 * The capacity of a magazine about to be made for c; depot locked.  The
 * first is small; making a second is the sign that the cache needs more,
 * and from it on every one has the full capacity, set before it is made,
 * so that the depot keeps it as one of the current capacity.
 */
static unsigned int depot_capacity_to_make_locked(struct kmem_cache *c)
{
	struct us_depot *d = &c->depot;
	unsigned int full = full_capacity(c);

	US_ASSERT_HELD(&d->lock);

	if (d->made_first && d->capacity < full) {
		d->capacity = full;
		d->max_full = depot_max_full(c, full);
	}
	d->made_first = true;
	return d->capacity;
}

/* An empty magazine of the current capacity from the depot, or NULL. */
static struct us_mag *depot_pop_empty_locked(struct us_depot *d,
					     struct us_mag **stale)
{
	struct us_mag *m;

	US_ASSERT_HELD(&d->lock);

	while ((m = d->empty) != NULL) {
		d->empty = m->next;
		d->nempty--;
		if (m->capacity == d->capacity) {
			us_stat_add(&d->empty_taken, 1);
			return m;
		}
		m->next = *stale;
		*stale = m;
	}
	return NULL;
}

static void mag_delete_list(struct us_mag *m)
{
	while (m) {
		struct us_mag *next = m->next;

		mag_delete(m);
		m = next;
	}
}

/* Flush a magazine's rounds, idle since idle_since, to the slabs. */
static void mag_flush_idle(struct kmem_cache *c, struct us_mag *m,
			   uint64_t idle_since)
{
	if (m->rounds) {
		us_slab_free_batch_idle(c, m->objs, m->rounds, idle_since);
		if (US_VG)
			memset(m->objs, 0, m->rounds * sizeof(m->objs[0]));
		m->rounds = 0;
	}
}

/* Flush a magazine's rounds, idle from now, to the slabs. */
static void mag_flush(struct kmem_cache *c, struct us_mag *m)
{
	mag_flush_idle(c, m, us_os_now_ms());
}

/* Keep a full magazine in the depot if under its cap; depot locked. */
static bool depot_push_full_locked(struct us_depot *d, struct us_mag *m)
{
	US_ASSERT_HELD(&d->lock);
	US_ASSERT(m->rounds > 0 && m->rounds <= m->capacity);

	if (d->nfull >= d->max_full)
		return false;
	m->stamp = us_os_now_ms();
	m->next = d->full;
	d->full = m;
	d->nfull++;
	depot_bytes_add(d, m, 1);
	us_reclaim_note((uint64_t)m->rounds *
			us_container_of(d, struct kmem_cache, depot)->size);
	return true;
}

/*
 * Keep an empty magazine in the depot if it has room and the magazine has
 * the current capacity; depot locked.  The sentinel needs no keeping.
 */
static bool depot_push_empty_locked(struct us_depot *d, struct us_mag *m)
{
	US_ASSERT_HELD(&d->lock);
	US_ASSERT(m->rounds == 0);

	if (m == &us_mag_sentinel)
		return true;
	if (d->nempty >= d->max_full || m->capacity != d->capacity)
		return false;
	m->stamp = us_os_now_ms();
	m->next = d->empty;
	d->empty = m;
	d->nempty++;
	return true;
}

/* Give an empty magazine to the depot, or free it if it has enough. */
static void depot_put_empty(struct kmem_cache *c, struct us_mag *m)
{
	bool kept;

	if (m == &us_mag_sentinel)
		return;
	depot_lock(c);
	kept = depot_push_empty_locked(&c->depot, m);
	depot_unlock(c);
	if (!kept)
		mag_delete(m);
}

/* Give a magazine with rounds to the depot; over the cap, flush it. */
static void depot_put_full(struct kmem_cache *c, struct us_mag *m)
{
	struct us_depot *d = &c->depot;
	bool kept;

	depot_lock(c);
	kept = depot_push_full_locked(d, m);
	depot_unlock(c);
	if (!kept) {
		mag_flush(c, m);
		depot_put_empty(c, m);
	}
}

/* An empty magazine: the depot's, else a new one; NULL if none. */
static struct us_mag *depot_get_empty(struct kmem_cache *c)
{
	struct us_depot *d = &c->depot;
	struct us_mag *m, *stale = NULL;
	unsigned int capacity;

	depot_lock(c);
	m = depot_pop_empty_locked(d, &stale);
	capacity = m ? 0 : depot_capacity_to_make_locked(c);
	depot_unlock(c);
	mag_delete_list(stale);
	if (!m)
		m = mag_new(capacity);
	return m;
}

struct us_mag *us_depot_trade_empty(struct kmem_cache *c, struct us_mag *empty)
{
	struct us_mag *full;
	bool kept = true;

	depot_lock(c);
	full = depot_pop_full_locked(&c->depot);
	if (full)
		kept = depot_push_empty_locked(&c->depot, empty);
	depot_unlock(c);
	if (!kept)
		mag_delete(empty);
	return full;
}

struct us_mag *us_depot_trade_full(struct kmem_cache *c, struct us_mag *full)
{
	struct us_mag *empty, *stale = NULL;
	bool kept = true;

	depot_lock(c);
	empty = depot_pop_empty_locked(&c->depot, &stale);
	if (empty && full != &us_mag_sentinel)
		kept = depot_push_full_locked(&c->depot, full);
	depot_unlock(c);
	mag_delete_list(stale);
	if (!kept) {
		/* The depot is at its cap: flush, recycle. */
		mag_flush(c, full);
		mag_delete(full);
	}
	return empty;
}

/*
 * Before a refill of `want` objects from the slabs, with no lock held: if
 * c's slabs may have to grow while the depots of its slab order keep at
 * least two slabs' worth of objects, the cache layer sends back to their
 * slabs those of the caches with no object in use (us_reclaim_make_room()),
 * so that the slabs they empty can be c's without new pages.
 */
static void make_room(struct kmem_cache *c, unsigned int want)
{
	uint64_t others = atomic_load_explicit(&depot_bytes[c->order],
					       memory_order_relaxed);

	if (others < 2 * (uint64_t)c->slab_size)
		return;
	if (!us_slab_may_grow(c, want))
		return;
	us_reclaim_make_room(c);
}

struct us_mag *us_mag_refill(struct kmem_cache *c, unsigned int most)
{
	struct us_mag *m = depot_get_empty(c);
	unsigned int n;

	if (!m)
		return NULL;
	make_room(c, US_MIN(m->capacity, most));
	n = us_slab_alloc_batch(c, m->objs, US_MIN(m->capacity, most));
	if (!n) {
		depot_put_empty(c, m);
		errno = ENOMEM;
		return NULL;
	}
	m->rounds = n;
	return m;
}

struct us_mag *us_mag_new_empty(struct kmem_cache *c)
{
	unsigned int capacity;

	us_lock(&c->depot.lock);
	capacity = depot_capacity_to_make_locked(c);
	us_unlock(&c->depot.lock);
	return mag_new(capacity);
}

void us_depot_give(struct kmem_cache *c, struct us_mag *m)
{
	if (m == &us_mag_sentinel)
		return;
	if (m->rounds)
		depot_put_full(c, m);
	else
		depot_put_empty(c, m);
}

/* ----------------------------------------------------- objects in flight */

/*
 * Between dropping one lock and taking the next, a slow path may hold
 * objects that no structure records: a magazine refilled from the slabs
 * on its way to a CPU slot, the magazines a shrink took off the slots on
 * their way back to the slabs.  fork() must not copy the process then:
 * in the child, where the thread holding them does not exist, they would
 * be lost, and counted as allocated, so that kmem_cache_destroy() there
 * would report objects nobody has.  So each such window opens with
 * us_mag_flight_begin(), with no lock held, and closes with
 * us_mag_flight_end(); us_mag_fork_wait(), the first step of the fork
 * handler after stopping the helper, stops new windows from opening and
 * waits until the open ones have closed, before it takes any lock.  A
 * window opens only with no lock held, so a thread waiting to open one
 * holds nothing that an open one, or the fork, needs.  The walkers (the
 * sweep, shrinking every cache) detach magazines under list_lock, which
 * the fork handler takes first, and need no window.
 *
 * The thread caches' slow paths (tcache.c) work in windows too, so that
 * in a child every thread's cache, which it keeps, is whole, and what
 * the threads that are gone held is counted as cached, and drained by
 * kmem_cache_destroy(), instead of lost.
 *
 * Windows nest.  Code that runs inside one may allocate: a constructor
 * run by a refill, or a signal handler.  A window opened there waits for
 * no fork, since the fork waits for the window around it, which cannot
 * close before it does: it is only counted (flight_depth, per thread).
 *
 * Not covered: fork() from a signal handler that interrupted a window,
 * which would wait for itself (glibc's malloc cannot be used there
 * either).
 *
 * The count is kept per CPU slot, modulo FLIGHT_SLOTS, each on a line
 * of its own, so that refills on different CPUs share no line; a thread
 * that migrates inside its window closes it on the counter it opened.
 */
#define FLIGHT_SLOTS 64

static struct {
	_Atomic uint32_t open;
} __attribute__((aligned(US_CACHE_LINE))) in_flight[FLIGHT_SLOTS];
static _Atomic uint32_t forks_waiting US_FORK_STATE;	/* futex word */
/*
 * Threads asleep on forks_waiting, so that the end of a fork wakes them
 * only if there are any: a program with one thread makes no futex call
 * at each fork().  Each side changes its own word, then reads the
 * other's, sequentially consistent, so that a sleeper the forker does
 * not see finds forks_waiting changed and does not sleep.
 */
static _Atomic uint32_t fork_sleepers US_FORK_STATE;
/* The windows the calling thread has open. */
static __thread unsigned int flight_depth
	__attribute__((tls_model("initial-exec")));

unsigned int us_mag_flight_begin(void)
{
	for (;;) {
		unsigned int i = us_cpu_current() % FLIGHT_SLOTS;
		uint32_t forks;

		atomic_fetch_add_explicit(&in_flight[i].open, 1,
					  memory_order_seq_cst);
		if (unlikely(flight_depth)) {
			flight_depth++;		/* nested: no waiting */
			return i;
		}
		forks = atomic_load_explicit(&forks_waiting, memory_order_seq_cst);
		if (likely(forks == 0)) {
			flight_depth = 1;
			return i;
		}
		atomic_fetch_sub_explicit(&in_flight[i].open, 1,
					  memory_order_release);
		atomic_fetch_add_explicit(&fork_sleepers, 1,
					  memory_order_seq_cst);
		us_os_futex_wait(&forks_waiting, forks, 0);
		atomic_fetch_sub_explicit(&fork_sleepers, 1,
					  memory_order_relaxed);
	}
}

void us_mag_flight_end(unsigned int i)
{
	flight_depth--;
	atomic_fetch_sub_explicit(&in_flight[i].open, 1, memory_order_release);
}

void us_mag_fork_wait(void)
{
	atomic_fetch_add_explicit(&forks_waiting, 1, memory_order_seq_cst);
	for (;;) {
		uint32_t open = 0;

		for (unsigned int i = 0; i < FLIGHT_SLOTS; i++)
			open += atomic_load_explicit(&in_flight[i].open,
						     memory_order_seq_cst);
		if (!open)
			return;
		us_os_yield();
	}
}

void us_mag_fork_done(bool child)
{
	if (child) {
		/*
		 * Only this thread is left, in no window.  A count is left
		 * nonzero only by a thread that opened and was closing again
		 * for the fork; the others are not written, which would copy
		 * their pages (US_FORK_STATE).
		 */
		for (unsigned int i = 0; i < FLIGHT_SLOTS; i++)
			if (atomic_load_explicit(&in_flight[i].open,
						 memory_order_relaxed))
				atomic_store_explicit(&in_flight[i].open, 0,
						      memory_order_relaxed);
		if (atomic_load_explicit(&fork_sleepers, memory_order_relaxed))
			atomic_store_explicit(&fork_sleepers, 0,
					      memory_order_relaxed);
		atomic_store_explicit(&forks_waiting, 0, memory_order_release);
		return;
	}
	atomic_fetch_sub_explicit(&forks_waiting, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&fork_sleepers, memory_order_seq_cst))
		us_os_futex_wake(&forks_waiting, INT_MAX);
}

/* ------------------------------------------------------------ slow paths */

/* The slow paths: entered with slot locked, return with it unlocked. */
static void *alloc_from_depot(struct kmem_cache *c, struct us_cpu_slot *slot);
static void free_to_depot(struct kmem_cache *c, struct us_cpu_slot *slot,
			  void *obj);
US_NORETURN static void mag_double_free(struct kmem_cache *c,
					struct us_cpu_slot *slot, void *obj);

void *us_mag_alloc_percpu(struct kmem_cache *c)
{
	struct us_cpu_slot *slot;
	struct us_mag *m;
	void *obj;

	/* A debug cache's slots keep the sentinel: every call comes here. */
	if (unlikely(c->flags & US_CACHE_DEBUG))
		return us_slab_alloc_debug(c, -1);
	slot = us_mag_lock_current(c);
	m = slot->loaded;
	if (likely(m->rounds != 0)) {
		obj = mag_pop(m);
		us_stat_add(&slot->alloc_fast, 1);
		us_mag_unlock(slot);
	} else {
		obj = alloc_from_depot(c, slot);
	}
	if (obj)
		us_obj_handout(c, obj);
	return obj;
}

void us_mag_free_percpu(struct kmem_cache *c, void *obj)
{
	struct us_cpu_slot *slot;
	struct us_mag *m;

	if (unlikely(c->flags & US_CACHE_DEBUG)) {
		us_slab_free_debug(c, obj);
		return;
	}
	us_obj_takeback(c, obj);
	slot = us_mag_lock_current(c);
	m = slot->loaded;
	if (likely(m->rounds < m->capacity)) {
		if (unlikely(m->rounds != 0 && m->objs[m->rounds - 1] == obj))
			mag_double_free(c, slot, obj);
		m->objs[m->rounds++] = obj;
		us_stat_add(&slot->free_fast, 1);
		us_mag_unlock(slot);
		return;
	}
	free_to_depot(c, slot, obj);
}


static void slot_swap(struct us_cpu_slot *slot)
{
	struct us_mag *t = slot->loaded;

	slot->loaded = slot->prev;
	slot->prev = t;
}

static void *alloc_from_depot(struct kmem_cache *c, struct us_cpu_slot *slot)
{
	struct us_mag *m, *old = NULL;
	void *obj;
	unsigned int n, flight;

	us_stat_add(&slot->alloc_slow, 1);
	if (slot->prev->rounds) {
		slot_swap(slot);
		obj = mag_pop(slot->loaded);
		us_mag_unlock(slot);
		return obj;
	}

	/* Both empty: prev goes back to the depot, for a full one. */
	m = us_depot_trade_empty(c, slot->prev);
	if (m) {
		slot->prev = slot->loaded;
		slot->loaded = m;
		obj = mag_pop(m);
		us_mag_unlock(slot);
		return obj;
	}
	us_mag_unlock(slot);

	/* Refill from the slabs, holding no lock: objects in flight. */
	flight = us_mag_flight_begin();
	m = depot_get_empty(c);
	if (!m) {
		n = us_slab_alloc_batch(c, &obj, 1);
		us_mag_flight_end(flight);
		return n ? obj : NULL;
	}
	make_room(c, m->capacity);
	n = us_slab_alloc_batch(c, m->objs, m->capacity);
	if (!n) {
		depot_put_empty(c, m);
		us_mag_flight_end(flight);
		errno = ENOMEM;
		return NULL;
	}
	m->rounds = n;
	obj = mag_pop(m);

	slot = us_mag_lock_current(c);
	if (slot->loaded->rounds == 0) {
		old = slot->loaded;
		slot->loaded = m;
		m = NULL;
	} else if (slot->prev->rounds == 0) {
		old = slot->prev;
		slot->prev = m;
		m = NULL;
	}
	us_mag_unlock(slot);
	if (old)
		depot_put_empty(c, old);
	if (m) {
		if (m->rounds)
			depot_put_full(c, m);
		else
			depot_put_empty(c, m);
	}
	us_mag_flight_end(flight);
	us_reclaim_poke(US_RECLAIM_ALLOC, c);
	return obj;
}

static void free_to_depot_locked(struct kmem_cache *c, struct us_cpu_slot *slot,
			     void *obj);

static void free_to_depot(struct kmem_cache *c, struct us_cpu_slot *slot,
			  void *obj)
{
	us_stat_add(&slot->free_slow, 1);
	free_to_depot_locked(c, slot, obj);
	us_reclaim_poke(US_RECLAIM_FREE, c);
}

/* Entered with slot locked; returns with no lock held. */
static void free_to_depot_locked(struct kmem_cache *c, struct us_cpu_slot *slot,
			     void *obj)
{
	US_ASSERT_HELD(&slot->lock);

	for (;;) {
		struct us_mag *m, *full, *stale = NULL;
		struct us_depot *d = &c->depot;
		unsigned int capacity;

		if (slot->loaded->rounds < slot->loaded->capacity)
			goto push;
		if (slot->prev->rounds < slot->prev->capacity) {
			slot_swap(slot);
			goto push;
		}
		/* Both full (or the sentinel): trade prev for an empty. */
		full = slot->prev == &us_mag_sentinel ? NULL : slot->prev;
		depot_lock(c);
		m = depot_pop_empty_locked(d, &stale);
		if (m && full && depot_push_full_locked(d, full))
			full = NULL;
		capacity = m ? 0 : depot_capacity_to_make_locked(c);
		depot_unlock(c);
		if (m) {
			slot->prev = slot->loaded;
			slot->loaded = m;
			m->objs[m->rounds++] = obj;
			/*
			 * The depot is at its cap: flush, before the slot
			 * lock goes, so that no object is in flight.
			 */
			if (full)
				mag_flush(c, full);
			us_mag_unlock(slot);
			mag_delete_list(stale);
			if (full)
				depot_put_empty(c, full);
			return;
		}
		us_mag_unlock(slot);
		mag_delete_list(stale);

		/* No empty magazine anywhere: make one and try again. */
		m = mag_new(capacity);
		if (!m) {
			us_slab_free_batch(c, &obj, 1);
			return;
		}
		depot_put_empty(c, m);
		slot = us_mag_lock_current(c);
		if (unlikely(slot->loaded->rounds &&
			     slot->loaded->objs[slot->loaded->rounds - 1] == obj))
			mag_double_free(c, slot, obj);
	}
push:
	slot->loaded->objs[slot->loaded->rounds++] = obj;
	us_mag_unlock(slot);
}

static void mag_double_free(struct kmem_cache *c, struct us_cpu_slot *slot,
			    void *obj)
{
	us_mag_unlock(slot);
	us_mag_report_double_free(c, obj);
}

void us_mag_report_double_free(struct kmem_cache *c, void *obj)
{
	us_bug_already_free(c, obj);	/* never a debug cache: aborts */
	abort();
}

/* Lock slot i from wherever we run; see rseq.h for the fence. */
static struct us_cpu_slot *lock_slot(struct kmem_cache *c, unsigned int i)
{
	us_lock(&c->cpu[i].lock);
	us_mag_slot_close(&c->cpu[i]);
	if (us_rseq_must_fence(i))
		us_rseq_fence((int)i);
	us_mag_slot_sync(&c->cpu[i]);
	return &c->cpu[i];
}

static unsigned int debug_alloc_bulk(struct kmem_cache *c, void **p,
				     unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		p[i] = us_slab_alloc_debug(c, -1);
		if (!p[i]) {
			while (i--)
				us_slab_free_debug(c, p[i]);
			errno = ENOMEM;
			return 0;
		}
	}
	return n;
}

unsigned int us_mag_alloc_bulk(struct kmem_cache *c, void **p, unsigned int n)
{
	struct us_cpu_slot *slot;
	unsigned int got = 0;

	if (unlikely(c->flags & US_CACHE_DEBUG))
		return debug_alloc_bulk(c, p, n);
	slot = us_mag_lock_current(c);

	for (int pass = 0; pass < 2 && got < n; pass++) {
		struct us_mag *m = pass ? slot->prev : slot->loaded;

		while (got < n && m->rounds)
			p[got++] = mag_pop(m);
	}
	us_stat_add(&slot->alloc_fast, got);
	us_mag_unlock(slot);
	for (unsigned int i = 0; i < got; i++)
		us_obj_handout(c, p[i]);

	while (got < n) {
		unsigned int more = us_slab_alloc_batch(c, p + got, n - got);

		if (!more) {
			for (unsigned int i = 0; i < got; i++)
				us_mag_free_percpu(c, p[i]);
			errno = ENOMEM;
			return 0;
		}
		for (unsigned int i = got; i < got + more; i++)
			us_obj_handout(c, p[i]);
		got += more;
	}
	return n;
}

/* ------------------------------------------------------- drain and stats */

/* Detach the tail of a newest-first list from the first idle magazine. */
static struct us_mag *cut_idle(struct us_mag **head, uint32_t *count,
			       uint64_t before)
{
	struct us_mag **link = head, *idle;
	uint32_t kept = 0;

	while (*link && (*link)->stamp >= before) {
		link = &(*link)->next;
		kept++;
	}
	idle = *link;
	*link = NULL;
	*count = kept;
	return idle;
}

void us_mag_reap(struct kmem_cache *c, uint64_t before)
{
	struct us_depot *d = &c->depot;
	struct us_mag *full, *empty;
	uint64_t n = 0;

	if (c->flags & US_CACHE_NOMAGAZINE)
		return;
	depot_lock(c);
	full = cut_idle(&d->full, &d->nfull, before);
	empty = cut_idle(&d->empty, &d->nempty, before);
	for (struct us_mag *m = full; m; m = m->next) {
		depot_bytes_add(d, m, -1);
		n++;
	}
	us_stat_add(&d->reaped, n);
	depot_unlock(c);
	/* Idle since they came in: the slabs they empty are cold too. */
	for (struct us_mag *m = full; m; m = m->next)
		mag_flush_idle(c, m, before == UINT64_MAX ? us_os_now_ms()
							   : m->stamp);
	mag_delete_list(full);
	mag_delete_list(empty);
}

/*
 * The calls the slot has served, as far as its counters tell.  The
 * sequences' pops count nowhere (rseq.h): they show as a moved top.
 */
static uint64_t slot_ops(struct us_cpu_slot *slot)
{
	return us_stat_read(&slot->alloc_fast) + us_stat_read(&slot->free_fast) +
	       us_stat_read(&slot->alloc_slow) + us_stat_read(&slot->free_slow);
}

/*
 * Reaping slots.  Taking a slot's magazines from another CPU costs a
 * fence of the slot's CPU (rseq.h): a membarrier() call, and an
 * interrupt of that CPU if one of our threads runs there.  A sweep that
 * emptied idle slots one at a time paid a fence for each cache idle on
 * a CPU: 623 in one 16-second run of mimalloc-bench's rptest on 2 CPUs.
 * So the sweep locks and closes every idle slot of one CPU, across the
 * caches, up to US_REAP_BATCH at a time, fences that CPU once, and only
 * then takes their magazines.  Holding many slot locks is an exception
 * to the design essay's one at a time (7), and a safe one: the sweep
 * holds the cache-list lock, for which the fork handler, the only other
 * thread to take many, waits; and no holder of a slot lock waits for
 * another slot lock, or for the cache-list lock.
 */

/* Has the slot's use stopped since before `before`?  The sweep's view. */
static bool slot_idle(struct us_cpu_slot *slot, uint64_t now, uint64_t before)
{
	uint64_t ops = slot_ops(slot);
	void **top = __atomic_load_n(&slot->top, __ATOMIC_RELAXED);

	if (ops != slot->idle_ops || top != slot->idle_top) {
		slot->idle_ops = ops;
		slot->idle_top = top;
		slot->idle_since = now;
		slot->idle_drained = false;
		return false;
	}
	return !slot->idle_drained && slot->idle_since < before;
}

void us_mag_reap_cpu_begin(struct us_slot_reap *r, unsigned int cpu,
			   uint64_t now, uint64_t before)
{
	r->now = now;
	r->before = before;
	r->cpu = cpu;
	r->n = 0;
}

/* Close c's slot of r's CPU, locked, to be emptied as idle since then. */
static void reap_add(struct us_slot_reap *r, struct kmem_cache *c,
		     uint64_t idle_since)
{
	struct us_cpu_slot *slot = &c->cpu[r->cpu];

	us_mag_slot_close(slot);
	r->slot[r->n].c = c;
	r->slot[r->n].idle_since = idle_since;
	if (++r->n == US_REAP_BATCH)
		us_mag_reap_cpu_end(r);
}

/*
 * Lock c's slot of r's CPU and add it to r, unless it holds no magazine
 * (never used, or emptied): then there is nothing to take, and no fence.
 */
static void reap_take(struct us_slot_reap *r, struct kmem_cache *c,
		      uint64_t idle_since)
{
	struct us_cpu_slot *slot = &c->cpu[r->cpu];

	us_lock(&slot->lock);
	if (slot->loaded == &us_mag_sentinel && slot->prev == &us_mag_sentinel) {
		us_unlock(&slot->lock);
		return;
	}
	reap_add(r, c, idle_since);
}

void us_mag_reap_cpu_slot(struct us_slot_reap *r, struct kmem_cache *c)
{
	struct us_cpu_slot *slot = &c->cpu[r->cpu];

	if (c->flags & (US_CACHE_NOMAGAZINE | US_CACHE_DEBUG) ||
	    !slot_idle(slot, r->now, r->before))
		return;
	/* Idle for the decay period: its magazines go, as in a drain. */
	slot->idle_drained = true;
	reap_take(r, c, slot->idle_since);
}

void us_mag_empty_cpu_slot(struct us_slot_reap *r, struct kmem_cache *c)
{
	if (!(c->flags & US_CACHE_NOMAGAZINE))
		reap_take(r, c, r->now);
}

/*
 * Fence r's CPU once for every slot locked and closed, take their two
 * magazines, leaving them the sentinels, unlock them, and flush the
 * magazines' objects to the slabs; the magazines are freed.
 */
void us_mag_reap_cpu_end(struct us_slot_reap *r)
{
	struct us_mag *m[US_REAP_BATCH][2];
	unsigned int n = r->n;

	if (!n)
		return;
	r->n = 0;
	if (us_rseq_must_fence(r->cpu))
		us_rseq_fence((int)r->cpu);
	for (unsigned int i = 0; i < n; i++) {
		struct us_cpu_slot *slot = &r->slot[i].c->cpu[r->cpu];

		us_mag_slot_sync(slot);
		m[i][0] = slot->loaded;
		m[i][1] = slot->prev;
		slot->loaded = &us_mag_sentinel;
		slot->prev = &us_mag_sentinel;
		us_mag_unlock(slot);
	}
	for (unsigned int i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			if (m[i][k] == &us_mag_sentinel)
				continue;
			mag_flush_idle(r->slot[i].c, m[i][k],
				       r->slot[i].idle_since);
			mag_delete(m[i][k]);
		}
	}
}

void us_mag_reap_slots(struct kmem_cache *c, uint64_t now, uint64_t before)
{
	struct us_slot_reap r;

	for (unsigned int i = 0; i < us_nr_cpus; i++) {
		us_mag_reap_cpu_begin(&r, i, now, before);
		us_mag_reap_cpu_slot(&r, c);
		us_mag_reap_cpu_end(&r);
	}
}

/*
 * Take slot i's two magazines, leaving it the sentinels, and flush their
 * objects to the slabs as idle since idle_since; the magazines are freed.
 */
static void slot_empty_out(struct kmem_cache *c, unsigned int i,
			   uint64_t idle_since)
{
	struct us_slot_reap r;

	us_mag_reap_cpu_begin(&r, i, idle_since, 0);
	reap_take(&r, c, idle_since);
	us_mag_reap_cpu_end(&r);
}

uint64_t us_mag_depot_bytes(struct kmem_cache *c)
{
	uint64_t bytes = 0;

	if (c->flags & US_CACHE_NOMAGAZINE)
		return 0;
	us_lock(&c->depot.lock);
	for (struct us_mag *m = c->depot.full; m; m = m->next)
		bytes += (uint64_t)m->rounds * c->size;
	us_unlock(&c->depot.lock);
	return bytes;
}

void us_mag_drain(struct kmem_cache *c)
{
	unsigned int flight;

	if (c->flags & US_CACHE_NOMAGAZINE)
		return;
	flight = us_mag_flight_begin();
	us_mag_drain_walking(c);
	us_mag_flight_end(flight);
}

void us_mag_drain_walking(struct kmem_cache *c)
{
	if (c->flags & US_CACHE_NOMAGAZINE)
		return;
	for (unsigned int i = 0; i < us_nr_cpus; i++)
		slot_empty_out(c, i, us_os_now_ms());
	us_mag_reap(c, UINT64_MAX);
}

unsigned int us_mag_capacity(struct kmem_cache *c)
{
	unsigned int capacity;

	if (c->flags & US_CACHE_NOMAGAZINE)
		return 0;
	us_lock(&c->depot.lock);
	capacity = c->depot.capacity;
	us_unlock(&c->depot.lock);
	return capacity;
}

/*
 * The rounds of a slot's loaded magazine, slot lock held, with the slot
 * left open: the sequences may move its top, but not off the loaded
 * magazine, which only a lock holder changes.  So top gives the count,
 * as of the sequences that have committed, with no fence of the slot's
 * CPU: statistics read every cache on every CPU, and a fence each would
 * interrupt the CPUs at work.
 */
static uint32_t loaded_rounds_open(struct us_cpu_slot *slot)
{
	void **top;

	if (!us_mag_slots_live())
		return slot->loaded->rounds;
	top = __atomic_load_n(&slot->top, __ATOMIC_RELAXED);
	return (uint32_t)(top - slot->loaded->objs);
}

uint64_t us_mag_cached(struct kmem_cache *c)
{
	uint64_t n = 0;

	if (c->flags & US_CACHE_NOMAGAZINE)
		return 0;
	for (unsigned int i = 0; i < us_nr_cpus; i++) {
		struct us_cpu_slot *slot = &c->cpu[i];

		us_lock(&slot->lock);		/* not closed: see above */
		n += loaded_rounds_open(slot) + slot->prev->rounds;
		us_unlock(&slot->lock);
	}
	us_lock(&c->depot.lock);
	for (struct us_mag *m = c->depot.full; m; m = m->next)
		n += m->rounds;
	us_unlock(&c->depot.lock);
	return n;
}

void us_mag_counts(struct kmem_cache *c, struct us_mag_counts *out)
{
	memset(out, 0, sizeof(*out));
	if (c->flags & US_CACHE_NOMAGAZINE)
		return;
	for (unsigned int i = 0; i < us_nr_cpus; i++) {
		struct us_cpu_slot *slot = &c->cpu[i];

		out->alloc_fast += us_stat_read(&slot->alloc_fast);
		out->alloc_slow += us_stat_read(&slot->alloc_slow);
		out->free_fast += us_stat_read(&slot->free_fast);
		out->free_slow += us_stat_read(&slot->free_slow);
	}
	out->depot_full_taken = us_stat_read(&c->depot.full_taken);
	out->depot_empty_taken = us_stat_read(&c->depot.empty_taken);
	out->depot_contended = us_stat_read(&c->depot.contended);
	out->depot_reaped = us_stat_read(&c->depot.reaped);
}

static unsigned int validate_mag(struct kmem_cache *c, struct us_mag *m)
{
	unsigned int problems = 0;

	if (m == &us_mag_sentinel)
		return m->rounds != 0 || m->capacity != 0;
	if (m->rounds > m->capacity || m->capacity > US_MAG_MAX_ROUNDS)
		return 1;
	for (uint32_t i = 0; i < m->rounds; i++) {
		struct us_chunk *ch = us_chunk_lookup(m->objs[i]);
		struct us_slab *slab;

		if (!ch || ch->kind != US_CHUNK_SLAB) {
			problems++;
			continue;
		}
		slab = us_chunk_slab(ch, m->objs[i]);
		if (atomic_load_explicit(&slab->cache, memory_order_relaxed) != c ||
		    !us_slab_is_object(c, slab, m->objs[i]))
			problems++;
	}
	return problems;
}

unsigned int us_mag_validate(struct kmem_cache *c)
{
	unsigned int problems = 0;

	if (c->flags & US_CACHE_NOMAGAZINE)
		return 0;
	for (unsigned int i = 0; i < us_nr_cpus; i++) {
		struct us_cpu_slot *slot = lock_slot(c, i);

		problems += validate_mag(c, slot->loaded);
		problems += validate_mag(c, slot->prev);
		us_mag_unlock(slot);
	}
	us_lock(&c->depot.lock);
	for (struct us_mag *m = c->depot.full; m; m = m->next)
		problems += validate_mag(c, m) + (m->rounds == 0);
	for (struct us_mag *m = c->depot.empty; m; m = m->next)
		problems += m->rounds != 0;
	us_unlock(&c->depot.lock);
	return problems;
}

void us_mag_fork_prepare_cpus(struct kmem_cache *c)
{
	/* The caller fences every CPU once all caches are locked. */
	if (c->flags & US_CACHE_NOMAGAZINE)
		return;
	for (unsigned int i = 0; i < us_nr_cpus; i++) {
		us_lock(&c->cpu[i].lock);
		us_mag_slot_close(&c->cpu[i]);
	}
}

void us_mag_fork_prepare_depot(struct kmem_cache *c)
{
	if (!(c->flags & US_CACHE_NOMAGAZINE))
		us_lock(&c->depot.lock);
}

/*
 * After fork, both sides: every slot was closed, then every CPU fenced
 * (cache.c), so the sequences' tops are settled, and nothing between
 * the close and here reads a magazine's count: open the slots on their
 * tops again, with no write-back (us_mag_slot_reopen()), so that the
 * handlers write the descriptors' lines and no magazine's page.
 */
void us_mag_fork_parent(struct kmem_cache *c)
{
	if (c->flags & US_CACHE_NOMAGAZINE)
		return;
	us_unlock(&c->depot.lock);
	for (unsigned int i = 0; i < us_nr_cpus; i++) {
		us_mag_slot_reopen(&c->cpu[i]);
		us_unlock(&c->cpu[i].lock);
	}
}

void us_mag_fork_child(struct kmem_cache *c)
{
	if (c->flags & US_CACHE_NOMAGAZINE)
		return;
	us_lock_reset(&c->depot.lock);
	for (unsigned int i = 0; i < us_nr_cpus; i++) {
		us_mag_slot_reopen(&c->cpu[i]);
		us_lock_reset(&c->cpu[i].lock);
	}
}
