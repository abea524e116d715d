/* SPDX-License-Identifier: MIT */
/*
 * test-cache.c - the cache layer: creation, destruction and the list of
 * caches, against everything else that walks that list (the sweep of
 * idle memory, uslab_shrink_all(), statistics).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>

#include "cache.h"
#include "kmalloc.h"
#include "magazine.h"
#include "reclaim.h"
#include "slab.h"
#include "testutil.h"

#define RACE_OBJECTS 20000
#define RACE_ROUNDS 60

static _Atomic int stop_shrinking;
static _Atomic unsigned long shrinks;

static void *shrinker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_shrinking)) {
		uslab_shrink_all();
		atomic_fetch_add(&shrinks, 1);
	}
	return NULL;
}

/*
 * A cache emptied by its user and destroyed while another thread shrinks
 * every cache: the shrink may be flushing the cache's magazines into its
 * slabs at that moment, which must not look like live objects to the
 * destroy.  Any report fails the test.
 */
static void destroy_while_shrinking(void *arg)
{
	static void *p[RACE_OBJECTS];
	pthread_t t;

	/* Valgrind runs one thread at a time: a token run there. */
	int rounds = on_valgrind() ? 2 : RACE_ROUNDS;
	int objects = on_valgrind() ? RACE_OBJECTS / 10 : RACE_OBJECTS;

	(void)arg;
	pthread_create(&t, NULL, shrinker, NULL);
	for (int round = 0; round < rounds; round++) {
		struct kmem_cache *c = kmem_cache_create("race", 64, 0, 0, NULL);

		for (int i = 0; i < objects; i++)
			p[i] = kmem_cache_alloc(c, GFP_KERNEL);
		for (int i = 0; i < objects; i++)
			kmem_cache_free(c, p[i]);
		kmem_cache_destroy(c);
	}
	atomic_store(&stop_shrinking, 1);
	pthread_join(t, NULL);
	printf("%lu shrinks\n", atomic_load(&shrinks));
}

TEST(destroy_racing_a_shrink_is_quiet)
{
	struct captured r;

	run_captured(destroy_while_shrinking, NULL, &r);
	ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
		      "status 0x%x: %s", r.status, r.out);
	ck_assert_msg(r.out[0] == '\0', "destroy reported: %s", r.out);
}
END_TEST

/*
 * The same against the sweep that the slow paths run on their own: a
 * thread churns another cache, so that its slow paths sweep every cache
 * every quarter of the decay period, reaping depot magazines idle for
 * the period; each victim cache waits out that idle time, so that the
 * sweep finds its magazines, and is then destroyed.
 */
static void *churner(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("churn", 256, 0, 0, NULL);
	void **p = arg;

	while (!atomic_load(&stop_shrinking)) {
		for (int i = 0; i < 4096; i++)
			p[i] = kmem_cache_alloc(c, GFP_KERNEL);
		for (int i = 0; i < 4096; i++)
			kmem_cache_free(c, p[i]);
		kmem_cache_shrink(c);
	}
	kmem_cache_destroy(c);
	return NULL;
}

static void destroy_while_sweeping(void *arg)
{
	static void *p[RACE_OBJECTS], *q[4096];
	struct timespec idle = { 0, (long)(us_decay_ms % 1000) * 1000000L };
	pthread_t t;

	int rounds = on_valgrind() ? 1 : 4;
	int objects = on_valgrind() ? RACE_OBJECTS / 10 : RACE_OBJECTS;

	idle.tv_sec = (time_t)(us_decay_ms / 1000);
	(void)arg;
	pthread_create(&t, NULL, churner, q);
	for (int round = 0; round < rounds; round++) {
		struct kmem_cache *c[8];

		for (int k = 0; k < 8; k++) {
			c[k] = kmem_cache_create("sweep-race", 64, 0, 0, NULL);
			for (int i = 0; i < objects; i++)
				p[i] = kmem_cache_alloc(c[k], GFP_KERNEL);
			for (int i = 0; i < objects; i++)
				kmem_cache_free(c[k], p[i]);
		}
		nanosleep(&idle, NULL);
		for (int k = 0; k < 8; k++) {
			struct timespec gap = { 0, 30 * 1000000L };

			kmem_cache_destroy(c[k]);
			nanosleep(&gap, NULL);
		}
	}
	atomic_store(&stop_shrinking, 1);
	pthread_join(t, NULL);
}

TEST(destroy_racing_the_sweep_is_quiet)
{
	struct captured r;

	run_captured(destroy_while_sweeping, NULL, &r);
	ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
		      "status 0x%x: %s", r.status, r.out);
	ck_assert_msg(r.out[0] == '\0', "destroy reported: %s", r.out);
}
END_TEST

/*
 * The malloc classes (kmalloc.h): every size from 1 to the largest class
 * maps to a class that holds it, the smallest such, and the classes grow
 * with the size; none wastes more than a fifth of its size above 128
 * bytes (a quarter above the kmalloc classes' half).
 */
TEST(malloc_classes_cover_every_size_tightly)
{
	unsigned int prev = 0;

	for (size_t size = 1; size <= KMALLOC_MAX_CACHE_SIZE; size++) {
		unsigned int i = us_malloc_class(size);
		size_t cs = us_malloc_class_size(i);

		ck_require((i) < (US_MALLOC_CLASSES));
		ck_require((cs) >= (size));
		ck_require((i) >= (prev));
		if (i != prev)
			ck_require((us_malloc_class_size(prev)) < (size));
		if (size > 128)
			ck_require(((cs - size) * 5) <= (cs));
		prev = i;
	}
	ck_assert_uint_eq(prev, US_MALLOC_CLASSES - 1);
	/* The classes of a page and a header are near it. */
	ck_assert_uint_eq(us_malloc_class_size(us_malloc_class(4104)), 4608);
	ck_assert_uint_eq(us_malloc_class_size(us_malloc_class(1032)), 1152);
}
END_TEST

/*
 * A chunk's header, a free slot and a bootstrap cache's slab have page
 * entries naming no cache a caller may free into (us_chunk_no_cache):
 * each of the free paths must report a pointer there, a NULL cache
 * included, and never read a cache through the entry.
 */
static void *header_of_a_slab_chunk(void)
{
	void *p = kmalloc(64, GFP_KERNEL);

	ck_assert_ptr_nonnull(p);
	return (char *)us_chunk_of(p) + 64;
}

static void free_header_into_null(void *arg)
{
	(void)arg;
	kmem_cache_free(NULL, header_of_a_slab_chunk());
}

static void free_header_into_a_cache(void *arg)
{
	(void)arg;
	kmem_cache_free(kmem_cache_create("hdr", 64, 0, 0, NULL),
			header_of_a_slab_chunk());
}

static void kfree_header(void *arg)
{
	(void)arg;
	kfree(header_of_a_slab_chunk());
}

static void ksize_header(void *arg)
{
	(void)arg;
	(void)ksize(header_of_a_slab_chunk());
}

TEST(pointers_where_no_slab_lies_are_reported)
{
	ck_assert_aborts_with(free_header_into_null, NULL,
			      "freed into a NULL cache");
	ck_assert_aborts_with(free_header_into_a_cache, NULL,
			      "Invalid object pointer");
	ck_assert_aborts_with(kfree_header, NULL, "Invalid object pointer");
	ck_assert_aborts_with(ksize_header, NULL, "BUG ksize: Invalid object");
	ck_assert_ptr_null(us_cache_find(header_of_a_slab_chunk()));
}
END_TEST

int main(int argc, char **argv)
{
	(void)argc;
	self_argv0 = argv[0];
	return run_tests("cache", 120);
}
