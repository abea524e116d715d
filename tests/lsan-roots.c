/* SPDX-License-Identifier: MIT */
/*
 * lsan-roots.c - built with -fsanitize=address by test-lsan.sh and linked
 * with libuslab as a kernel developer's test would be: malloc() blocks
 * that only uslab objects point to (a typed cache's object, a large
 * kmalloc block) must not be leaks to LeakSanitizer.  With "control", a
 * block that nothing points to must be, or LSan cannot run here.
 * Prints the leak checker's verdict: 0 none, 1 leaks.
 */
#include <sanitizer/lsan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uslab.h>

struct node {
	void *payload;
	struct node *next;
};

static __attribute__((noinline)) void lose_a_block(void)
{
	void *volatile p = malloc(300);

	p = NULL;
	(void)p;
}

int main(int argc, char **argv)
{
	struct kmem_cache *c = kmem_cache_create("lsan-node", sizeof(struct node),
						 0, 0, NULL);
	struct node *head = NULL;
	void **big = kmalloc((size_t)1 << 20, GFP_KERNEL);
	int verdict;

	if (!c || !big)
		return 2;
	for (int i = 0; i < 1000; i++) {
		struct node *n = kmem_cache_alloc(c, GFP_KERNEL);

		if (!n)
			return 2;
		n->payload = malloc(64 + (size_t)i);	/* held by n alone */
		n->next = head;
		head = n;
	}
	big[1000] = malloc(200);			/* held by big alone */
	if (argc > 1 && strcmp(argv[1], "control") == 0)
		lose_a_block();
	verdict = __lsan_do_recoverable_leak_check();
	printf("%d\n", verdict);
	fflush(stdout);
	_exit(0);	/* the verdict is printed; no second check at exit */
}
