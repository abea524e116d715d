/* SPDX-License-Identifier: MIT */
/*
 * vg-bugs.c - deliberate memory bugs on uslab objects, for memcheck.
 *
 *   vg-bugs read-freed|read-past|uninit-branch|malloc-read-freed|
 *           leak|leak-large|leak-malloc
 *
 * Each mode commits one bug that valgrind's memcheck must report, now
 * that uslab describes its objects as heap blocks (lib/memtool.h);
 * test-valgrind.sh runs them under valgrind and checks the reports.
 * The program is linked with libuslab-malloc; test-valgrind.sh tells
 * valgrind not to replace that library's malloc with its own.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uslab.h>

static volatile unsigned char sink;

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "read-freed") == 0) {
		struct kmem_cache *c = kmem_cache_create("vg", 64, 0, 0, NULL);
		unsigned char *p = kmem_cache_alloc(c, GFP_KERNEL);

		memset(p, 1, 64);
		kmem_cache_free(c, p);
		sink = p[8];
		return 0;
	}
	if (strcmp(mode, "read-past") == 0) {
		unsigned char *p = kmalloc(64, GFP_KERNEL);

		memset(p, 1, 64);
		sink = p[64];
		kfree(p);
		return 0;
	}
	if (strcmp(mode, "uninit-branch") == 0) {
		struct kmem_cache *c = kmem_cache_create("vg", 32, 0, 0, NULL);
		unsigned char *p = kmem_cache_alloc(c, GFP_KERNEL);

		if (p[5] == 7)
			puts("seven");
		kmem_cache_free(c, p);
		return 0;
	}
	/*
	 * One block, the only one the program ever allocated, and no
	 * pointer to it left anywhere: memcheck must call it definitely
	 * lost, which it can only if uslab's own structures hold no
	 * pointer to it either.
	 */
	if (strcmp(mode, "leak") == 0 || strcmp(mode, "leak-large") == 0 ||
	    strcmp(mode, "leak-malloc") == 0) {
		size_t size = mode[4] == '-' && mode[5] == 'l' ? 200000 : 100;
		void *p = mode[5] == 'm' ? malloc(size) : kmalloc(size, GFP_KERNEL);

		memset(p, 0, size);
		p = (void *)((uintptr_t)p ^ 1);	/* lost: no pointer left */
		return p == NULL;
	}
	if (strcmp(mode, "malloc-read-freed") == 0) {
		char *p = malloc(200);

		memset(p, 2, 200);
		free(p);
		sink = (unsigned char)p[100];
		return 0;
	}
	fprintf(stderr, "usage: %s read-freed|read-past|uninit-branch|"
		"malloc-read-freed|leak|leak-large|leak-malloc\n", argv[0]);
	return 2;
}
