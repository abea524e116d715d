/* SPDX-License-Identifier: MIT */
/*
 * slabinfo.c - where the memory is: the /proc/slabinfo table.
 *
 * Build: cc slabinfo.c $(pkg-config --cflags --libs uslab)
 */
#include <stdio.h>

#include <uslab.h>

struct inode_like {
	unsigned long ino;
	unsigned int mode, nlink;
	long long size;
	char name[40];
};

int main(void)
{
	struct kmem_cache *inodes = KMEM_CACHE(inode_like, SLAB_HWCACHE_ALIGN);
	void *objs[5000];
	void *strings[3000];

	for (int i = 0; i < 5000; i++)
		objs[i] = kmem_cache_alloc(inodes, GFP_KERNEL);
	for (int i = 0; i < 3000; i++)
		strings[i] = kmalloc(8 + i % 300, GFP_KERNEL);

	if (uslab_slabinfo(stdout) != 0)
		return 1;

	for (int i = 0; i < 3000; i++)
		kfree(strings[i]);
	for (int i = 0; i < 5000; i++)
		kmem_cache_free(inodes, objs[i]);
	kmem_cache_destroy(inodes);
	return 0;
}
