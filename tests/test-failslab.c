/* SPDX-License-Identifier: MIT */
/*
 * test-failslab.c - the kernel's slab fault injection: exact failure
 * counts for each attribute, the kernel's verdict order, the report, the
 * environment variable, and threads racing for the last failures.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "testutil.h"

#define SIZE 64

static struct kmem_cache *cache;

static void setup(void)
{
	ck_assert_int_eq(uslab_failslab(""), 0);
	cache = kmem_cache_create("failslab-test", SIZE, 0, 0, NULL);
	ck_assert_ptr_nonnull(cache);
}

static void teardown(void)
{
	ck_assert_int_eq(uslab_failslab(""), 0);
	kmem_cache_destroy(cache);
}

/*
 * n allocations from c with flags; the 1-based positions of those that
 * failed go to failed[] (up to max), their count is returned.  Every
 * failure must say ENOMEM.
 */
static int attempt(struct kmem_cache *c, gfp_t flags, int n, int *failed,
		   int max)
{
	int nfailed = 0;

	for (int i = 1; i <= n; i++) {
		void *p;

		errno = 0;
		p = c ? kmem_cache_alloc(c, flags) : kmalloc(SIZE, flags);
		if (p) {
			if (c)
				kmem_cache_free(c, p);
			else
				kfree(p);
			continue;
		}
		ck_assert_int_eq(errno, ENOMEM);
		if (nfailed < max)
			failed[nfailed] = i;
		nfailed++;
	}
	return nfailed;
}

TEST(off_by_default_and_at_probability_0)
{
	int f[1];

	setup();
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 1000, f, 1), 0);
	ck_assert_int_eq(uslab_failslab("times=-1,verbose=0"), 0);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 1000, f, 1), 0);
	teardown();
}
END_TEST

/* times: exactly that many failures, then none; -1 never runs out. */
TEST(times_counts_the_failures_exactly)
{
	int f[8];

	setup();
	ck_assert_int_eq(uslab_failslab("probability=100,times=3,verbose=0"),
			 0);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 100, f, 8), 3);
	ck_assert_int_eq(f[0], 1);
	ck_assert_int_eq(f[2], 3);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 100, f, 8), 0);
	/* Unnamed attributes keep their values: probability stays 100. */
	ck_assert_int_eq(uslab_failslab("times=-1"), 0);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 500, f, 8), 500);
	ck_assert_int_eq(attempt(NULL, GFP_ATOMIC, 500, f, 8), 500);
	teardown();
}
END_TEST

/* interval: only every interval'th candidate may fail. */
TEST(interval_fails_every_nth_candidate)
{
	int f[32];

	setup();
	ck_assert_int_eq(uslab_failslab("probability=100,times=-1,interval=4,"
					"verbose=0"), 0);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 100, f, 32), 25);
	for (int i = 0; i < 25; i++)
		ck_assert_int_eq(f[i], 4 * (i + 1));
	/* Allocations that may block are no candidates: they do not count. */
	ck_assert_int_eq(attempt(cache, GFP_KERNEL, 3, f, 32), 0);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 4, f, 32), 1);
	ck_assert_int_eq(f[0], 4);
	teardown();
}
END_TEST

/*
 * space: candidates pass while space exceeds their size, each taking its
 * size from it, as lib/fault-inject.c: with room for ten 64-byte
 * objects, nine pass and the tenth fails.
 */
TEST(space_lets_that_many_bytes_pass_first)
{
	int f[8];

	setup();
	ck_assert_int_eq(uslab_failslab("probability=100,times=-1,space=640,"
					"verbose=0"), 0);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 20, f, 8), 11);
	ck_assert_int_eq(f[0], 10);
	teardown();
}
END_TEST

/*
 * ignore-gfp-wait (default Y) spares allocations that may block;
 * __GFP_NOFAIL is never failed, with it or without.
 */
TEST(ignore_gfp_wait_and_nofail)
{
	int f[4];
	void *p;

	setup();
	ck_assert_int_eq(uslab_failslab("probability=100,times=-1,verbose=0"),
			 0);
	ck_assert_int_eq(attempt(cache, GFP_KERNEL, 100, f, 4), 0);
	ck_assert_int_eq(attempt(NULL, GFP_NOFS, 100, f, 4), 0);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 100, f, 4), 100);
	ck_assert_int_eq(attempt(cache, 0, 100, f, 4), 100);
	ck_assert_int_eq(attempt(cache, GFP_ATOMIC | __GFP_NOFAIL, 100, f, 4), 0);
	ck_assert_int_eq(uslab_failslab("ignore-gfp-wait=N"), 0);
	ck_assert_int_eq(attempt(cache, GFP_KERNEL, 100, f, 4), 100);
	ck_assert_int_eq(attempt(NULL, GFP_KERNEL | __GFP_ZERO, 100, f, 4), 100);
	ck_assert_int_eq(attempt(cache, GFP_KERNEL | __GFP_NOFAIL, 100, f, 4),
			 0);
	/* Not slab allocations: large blocks, and malloc(). */
	p = kmalloc(KMALLOC_MAX_CACHE_SIZE + 1, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	kfree(p);
	p = malloc(SIZE);
	ck_assert_ptr_nonnull(p);
	free(p);
	teardown();
}
END_TEST

