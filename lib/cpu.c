/* SPDX-License-Identifier: MIT */
/*
 * cpu.c - choosing a per-CPU slot.
 *
 * The CPU number comes from the rseq area glibc (2.35 and later)
 * registers for every thread: __rseq_offset from the thread pointer,
 * cpu_id kept current by the kernel at every return to user space.  It
 * reads as negative where registration failed or is disabled (valgrind,
 * old kernels, GLIBC_TUNABLES=glibc.pthread.rseq=0); sched_getcpu() then
 * answers, through the vDSO.  uslab never registers rseq itself: the
 * kernel allows one registration per thread, and it is glibc's.
 *
 * Where it can, the fast paths run as restartable sequences instead of
 * taking the slot lock (rseq.h); us_rseq_init() decides, once.
 *
 * The slot count is get_nprocs_conf(), the possible CPUs, so that CPUs
 * coming online later still have a slot; which glibc reads from sysfs
 * without allocating.  A CPU number at or above the count (hotplug beyond
 * what was possible at start-up) folds onto an existing slot.
 */
#include "config.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "cpu.h"
#include "options.h"
#include "rseq.h"

unsigned int us_nr_cpus = 1;
bool us_rseq_enabled;
ptrdiff_t us_rseq_offset;
uint32_t us_rseq_cpus;

static long membarrier(int cmd, unsigned int flags, int cpu)
{
	return syscall(SYS_membarrier, cmd, flags, cpu);
}

void us_rseq_init(void)
{
#if US_RSEQ_FAST
	int saved = errno;

	/*
	 * glibc registered this thread's area (and will every thread's);
	 * the kernel has filled in cpu_id; and membarrier can restart the
	 * sequences of one CPU.  Otherwise the locked paths serve.
	 */
	if (__rseq_size > 0 && (int32_t)us_rseq_area()->cpu_id >= 0 &&
	    !us_options.no_rseq &&
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0) {
		us_rseq_offset = __rseq_offset;
		us_rseq_cpus = us_nr_cpus;
		us_rseq_enabled = true;
	}
	errno = saved;
#endif
}

void us_rseq_fence(int cpu)
{
	int saved = errno;

	if (cpu < 0 ||
	    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
		       MEMBARRIER_CMD_FLAG_CPU, cpu) != 0)
		membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0);
	errno = saved;
}

void us_cpu_init(void)
{
	long n = us_options.nr_cpus ? (long)us_options.nr_cpus
				    : get_nprocs_conf();

	if (n < 1)
		n = 1;
	if (n > 65536)
		n = 65536;
	us_nr_cpus = (unsigned int)n;
	us_rseq_init();
}

unsigned int us_cpu_current_slow(void)
{
	int cpu = sched_getcpu();

	if (cpu < 0)
		return 0;
	return (unsigned int)cpu % us_nr_cpus;
}

unsigned int us_cpu_id(void)
{
	int cpu;

#if US_CPU_USE_RSEQ
	cpu = (int32_t)__atomic_load_n(&((const struct rseq *)(void *)(
		(char *)__builtin_thread_pointer() + __rseq_offset))->cpu_id,
		__ATOMIC_RELAXED);
	if (cpu >= 0)
		return (unsigned int)cpu;
#endif
	cpu = sched_getcpu();
	return cpu < 0 ? 0 : (unsigned int)cpu;
}
