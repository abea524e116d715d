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
 * figures are its objects in the vectors (us_tag_vectors_sum()) and the
 * large blocks it holds, a pair {int64 bytes, uint64 calls} at counters
 * + 16 * site.  Site `other` is listed after the last (*nsites) if it
 * holds anything.
 */
struct us_anchor_tags {
	const void *sites;		/* struct site *: NULL while off */
	const void *nsites;		/* uint32_t: the last site's number */
	const void *counters;		/* struct pair *: the large blocks' */
	const void *vectors;		/* char *: the vectors' region */
	const void *vectors_used;	/* size_t: bytes of it carved */
	uint32_t site_size, text_off, ra_off, other;
};

/*
 * The vectors' region: from offset US_TAG_VECTOR_MIN up to the bytes
 * carved, power-of-two blocks of at least that size, each aligned to its
 * size, and zero between them.  A block is a us_tag_vector_head and then
 * one 32-bit site number (0: none) per object of its slab.
 */
#define US_TAG_VECTOR_MIN 64u
#define US_TAG_VECTOR_CLASSES 20u	/* 64 bytes to 32 MiB */

struct us_tag_vector_head {
	uint32_t klass;		/* its size is US_TAG_VECTOR_MIN << (klass - 1) */
	uint32_t objects;	/* numbers that follow; 0 while the block is free */
	uint32_t size;		/* bytes an object of its slab holds */
	uint32_t next;		/* while free: the next free block's handle */
};

/*
 * Add the objects that the vectors in [base, base + used) count to the
 * sites' figures, bytes[site] and calls[site] for sites below nsites.
 * The region may change under the reader (a block being made, freed or
 * reused): every read stays inside it, and what is counted is a close
 * snapshot.
 */
static inline void us_tag_vectors_sum(const char *base, size_t used,
				      int64_t *bytes, uint64_t *calls,
				      uint32_t nsites)
{
	size_t at = US_TAG_VECTOR_MIN;

	while (at + sizeof(struct us_tag_vector_head) <= used) {
		const struct us_tag_vector_head *h =
			(const struct us_tag_vector_head *)(const void *)(base + at);
		uint32_t k = __atomic_load_n(&h->klass, __ATOMIC_RELAXED);
		uint32_t n = __atomic_load_n(&h->objects, __ATOMIC_ACQUIRE);
		uint32_t size = __atomic_load_n(&h->size, __ATOMIC_RELAXED);
		size_t block = (size_t)US_TAG_VECTOR_MIN << (k ? k - 1 : 0);
		const uint32_t *id = (const uint32_t *)(const void *)(h + 1);

		if (k == 0 || k > US_TAG_VECTOR_CLASSES || at % block ||
		    at + block > used) {
			at += US_TAG_VECTOR_MIN;	/* between blocks */
			continue;
		}
		if (n > (block - sizeof(*h)) / sizeof(*id))
			n = (uint32_t)((block - sizeof(*h)) / sizeof(*id));
		for (uint32_t i = 0; i < n; i++) {
			uint32_t s = __atomic_load_n(&id[i], __ATOMIC_RELAXED);

			if (s && s < nsites) {
				bytes[s] += size;
				calls[s]++;
			}
		}
		at += block;
	}
}

/*
 * The thread caches (tcache.c): the head of the list of every thread's
 * struct us_tcache, linked at link_off; a cache's objects in them are
 * in each one's slot[tc_index] (tcache.h).
 */
struct us_anchor_tcaches {
	const void *list;		/* struct us_list head */
	uint32_t tcache_size;		/* sizeof(struct us_tcache) */
	uint32_t link_off;
};

struct us_anchor {
	uint64_t magic;
	uint32_t cache_size;		/* sizeof(struct kmem_cache) */
	uint32_t slot_size;		/* sizeof(struct us_cpu_slot) */
	const void *cache_list;		/* struct us_list head of caches */
	const unsigned int *nr_cpus;	/* slots per cache */
	const struct us_anchor_pages *pages;
	const struct us_anchor_tags *tags;
	const struct us_anchor_tcaches *tcaches;
};

#endif /* USLAB_ANCHOR_H */