/* cache-filter: only caches made with SLAB_FAILSLAB. */
TEST(cache_filter_takes_slab_failslab_caches_only)
{
	struct kmem_cache *marked =
		kmem_cache_create("failslab-marked", SIZE, 0, SLAB_FAILSLAB, NULL);
	int f[4];

	setup();
	ck_assert_ptr_nonnull(marked);
	ck_assert_int_eq(uslab_failslab("probability=100,times=-1,verbose=0,"
					"cache-filter=Y"), 0);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 100, f, 4), 0);
	ck_assert_int_eq(attempt(NULL, GFP_NOWAIT, 100, f, 4), 0);
	ck_assert_int_eq(attempt(marked, GFP_NOWAIT, 100, f, 4), 100);
	ck_assert_int_eq(uslab_failslab("cache-filter=N"), 0);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 100, f, 4), 100);
	kmem_cache_destroy(marked);
	teardown();
}
END_TEST

/* The other slab calls: one verdict per bulk call, as the kernel. */
TEST(bulk_node_and_kmalloc_family_fail_too)
{
	void *p[16];

	setup();
	ck_assert_int_eq(uslab_failslab("probability=100,times=2,verbose=0"),
			 0);
	errno = 0;
	ck_assert_int_eq(kmem_cache_alloc_bulk(cache, GFP_NOWAIT, 16, p), 0);
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc_node(cache, GFP_NOWAIT, 0));
	ck_assert_int_eq(errno, ENOMEM);
	/* times ran out: the whole bulk passes. */
	ck_assert_int_eq(kmem_cache_alloc_bulk(cache, GFP_NOWAIT, 16, p), 16);
	kmem_cache_free_bulk(cache, 16, p);
	ck_assert_int_eq(uslab_failslab("times=-1"), 0);
	ck_assert_ptr_null(kcalloc(4, 8, GFP_NOWAIT));
	ck_assert_ptr_null(kstrdup("x", GFP_NOWAIT));
	ck_assert_ptr_null(kmalloc_node(100, GFP_NOWAIT, 0));
	ck_assert_ptr_null(kvmalloc(100, GFP_NOWAIT));
	p[0] = kmalloc(8, GFP_KERNEL);
	ck_assert_ptr_nonnull(p[0]);
	ck_assert_ptr_null(krealloc(p[0], 200, GFP_NOWAIT));
	kfree(p[0]);
	teardown();
}
END_TEST

TEST(bad_specs_change_nothing)
{
	static const char *const bad[] = {
		"probability=101", "probability=-1", "interval=0", "times=-2",
		"verbose=3", "ignore-gfp-wait=maybe", "cache-filter=", "bogus=1",
		"probability", "probability=10,", "1,100,0", "1,100,0,2,5",
		"0,100,0,2", "1,101,0,2",
	};
	int f[4];

	setup();
	ck_assert_int_eq(uslab_failslab("probability=100,times=-1,verbose=0"),
			 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_msg(uslab_failslab(bad[i]) == -EINVAL && errno == EINVAL,
			      "\"%s\" accepted", bad[i]);
	}
	errno = 0;
	ck_assert_int_eq(uslab_failslab(NULL), -EINVAL);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 10, f, 4), 10);
	/* The kernel's boot form: interval,probability,space,times. */
	ck_assert_int_eq(uslab_failslab("2,100,0,3"), 0);
	ck_assert_int_eq(attempt(cache, GFP_NOWAIT, 20, f, 4), 3);
	ck_assert_int_eq(f[0], 2);
	ck_assert_int_eq(f[2], 6);
	teardown();
}
END_TEST

