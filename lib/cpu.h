/* SPDX-License-Identifier: MIT */
/*
 * cpu.h - which CPU the calling thread runs on, and how many there are.
 */
#ifndef USLAB_CPU_H
#define USLAB_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#if HAVE_LINUX_RSEQ_H && HAVE_BUILTIN_THREAD_POINTER
#include <linux/rseq.h>
#define US_CPU_USE_RSEQ 1
#else
#define US_CPU_USE_RSEQ 0
#endif

/* Possible CPUs: the number of per-CPU slots every cache has. */
US_PRIV_DECLARE(unsigned int, us_nr_cpus);

/*
 * From the thread pointer to the calling thread's rseq area: glibc's,
 * uslab's own, or uslab's own never registered, whose cpu_id stays
 * negative (cpu.c).  The same for every thread.
 */
US_PRIV_DECLARE(ptrdiff_t, us_rseq_offset);

/*
 * Count the possible CPUs (USLAB_NR_CPUS overrides, for tests): one slot
 * each, up to max_slots, onto which any others fold.
 */
void us_cpu_init(unsigned int max_slots);

/*
 * Where no rseq area gives the CPU: the thread's own cached answer,
 * asked of the kernel again every US_CPU_REFRESH_OPS calls or when
 * us_cpu_refresh() says the guess went stale.
 */
#define US_CPU_REFRESH_OPS 128
US_SHARED unsigned int us_cpu_current_slow(void);
unsigned int us_cpu_refresh(void);

/*
 * The kernel's number for the CPU the calling thread runs on, as the
 * rseq area says: negative where no area is registered for the thread.
 */
static inline int32_t us_cpu_rseq_id(void)
{
#if US_CPU_USE_RSEQ
	const struct rseq *rs = (const struct rseq *)(void *)(
		(char *)__builtin_thread_pointer() + US_PRIV(us_rseq_offset));

	/* Written by the kernel at every return to user space. */
	return (int32_t)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
#else
	return -1;
#endif
}

/*
 * The calling thread's CPU slot, below us_nr_cpus.  Only a hint: the
 * thread may be on another CPU by the time it is used, which costs
 * speed, never correctness, because the per-CPU slot is locked.  A CPU
 * number at or above the slot count folds onto a slot.
 */
static inline unsigned int us_cpu_current(void)
{
	int32_t cpu = us_cpu_rseq_id();

	if (likely((uint32_t)cpu < US_PRIV(us_nr_cpus)))
		return (unsigned int)cpu;
	return us_cpu_current_slow();
}

/*
 * The kernel's number for the CPU the calling thread runs on, not folded
 * onto a slot: for reports, and for any question of "am I on CPU n?".
 */
unsigned int us_cpu_id(void);

#endif /* USLAB_CPU_H */
