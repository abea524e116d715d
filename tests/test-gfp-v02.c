/* SPDX-License-Identifier: MIT */
/*
 * test-gfp-v02.c - a program as built against uslab 0.1 and 0.2 keeps
 * working: it passes those releases' GFP bit values to the symbol
 * versions it was linked with (compat.c).
 *
 * What makes this program "built against 0.2" is exactly what the
 * dynamic linker sees of one: its references name kmalloc@USLAB_0.1,
 * kmalloc_node@USLAB_0.2 and so on (the .symver directives below), and
 * the flags it passes are 0.2's <uslab.h> values (V02_*, copied from that
 * header).  Every call that takes flags is called through its old
 * version: the flags that act must act, and 0.2's unknown bit must still
 * fail with EINVAL.
 */
#include <errno.h>
#include <string.h>

#include <check.h>

#include "testutil.h"

/* 0.2's <uslab.h>: the values that moved, and some composites. */
#define V02_ZERO		0x00000100u
#define V02_NOFAIL		0x00000200u
#define V02_NOWARN		0x00000400u
#define V02_HIGH		0x00000800u
#define V02_DIRECT_RECLAIM	0x00001000u
#define V02_KSWAPD_RECLAIM	0x00002000u
#define V02_WRITE		0x00004000u
#define V02_RETRY_MAYFAIL	0x00008000u
#define V02_THISNODE		0x00200000u
#define V02_KERNEL		(V02_DIRECT_RECLAIM | V02_KSWAPD_RECLAIM | \
				 0x40u | 0x80u)
#define V02_NOWAIT		(V02_KSWAPD_RECLAIM)
#define V02_ATOMIC		(V02_HIGH | V02_KSWAPD_RECLAIM)
#define V02_UNUSED		0x00000020u	/* refused by 0.2 */

