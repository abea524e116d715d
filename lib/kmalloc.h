/* SPDX-License-Identifier: MIT */
/*
 * kmalloc.h - the kmalloc layer: its start-up and fork hooks, and the
 * finer size classes of the malloc wrapper.
 */
#ifndef USLAB_KMALLOC_H
#define USLAB_KMALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include <uslab.h>

#include "callout.h"
#include "internal.h"

/* The largest size served by a kmalloc-N cache; above: the large path. */
#define US_KMALLOC_MAX_CACHE_SIZE KMALLOC_MAX_CACHE_SIZE

/* Initialise uslab and create the kmalloc-N caches; once. */
US_SHARED void us_kmalloc_init(void);

void us_kmalloc_fork_prepare(void);
void us_kmalloc_fork_parent(void);
void us_kmalloc_fork_child(void);

/*
 * The malloc classes.  kmalloc() keeps the kernel's classes (powers of
 * two, 96 and 192), which waste a quarter of the memory on average for
 * sizes spread evenly between them.  malloc() owes no such contract, so
 * libuslab-malloc serves sizes up to US_KMALLOC_MAX_CACHE_SIZE from
 * finer classes: every 16 bytes to 128, four per doubling to 1 KiB (as
 * jemalloc's and mimalloc's), eight per doubling to 8 KiB, where a block
 * of a page and a header (a database page, an I/O buffer: 4104 or 4368
 * bytes) is common and a quarter's waste is a kilobyte, and four again
 * to 64 KiB: 8, 16, 32, 48, ... 128, 160, 192, 224, 256, 320, ... 1024,
 * 1152, 1280, ... 8192, 10240, ... 65536.
 * A class whose size is a kmalloc class is that kmalloc-N cache; the
 * others are caches of their own, "malloc-N", 16-byte aligned, made by
 * us_malloc_class_cache() on the first malloc() of their sizes, so that
 * a program on the kernel API alone never has them.
 */
#define US_MALLOC_CLASSES 57

extern US_SHARED struct kmem_cache *_Atomic us_malloc_caches[US_MALLOC_CLASSES];

/*
 * USLAB_REENTER=1's callout hook (callout.h): allocate and free at a
 * callout as the code called out to might.  Installed by us_init().
 */
void us_kmalloc_reenter(enum us_callout where, struct kmem_cache *c);

/* libuslab-malloc's first call: uslab is the process's malloc. */
US_SHARED void us_malloc_init(void);

/*
 * The cache of malloc class i, made if it is not yet; NULL with errno
 * ENOMEM if it cannot be made now (a later call tries again).
 */
US_SHARED struct kmem_cache *us_malloc_class_cache(unsigned int i);

/* The malloc class of a size from 1 to US_KMALLOC_MAX_CACHE_SIZE. */
static inline size_t us_malloc_class(size_t size)
{
	unsigned int b, m;

	/* (size + 15) >> 4 is 1 for 9 to 16 bytes, as it must be. */
	if (size <= 128)
		return size <= 8 ? 0 : (size + 15) >> 4;
	b = us_ilog2(size - 1);			/* 7 for 129-256 */
	if (b < 10) {
		m = (unsigned int)((size - 1) >> (b - 2)) & 3;
		return 9 + 4 * (b - 7) + m;
	}
	if (b < 13) {
		m = (unsigned int)((size - 1) >> (b - 3)) & 7;
		return 21 + 8 * (b - 10) + m;
	}
	m = (unsigned int)((size - 1) >> (b - 2)) & 3;
	return 45 + 4 * (b - 13) + m;
}

/* The object size of malloc class i. */
static inline size_t us_malloc_class_size(unsigned int i)
{
	if (i <= 8)
		return i == 0 ? 8 : (size_t)16 * i;
	if (i <= 20) {
		i -= 9;
		return (size_t)(5 + i % 4) << (5 + i / 4);
	}
	if (i <= 44) {
		i -= 21;
		return (size_t)(9 + i % 8) << (7 + i / 8);
	}
	i -= 45;
	return (size_t)(5 + i % 4) << (11 + i / 4);
}

#endif /* USLAB_KMALLOC_H */
