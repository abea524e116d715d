/* SPDX-License-Identifier: MIT */
/*
 * uslab-harness.c - the test hooks of the kernel's tools/testing/
 * radix-tree harness, over uslab, in place of the harness's own slab
 * (tools/testing/shared/linux.c's kmem_cache and tools/lib/slab.c's
 * kmalloc).  make check-kernel (tests/check-kernel.sh) links it with the
 * kernel's unchanged lib/radix-tree.c, lib/xarray.c, lib/maple_tree.c,
 * lib/idr.c and their suites; the allocations themselves are uslab's.
 *
 * What the suites expect of the harness's allocator, and where it comes
 * from here:
 *
 *   - allocations that may not sleep fail: failslab, armed at start-up
 *     with probability 100 and no limit, ignore-gfp-wait on, quiet
 *     (uslab_failslab(3)), as the harness's slab fails every allocation
 *     without __GFP_DIRECT_RECLAIM;
 *   - kmem_cache_set_non_kernel(c, n): n such allocations from c pass
 *     all the same; they are made with __GFP_DIRECT_RECLAIM added, which
 *     changes nothing else in uslab;
 *   - the callback of kmem_cache_set_callback(), run at the next
 *     allocation from a cache after one failed;
 *   - the counters nr_allocated (objects of every cache) and
 *     kmalloc_nr_allocated, the per-cache counts of the maple tree's
 *     tests, and the harness's own check of bulk allocation.
 *
 * The calls are wrapped at link time (-Wl,--wrap=kmem_cache_alloc and
 * the rest, and their _noprof() names, which <uslab.h>'s tagging macros
 * call), so the kernel's objects call uslab through these; the kernel's
 * call site stays the current allocation tag through them.
 */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <uslab.h>

int nr_allocated;
int preempt_count;
int test_verbose;
int kmalloc_verbose;
int kmalloc_nr_allocated;

/* What the harness keeps per cache; few caches, so a small table. */
struct hooks {
	struct kmem_cache *cache;
	unsigned int non_kernel;
	unsigned long nr_allocated;
	unsigned long nr_tallocated;
	bool exec_callback;
	void (*callback)(void *);
	void *private;
};

#define MAX_CACHES 64
static struct hooks table[MAX_CACHES];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static struct hooks *hooks_of(struct kmem_cache *c)
{
	struct hooks *free_slot = NULL;

	pthread_mutex_lock(&table_lock);
	for (int i = 0; i < MAX_CACHES; i++) {
		if (table[i].cache == c) {
			pthread_mutex_unlock(&table_lock);
			return &table[i];
		}
		if (!table[i].cache && !free_slot)
			free_slot = &table[i];
	}
	assert(free_slot);
	free_slot->cache = c;
	pthread_mutex_unlock(&table_lock);
	return free_slot;
}

void kmem_cache_set_callback(struct kmem_cache *c, void (*callback)(void *))
{
	hooks_of(c)->callback = callback;
}

void kmem_cache_set_private(struct kmem_cache *c, void *private)
{
	hooks_of(c)->private = private;
}

void kmem_cache_set_non_kernel(struct kmem_cache *c, unsigned int val)
{
	hooks_of(c)->non_kernel = val;
}

unsigned long kmem_cache_get_alloc(struct kmem_cache *c)
{
	return kmem_cache_size(c) * hooks_of(c)->nr_allocated;
}

unsigned long kmem_cache_nr_allocated(struct kmem_cache *c)
{
	return hooks_of(c)->nr_allocated;
}

unsigned long kmem_cache_nr_tallocated(struct kmem_cache *c)
{
	return hooks_of(c)->nr_tallocated;
}

void kmem_cache_zero_nr_tallocated(struct kmem_cache *c)
{
	hooks_of(c)->nr_tallocated = 0;
}

/*
 * The flags to allocate n objects of c with: a non-blocking request
 * passes failslab while c has non_kernel credits (one per object), so
 * false when it has too few and the request will fail.
 */
static gfp_t take_credits(struct hooks *h, gfp_t gfp, size_t n)
{
	if (gfp & __GFP_DIRECT_RECLAIM)
		return gfp;
	pthread_mutex_lock(&table_lock);
	if (h->non_kernel >= n) {
		h->non_kernel -= (unsigned int)n;
		gfp |= __GFP_DIRECT_RECLAIM;
	}
	pthread_mutex_unlock(&table_lock);
	return gfp;
}

static void counted(struct hooks *h, long n)
{
	__atomic_add_fetch(&nr_allocated, (int)n, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->nr_allocated, (unsigned long)n, __ATOMIC_RELAXED);
	if (n > 0)
		__atomic_add_fetch(&h->nr_tallocated, (unsigned long)n,
				   __ATOMIC_RELAXED);
}

