/* SPDX-License-Identifier: MIT */
/*
 * test-fault.c - every entry point when the OS refuses memory.
 *
 * Each test turns fault injection on (us_os_fault_from(), what
 * USLAB_FAULT_MMAP=N does from the environment), drives one entry point
 * until it fails, and then checks what the contract promises: NULL (or
 * 0, or the documented abort for __GFP_NOFAIL) with errno ENOMEM; no
 * lock left held; no half-built cache; every structure still valid;
 * nothing already allocated disturbed; memory already held still
 * serving; and, with faults off again, everything working as before.
 */
#include "config.h"

#include <uslab.h>

#include "cache.h"
#include "chunk.h"
#include "os.h"
#include "testutil.h"

#define LIMIT 20000000ul

static unsigned int problems_everywhere(void)
{
	unsigned int problems = us_chunk_validate();

	for (size_t size = 8; size <= KMALLOC_MAX_CACHE_SIZE; size *= 2)
		problems += us_cache_validate(uslab_kmalloc_cache(size));
	problems += us_cache_validate(uslab_kmalloc_cache(96));
	problems += us_cache_validate(uslab_kmalloc_cache(192));
	return problems;
}

static void assert_clean_failure(const char *what)
{
	ck_assert_msg(errno == ENOMEM, "%s: errno %d, not ENOMEM", what, errno);
	ck_assert_msg(us_cache_locks_held() == 0, "%s left a lock held", what);
	ck_assert_msg(problems_everywhere() == 0, "%s corrupted something",
		      what);
}

/* A canary block allocated before faults, checked after. */
static char *canary(void)
{
	char *p = kmalloc(200, GFP_KERNEL);

	memset(p, 0x6b, 200);
	return p;
}

static void check_canary(char *p)
{
	for (int i = 0; i < 200; i++)
		ck_require((p[i]) == (0x6b));
	kfree(p);
}

TEST(kmem_cache_alloc_fails_cleanly_and_recovers)
{
	struct kmem_cache *c = kmem_cache_create("fault", 100, 0, 0, NULL);
	void **objs = calloc(LIMIT, sizeof(void *));
	char *keep = canary();
	unsigned long n = 0;

	/* The objects freed below must be in this CPU's magazines. */
	pin_to_one_cpu();
	us_os_fault_from(1);
	errno = 0;
	while (n < LIMIT && (objs[n] = kmem_cache_alloc(c, GFP_KERNEL)) != NULL) {
		memset(objs[n], (int)n, 100);
		n++;
	}
	ck_assert_uint_lt(n, LIMIT);
	assert_clean_failure("kmem_cache_alloc");
	ck_assert_uint_eq(us_cache_validate(c), 0);
	/* What it holds still serves: free some, allocate them again. */
	for (unsigned long i = 0; i < n; i += 2)
		kmem_cache_free(c, objs[i]);
	for (unsigned long i = 0; i < n; i += 2)
		ck_require((objs[i] = kmem_cache_alloc(c, GFP_KERNEL)) != NULL);
	for (unsigned long i = 1; i < n; i += 2)
		ck_require((((unsigned char *)objs[i])[99]) == ((unsigned char)i));
	us_os_fault_from(0);
	for (int i = 0; i < 10000; i++)
		kmem_cache_free(c, kmem_cache_alloc(c, GFP_KERNEL));
	for (unsigned long i = 0; i < n; i++)
		kmem_cache_free(c, objs[i]);
	check_canary(keep);
	kmem_cache_destroy(c);
	free(objs);
}
END_TEST

TEST(kmem_cache_alloc_bulk_is_all_or_nothing_under_faults)
{
	struct kmem_cache *c = kmem_cache_create("fault-bulk", 512, 0, 0, NULL);
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	void *batch[1000];
	uint64_t active;
	int got;

	us_os_fault_from(1);
	while ((got = kmem_cache_alloc_bulk(c, GFP_KERNEL, 1000, batch)) == 1000)
		;
	ck_assert_int_eq(got, 0);
	assert_clean_failure("kmem_cache_alloc_bulk");
	uslab_cache_stats(c, &st);
	active = st.active_objs;
	ck_assert_uint_eq(active % 1000, 0);	/* no partial batch kept */
	us_os_fault_from(0);
	ck_assert_int_eq(kmem_cache_alloc_bulk(c, GFP_KERNEL, 1000, batch), 1000);
	kmem_cache_free_bulk(c, 1000, batch);
}
END_TEST

static void count_cache(struct kmem_cache *c, void *arg)
{
	(void)c;
	(*(unsigned int *)arg)++;
}

static unsigned int caches_listed(void)
{
	unsigned int n = 0;

	us_cache_for_each(count_cache, &n);
	return n;
}

