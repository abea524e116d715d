/* SPDX-License-Identifier: MIT */
/*
 * object-cache.c - a typed object cache with a constructor.
 *
 * A server keeps many connection objects.  Each owns a buffer and a lock
 * that are costly to set up, so the cache's constructor sets them up once
 * per object, when its slab is made; kmem_cache_alloc() then hands out
 * objects that are already constructed, and the program frees them in
 * that state.  Build: cc object-cache.c $(pkg-config --cflags --libs uslab)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <uslab.h>

struct conn {
	pthread_mutex_t lock;	/* set up by the constructor */
	int fd;
	unsigned long requests;
	char buf[200];
};

static unsigned long constructed;

static void conn_ctor(void *p)
{
	struct conn *c = p;

	pthread_mutex_init(&c->lock, NULL);
	c->fd = -1;
	c->requests = 0;
	constructed++;
}

int main(void)
{
	struct kmem_cache *cache;
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	struct conn *conns[1000];

	cache = kmem_cache_create("conn", sizeof(struct conn), 0,
				  SLAB_HWCACHE_ALIGN | SLAB_PANIC, conn_ctor);

	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < 1000; i++) {
			struct conn *c = kmem_cache_alloc(cache, GFP_KERNEL);

			if (!c) {
				perror("kmem_cache_alloc");
				return 1;
			}
			/* Constructed state: ready to use. */
			pthread_mutex_lock(&c->lock);
			c->fd = i;
			c->requests++;
			pthread_mutex_unlock(&c->lock);
			conns[i] = c;
		}
		for (int i = 0; i < 1000; i++) {
			/* Back to the constructed state before freeing. */
			conns[i]->fd = -1;
			kmem_cache_free(cache, conns[i]);
		}
	}

	uslab_cache_stats(cache, &st);
	printf("conn: %u bytes, aligned to %u, %u per %u-byte slab\n",
	       st.object_size, st.align, st.objs_per_slab, st.slab_size);
	printf("100000 allocations; the constructor ran %lu times "
	       "(once per object in %llu slabs)\n",
	       constructed, (unsigned long long)st.slabs_grown);
	printf("%llu of them served from a per-CPU magazine\n",
	       (unsigned long long)st.alloc_fast);

	kmem_cache_shrink(cache);
	kmem_cache_destroy(cache);
	return 0;
}
