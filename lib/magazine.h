/* SPDX-License-Identifier: MIT */
/*
 * magazine.h - per-CPU magazines and the depot: the fast paths.
 */
#ifndef USLAB_MAGAZINE_H
#define USLAB_MAGAZINE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "internal.h"
#include "memtool.h"
#include "rseq.h"
#include "tcache.h"

/* A cache's magazines hold about this many bytes of objects ... */
#define US_MAG_START_BYTES ((size_t)32 << 10)
/* ... once it is in use; its first one, made small, holds this many. */
#define US_MAG_FIRST_ROUNDS 60u
/* ... and contention grows them to at most this many. */
#define US_MAG_GROW_BYTES ((size_t)128 << 10)

/* The most bytes of objects a depot keeps in full magazines. */
#define US_DEPOT_MAX_BYTES ((size_t)16 << 20)

/* The empty magazine of capacity 0 that every slot starts with. */
extern struct us_mag us_mag_sentinel;

/* Set up the bootstrap magazine caches.  Called once by us_init(). */
void us_mag_init(void);

/* The bootstrap magazine caches, for the cache list; NULL past the end. */
struct kmem_cache *us_mag_boot_cache(unsigned int i);

/* Initialise c's per-CPU slots and depot. */
void us_mag_cache_init(struct kmem_cache *c);

/*
 * Flush c's depot magazines that came in before `before` (ms; UINT64_MAX:
 * every one) to the slabs, and free them and the idle empty ones.
 */
void us_mag_reap(struct kmem_cache *c, uint64_t before);

/*
 * The sweep (at `now`, ms) drains the CPU slots whose counters have not
 * moved since before `before`, to the slabs, as idle since they last
 * moved.  The depot's reaping alone would leave a CPU that stopped using
 * a cache holding its two magazines for good, and their objects,
 * scattered over the slabs, keep whole chunks mapped.
 *
 * It goes a CPU at a time across every cache, so that a CPU is fenced
 * once however many of its slots go (magazine.c, "Reaping slots"):
 * us_mag_reap_cpu_begin(), us_mag_reap_cpu_slot() for each cache, then
 * us_mag_reap_cpu_end(), all under the cache-list lock, which is what
 * makes holding many slot locks at once safe.  us_mag_reap_slots() does
 * the same for one cache; us_mag_empty_cpu_slot() in place of
 * us_mag_reap_cpu_slot() takes a slot's magazines whatever its use, as a
 * drain does (uslab_shrink_all()), as idle since r's `now`.
 */
#define US_REAP_BATCH 32

struct us_slot_reap {
	uint64_t now, before;
	unsigned int cpu;
	unsigned int n;			/* slots locked and closed */
	struct {
		struct kmem_cache *c;
		uint64_t idle_since;
	} slot[US_REAP_BATCH];
};

void us_mag_reap_cpu_begin(struct us_slot_reap *r, unsigned int cpu,
			   uint64_t now, uint64_t before);
void us_mag_reap_cpu_slot(struct us_slot_reap *r, struct kmem_cache *c);
void us_mag_empty_cpu_slot(struct us_slot_reap *r, struct kmem_cache *c);
void us_mag_reap_cpu_end(struct us_slot_reap *r);
void us_mag_reap_slots(struct kmem_cache *c, uint64_t now, uint64_t before);

/* Bytes of objects in c's depot's full magazines (the sweep). */
uint64_t us_mag_depot_bytes(struct kmem_cache *c);

/*
 * Do the sequences run?  Decided at start-up, before any cache exists.
 * Where they do not, slots stay closed for good (uslabtop reads the
 * magazines' own counts then), and the locked paths skip the closing,
 * the count's write-back and the opening.
 */
static inline bool us_mag_slots_live(void)
{
	return US_RSEQ_FAST && US_PRIV(us_rseq_enabled);
}

