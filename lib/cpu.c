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
 * The slot count is get_nprocs_conf(), the possible CPUs, so that CPUs
 * coming online later still have a slot; which glibc reads from sysfs
 * without allocating.  A CPU number at or above the count (hotplug beyond
 * what was possible at start-up) folds onto an existing slot.
 */
#include "config.h"

#include <sched.h>
#include <stdlib.h>
#include <sys/sysinfo.h>

#include "cpu.h"
#include "options.h"

unsigned int us_nr_cpus = 1;

void us_cpu_init(void)
{
	long n = us_options.nr_cpus ? (long)us_options.nr_cpus
				    : get_nprocs_conf();

	if (n < 1)
		n = 1;
	if (n > 65536)
		n = 65536;
	us_nr_cpus = (unsigned int)n;
}

unsigned int us_cpu_current_slow(void)
{
	int cpu = sched_getcpu();

	if (cpu < 0)
		return 0;
	return (unsigned int)cpu % us_nr_cpus;
}