/* The report: the kernel's two lines, the stack at verbose 2. */
static void fail_loudly(void *arg)
{
	setup();
	ck_assert_int_eq(uslab_failslab(arg), 0);
	if (kmem_cache_alloc(cache, GFP_ATOMIC) != NULL)
		fprintf(stderr, "did not fail\n");
	/* Quiet with __GFP_NOWARN, which 6.12's GFP_NOWAIT has. */
	if (kmem_cache_alloc(cache, GFP_NOWAIT) != NULL)
		fprintf(stderr, "did not fail\n");
	teardown();
}

TEST(verbose_prints_the_kernels_message)
{
	struct captured cap;

	run_captured(fail_loudly, (void *)(uintptr_t)"probability=100,times=5,verbose=1", &cap);
	ck_assert_int_eq(cap.status, 0);
	ck_assert_str_eq(cap.out, "FAULT_INJECTION: forcing a failure.\n"
				  "name failslab, interval 1, probability 100, "
				  "space 0, times 5\n");
	run_captured(fail_loudly, (void *)(uintptr_t)"probability=100,times=-1,verbose=2", &cap);
	ck_assert_int_eq(cap.status, 0);
	expect_in(&cap, "FAULT_INJECTION: forcing a failure.\nname failslab, "
			"interval 1, probability 100, space 0, times -1\n"
			"Call Trace:\n ");
	ck_assert(strstr(strstr(cap.out, "Call Trace") + 1, "FAULT") == NULL);
	run_captured(fail_loudly, (void *)(uintptr_t)"probability=100,times=-1,verbose=0", &cap);
	ck_assert_int_eq(cap.status, 0);
	ck_assert_str_eq(cap.out, "");
}
END_TEST

/* USLAB_FAILSLAB at start-up, in both forms; a bad one is reported. */
static int env_child(void)
{
	struct kmem_cache *c = kmem_cache_create("env", SIZE, 0, 0, NULL);
	int n = 0;

	for (int i = 0; i < 10; i++) {
		void *p = kmem_cache_alloc(c, GFP_NOWAIT);

		if (p)
			kmem_cache_free(c, p);
		else
			n++;
	}
	kmem_cache_destroy(c);
	if (n != atoi(getenv("EXPECT")))
		child_failed("%d failures, expected %s", n, getenv("EXPECT"));
	return child_failures != 0;
}

SELF_TEST(uslab_failslab_env_names, "env",
	  "USLAB_FAILSLAB=probability=100,times=4,verbose=0", "EXPECT=4")
SELF_TEST(uslab_failslab_env_boot_form, "env",
	  "USLAB_FAILSLAB=3,100,0,-1", "EXPECT=3")

TEST(a_bad_uslab_failslab_is_reported_and_ignored)
{
	static const char *const env[] = { "USLAB_FAILSLAB=probability=200",
					   "EXPECT=0", NULL };
	struct captured cap;

	run_self("env", env, &cap);
	ck_assert_int_eq(cap.status, 0);
	expect_in(&cap, "uslab: USLAB_FAILSLAB=probability=200 ignored");
}
END_TEST

/*
 * More threads than cores race for the last of `times': exactly that
 * many allocations fail, the cross-thread frees aside.
 */
#define THREADS 8
#define PER_THREAD 20000
#define TIMES 5000

static _Atomic int total_failed;
static void *pass_on[THREADS][64];

static void *racer(void *arg)
{
	intptr_t id = (intptr_t)arg;
	int failed = 0, held = 0;

	for (int i = 0; i < PER_THREAD; i++) {
		void *p = kmem_cache_alloc(cache, GFP_NOWAIT);

		if (!p) {
			failed++;
			continue;
		}
		/* Free some into the next thread's hands. */
		if (held < 64 && (i & 7) == 0)
			pass_on[id][held++] = p;
		else
			kmem_cache_free(cache, p);
	}
	atomic_fetch_add(&total_failed, failed);
	return (void *)(intptr_t)held;
}

TEST(threads_share_times_exactly)
{
	pthread_t t[THREADS];
	intptr_t held[THREADS];

	setup();
	ck_assert_int_eq(uslab_failslab("probability=100,times=5000,"
					"interval=2,verbose=0"), 0);
	for (intptr_t i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, racer, (void *)i),
				 0);
	for (int i = 0; i < THREADS; i++) {
		void *r;

		pthread_join(t[i], &r);
		held[i] = (intptr_t)r;
	}
	for (int i = 0; i < THREADS; i++)
		for (intptr_t k = 0; k < held[(i + 1) % THREADS]; k++)
			kmem_cache_free(cache, pass_on[(i + 1) % THREADS][k]);
	ck_assert_int_eq(atomic_load(&total_failed), TIMES);
	teardown();
}
END_TEST

TEST_MAIN("failslab", 0, { "env", env_child })
