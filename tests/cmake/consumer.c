/* SPDX-License-Identifier: MIT */
/* consumer.c - a typed cache through find_package(uslab). */
#include <stdio.h>

#include <uslab.h>

struct item {
	long key;
	char name[24];
};

int main(void)
{
	struct kmem_cache *c = KMEM_CACHE(item, SLAB_HWCACHE_ALIGN);
	struct item *p = c ? kmem_cache_alloc(c, GFP_KERNEL) : NULL;

	if (!p)
		return 1;
	p->key = 42;
	kmem_cache_free(c, p);
	kmem_cache_destroy(c);
	puts("uslab::uslab: ok");
	return 0;
}
