/* SPDX-License-Identifier: MIT */
/*
 * test-kmalloc.c - the kmalloc layer's promises on every path: the
 * size classes, the large path, and the debug layouts that change where
 * objects sit (red zones, tracks), which every promise must survive.
 *
 * Tests that need USLAB_DEBUG run this program again in a child with it
 * set (run_self()); the child says what failed on stdout and exits
 * non-zero.
 */
#include <uslab.h>


#include "testutil.h"

/* The debug settings every layout-sensitive promise is checked under. */
static const char *const debug_settings[] = {
	NULL, "USLAB_DEBUG=F", "USLAB_DEBUG=Z", "USLAB_DEBUG=P",
	"USLAB_DEBUG=U", "USLAB_DEBUG=T", "USLAB_DEBUG=FZPU", "USLAB_DEBUG=ZU",
};

static void run_in_every_debug_setting(const char *mode)
{
	for (size_t i = 0; i < sizeof(debug_settings) / sizeof(debug_settings[0]);
	     i++) {
		const char *env[] = { debug_settings[i], NULL };

		ck_assert_self_ok(mode, env);
	}
}

/* ------------------------------------------------------------ alignment */

static int aligned_child(void)
{
	static const size_t sizes[] = { 1, 24, 100, 4000, 4097, 70000, 300000 };

	for (size_t align = 1; align <= ((size_t)4 << 20); align *= 2) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			void *p[3];

			for (int k = 0; k < 3; k++) {
				p[k] = uslab_kmalloc_aligned(sizes[i], align,
							     GFP_KERNEL);
				if (!p[k] || (uintptr_t)p[k] % align ||
				    ksize(p[k]) < sizes[i])
					child_failed("uslab_kmalloc_aligned(%zu, %zu) -> "
					     "%p, ksize %zu", sizes[i], align,
					     p[k], p[k] ? ksize(p[k]) : 0);
				else
					memset(p[k], 0x11, ksize(p[k]));
			}
			for (int k = 0; k < 3; k++)
				kfree(p[k]);
		}
	}
	/* kmalloc(2^k) is aligned to 2^k, as the kernel promises. */
	for (size_t size = 8; size <= KMALLOC_MAX_CACHE_SIZE; size *= 2) {
		void *p[4];

		for (int k = 0; k < 4; k++) {
			p[k] = kmalloc(size, GFP_KERNEL);
			if (!p[k] || (uintptr_t)p[k] % size)
				child_failed("kmalloc(%zu) -> %p", size, p[k]);
		}
		for (int k = 0; k < 4; k++)
			kfree(p[k]);
	}
	return child_failures != 0;
}

TEST(alignment_holds_under_every_debug_letter)
{
	run_in_every_debug_setting("aligned");
}
END_TEST

/* ------------------------------------------------------- krealloc zero */

/*
 * krealloc() with __GFP_ZERO, in every call, zeroes every byte it adds:
 * after growing from old to new bytes, [old, new) reads as zero, on
 * every path (within a class, between classes, to and from the large
 * path, large to large in place or moved) and after any earlier shrink,
 * which must have zeroed what it cut off for the later growth to find.
 * The caller writes every byte it owns in between.
 */
static const size_t zero_sizes[] = { 50, 1000, 5000, 70000, 100000, 300000 };
#define NZ (sizeof(zero_sizes) / sizeof(zero_sizes[0]))

static void check_added_zero(const unsigned char *p, size_t from, size_t to,
			     const char *what)
{
	for (size_t b = from; b < to; b++) {
		if (p[b] != 0) {
			child_failed("%s: byte %zu of %zu is %#x, not zero", what, b,
				   to, p[b]);
			return;
		}
	}
}

static int krealloc_zero_child(void)
{
	for (size_t a = 0; a < NZ; a++)
	for (size_t b = 0; b < NZ; b++)
	for (size_t c = 0; c < NZ; c++) {
		const size_t seq[3] = { zero_sizes[a], zero_sizes[b], zero_sizes[c] };
		unsigned char *p = kzalloc(seq[0], GFP_KERNEL);
		char what[96];

		memset(p, 0xab, seq[0]);
		for (int k = 1; k < 3; k++) {
			snprintf(what, sizeof(what), "%zu -> %zu -> %zu, step %d",
				 seq[0], seq[1], seq[2], k);
			p = krealloc(p, seq[k], GFP_KERNEL | __GFP_ZERO);
			if (!p) {
				child_failed("%s: NULL", what);
				return 1;
			}
			if (seq[k] > seq[k - 1])
				check_added_zero(p, seq[k - 1], seq[k], what);
			memset(p, 0xab, seq[k]);
		}
		kfree(p);
	}
	return child_failures != 0;
}

TEST(krealloc_gfp_zero_zeroes_what_it_adds_on_every_path)
{
	run_in_every_debug_setting("krealloc-zero");
}
END_TEST

/* ------------------------------------------------- uslab_object_start */

