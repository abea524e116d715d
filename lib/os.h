/* SPDX-License-Identifier: MIT */
/*
 * os.h - the operating-system contract of uslab.
 *
 * Everything uslab asks of the kernel goes through these functions, and
 * only the page layer (chunk.c) calls the mapping ones, with two
 * exceptions, each mapping its regions once: the stack depot (depot.c)
 * and allocation profiling's tables (alloctag.c).  Each sets errno on
 * failure and leaves it alone on success.
 */
#ifndef USLAB_OS_H
#define USLAB_OS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* The OS page size and its log2; set by us_os_init(). */
extern size_t us_page_size;
extern unsigned int us_page_shift;

/* Read the page size.  Safe to call more than once. */
void us_os_init(void);

/*
 * Map len bytes of private, zero-filled, read-write memory such that
 * (result + skew) is a multiple of align.  align is a power of two of at
 * least the page size, skew a multiple of the page size.  Returns NULL
 * with errno ENOMEM on failure.
 */
void *us_os_map_aligned(size_t len, size_t align, size_t skew);

/*
 * Grow the mapping at addr from old_len to new_len bytes where it is,
 * if the address space after it is free.  Returns false otherwise.
 */
bool us_os_grow_in_place(void *addr, size_t old_len, size_t new_len);

/*
 * Move the pages of [addr, addr + old_len) to to, without copying them,
 * and extend the mapping there to new_len bytes of zero pages: one
 * mapping, replacing whatever was mapped at [to, to + new_len).  Returns
 * false with nothing changed if the kernel cannot.
 */
bool us_os_move(void *addr, size_t old_len, size_t new_len, void *to);

/* Unmap what us_os_map_aligned() gave, or a page-aligned part of it. */
void us_os_unmap(void *addr, size_t len);

/*
 * Give the pages of [addr, addr + len) back to the OS.  They stay
 * mapped, and read as zero when next touched.
 */
void us_os_decommit(void *addr, size_t len);

/*
 * Fault in the pages of [addr, addr + len) for writing, in one system
 * call (MADV_POPULATE_WRITE, Linux 5.14) instead of a page fault each.
 * Only a saving: where the kernel lacks it, nothing is done, and the
 * pages fault in when touched, as they would have.
 */
void us_os_populate(void *addr, size_t len);

/*
 * Decommitting many runs at once.  Each madvise(MADV_DONTNEED) flushes
 * the TLB of every other CPU the process runs on, an interprocessor
 * interrupt each time (about 0.1 ms on a two-CPU virtual machine), so a
 * sweep that gives back a heap's aged slots run by run paid that per run:
 * over a second for 1 GiB freed in scattered runs.  The runs are gathered
 * here and given back with one process_madvise() on the process itself:
 * recent kernels take any advice for the caller's own process and flush
 * the TLBs once for the whole batch (on Linux 6.18, 8,192 runs of 64 KiB
 * beside a second running thread took 0.8 s by madvise() and 0.08 s in
 * batches of 1,024).  Where the kernel or a seccomp filter refuses it,
 * or USLAB_PROCESS_MADVISE=0 says not to try (read by us_os_init()),
 * each run takes us_os_decommit() as before.  Up to US_OS_BATCH runs are
 * held, on the caller's stack; us_os_decommit_add() gives them back when
 * full, us_os_decommit_flush() at the end.  No lock; the caller owns the
 * ranges until the flush returns.
 */
#define US_OS_BATCH 64

struct us_os_batch {
	unsigned int n;
	struct iovec v[US_OS_BATCH];
};

void us_os_decommit_add(struct us_os_batch *b, void *addr, size_t len);
void us_os_decommit_flush(struct us_os_batch *b);

/*
 * Fault injection (USLAB_FAULT_MMAP): from the nth request for new
 * memory on (mapping, or growing a mapping), every one fails with
 * ENOMEM; 0 turns it off.  Counting starts again from here.
 */
void us_os_fault_from(unsigned long nth);

/* A monotonic clock in milliseconds, cheap enough for slow paths. */
uint64_t us_os_now_ms(void);

/*
 * Sleep while *word == val, for ms milliseconds (0: no limit), until
 * us_os_futex_wake() wakes it (or spuriously: callers recheck); wake up
 * to n sleepers on word; give the CPU away once.  errno is kept.
 */
void us_os_futex_wait(_Atomic uint32_t *word, uint32_t val, uint64_t ms);
void us_os_futex_wake(_Atomic uint32_t *word, int n);
void us_os_yield(void);

/* Random bits for hardening secrets; never fails. */
uint64_t us_os_random(void);

/*
 * In a child after fork(): draw a new seed at the next us_os_random(),
 * so that children do not share secrets with their parent or each other.
 */
void us_os_fork_child(void);

#endif /* USLAB_OS_H */
