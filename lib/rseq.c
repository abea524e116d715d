/* SPDX-License-Identifier: MIT */
/*
 * rseq.c - restartable sequences: whose rseq area, and the fence.
 *
 * Owns the choice, made once at start-up, of the rseq area every thread
 * uses (rseq.h): glibc's where glibc registered one; else uslab's own,
 * a thread-local struct rseq registered with the rseq system call in
 * each thread on its first slow path, where glibc is too old to register
 * one or USLAB_OWN_RSEQ=1 asks; else none.  us_rseq_offset locates the
 * area from the thread pointer; it points at uslab's own, never
 * registered, when there is none, so that its cpu_id, which stays
 * negative, sends every call to the locked paths and cpu.c's cached CPU.
 *
 * Also the membarrier fence that restarts the sequences of one CPU, for
 * whoever locks that CPU's slot from elsewhere (rseq.h).
 *
 * No locks: the choice is made under us_init()'s, a thread's area is its
 * own.  A thread keeps its registration until it exits; the kernel
 * copies it to a child of fork() and drops it at exec().
 */
#include "config.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#if HAVE_SYS_RSEQ_H
#include <sys/rseq.h>
#endif

#include "cpu.h"
#include "memtool.h"
#include "options.h"
#include "rseq.h"

US_PRIV_DEFINE(bool, us_rseq_enabled, false);
US_PRIV_DEFINE(ptrdiff_t, us_rseq_offset, 0);
US_PRIV_DEFINE(uint32_t, us_rseq_cpus, 0);

static enum us_rseq_mode mode = US_RSEQ_NONE;
static bool counting;	/* USLAB_COUNT_RSEQ under valgrind */

#if US_CPU_USE_RSEQ
/*
 * uslab's own area: in static TLS (initial-exec), so its offset from the
 * thread pointer is the same in every thread; RSEQ_CPU_ID_UNINITIALIZED
 * until the thread registers it.
 */
static __thread struct rseq own_area
	__attribute__((aligned(32), tls_model("initial-exec"))) = {
		.cpu_id = (__u32)RSEQ_CPU_ID_UNINITIALIZED,
	};

#ifndef RSEQ_SIG
#define RSEQ_SIG 0x53053053
#endif

static bool register_own(void)
{
	int saved = errno;
	long rc = syscall(SYS_rseq, &own_area, (uint32_t)32, 0, RSEQ_SIG);

	errno = saved;
	if (rc != 0) {
		/* Another library's, or no rseq: the locked paths, for good. */
		own_area.cpu_id = (__u32)RSEQ_CPU_ID_REGISTRATION_FAILED;
		return false;
	}
	return true;
}
#endif

static long membarrier(int cmd, unsigned int flags, int cpu)
{
	return syscall(SYS_membarrier, cmd, flags, cpu);
}

void us_rseq_init(unsigned int nr_cpus)
{
#if US_CPU_USE_RSEQ
	int saved = errno;

	us_rseq_offset = (char *)&own_area - (char *)__builtin_thread_pointer();
	if (us_options.no_rseq)
		return;
	/*
	 * Counting instructions (make bench-callgrind): valgrind runs no
	 * rseq, but nothing preempts a single thread there either, so the
	 * sequences run correctly in the thread that started uslab with its
	 * area marked as on CPU 0 by hand.  Other threads keep to the
	 * locked paths; meant for single-threaded benchmarks only.
	 */
	if (us_options.count_rseq && us_mem_on_valgrind() && US_RSEQ_FAST) {
		own_area.cpu_id_start = 0;
		own_area.cpu_id = 0;
		mode = US_RSEQ_OWN;
		counting = true;
		us_rseq_cpus = nr_cpus;
		us_rseq_enabled = true;
		return;
	}
#if HAVE_RSEQ_OFFSET
	/* glibc registered this thread's area, and will every thread's. */
	if (__rseq_size > 0 &&
	    (int32_t)((struct rseq *)(void *)((char *)__builtin_thread_pointer() +
					      __rseq_offset))->cpu_id >= 0) {
		us_rseq_offset = __rseq_offset;
		mode = US_RSEQ_GLIBC;
	} else if (us_options.own_rseq && register_own()) {
		mode = US_RSEQ_OWN;
	}
#else
	/* glibc registers none: uslab's own, as tcmalloc does. */
	if (register_own())
		mode = US_RSEQ_OWN;
#endif
	/* The sequences need the fence; without it, locked paths only. */
	if (mode != US_RSEQ_NONE && US_RSEQ_FAST &&
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0) {
		us_rseq_cpus = nr_cpus;
		us_rseq_enabled = true;
	}
	errno = saved;
#endif
}

enum us_rseq_mode us_rseq_mode(void)
{
	return mode;
}

bool us_rseq_register_thread(void)
{
#if US_CPU_USE_RSEQ
	if (mode != US_RSEQ_OWN || counting)
		return (int32_t)own_area.cpu_id >= 0;
	if ((int32_t)own_area.cpu_id >= 0)
		return true;
	return (int32_t)own_area.cpu_id == RSEQ_CPU_ID_UNINITIALIZED &&
	       register_own();
#else
	return false;
#endif
}

static _Atomic uint64_t fences US_FORK_STATE;	/* the fork handler fences */

void us_rseq_fence(int cpu)
{
	int saved = errno;

	atomic_fetch_add_explicit(&fences, 1, memory_order_relaxed);

	if (cpu < 0 ||
	    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
		       MEMBARRIER_CMD_FLAG_CPU, cpu) != 0)
		membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0);
	errno = saved;
}

uint64_t us_rseq_fence_count(void)
{
	return atomic_load_explicit(&fences, memory_order_relaxed);
}