/* The old versions, under names of their own, as an old program binds. */
#define OLD(ret, name, ver, params)					\
	ret old_##name params;						\
	__asm__(".symver old_" #name ", " #name "@" #ver)

OLD(void *, kmem_cache_alloc, USLAB_0.1, (struct kmem_cache *, gfp_t));
OLD(void *, kmem_cache_zalloc, USLAB_0.1, (struct kmem_cache *, gfp_t));
OLD(int, kmem_cache_alloc_bulk, USLAB_0.1,
    (struct kmem_cache *, gfp_t, size_t, void **));
OLD(void *, kmalloc, USLAB_0.1, (size_t, gfp_t));
OLD(void *, kzalloc, USLAB_0.1, (size_t, gfp_t));
OLD(void *, kmalloc_array, USLAB_0.1, (size_t, size_t, gfp_t));
OLD(void *, kcalloc, USLAB_0.1, (size_t, size_t, gfp_t));
OLD(void *, krealloc, USLAB_0.1, (const void *, size_t, gfp_t));
OLD(void *, krealloc_array, USLAB_0.1, (void *, size_t, size_t, gfp_t));
OLD(char *, kstrdup, USLAB_0.1, (const char *, gfp_t));
OLD(char *, kstrndup, USLAB_0.1, (const char *, size_t, gfp_t));
OLD(void *, kmemdup, USLAB_0.1, (const void *, size_t, gfp_t));
OLD(void *, uslab_kmalloc_aligned, USLAB_0.1, (size_t, size_t, gfp_t));
OLD(void *, kmem_cache_alloc_node, USLAB_0.2, (struct kmem_cache *, gfp_t, int));
OLD(char *, kmemdup_nul, USLAB_0.2, (const char *, size_t, gfp_t));
OLD(void *, kmemdup_array, USLAB_0.2, (const void *, size_t, size_t, gfp_t));
OLD(const char *, kstrdup_const, USLAB_0.2, (const char *, gfp_t));
OLD(void *, kmalloc_node, USLAB_0.2, (size_t, gfp_t, int));
OLD(void *, kzalloc_node, USLAB_0.2, (size_t, gfp_t, int));
OLD(void *, kmalloc_array_node, USLAB_0.2, (size_t, size_t, gfp_t, int));
OLD(void *, kcalloc_node, USLAB_0.2, (size_t, size_t, gfp_t, int));
OLD(void *, kvmalloc, USLAB_0.2, (size_t, gfp_t));
OLD(void *, kvmalloc_node, USLAB_0.2, (size_t, gfp_t, int));
OLD(void *, kvzalloc, USLAB_0.2, (size_t, gfp_t));
OLD(void *, kvmalloc_array, USLAB_0.2, (size_t, size_t, gfp_t));
OLD(void *, kvcalloc, USLAB_0.2, (size_t, size_t, gfp_t));
OLD(void *, kvrealloc, USLAB_0.2, (const void *, size_t, gfp_t));

static struct kmem_cache *cache;

/* Every old entry point, allocating 64 bytes (or so) with flags f. */
#define NCALLS 27
static void *call(int i, gfp_t f)
{
	static const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789"
				   "abcdefghijklmnopqrstuvwxyz0123";
	void *p[1] = { NULL };
	void *q;

	switch (i) {
	case 0: return old_kmem_cache_alloc(cache, f);
	case 1: return old_kmem_cache_zalloc(cache, f);
	case 2: return old_kmem_cache_alloc_bulk(cache, f, 1, p) == 1 ? p[0]
								     : NULL;
	case 3: return old_kmalloc(64, f);
	case 4: return old_kzalloc(64, f);
	case 5: return old_kmalloc_array(8, 8, f);
	case 6: return old_kcalloc(8, 8, f);
	case 7:
		q = kmalloc(16, GFP_KERNEL);
		memset(q, 0, 16);
		p[0] = old_krealloc(q, 64, f);
		if (!p[0])
			kfree(q);
		return p[0];
	case 8:
		q = kmalloc(16, GFP_KERNEL);
		memset(q, 0, 16);
		p[0] = old_krealloc_array(q, 8, 8, f);
		if (!p[0])
			kfree(q);
		return p[0];
	case 9: return old_kstrdup(text, f);
	case 10: return old_kstrndup(text, 63, f);
	case 11: return old_kmemdup(text, 64, f);
	case 12: return old_uslab_kmalloc_aligned(64, 64, f);
	case 13: return old_kmem_cache_alloc_node(cache, f, NUMA_NO_NODE);
	case 14: return old_kmemdup_nul(text, 63, f);
	case 15: return old_kmemdup_array(text, 8, 8, f);
	case 16: return (void *)(uintptr_t)old_kstrdup_const(text, f);
	case 17: return old_kmalloc_node(64, f, NUMA_NO_NODE);
	case 18: return old_kzalloc_node(64, f, NUMA_NO_NODE);
	case 19: return old_kmalloc_array_node(8, 8, f, NUMA_NO_NODE);
	case 20: return old_kcalloc_node(8, 8, f, NUMA_NO_NODE);
	case 21: return old_kvmalloc(64, f);
	case 22: return old_kvmalloc_node(64, f, NUMA_NO_NODE);
	case 23: return old_kvzalloc(64, f);
	case 24: return old_kvmalloc_array(8, 8, f);
	case 25: return old_kvcalloc(8, 8, f);
	case 26:
		q = kvmalloc(16, GFP_KERNEL);
		memset(q, 0, 16);
		p[0] = old_kvrealloc(q, 64, f);
		if (!p[0])
			kvfree(q);
		return p[0];
	}
	return NULL;
}

static void release(int i, void *p)
{
	if (i <= 2 || i == 13)
		kmem_cache_free(cache, p);
	else if (i == 16)
		kfree_const(p);
	else
		kvfree(p);
}

static void setup(void)
{
	cache = kmem_cache_create("v02", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(cache);
}

static void teardown(void)
{
	ck_assert_int_eq(uslab_failslab(""), 0);
	kmem_cache_destroy(cache);
}

/* Every old call takes 0.2's flags, zeroes with 0.2's __GFP_ZERO. */
TEST(every_call_takes_the_flags_of_0_2)
{
	static const gfp_t flags[] = {
		V02_KERNEL, V02_NOWAIT, V02_ATOMIC, V02_KERNEL | V02_NOWARN,
		V02_KERNEL | V02_WRITE | V02_RETRY_MAYFAIL,
	};

	setup();
	for (int i = 0; i < NCALLS; i++)
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
			void *p = call(i, flags[k]);

			ck_assert_msg(p != NULL, "call %d, flags 0x%x: %s", i,
				      flags[k], strerror(errno));
			release(i, p);
		}
	for (int i = 0; i < NCALLS; i++) {
		unsigned char *p = call(i, V02_KERNEL | V02_ZERO);

		ck_assert_msg(p != NULL, "call %d: %s", i, strerror(errno));
		if (i < 9 || i == 12 || i == 13 || (i >= 17 && i != 26))
			for (int b = 0; b < 64; b++)
				ck_assert_msg(p[b] == 0, "call %d byte %d", i, b);
		release(i, p);
	}
	teardown();
}
END_TEST

/* The bit 0.2 did not use still fails, on every old call. */
TEST(the_bit_0_2_refused_is_still_refused)
{
	setup();
	for (int i = 0; i < NCALLS; i++) {
		void *p;

		if (i == 16)	/* kstrdup_const() of rodata: no allocation */
			continue;
		errno = 0;
		p = call(i, V02_KERNEL | V02_UNUSED);
		ck_assert_msg(p == NULL && errno == EINVAL,
			      "call %d took 0x20: %p, errno %d", i, p, errno);
	}
	/* Today's callers: the kernel's unused bit 0x200 fails as well. */
	errno = 0;
	ck_assert_ptr_null(kmalloc(64, GFP_KERNEL | 0x200u));
	ck_assert_int_eq(errno, EINVAL);
	teardown();
}
END_TEST

/*
 * Through failslab, the bits that moved are seen for what they mean:
 * 0.2's GFP_KERNEL may block, so ignore-gfp-wait spares it; 0.2's
 * GFP_NOWAIT and GFP_ATOMIC may not, so they fail; 0.2's __GFP_NOFAIL
 * is never failed and 0.2's __GFP_NOWARN keeps the report quiet.
 * Read as today's values, each of these would go the other way.
 */
static void moved_bits_mean_what_they_meant(void *arg)
{
	int wrong = 0;

	(void)arg;
	setup();
	ck_assert_int_eq(uslab_failslab("probability=100,times=-1,verbose=1"),
			 0);
	for (int i = 0; i < NCALLS; i++) {
		void *p = call(i, V02_KERNEL);

		if (!p) {
			fprintf(stderr, "call %d failed GFP_KERNEL\n", i);
			wrong++;
		} else {
			release(i, p);
		}
		/* kstrdup_const of rodata and kvmalloc's fallback aside. */
		if (i == 16)
			continue;
		p = call(i, V02_NOWAIT | V02_NOWARN);
		if (p) {
			fprintf(stderr, "call %d passed GFP_NOWAIT\n", i);
			wrong++;
			release(i, p);
		}
		p = call(i, V02_ATOMIC | V02_NOWARN);
		if (p) {
			fprintf(stderr, "call %d passed GFP_ATOMIC\n", i);
			wrong++;
			release(i, p);
		}
		p = call(i, V02_ATOMIC | V02_NOFAIL);
		if (!p) {
			fprintf(stderr, "call %d failed __GFP_NOFAIL\n", i);
			wrong++;
		} else {
			release(i, p);
		}
	}
	/* One loud failure, the only report expected. */
	if (old_kmalloc(64, V02_NOWAIT) != NULL)
		wrong++;
	fprintf(stderr, "wrong: %d\n", wrong);
	teardown();
}

TEST(failslab_reads_the_moved_bits_as_0_2_meant_them)
{
	struct captured cap;
	const char *first, *second;

	run_captured(moved_bits_mean_what_they_meant, NULL, &cap);
	ck_assert_msg(WIFEXITED(cap.status) && WEXITSTATUS(cap.status) == 0,
		      "status 0x%x: %s", cap.status, cap.out);
	expect_in(&cap, "wrong: 0\n");
	first = strstr(cap.out, "FAULT_INJECTION: forcing a failure.");
	ck_assert_msg(first != NULL, "no report: %s", cap.out);
	second = strstr(first + 1, "FAULT_INJECTION");
	ck_assert_msg(second == NULL, "__GFP_NOWARN not honoured: %s", cap.out);
}
END_TEST

TEST_MAIN("gfp-v02", 0)
