/* SPDX-License-Identifier: MIT */
/*
 * test-nomalloc.c - uslab never calls malloc for itself, and works from
 * the first allocation of a process.
 *
 * This program defines the malloc family itself, forwarding to glibc's
 * and counting the calls a thread makes while it is inside uslab.  Every
 * entry point, including start-up, cache creation and destruction,
 * growth, shrinking, the large path, statistics and threads, must count
 * zero.  uslab is linked statically here, so the constructor below, of a
 * higher priority than uslab's own, really does run before uslab has
 * initialised.
 */
#include "config.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

#include <uslab.h>

#include "testutil.h"

static __thread int inside;
static _Atomic unsigned long calls;
static _Atomic unsigned long failures;

/* A sanitizer owns malloc: then this program does not replace it. */
#ifndef USLAB_TEST_SANITIZED
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static void note(void)
{
	if (inside)
		atomic_fetch_add(&calls, 1);
}

void *malloc(size_t n)
{
	note();
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	note();
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	note();
	return __libc_realloc(p, n);
}

void free(void *p)
{
	note();
	__libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	note();
	*out = __libc_memalign(align, n);
	return *out ? 0 : ENOMEM;
}

void *aligned_alloc(size_t align, size_t n)
{
	note();
	return __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n)
{
	note();
	return __libc_memalign(align, n);
}

#endif /* USLAB_TEST_SANITIZED */

static void *early_object;

__attribute__((constructor(101))) static void before_uslab(void)
{
	inside = 1;
	early_object = kmalloc(100, GFP_KERNEL);
	inside = 0;
}

/*
 * A debug cache, and (where no tool would catch the write first) a
 * report of a damaged red zone with its stack trace and symbols, and a
 * leak report at destroy: the reporting path allocates nothing either.
 */
static void exercise_debug(bool damage)
{
	struct kmem_cache *d = kmem_cache_create("nomalloc-debug", 40, 0,
						 SLAB_CONSISTENCY_CHECKS |
						 SLAB_RED_ZONE | SLAB_POISON |
						 SLAB_STORE_USER, NULL);
	unsigned char *volatile p = kmem_cache_alloc(d, GFP_KERNEL);

	if (!p) {
		atomic_fetch_add(&failures, 1);
		return;
	}
	if (damage)
		p[40] = 1;		/* reported and repaired, not freed */
	kmem_cache_free(d, p);
	kmem_cache_free(d, kmem_cache_alloc(d, GFP_KERNEL));
	kmem_cache_shrink(d);
	kmem_cache_destroy(d);
}

static void exercise(void)
{
	struct kmem_cache *c = kmem_cache_create("nomalloc", 96, 0,
						 SLAB_HWCACHE_ALIGN, NULL);
	void *objs[20000];
	char *s;

	for (int i = 0; i < 20000; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	kmem_cache_free_bulk(c, 20000, objs);
	/* No Check assertions in here: Check itself allocates. */
	if (kmem_cache_alloc_bulk(c, GFP_KERNEL, 5000, objs) != 5000)
		atomic_fetch_add(&failures, 1);
	kmem_cache_free_bulk(c, 5000, objs);
	kmem_cache_shrink(c);
	kmem_cache_destroy(c);
	for (size_t size = 1; size < (4u << 20); size = size * 2 + 1) {
		void *p = kmalloc(size, GFP_KERNEL);

		p = krealloc(p, size * 3, GFP_KERNEL);
		if (!p)
			atomic_fetch_add(&failures, 1);
		kfree(p);
	}
	s = kstrdup("text", GFP_KERNEL);
	kfree_sensitive(s);
	{
		struct uslab_cache_stats st = { .version =
							USLAB_CACHE_STATS_VERSION };

		uslab_cache_stats(uslab_kmalloc_cache(64), &st);
	}
	exercise_debug(false);
}

static void *thread_main(void *arg)
{
	inside = 1;
	exercise();
	inside = 0;
	return arg;
}

TEST(no_entry_point_calls_malloc)
{
	pthread_t t[4];

	ck_assert_ptr_nonnull(early_object);
	kfree(early_object);
	inside = 1;
	exercise();
#if !defined(USLAB_TEST_SANITIZED)
	exercise_debug(!on_valgrind());
#endif
	inside = 0;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread_main, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(atomic_load(&calls), 0);
	ck_assert_uint_eq(atomic_load(&failures), 0);
}
END_TEST

TEST(the_counter_would_see_a_call)
{
	void *p;

	inside = 1;
	p = malloc(10);
	__asm__ __volatile__("" : : "r"(p) : "memory");
	inside = 0;
	free(p);
	ck_assert_uint_eq(atomic_load(&calls), 1);
}
END_TEST

int main(void)
{
#ifdef USLAB_TEST_SANITIZED
	/* A sanitizer owns malloc; this program cannot replace it. */
	puts("skipped: built with a sanitizer");
	return 77;
#endif
	return run_tests("nomalloc", 0);
}