/*
 * Close a slot to the sequences, just locked: with base the highest
 * address and end NULL, a pop finds nothing above base and a push no
 * room below end, and both take the locked paths.  A sequence that read
 * the slot open just before is still in flight on the slot's CPU; rseq.h
 * says who restarts it, which the caller does after this.
 */
static inline void us_mag_slot_close(struct us_cpu_slot *slot)
{
	if (!us_mag_slots_live())
		return;
	__atomic_store_n(&slot->base, (void **)UINTPTR_MAX, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->end, (void **)NULL, __ATOMIC_RELAXED);
}

/*
 * A closed slot, no sequence in flight on it: write the sequences' count
 * back into the loaded magazine, where the locked code reads it.
 */
static inline void us_mag_slot_sync(struct us_cpu_slot *slot)
{
	if (!us_mag_slots_live())
		return;
	slot->loaded->rounds = (uint32_t)(slot->top - slot->loaded->objs);
}

/* Base and end of a live slot back on its loaded magazine m. */
static inline void us_mag_slot_bounds(struct us_cpu_slot *slot,
				      struct us_mag *m)
{
	__atomic_store_n(&slot->base, m->objs, __ATOMIC_RELEASE);
	__atomic_store_n(&slot->end, m->objs + m->capacity, __ATOMIC_RELEASE);
}

/*
 * Open again a slot whose top is still the sequences' own: only base and
 * end go back.  The fork handlers close every slot with no write-back and
 * open it so: the loaded magazine is read, not written, since after
 * fork() a write to it would cost a copy-on-write fault of its page, in
 * the parent and in the child, for every slot of every cache.
 */
static inline void us_mag_slot_reopen(struct us_cpu_slot *slot)
{
	struct us_mag *m = slot->loaded;

	if (!us_mag_slots_live())
		return;
	us_mag_slot_bounds(slot, m);
}

/*
 * Open the slot to the sequences on its loaded magazine: top first, so
 * that a sequence, which loads base or end before top (rseq.h), finds
 * top true whenever it finds the slot open.
 */
static inline void us_mag_slot_open(struct us_cpu_slot *slot)
{
	struct us_mag *m = slot->loaded;

	if (!us_mag_slots_live())
		return;
	__atomic_store_n(&slot->top, m->objs + m->rounds, __ATOMIC_RELAXED);
	us_mag_slot_bounds(slot, m);
}

/* Open the slot again and unlock it. */
static inline void us_mag_unlock(struct us_cpu_slot *slot)
{
	us_mag_slot_open(slot);
	us_unlock(&slot->lock);
}

/*
 * Lock the slot of the CPU we run on, close and sync it, and return it.
 * With rseq, a thread that has since moved to another CPU restarts the
 * sequences of the slot's CPU (rseq.h) before it may touch the slot.
 */
static inline struct us_cpu_slot *us_mag_lock_current(struct kmem_cache *c)
{
	unsigned int cpu = us_cpu_current();
	struct us_cpu_slot *slot = &c->cpu[cpu];

	if (unlikely(!us_trylock(&slot->lock))) {
		/* Busy: a cached CPU (no rseq area) may have gone stale. */
		if (us_cpu_rseq_id() < 0) {
			cpu = us_cpu_refresh();
			slot = &c->cpu[cpu];
		}
		us_lock(&slot->lock);
	}
	us_mag_slot_close(slot);
	if (us_rseq_must_fence(cpu))
		us_rseq_fence((int)cpu);
	us_mag_slot_sync(slot);
	return slot;
}

/*
 * The locked paths: the fast paths without rseq, and the slow path where
 * a sequence gave up (slot locked, CPU moved, magazine empty/full).
 * us_mag_*_slow() (tcache.c) choose the thread's own magazines where
 * they can, else us_mag_*_percpu(), which lock the CPU's slot.
 */
US_SHARED void *us_mag_alloc_slow(struct kmem_cache *c);
US_SHARED void us_mag_free_slow(struct kmem_cache *c, void *obj);
void *us_mag_alloc_percpu(struct kmem_cache *c);
void us_mag_free_percpu(struct kmem_cache *c, void *obj);

