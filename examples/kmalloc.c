/* SPDX-License-Identifier: MIT */
/*
 * kmalloc.c - the kmalloc family: size classes, ksize, krealloc.
 *
 * Build: cc kmalloc.c $(pkg-config --cflags --libs uslab)
 */
#include <stdio.h>
#include <string.h>

#include <uslab.h>

int main(void)
{
	static const size_t sizes[] = { 1, 24, 96, 100, 1000, 5000, 70000 };
	char *s, *buf;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = kmalloc(sizes[i], GFP_KERNEL);

		printf("kmalloc(%6zu): ksize %6zu, aligned to %zu\n", sizes[i],
		       ksize(p), (size_t)((uintptr_t)p & -(uintptr_t)p));
		kfree(p);
	}

	printf("kmalloc(0) is ZERO_SIZE_PTR: %s\n",
	       kmalloc(0, GFP_KERNEL) == ZERO_SIZE_PTR ? "yes" : "no");

	/* krealloc keeps the contents, in place while ksize() allows. */
	buf = kzalloc(10, GFP_KERNEL);
	strcpy(buf, "slab");
	buf = krealloc(buf, 16, GFP_KERNEL);	/* same kmalloc-16 object */
	buf = krealloc(buf, 100000, GFP_KERNEL);	/* to the large path */
	printf("after krealloc to 100000 bytes: \"%s\", ksize %zu\n", buf,
	       ksize(buf));
	kfree(buf);

	s = kstrdup("duplicated by kstrdup", GFP_KERNEL);
	printf("%s (%zu usable bytes)\n", s, ksize(s));
	kfree_sensitive(s);

	/* Overflow is caught, not wrapped. */
	if (!kmalloc_array((size_t)-1 / 2, 4, GFP_KERNEL))
		perror("kmalloc_array of an overflowing size");
	return 0;
}