void *__real_kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp);
void *__wrap_kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp)
{
	struct hooks *h = hooks_of(c);
	void *p;

	if (h->exec_callback) {
		if (h->callback)
			h->callback(h->private);
		h->exec_callback = false;
	}
	p = __real_kmem_cache_alloc(c, take_credits(h, gfp, 1));
	if (!p) {
		h->exec_callback = true;
		return NULL;
	}
	counted(h, 1);
	if (kmalloc_verbose)
		printf("Allocating %p from slab\n", p);
	return p;
}

void __real_kmem_cache_free(struct kmem_cache *c, void *p);
void __wrap_kmem_cache_free(struct kmem_cache *c, void *p)
{
	if (!p)
		return;
	counted(hooks_of(c), -1);
	if (kmalloc_verbose)
		printf("Freeing %p to slab\n", p);
	__real_kmem_cache_free(c, p);
}

int __real_kmem_cache_alloc_bulk(struct kmem_cache *c, gfp_t gfp, size_t n,
				 void **p);
int __wrap_kmem_cache_alloc_bulk(struct kmem_cache *c, gfp_t gfp, size_t n,
				 void **p)
{
	struct hooks *h = hooks_of(c);
	int got = __real_kmem_cache_alloc_bulk(c, take_credits(h, gfp, n), n, p);

	counted(h, got);
	return got;
}

void __real_kmem_cache_free_bulk(struct kmem_cache *c, size_t n, void **p);
void __wrap_kmem_cache_free_bulk(struct kmem_cache *c, size_t n, void **p)
{
	counted(hooks_of(c), -(long)n);
	__real_kmem_cache_free_bulk(c, n, p);
}

void *__real_kmalloc(size_t size, gfp_t gfp);
void *__wrap_kmalloc(size_t size, gfp_t gfp)
{
	void *p = __real_kmalloc(size, gfp);

	if (p)
		__atomic_add_fetch(&kmalloc_nr_allocated, 1, __ATOMIC_RELAXED);
	if (kmalloc_verbose)
		printf("Allocating %p from malloc\n", p);
	return p;
}

void *__real_kzalloc(size_t size, gfp_t gfp);
void *__wrap_kzalloc(size_t size, gfp_t gfp)
{
	return __wrap_kmalloc(size, gfp | __GFP_ZERO);
}

void __real_kfree(const void *p);
void __wrap_kfree(const void *p)
{
	if (!p)
		return;
	__atomic_sub_fetch(&kmalloc_nr_allocated, 1, __ATOMIC_RELAXED);
	if (kmalloc_verbose)
		printf("Freeing %p to malloc\n", p);
	__real_kfree(p);
}

/* The same, reached through the tagging macros. */
void *__wrap_kmem_cache_alloc_noprof(struct kmem_cache *c, gfp_t gfp)
{
	return __wrap_kmem_cache_alloc(c, gfp);
}

int __wrap_kmem_cache_alloc_bulk_noprof(struct kmem_cache *c, gfp_t gfp,
					size_t n, void **p)
{
	return __wrap_kmem_cache_alloc_bulk(c, gfp, n, p);
}

void *__wrap_kmalloc_noprof(size_t size, gfp_t gfp)
{
	return __wrap_kmalloc(size, gfp);
}

void *__wrap_kzalloc_noprof(size_t size, gfp_t gfp)
{
	return __wrap_kmalloc(size, gfp | __GFP_ZERO);
}

/* The harness's check of its bulk calls, over uslab's. */
void test_kmem_cache_bulk(void)
{
	struct kmem_cache *c = kmem_cache_create("test_cache", 256, 0,
						 SLAB_PANIC, NULL);
	void *list[12];

	for (int i = 0; i < 5; i++)
		list[i] = kmem_cache_alloc(c, __GFP_DIRECT_RECLAIM);
	for (int i = 0; i < 5; i++)
		kmem_cache_free(c, list[i]);
	assert(kmem_cache_alloc_bulk(c, __GFP_DIRECT_RECLAIM, 12, list) == 12);
	for (int i = 0; i < 12; i++)
		assert(list[i] && kmem_cache_size(c) == 256);
	kmem_cache_free_bulk(c, 12, list);
	assert(hooks_of(c)->nr_allocated == 0);
	kmem_cache_destroy(c);
}

/* Non-blocking slab allocations fail, as in the harness's own slab. */
__attribute__((constructor)) static void harness_failslab(void)
{
	if (uslab_failslab("probability=100,times=-1,verbose=0,"
			   "ignore-gfp-wait=Y,cache-filter=N") != 0)
		abort();
}