/*
 * Take a magazine's top round.  Under valgrind every round that leaves
 * a magazine is cleared, whether handed out or flushed to the slabs, so
 * that memcheck's leak check finds no stale pointer to a block the
 * caller has lost in uslab's own memory.
 */
static inline void *us_mag_pop(struct us_mag *m)
{
	void *obj = m->objs[--m->rounds];

	if (US_VG)
		m->objs[m->rounds] = NULL;
	return obj;
}

US_SHARED US_NORETURN void us_mag_report_double_free(struct kmem_cache *c,
						    void *obj);

#if US_RSEQ_FAST
/*
 * The sequences store their descriptor's address in the rseq area before
 * they read the CPU, so the area's offset must be true before a sequence
 * starts.  In libuslab it is set before any cache exists.  In
 * libuslab-malloc, whose US_PRIV copies malloc.c fills at run time (the
 * rseq offset, then the CPU bound, released, then the class caches,
 * released), an allocation reaches a sequence only with a class cache
 * read with acquire, so with both copies true.  A free finds its cache
 * in libuslab's own tables instead, perhaps before the copies are made,
 * so it first reads the bound, acquiring: 0 (not yet copied, or rseq
 * off) takes the locked path; else the offset read after it is true.
 */
#if defined(USLAB_BUILDING_MALLOC)
#define US_MAG_FREE_BOUND(b)                                                 \
	const uint32_t b = __atomic_load_n(&US_PRIV(us_rseq_cpus),           \
					   __ATOMIC_ACQUIRE);                \
	if (unlikely(b == 0))                                                \
		goto slow
#define US_MAG_FREE_BOUND_OPERAND(b) (b)
#else
#define US_MAG_FREE_BOUND(b) (void)0
#define US_MAG_FREE_BOUND_OPERAND(b) US_PRIV(us_rseq_cpus)
#endif
#endif

#if US_RSEQ_FAST
_Static_assert(sizeof(struct us_cpu_slot) == 128, "the sequences shift by 7");
#endif

/*
 * The thread caches' fast paths (tcache.h), where no sequence runs, on c's
 * slot of the calling thread's cache: a pop (NULL: no cache, no slot, or
 * an empty magazine) and a push (US_TC_NO also where there is no cache
 * or slot).  The caller reports a double free from the block it shares
 * with the sequence's, so that only that block needs a stack frame.
 */
static inline __attribute__((always_inline)) void *
us_tcache_pop(const struct kmem_cache *c)
{
	struct us_tcache *t = us_tcache_fast;

	return t ? us_tcache_slot_pop(&t->slot[c->tc_index], false) : NULL;
}

static inline __attribute__((always_inline)) int
us_tcache_push(const struct kmem_cache *c, void *obj)
{
	struct us_tcache *t = us_tcache_fast;

	return t ? us_tcache_slot_push(&t->slot[c->tc_index], obj) : US_TC_NO;
}

/*
 * Allocate from c's magazines; NULL with errno ENOMEM.  Where the
 * sequence cannot serve (no rseq: the thread's own magazines; or an empty
 * magazine, a closed slot), the thread cache's pop comes next, which is
 * not there where the sequences run: one load and a test of NULL.
 */
static inline __attribute__((always_inline)) void *
us_mag_alloc(struct kmem_cache *c)
{
	void *obj;
#if US_RSEQ_FAST
	const ptrdiff_t rs = us_rseq_area_offset();

restart:
	US_RSEQ_POP(c, US_PRIV(us_rseq_cpus), obj);
	us_obj_asan_handout(c, obj);
	return obj;
slow:
#endif
	obj = us_tcache_pop(c);
	if (likely(obj)) {
		us_obj_asan_handout(c, obj);
		return obj;
	}
	return us_mag_alloc_slow(c);
}

