/* SPDX-License-Identifier: MIT */
/*
 * test-edges.c - the edges of the contract.
 *
 * 10,000 caches created, used and destroyed with bounded memory; objects
 * of 1 byte and of the largest size; alignments up to 1 MiB; a machine
 * with 1,024 possible CPUs (simulated with USLAB_NR_CPUS, in a child that
 * this program runs again); 1,000 threads that allocate and exit.
 */
#include <uslab.h>

#include <pthread.h>

#include "testutil.h"

#define MB ((size_t)1 << 20)

TEST(ten_thousand_caches_come_and_go_with_bounded_memory)
{
	size_t base = 0, after;

	for (int round = 0; round < 10; round++) {
		struct kmem_cache *c[1000];

		for (int i = 0; i < 1000; i++) {
			void *o[3];

			c[i] = kmem_cache_create("edge", 8 + (unsigned int)(i % 300) * 8,
						 0, i % 2 ? SLAB_HWCACHE_ALIGN : 0, NULL);
			ck_require((c[i]) != NULL);
			for (int k = 0; k < 3; k++) {
				o[k] = kmem_cache_alloc(c[i], GFP_KERNEL);
				ck_require((o[k]) != NULL);
				memset(o[k], k, 8);
			}
			for (int k = 0; k < 3; k++)
				kmem_cache_free(c[i], o[k]);
		}
		for (int i = 0; i < 1000; i++)
			kmem_cache_destroy(c[i]);
		if (round == 0)
			base = rss_bytes();
	}
	after = rss_bytes();
	printf("10,000 caches: resident %zu KiB after the first 1,000, %zu KiB "
	       "after all\n", base >> 10, after >> 10);
	if (rss_is_meaningful())
		ck_assert_uint_le(after, base + 2 * MB);
}
END_TEST

/*
 * A SLAB_TYPESAFE_BY_RCU cache keeps every empty slab until it is
 * destroyed, so its slabs go back in one batch, clean, and the chunks
 * they fill fall idle together: the first is unmapped as the second
 * falls idle.  The batch's count was read from the first slab's chunk
 * after that, and the destroy died of SIGSEGV.
 */
