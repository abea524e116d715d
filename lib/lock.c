/* SPDX-License-Identifier: MIT */
/*
 * lock.c - the out-of-line halves of the futex lock in lock.h.
 */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lock.h"

/*
 * How long a waiter spins before it sleeps.  A holder that runs keeps a
 * uslab lock for well under a microsecond; one that was preempted keeps it
 * for a scheduler tick, so spinning longer than this only burns the CPU
 * the holder needs.
 */
#define SPIN_LIMIT 100

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static void futex_wait(_Atomic uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_one(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void us_lock_slow(struct us_lock *l)
{
	int saved_errno = errno;

	for (int i = 0; i < SPIN_LIMIT; i++) {
		if (atomic_load_explicit(&l->word, memory_order_relaxed) == 0 &&
		    us_trylock(l))
			return;
		cpu_relax();
	}
	/*
	 * Mark the lock contended before sleeping, so the holder's unlock
	 * wakes us; we then take it in the contended state, since we cannot
	 * know whether others still wait.
	 */
	while (atomic_exchange_explicit(&l->word, 2, memory_order_acquire) != 0)
		futex_wait(&l->word, 2);
	errno = saved_errno;
}

void us_unlock_wake(struct us_lock *l)
{
	int saved_errno = errno;

	futex_wake_one(&l->word);
	errno = saved_errno;
}
