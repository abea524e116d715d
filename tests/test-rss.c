/* SPDX-License-Identifier: MIT */
/*
 * test-rss.c - freed memory goes back to the OS.
 *
 * Resident memory is read from /proc/self/statm.  The rule: after a
 * program frees every object and shrinks, resident memory falls back to
 * within 10% of its growth; destroying a cache unmaps all it held; and
 * without any shrink, empty slabs still go back over time.  The arrays
 * of pointers the tests keep are mmap'd and unmapped before measuring,
 * so only uslab's memory is measured.
 */
#include <uslab.h>

#include <sys/mman.h>

#include "testutil.h"

#define MB (1024u * 1024u)

static void **pointer_array(size_t n)
{
	void **p = mmap(NULL, n * sizeof(void *), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

static void drop_array(void **p, size_t n)
{
	munmap(p, n * sizeof(void *));
}

static void assert_returned(size_t base, size_t peak, size_t now,
			    const char *what)
{
	size_t growth = peak > base ? peak - base : 0;

	printf("%s: base %zu KiB, peak %zu KiB, after %zu KiB\n", what,
	       base >> 10, peak >> 10, now >> 10);
	ck_assert_uint_ge(growth, 100 * MB);
	ck_assert_msg(now <= base + growth / 10,
		      "%s: %zu KiB resident of a %zu KiB growth", what,
		      (now - base) >> 10, growth >> 10);
}

TEST(freeing_and_shrinking_a_cache_returns_its_memory)
{
	struct kmem_cache *c = kmem_cache_create("rss", 64, 0, 0, NULL);
	size_t n = 200 * MB / 64, base, peak;
	void **p = pointer_array(n);

	base = rss_bytes();
	for (size_t i = 0; i < n; i++) {
		p[i] = kmem_cache_alloc(c, GFP_KERNEL);
		memset(p[i], 1, 64);
	}
	peak = rss_bytes();
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(c, p[i]);
	drop_array(p, n);
	kmem_cache_shrink(c);
	assert_returned(base, peak, rss_bytes(), "cache + shrink");
	kmem_cache_destroy(c);
}
END_TEST

TEST(kmalloc_memory_returns_after_shrinking_its_classes)
{
	size_t n = 400000, base, peak;
	void **p = pointer_array(n);
	uint64_t rng = 42;

	base = rss_bytes();
	for (size_t i = 0; i < n; i++) {
		size_t size = 16 + rng_next(&rng) % 1024;

		p[i] = kmalloc(size, GFP_KERNEL);
		memset(p[i], 2, size);
	}
	peak = rss_bytes();
	for (size_t i = 0; i < n; i++)
		kfree(p[i]);
	drop_array(p, n);
	for (size_t size = 8; size <= 65536; size *= 2)
		kmem_cache_shrink(uslab_kmalloc_cache(size));
	kmem_cache_shrink(uslab_kmalloc_cache(96));
	kmem_cache_shrink(uslab_kmalloc_cache(192));
	assert_returned(base, peak, rss_bytes(), "kmalloc + shrink");
}
END_TEST

TEST(empty_slabs_return_without_a_shrink)
{
	struct kmem_cache *c = kmem_cache_create("idle", 256, 0, 0, NULL);
	size_t n = 200 * MB / 256, base, peak;
	void **p = pointer_array(n);
	struct timespec idle = { 1, 200 * 1000000L };

	base = rss_bytes();
	for (size_t i = 0; i < n; i++) {
		p[i] = kmem_cache_alloc(c, GFP_KERNEL);
		memset(p[i], 3, 256);
	}
	peak = rss_bytes();
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(c, p[i]);
	drop_array(p, n);
	/*
	 * Idle, then activity that takes a slow path (here: more objects
	 * than two magazines, in another cache): no shrink, no thread.
	 */
	nanosleep(&idle, NULL);
	{
		struct kmem_cache *other = kmem_cache_create("busy", 32, 0, 0, NULL);
		void *o[1000];

		for (int i = 0; i < 1000; i++)
			o[i] = kmem_cache_alloc(other, GFP_KERNEL);
		for (int i = 0; i < 1000; i++)
			kmem_cache_free(other, o[i]);
	}
	assert_returned(base, peak, rss_bytes(), "no shrink");
	kmem_cache_destroy(c);
}
END_TEST

TEST(destroy_unmaps_everything)
{
	struct kmem_cache *c = kmem_cache_create("gone", 1000, 0, 0, NULL);
	size_t n = 200 * MB / 1000, base, peak;
	void **p = pointer_array(n);

	base = rss_bytes();
	for (size_t i = 0; i < n; i++) {
		p[i] = kmem_cache_alloc(c, GFP_KERNEL);
		memset(p[i], 4, 1000);
	}
	peak = rss_bytes();
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(c, p[i]);
	drop_array(p, n);
	kmem_cache_destroy(c);
	assert_returned(base, peak, rss_bytes(), "destroy");
}
END_TEST

TEST(large_allocations_are_unmapped_once_idle)
{
	size_t base = rss_bytes(), peak, kept;
	struct timespec idle = { 1, 200 * 1000000L };
	void *p[20];

	for (int i = 0; i < 20; i++) {
		p[i] = kmalloc(10 * MB, GFP_KERNEL);
		memset(p[i], 5, 10 * MB);
	}
	peak = rss_bytes();
	for (int i = 0; i < 20; i++)
		kfree(p[i]);
	/* All are kept for reuse, for they were in use a moment ago ... */
	kept = rss_bytes();
	ck_assert_uint_ge(kept, base + 190 * MB);
	/* ... until they idle; the next large free unmaps those. */
	nanosleep(&idle, NULL);
	kfree(kmalloc(100000, GFP_KERNEL));
	assert_returned(base, peak, rss_bytes(), "large");
}
END_TEST

int main(void)
{
	if (!rss_is_meaningful()) {
		/* Valgrind's memory or TSan's shadow would be measured. */
		puts("skipped: resident memory is not uslab's alone here");
		return 77;
	}
	return run_tests("rss", 120);
}