TEST(slabs_filling_chunks_go_back_together)
{
	enum { N = 32 };	/* 16 MiB: more than three chunks */
	struct kmem_cache *c = kmem_cache_create("typesafe-huge",
						 USLAB_MAX_OBJECT_SIZE, 0,
						 SLAB_TYPESAFE_BY_RCU, NULL);
	void *p[N];

	ck_assert_ptr_nonnull(c);
	for (int i = 0; i < N; i++) {
		p[i] = kmem_cache_alloc(c, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
	}
	for (int i = 0; i < N; i++)
		kmem_cache_free(c, p[i]);
	kmem_cache_destroy(c);
}
END_TEST

TEST(one_byte_and_largest_objects)
{
	struct kmem_cache *tiny = kmem_cache_create("tiny", 1, 0, 0, NULL);
	struct kmem_cache *huge = kmem_cache_create("huge", USLAB_MAX_OBJECT_SIZE,
						    0, 0, NULL);
	unsigned char *t[5000], *h[4];

	for (int i = 0; i < 5000; i++) {
		t[i] = kmem_cache_alloc(tiny, GFP_KERNEL);
		ck_assert_uint_eq((uintptr_t)t[i] % 8, 0);
		*t[i] = (unsigned char)i;
	}
	for (int i = 0; i < 5000; i++) {
		ck_assert_int_eq(*t[i], (unsigned char)i);
		kmem_cache_free(tiny, t[i]);
	}
	for (int i = 0; i < 4; i++) {
		h[i] = kmem_cache_alloc(huge, GFP_KERNEL);
		ck_assert_ptr_nonnull(h[i]);
		memset(h[i], i + 1, USLAB_MAX_OBJECT_SIZE);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(h[i][USLAB_MAX_OBJECT_SIZE - 1], i + 1);
		kmem_cache_free(huge, h[i]);
	}
	kmem_cache_destroy(tiny);
	kmem_cache_destroy(huge);
}
END_TEST

TEST(alignments_up_to_a_mebibyte)
{
	for (unsigned int align = 1; align <= (1u << 20); align *= 2) {
		struct kmem_cache *c = kmem_cache_create("aligned", 100, align, 0,
							 NULL);
		void *p[3];

		ck_assert_ptr_nonnull(c);
		for (int i = 0; i < 3; i++) {
			p[i] = kmem_cache_alloc(c, GFP_KERNEL);
			ck_assert_uint_eq((uintptr_t)p[i] % align, 0);
		}
		for (int i = 0; i < 3; i++)
			kmem_cache_free(c, p[i]);
		kmem_cache_destroy(c);
	}
}
END_TEST

static void *allocate_and_exit(void *arg)
{
	void *p[32];

	for (int i = 0; i < 32; i++)
		p[i] = kmalloc(16 + (size_t)i * 64 + (uintptr_t)arg % 100, GFP_KERNEL);
	for (int i = 0; i < 32; i++)
		kfree(p[i]);
	return NULL;
}

TEST(a_thousand_threads_leave_nothing_behind)
{
	size_t before = 0, after;
	/* Under memcheck, which runs threads one at a time, a token run. */
	int rounds = on_valgrind() ? 2 : 10;

	for (int round = 0; round < rounds; round++) {
		pthread_t t[100];

		for (int i = 0; i < 100; i++)
			ck_assert_int_eq(pthread_create(&t[i], NULL, allocate_and_exit,
							(void *)(uintptr_t)i), 0);
		for (int i = 0; i < 100; i++)
			pthread_join(t[i], NULL);
		if (round == 0)
			before = rss_bytes();
	}
	after = rss_bytes();
	if (rss_is_meaningful())
		ck_assert_uint_le(after, before + MB);
}
END_TEST

static int many_cpus_child(void)
{
	/* 1,024 slots per cache: each descriptor is about 64 KiB. */
	struct kmem_cache *c[200];
	void *o;

	for (int i = 0; i < 200; i++) {
		c[i] = kmem_cache_create("wide", 64, 0, 0, NULL);
		if (!c[i])
			return 1;
		o = kmem_cache_alloc(c[i], GFP_KERNEL);
		if (!o)
			return 2;
		kmem_cache_free(c[i], o);
	}
	for (int i = 0; i < 200; i++)
		kmem_cache_destroy(c[i]);
	for (int i = 0; i < 100000; i++)
		kfree(kmalloc(64, GFP_KERNEL));
	return rss_bytes_quiet() < 64 * MB || !rss_is_meaningful() ? 0 : 3;
}


/*
 * Memory given back to the OS and mapped again at the same addresses
 * starts clean: in an ASan build, none of the old poisoning survives.
 */
TEST(memory_given_back_and_mapped_again_is_clean)
{
	struct kmem_cache *c = kmem_cache_create("remap", 8000, 0, 0, NULL);
	static void *p[3000];

	ck_assert_ptr_nonnull(c);
	for (int round = 0; round < 4; round++) {
		/* A large block, freed (poisoned) and unmapped ... */
		void *big = kmalloc(24 << 20, GFP_KERNEL);

		ck_assert_ptr_nonnull(big);
		memset(big, round, 24 << 20);
		kfree(big);
		uslab_shrink_all();
		/* ... and slab chunks mapped where it was. */
		for (int i = 0; i < 3000; i++) {
			p[i] = kmem_cache_alloc(c, GFP_KERNEL);
			ck_assert_ptr_nonnull(p[i]);
			memset(p[i], round, 8000);
		}
		for (int i = 0; i < 3000; i++)
			kmem_cache_free(c, p[i]);
		uslab_shrink_all();
	}
	kmem_cache_destroy(c);
}
END_TEST

SELF_TEST(a_machine_with_1024_possible_cpus, "many-cpus", "USLAB_NR_CPUS=1024")

TEST_MAIN("edges", 120,
	  { "many-cpus", many_cpus_child })