/* Free an object of c, already checked to belong to c. */
static inline __attribute__((always_inline)) void
us_mag_free(struct kmem_cache *c, void *obj)
{
	int pushed;

	us_obj_asan_takeback(c, obj);
#if US_RSEQ_FAST
	US_MAG_FREE_BOUND(bound);
	const ptrdiff_t rs = us_rseq_area_offset();

restart:
	US_RSEQ_PUSH(c, US_MAG_FREE_BOUND_OPERAND(bound), obj);
	return;
slow:
#endif
	pushed = us_tcache_push(c, obj);
	if (likely(pushed == US_TC_PUSHED))
		return;
	if (unlikely(pushed == US_TC_TWICE))
		goto twice;
	us_mag_free_slow(c, obj);
	return;
twice:
	us_mag_report_double_free(c, obj);
}

/*
 * For the thread caches (tcache.c): the depot and refill as the per-CPU
 * slow paths use them, with no slot lock held.
 */

/*
 * Trade an empty magazine (or the sentinel) for a full one, in one visit
 * to the depot: returns the full one, and the depot keeps or frees
 * `empty`; or NULL, and `empty` stays the caller's.
 */
struct us_mag *us_depot_trade_empty(struct kmem_cache *c, struct us_mag *empty);

/* The same the other way: an empty magazine for a full one (or NULL). */
struct us_mag *us_depot_trade_full(struct kmem_cache *c, struct us_mag *full);

/* A magazine with up to `most` objects from the slabs; NULL, ENOMEM. */
struct us_mag *us_mag_refill(struct kmem_cache *c, unsigned int most);

/* A new empty magazine of c's current capacity, or NULL. */
struct us_mag *us_mag_new_empty(struct kmem_cache *c);

/*
 * A window in which a slow path may hold magazines or objects that no
 * structure records (magazine.c, objects in flight): fork() waits until
 * none is open.  Opened with no lock held; the value goes to the end.
 * Windows nest: one opened inside another (a constructor that allocates)
 * does not wait for a fork.
 */
unsigned int us_mag_flight_begin(void);
void us_mag_flight_end(unsigned int window);

/* Give a magazine, full or empty, back to c's depot. */
void us_depot_give(struct kmem_cache *c, struct us_mag *m);

/* All or nothing: n objects into p, or 0 with errno ENOMEM. */
unsigned int us_mag_alloc_bulk(struct kmem_cache *c, void **p, unsigned int n);

/*
 * Return every object in c's magazines to its slabs; free the magazines.
 * With no lock held; us_mag_drain_walking() from a walker that holds the
 * cache-list lock, which keeps fork() out instead (magazine.c, objects in
 * flight).
 */
void us_mag_drain(struct kmem_cache *c);
void us_mag_drain_walking(struct kmem_cache *c);

/* Current magazine capacity of c, and objects its magazines hold now. */
unsigned int us_mag_capacity(struct kmem_cache *c);
uint64_t us_mag_cached(struct kmem_cache *c);

struct us_mag_counts {
	uint64_t alloc_fast, alloc_slow, free_fast, free_slow;
	uint64_t depot_full_taken, depot_empty_taken, depot_contended;
	uint64_t depot_reaped;
};
void us_mag_counts(struct kmem_cache *c, struct us_mag_counts *out);

/* Problems in c's magazines: objects not of c, counts out of range. */
unsigned int us_mag_validate(struct kmem_cache *c);

/*
 * fork: c's CPU slot locks, then, in the next phase of the lock order,
 * its depot lock; after fork, both released (parent) or reset (child).
 */
void us_mag_fork_prepare_cpus(struct kmem_cache *c);
/*
 * fork, before any lock is taken: keep new windows of objects in flight
 * from opening, and wait for the open ones to close; after fork, let
 * them open again (magazine.c).
 */
void us_mag_fork_wait(void);
void us_mag_fork_done(bool child);
void us_mag_fork_prepare_depot(struct kmem_cache *c);
void us_mag_fork_parent(struct kmem_cache *c);
void us_mag_fork_child(struct kmem_cache *c);

#endif /* USLAB_MAGAZINE_H */
