/* SPDX-License-Identifier: MIT */
/*
 * live-helper.c - a process with known caches, for test-uslabtop.sh.
 *
 *   live-helper N [malloc]
 *
 * Creates "live-conn" (200-byte objects) holding N of them, an empty
 * "live-idle", and a debug cache "live-debug" holding 10; with
 * "malloc", also holds 100 blocks of 100 bytes from malloc() (one call
 * site, for uslabtop -a under libuslab-malloc); prints "ready" and waits
 * until its standard input closes, then exits.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uslab.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	struct kmem_cache *conn = kmem_cache_create("live-conn", 200, 0, 0, NULL);
	struct kmem_cache *idle = kmem_cache_create("live-idle", 64, 0, 0, NULL);
	struct kmem_cache *dbg = kmem_cache_create("live-debug", 32, 0,
						   SLAB_RED_ZONE, NULL);
	static void *volatile held[100];
	char buf[64];

	if (!conn || !idle || !dbg)
		return 1;
	for (int i = 0; i < n; i++)
		if (!kmem_cache_alloc(conn, GFP_KERNEL))
			return 1;
	for (int i = 0; i < 10; i++)
		if (!kmem_cache_alloc(dbg, GFP_KERNEL))
			return 1;
	if (argc > 2 && strcmp(argv[2], "malloc") == 0)
		for (int i = 0; i < 100; i++)
			if (!(held[i] = malloc(100)))
				return 1;
	printf("ready\n");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	return 0;
}
