/* SPDX-License-Identifier: MIT */
/*
 * pair.c - the cost of an allocate-then-free pair of one size.
 *
 *   pair kmem|malloc SIZE ITERATIONS [LIVE]
 *
 * kmem: kmem_cache_alloc + kmem_cache_free from a cache of SIZE-byte
 * objects; malloc: malloc + free of SIZE bytes, from whatever malloc the
 * process has (LD_PRELOAD picks the peer).  LIVE objects (default 32)
 * stay allocated, in a ring, so the pair does not always reuse the same
 * block.  Prints nanoseconds per pair on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uslab.h>

#define MAX_LIVE 4096

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static void *ring[MAX_LIVE];
	struct kmem_cache *c = NULL;
	size_t size, live = 32;
	unsigned long iters;
	int kmem;
	double t0, t1;

	if (argc < 4 || (strcmp(argv[1], "kmem") && strcmp(argv[1], "malloc"))) {
		fprintf(stderr, "usage: %s kmem|malloc SIZE ITERATIONS [LIVE]\n",
			argv[0]);
		return 2;
	}
	kmem = strcmp(argv[1], "kmem") == 0;
	size = strtoul(argv[2], NULL, 0);
	iters = strtoul(argv[3], NULL, 0);
	if (argc > 4)
		live = strtoul(argv[4], NULL, 0);
	if (live < 1 || live > MAX_LIVE || size == 0)
		return 2;
	if (kmem)
		c = kmem_cache_create("bench", (unsigned int)size, 0, 0, NULL);

	for (size_t i = 0; i < live; i++)
		ring[i] = kmem ? kmem_cache_alloc(c, GFP_KERNEL) : malloc(size);

	t0 = now_ns();
	if (kmem) {
		for (unsigned long i = 0; i < iters; i++) {
			size_t slot = i % live;
			void *p = kmem_cache_alloc(c, GFP_KERNEL);

			*(volatile char *)p = 1;
			kmem_cache_free(c, ring[slot]);
			ring[slot] = p;
		}
	} else {
		for (unsigned long i = 0; i < iters; i++) {
			size_t slot = i % live;
			void *p = malloc(size);

			*(volatile char *)p = 1;
			free(ring[slot]);
			ring[slot] = p;
		}
	}
	t1 = now_ns();
	printf("%.2f\n", iters ? (t1 - t0) / (double)iters : 0.0);
	return 0;
}
