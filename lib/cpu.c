/* SPDX-License-Identifier: MIT */
/*
 * cpu.c - choosing a per-CPU slot.
 *
 * The CPU number comes from the calling thread's rseq area (rseq.c):
 * cpu_id, kept current by the kernel at every return to user space, one
 * load away from the thread pointer.  Where the thread has no area, it
 * comes from the thread's own cached answer, asked of the kernel with
 * sched_getcpu() once every US_CPU_REFRESH_OPS slow calls, and again
 * whenever the slot it names turns out to be busy (us_cpu_refresh(),
 * from magazine.h): on a VM without RDPID, sched_getcpu() is a system
 * call (tens of nanoseconds), which must not be paid on every operation.
 * A stale answer only sends the thread to another CPU's slot, which its
 * lock makes safe.
 *
 * The slot count is get_nprocs_conf(), the possible CPUs, so that CPUs
 * coming online later still have a slot; which glibc reads from sysfs
 * without allocating.  A CPU number at or above the count (hotplug beyond
 * what was possible at start-up, or a sandbox that hides the count)
 * folds onto an existing slot.  So does every CPU past what a cache
 * descriptor can hold (us_cache_max_cpu_slots(), about 8,000 slots in
 * its 512 KiB): on a machine of more CPUs, those above share slots, by
 * their number modulo the count, through the locked paths (rseq.h's
 * fence treats a shared slot as another CPU's), which costs them speed
 * and nothing else.
 */
#include "config.h"

#include <sched.h>
#include <sys/sysinfo.h>

#include "cpu.h"
#include "options.h"
#include "rseq.h"

US_PRIV_DEFINE(unsigned int, us_nr_cpus, 1);

/* The thread's cached CPU slot where no rseq area gives it. */
struct cpu_cache {
	uint32_t slot;		/* UINT32_MAX: none yet */
	uint32_t calls;		/* since it was asked */
};

static __thread struct cpu_cache cached
	__attribute__((tls_model("initial-exec"))) = { UINT32_MAX, 0 };

void us_cpu_init(unsigned int max_slots)
{
	long n = us_options.nr_cpus ? (long)us_options.nr_cpus
				    : get_nprocs_conf();

	if (n < 1)
		n = 1;
	if (n > (long)max_slots)
		n = (long)max_slots;
	us_nr_cpus = (unsigned int)n;
	us_rseq_init(us_nr_cpus);
}

unsigned int us_cpu_refresh(void)
{
	int cpu = sched_getcpu();

	cached.slot = cpu < 0 ? 0 : (unsigned int)cpu % us_nr_cpus;
	cached.calls = 0;
	return cached.slot;
}

unsigned int us_cpu_current_slow(void)
{
	int32_t raw;

	/* A thread's first slow path registers uslab's own rseq area. */
	if (us_rseq_register_thread()) {
		raw = us_cpu_rseq_id();
		if (raw >= 0)
			return (unsigned int)raw % us_nr_cpus;
	}
	if (unlikely(cached.slot >= us_nr_cpus ||
		     ++cached.calls >= US_CPU_REFRESH_OPS))
		return us_cpu_refresh();
	return cached.slot;
}

unsigned int us_cpu_id(void)
{
	int32_t raw = us_cpu_rseq_id();
	int cpu;

	if (raw >= 0)
		return (unsigned int)raw;
	cpu = sched_getcpu();
	return cpu < 0 ? 0 : (unsigned int)cpu;
}