/* Every byte of the caller's part of p maps back to p. */
static void expect_start(const char *what, const char *p, size_t size)
{
	size_t step = size > 4096 ? 4093 : 1;

	for (size_t k = 0; k < size; k += step)
		if (uslab_object_start(p + k) != p)
			child_failed("%s %p: byte %zu -> %p", what, (void *)p, k,
				     uslab_object_start(p + k));
	if (uslab_object_start(p + size - 1) != p)
		child_failed("%s %p: last byte -> %p", what, (void *)p,
			     uslab_object_start(p + size - 1));
}

static int object_start_child(void)
{
	static const size_t sizes[] = { 1, 24, 100, 1000, 5000, 65536, 70000,
					(9u << 20) + 3 };
	static char not_ours[64];
	char on_stack[64];
	struct kmem_cache *odd = kmem_cache_create("odd", 52, 4, 0, NULL);
	void *keep[32];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int k = 0; k < 3; k++) {
			keep[k] = kmalloc(sizes[i], GFP_KERNEL);
			expect_start("kmalloc", keep[k], sizes[i]);
		}
		for (int k = 0; k < 3; k++)
			kfree(keep[k]);
	}
	for (int k = 0; k < 32; k++) {
		keep[k] = kmem_cache_alloc(odd, GFP_KERNEL);
		expect_start("odd", keep[k], 52);
	}
	for (int k = 0; k < 32; k++)
		kmem_cache_free(odd, keep[k]);
	kmem_cache_destroy(odd);
	if (uslab_object_start(not_ours + 8) || uslab_object_start(on_stack) ||
	    uslab_object_start(NULL))
		child_failed("memory not uslab's has an object start");
	return child_failures != 0;
}

TEST(an_interior_pointer_finds_its_object)
{
	run_in_every_debug_setting("object-start");
}
END_TEST

/* ----------------------------------------------------------- large path */

/*
 * A freed large block is kept for reuse and may serve a smaller request;
 * ksize() still says what a fresh block would hold,
 * kmalloc_size_roundup(size), and growing into the room the reused
 * mapping has beyond that adds zero bytes, as new pages would.
 */
TEST(a_reused_large_block_is_the_size_asked_for)
{
	static const size_t big[] = { 300000, 200000, 1u << 20 };
	static const size_t small[] = { 160000, 110000, 100001, 600000 };

	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
	for (size_t k = 0; k < sizeof(small) / sizeof(small[0]); k++) {
		unsigned char *p = kmalloc(big[i], GFP_KERNEL), *q;
		size_t b;

		memset(p, 0xee, ksize(p));
		kfree(p);
		q = kzalloc(small[k], GFP_KERNEL);
		ck_assert_ptr_nonnull(q);
		ck_assert_uint_eq(ksize(q), kmalloc_size_roundup(small[k]));
		memset(q, 0xab, small[k]);
		q = krealloc(q, big[i], GFP_KERNEL | __GFP_ZERO);
		ck_assert_ptr_nonnull(q);
		ck_assert_uint_ge(ksize(q), big[i]);
		/* One assertion, not one a byte: valgrind runs this too. */
		b = small[k];
		while (b < big[i] && q[b] == 0)
			b++;
		ck_assert_msg(b >= big[i], "%zu -> %zu: byte %zu is %#x",
			      small[k], big[i], b, b < big[i] ? q[b] : 0);
		kfree(q);
	}
}
END_TEST

/* ------------------------------------------------- uslab's own objects */

/*
 * A cache descriptor is an object of uslab's own "kmem_cache" cache; it
 * is not kmalloc memory, and kfree(), ksize() and krealloc() of it are
 * reported like any foreign pointer.  (They used to index the per-CPU
 * slots the bootstrap cache does not have: a hang or a SIGSEGV.)
 */
static void kfree_descriptor(void *arg)
{
	(void)arg;
	kfree(kmem_cache_create("victim", 64, 0, 0, NULL));
}

static void ksize_descriptor(void *arg)
{
	(void)arg;
	printf("%zu\n", ksize(kmem_cache_create("victim", 64, 0, 0, NULL)));
}

static void krealloc_descriptor(void *arg)
{
	(void)arg;
	printf("%p\n", krealloc(kmem_cache_create("victim", 64, 0, 0, NULL),
				4096, GFP_KERNEL));
}

TEST(a_cache_descriptor_is_not_kmalloc_memory)
{
	ck_assert_aborts_with(kfree_descriptor, NULL,
			      "Invalid object pointer");
	ck_assert_aborts_with(kfree_descriptor, NULL, "uslab's own object");
	ck_assert_aborts_with(ksize_descriptor, NULL, "uslab's own object");
	ck_assert_aborts_with(krealloc_descriptor, NULL, "uslab's own object");
}
END_TEST

/* ---------------------------------------------------------------- main */

TEST_MAIN("kmalloc", 120,
	  { "aligned", aligned_child },
	  { "krealloc-zero", krealloc_zero_child },
	  { "object-start", object_start_child })
