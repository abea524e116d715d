/* SPDX-License-Identifier: MIT */
/*
 * os.c - the operating-system primitives behind os.h.
 *
 * Owns nothing but the page size.  No locks.  Mappings are
 * MAP_NORESERVE: uslab reserves address space generously (chunks, the
 * alignment slack of large mappings) and commits pages only by touching
 * them, so overcommit accounting should charge what is touched.
 *
 * Aligned mappings over-map by the alignment and trim both ends, as
 * jemalloc and mimalloc do; the kernel has no aligned mmap.
 *
 * Fault injection lives here, at the one place uslab asks for memory:
 * USLAB_FAULT_MMAP=N makes the Nth request and every later one fail, so
 * that tests can show each entry point failing cleanly.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "options.h"
#include "memtool.h"
#include "os.h"

size_t us_page_size = 4096;
unsigned int us_page_shift = 12;

static _Atomic unsigned long fault_nth;	/* 0: no fault injection */
static _Atomic unsigned long requests;	/* for new memory, since set */

void us_os_fault_from(unsigned long nth)
{
	atomic_store(&requests, 0);
	atomic_store(&fault_nth, nth);
}

/* Count a request for new memory; true if it must fail (injected). */
static bool fault_injected(void)
{
	unsigned long nth = atomic_load_explicit(&fault_nth, memory_order_relaxed);

	if (likely(nth == 0))
		return false;
	if (atomic_fetch_add(&requests, 1) + 1 < nth)
		return false;
	errno = ENOMEM;
	return true;
}

#if US_VALGRIND
US_PRIV_DEFINE(bool, us_mem_valgrind, false);
#endif

/*
 * process_madvise() is not tried (os.h): USLAB_PROCESS_MADVISE=0, under
 * valgrind (which models madvise() alone), or once the kernel refused it.
 */
static _Atomic bool no_process_madvise;

void us_os_init(void)
{
	long ps = sysconf(_SC_PAGESIZE);

#if US_VALGRIND
	us_mem_valgrind = us_mem_on_valgrind();
#endif
	if (ps > 0 && US_IS_POWER_OF_2((unsigned long)ps)) {
		us_page_size = (size_t)ps;
		us_page_shift = us_ilog2((uint64_t)ps);
	}
	if (us_options.fault_mmap)
		us_os_fault_from(us_options.fault_mmap);
	atomic_store_explicit(&no_process_madvise,
			      us_options.process_madvise_set &&
				      !us_options.process_madvise,
			      memory_order_relaxed);
#if US_VALGRIND
	if (us_mem_valgrind)
		atomic_store_explicit(&no_process_madvise, true,
				      memory_order_relaxed);
#endif
}

void *us_os_map_aligned(size_t len, size_t align, size_t skew)
{
	size_t total;
	char *raw, *p;
	uintptr_t aligned;

	if (len == 0 || len > SIZE_MAX - align) {
		errno = ENOMEM;
		return NULL;
	}
	if (fault_injected())
		return NULL;
	total = len + align;
	raw = mmap(NULL, total, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	/* raw <= aligned < raw + align, so [aligned, aligned + len) fits. */
	aligned = US_ALIGN_UP((uintptr_t)raw + skew, align) - skew;
	p = (char *)aligned;
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + total > p + len)
		munmap(p + len, (size_t)(raw + total - (p + len)));
	return p;
}

bool us_os_grow_in_place(void *addr, size_t old_len, size_t new_len)
{
	int saved = errno;
	void *p;

	if (fault_injected()) {
		errno = saved;
		return false;
	}
	p = mremap(addr, old_len, new_len, 0);

	errno = saved;
	return p == addr;
}

/*
 * ThreadSanitizer forgets what it saw of a range when the range is
 * unmapped, but it does not intercept mremap(): after a move, a block
 * later mapped at the old addresses would inherit the moved block's
 * accesses, and a thread touching it would be reported as racing with
 * the thread that touched the moved one.  Under TSan, the pages move
 * with MREMAP_DONTUNMAP, which leaves the old range mapped, and the
 * old range is then unmapped with munmap(), which TSan follows; the
 * reserved range past the moved pages already holds the growth.
 */
#if defined(__SANITIZE_THREAD__)
#define US_OS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define US_OS_TSAN 1
#endif
#endif
#if defined(US_OS_TSAN) && !defined(MREMAP_DONTUNMAP)
#define MREMAP_DONTUNMAP 4
#endif

