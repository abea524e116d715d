/* SPDX-License-Identifier: MIT */
/*
 * lock.h - the one lock uslab uses everywhere.
 *
 * A three-state futex mutex (0 unlocked, 1 locked, 2 locked with
 * waiters), after Drepper's "Futexes Are Tricky".  Why not
 * pthread_mutex_t: the uncontended path must inline into the allocation
 * fast path (one compare-and-swap to take, one exchange to release, no
 * call), a lock word of four bytes packs into per-CPU slots, and after
 * fork() the child resets it with a plain store.
 *
 * A holder can be preempted (the per-CPU locks especially, when there are
 * more threads than CPUs), so waiters spin only briefly and then sleep in
 * the kernel: no lock spins without bound.
 *
 * The lock is not recursive and has no owner; uslab's lock order is in
 * the design essay in internal.h.
 */
#ifndef USLAB_LOCK_H
#define USLAB_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct us_lock {
	_Atomic uint32_t word;
};

#define US_LOCK_INIT { 0 }

void us_lock_slow(struct us_lock *l);
void us_unlock_wake(struct us_lock *l);

static inline bool us_trylock(struct us_lock *l)
{
	uint32_t expect = 0;

	return atomic_compare_exchange_strong_explicit(
		&l->word, &expect, 1, memory_order_acquire,
		memory_order_relaxed);
}

static inline void us_lock(struct us_lock *l)
{
	if (__builtin_expect(!us_trylock(l), 0))
		us_lock_slow(l);
}

static inline void us_unlock(struct us_lock *l)
{
	if (__builtin_expect(atomic_exchange_explicit(&l->word, 0,
						      memory_order_release) == 2,
			     0))
		us_unlock_wake(l);
}

/* After fork(), in the child: every other thread is gone. */
static inline void us_lock_reset(struct us_lock *l)
{
	atomic_store_explicit(&l->word, 0, memory_order_relaxed);
}

static inline bool us_lock_is_held(struct us_lock *l)
{
	return atomic_load_explicit(&l->word, memory_order_relaxed) != 0;
}

#endif /* USLAB_LOCK_H */
