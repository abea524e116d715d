/* SPDX-License-Identifier: MIT */
/*
 * cpu.h - which CPU the calling thread runs on, and how many there are.
 */
#ifndef USLAB_CPU_H
#define USLAB_CPU_H

#include <stdint.h>

#include "internal.h"

#if HAVE_RSEQ_OFFSET && HAVE_BUILTIN_THREAD_POINTER
#include <sys/rseq.h>
#define US_CPU_USE_RSEQ 1
#else
#define US_CPU_USE_RSEQ 0
#endif

/* Possible CPUs: the number of per-CPU slots every cache has. */
extern US_SHARED unsigned int us_nr_cpus;

/* Count the possible CPUs; USLAB_NR_CPUS overrides (tests). */
void us_cpu_init(void);

unsigned int us_cpu_current_slow(void);

/*
 * The calling thread's CPU, below us_nr_cpus.  Only a hint: the thread
 * may be on another CPU by the time it is used, which costs speed, never
 * correctness, because the per-CPU slot is locked.
 */
static inline unsigned int us_cpu_current(void)
{
#if US_CPU_USE_RSEQ
	const struct rseq *rs = (const struct rseq *)(void *)(
		(char *)__builtin_thread_pointer() + __rseq_offset);
	/* Written by the kernel; negative while rseq is not registered. */
	int32_t cpu = (int32_t)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);

	if (likely((uint32_t)cpu < us_nr_cpus))
		return (unsigned int)cpu;
#endif
	return us_cpu_current_slow();
}

/*
 * The kernel's number for the CPU the calling thread runs on, not folded
 * onto a slot: for reports, and for any question of "am I on CPU n?".
 */
unsigned int us_cpu_id(void);

#endif /* USLAB_CPU_H */
