/* SPDX-License-Identifier: MIT */
/*
 * anchor.h - where uslabtop finds a running process's caches.
 *
 * libuslab exports one read-only object, uslab_anchor, that points at
 * the list of every cache and at the CPU count.  uslabtop(1) finds the
 * anchor in another process at the same offset from libuslab's base as
 * in its own copy of the library (it requires the very same file), and
 * reads the caches with process_vm_readv(2): the target does nothing,
 * takes no lock and pays nothing, and need not be restarted.
 *
 * The reads race with the target's allocator: counts are a close
 * snapshot, and list walks are bounded so that a list changing under the
 * reader cannot trap it.  The magic and the sizes let uslabtop refuse a
 * library whose layout is not its own.
 */
#ifndef USLAB_ANCHOR_H
#define USLAB_ANCHOR_H

#include <stdint.h>

#define US_ANCHOR_MAGIC 0x75736c6162746f70ull	/* "uslabtop" */

/* The page layer's figures (chunk.c), as uslab_memory_stats() has them. */
struct us_anchor_pages {
	const void *mapped;		/* size_t: bytes held from the OS */
	const void *returned;		/* uint64_t: bytes given back */
	const void *large_reused;	/* uint64_t: large bytes reused */
	const void *dirty_reused;	/* uint64_t: slot bytes reused resident */
	const void *resident_free;	/* uint64_t: free slot bytes resident */
	const void *large_cached;	/* size_t: freed large bytes kept */
};

/*
 * Allocation profiling's tables (alloctag.c), for uslabtop -a: the
 * addresses of the variables that point at them, and their layout.  A
 * site is site_size bytes: its text (a NUL-terminated "file:line
 * func:name") at text_off, or, where the word at ra_off is not 0, the
 * return address of a malloc() caller, named by the reader.  A site's
 * figures are the sums over its pairs {int64 bytes, uint64 calls}, one
 * in each of *rows rows, 1 << row_shift bytes apart; site `other` is
 * listed after the last (*nsites) if it holds anything.
 */
struct us_anchor_tags {
	const void *sites;		/* struct site *: NULL while off */
	const void *nsites;		/* uint32_t: the last site's number */
	const void *counters;		/* struct pair *: row 0 */
	const void *rows;		/* unsigned int */
	uint32_t site_size, text_off, ra_off, row_shift, other;
};

struct us_anchor {
	uint64_t magic;
	uint32_t cache_size;		/* sizeof(struct kmem_cache) */
	uint32_t slot_size;		/* sizeof(struct us_cpu_slot) */
	const void *cache_list;		/* struct us_list head of caches */
	const unsigned int *nr_cpus;	/* slots per cache */
	const struct us_anchor_pages *pages;
	const struct us_anchor_tags *tags;
};

#endif /* USLAB_ANCHOR_H */