bool us_os_move(void *addr, size_t old_len, size_t new_len, void *to)
{
	int saved = errno;
	void *p;

#ifdef US_OS_TSAN
	p = mremap(addr, old_len, old_len,
		   MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);
	if (p == to)
		munmap(addr, old_len);
	(void)new_len;
#else
	p = mremap(addr, old_len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
#endif
	/*
	 * The old addresses are the kernel's again.  ASan does not intercept
	 * mremap(), so their manual poisoning stays, and a mapping made there
	 * later would start out poisoned: clear it, as us_os_unmap() does.
	 */
	if (p == to)
		us_asan_handout(addr, old_len);

	errno = saved;
	return p == to;
}

void us_os_unmap(void *addr, size_t len)
{
	int saved = errno;

	/*
	 * ASan keeps manual poisoning across munmap: a later mapping at
	 * these addresses would start out poisoned.  Clear it first.
	 */
	us_asan_handout(addr, len);
	munmap(addr, len);
	errno = saved;
}

void us_os_decommit(void *addr, size_t len)
{
	int saved = errno;

	madvise(addr, len, MADV_DONTNEED);
	errno = saved;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The kernel refused MADV_POPULATE_WRITE once: older than 5.14. */
static _Atomic bool no_populate;

void us_os_populate(void *addr, size_t len)
{
	int saved = errno;

	if (atomic_load_explicit(&no_populate, memory_order_relaxed))
		return;
	if (madvise(addr, len, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
		atomic_store_explicit(&no_populate, true, memory_order_relaxed);
	errno = saved;
}

#ifndef PIDFD_SELF
#define PIDFD_SELF (-10000)	/* the caller itself; older kernels: EBADF */
#endif

void us_os_decommit_flush(struct us_os_batch *b)
{
	int saved = errno;
	size_t done = 0;
	unsigned int i = 0;

	if (b->n == 0)
		return;
	if (b->n > 1 &&
	    !atomic_load_explicit(&no_process_madvise, memory_order_relaxed)) {
		long r = syscall(SYS_process_madvise, PIDFD_SELF, b->v,
				 (size_t)b->n, MADV_DONTNEED, 0u);

		if (r < 0 && errno != EINTR && errno != EAGAIN)
			atomic_store_explicit(&no_process_madvise, true,
					      memory_order_relaxed);
		done = r > 0 ? (size_t)r : 0;
	}
	/* What the batch call did not cover, a run at a time. */
	for (; i < b->n && done >= b->v[i].iov_len; i++)
		done -= b->v[i].iov_len;
	for (; i < b->n; i++)
		us_os_decommit(b->v[i].iov_base, b->v[i].iov_len);
	b->n = 0;
	errno = saved;
}

void us_os_decommit_add(struct us_os_batch *b, void *addr, size_t len)
{
	if (b->n == US_OS_BATCH)
		us_os_decommit_flush(b);
	b->v[b->n].iov_base = addr;
	b->v[b->n].iov_len = len;
	b->n++;
}

uint64_t us_os_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void us_os_futex_wait(_Atomic uint32_t *word, uint32_t val, uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	int saved = errno;

	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, ms ? &ts : NULL,
		NULL, 0);
	errno = saved;
}

void us_os_futex_wake(_Atomic uint32_t *word, int n)
{
	int saved = errno;

	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
	errno = saved;
}

void us_os_yield(void)
{
	sched_yield();
}

/* splitmix64: a good 64-bit mixer for deriving values from a seed. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * One getrandom() per process, then a counter through splitmix64: each
 * cache asks for a secret, and a syscall apiece showed in the start-up of
 * short-lived processes.  A forked child draws a seed of its own.
 */
static _Atomic uint64_t seed US_FORK_STATE;
static _Atomic uint64_t counter;

void us_os_fork_child(void)
{
	atomic_store_explicit(&seed, 0, memory_order_relaxed);
}

uint64_t us_os_random(void)
{
	uint64_t s = atomic_load_explicit(&seed, memory_order_relaxed);
	int saved = errno;

	if (!s) {
		if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
			/* Early boot or seccomp: weak but varying bits. */
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			s = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^
			    (uint64_t)(uintptr_t)&ts ^ (uint64_t)getpid() << 17;
		}
		s |= 1;
		atomic_store_explicit(&seed, s, memory_order_relaxed);
	}
	errno = saved;
	return mix64(s + 0x9e3779b97f4a7c15ull *
			     (atomic_fetch_add_explicit(&counter, 1,
							memory_order_relaxed) + 1));
}