TEST(kmem_cache_create_leaves_no_half_built_cache)
{
	static struct kmem_cache *made[100000];
	unsigned int n = 0, before = caches_listed();

	us_os_fault_from(1);
	errno = 0;
	while (n < 100000 &&
	       (made[n] = kmem_cache_create("many", 64, 0, 0, NULL)) != NULL)
		n++;
	ck_assert_uint_lt(n, 100000);
	assert_clean_failure("kmem_cache_create");
	/* Exactly the caches made are listed, and each works. */
	ck_assert_uint_eq(caches_listed(), before + n);
	for (unsigned int i = 0; i < n; i++)
		ck_require((us_cache_validate(made[i])) == (0));
	for (unsigned int i = 0; i < n; i++)
		kmem_cache_destroy(made[i]);
	ck_assert_uint_eq(caches_listed(), before);
	us_os_fault_from(0);
	made[0] = kmem_cache_create("after", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(made[0]);
	kmem_cache_free(made[0], kmem_cache_alloc(made[0], GFP_KERNEL));
	kmem_cache_destroy(made[0]);
}
END_TEST

TEST(kmalloc_family_fails_cleanly)
{
	static const size_t sizes[] = { 8, 100, 5000, 40000, 65536 };
	static char source[65536];
	void **objs = calloc(LIMIT, sizeof(void *));
	char *keep = canary(), *grow;

	/*
	 * Every object of a class free before faults start is in the slabs
	 * or this CPU's magazines: another CPU's slot, out of this thread's
	 * reach while it runs here, would serve it once it ran there, or
	 * the sweep would give it back to the slabs, and an allocation that
	 * must fail would succeed.
	 */
	pin_to_one_cpu();
	uslab_shrink_all();
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned long n = 0;

		kfree(kmalloc(sizes[s], GFP_KERNEL));	/* the class has a slab */
		us_os_fault_from(1);
		errno = 0;
		while (n < LIMIT && (objs[n] = kmalloc(sizes[s], GFP_KERNEL)))
			n++;
		ck_assert_uint_lt(n, LIMIT);
		assert_clean_failure("kmalloc");
		errno = 0;
		ck_assert_ptr_null(kzalloc(sizes[s], GFP_KERNEL));
		assert_clean_failure("kzalloc");
		errno = 0;
		ck_assert_ptr_null(kcalloc(sizes[s], 1, GFP_KERNEL));
		assert_clean_failure("kcalloc");
		errno = 0;
		ck_assert_ptr_null(kmemdup(source, sizes[s], GFP_KERNEL));
		assert_clean_failure("kmemdup");
		errno = 0;
		ck_assert_ptr_null(uslab_kmalloc_aligned(sizes[s],
							 sizes[s] < 64 ? 8 : 64,
							 GFP_KERNEL));
		assert_clean_failure("uslab_kmalloc_aligned");
		us_os_fault_from(0);
		while (n)
			kfree(objs[--n]);
	}
	/* The large path and krealloc into it. */
	us_os_fault_from(1);
	errno = 0;
	ck_assert_ptr_null(kmalloc(10u << 20, GFP_KERNEL));
	assert_clean_failure("kmalloc (large)");
	grow = kmalloc(60000, GFP_KERNEL);	/* held memory still serves */
	ck_assert_ptr_nonnull(grow);
	memset(grow, 0x2d, 60000);
	errno = 0;
	ck_assert_ptr_null(krealloc(grow, 200000, GFP_KERNEL));
	assert_clean_failure("krealloc");
	ck_assert_int_eq(grow[59999], 0x2d);	/* untouched, still ours */
	us_os_fault_from(0);
	grow = krealloc(grow, 200000, GFP_KERNEL);
	ck_assert_ptr_nonnull(grow);
	us_os_fault_from(1);
	errno = 0;
	ck_assert_ptr_null(krealloc(grow, 64u << 20, GFP_KERNEL));
	assert_clean_failure("krealloc (large growth)");
	ck_assert_int_eq(grow[59999], 0x2d);
	us_os_fault_from(0);
	kfree(grow);
	check_canary(keep);
	free(objs);
}
END_TEST

TEST(string_copies_fail_cleanly)
{
	static char text[100000];
	char *s;

	memset(text, 'x', sizeof(text) - 1);
	us_os_fault_from(1);
	errno = 0;
	s = kstrdup(text, GFP_KERNEL);
	ck_assert_ptr_null(s);
	assert_clean_failure("kstrdup");
	errno = 0;
	ck_assert_ptr_null(kstrndup(text, 90000, GFP_KERNEL));
	assert_clean_failure("kstrndup");
	us_os_fault_from(0);
	s = kstrdup(text, GFP_KERNEL);
	ck_assert_ptr_nonnull(s);
	kfree(s);
}
END_TEST

static void nofail_without_memory(void *arg)
{
	void *p;

	(void)arg;
	us_os_fault_from(1);
	p = kmalloc(50u << 20, GFP_KERNEL | __GFP_NOFAIL);
	fprintf(stderr, "__GFP_NOFAIL returned %p\n", p);
}

TEST(gfp_nofail_aborts_as_documented)
{
	ck_assert_aborts_with(nofail_without_memory, NULL,
			      "out of memory in a __GFP_NOFAIL allocation");
}
END_TEST


static int child_main(void)
{
	void *small = kmalloc(64, GFP_KERNEL), *big = NULL;
	int i;

	/* From the 20th request for memory on, every one fails. */
	for (i = 0; i < 40; i++) {
		big = kmalloc(20u << 20, GFP_KERNEL);
		if (!big)
			break;
		memset(big, 1, 4096);	/* kept: the cache cannot reuse it */
	}
	if (i == 40 || errno != ENOMEM)
		return 1;
	if (small) {
		/* Memory already held still serves. */
		kfree(small);
		if (!(small = kmalloc(64, GFP_KERNEL)))
			return 2;
	}
	return 0;
}

SELF_TEST(the_environment_variable_injects_faults, "faults",
	  "USLAB_FAULT_MMAP=20")

TEST_MAIN("fault", 120,
	  { "faults", child_main })
