/* SPDX-License-Identifier: MIT */
/*
 * test-kapi.c - the slab interface of Linux 6.12 as kernel code calls
 * it: the flags, kmem_cache_create() with struct kmem_cache_args, the
 * usercopy region and free pointer offset, the _node() functions on this
 * machine's nodes, the kvmalloc family, and the string helpers.  What
 * the nodes do with several of them is test-node.c's.
 */
#include <uslab.h>

#include <limits.h>
#include <stddef.h>
#include <sys/mman.h>

#include "testutil.h"

/* ------------------------------------------------------------- flags */

/* Every flag of <linux/gfp_types.h> uslab accepts, alone and composed. */
static const gfp_t kernel_gfp[] = {
	__GFP_DMA, __GFP_HIGHMEM, __GFP_DMA32, __GFP_MOVABLE,
	__GFP_RECLAIMABLE, __GFP_HIGH, __GFP_IO, __GFP_FS, __GFP_ZERO,
	__GFP_DIRECT_RECLAIM, __GFP_KSWAPD_RECLAIM, __GFP_WRITE, __GFP_NOWARN,
	__GFP_RETRY_MAYFAIL, __GFP_NOFAIL, __GFP_NORETRY, __GFP_MEMALLOC,
	__GFP_COMP, __GFP_NOMEMALLOC, __GFP_HARDWALL, __GFP_THISNODE,
	__GFP_ACCOUNT, __GFP_ZEROTAGS, __GFP_SKIP_ZERO, __GFP_SKIP_KASAN,
	__GFP_NOLOCKDEP, __GFP_NO_OBJ_EXT, __GFP_RECLAIM,
	GFP_ATOMIC, GFP_KERNEL, GFP_KERNEL_ACCOUNT, GFP_NOWAIT, GFP_NOIO,
	GFP_NOFS, GFP_USER, GFP_DMA, GFP_DMA32, GFP_HIGHUSER,
	GFP_HIGHUSER_MOVABLE, GFP_TRANSHUGE_LIGHT, GFP_TRANSHUGE,
};

TEST(every_kernel_gfp_flag_is_accepted)
{
	struct kmem_cache *c = kmem_cache_create("gfp", 48, 0, 0, NULL);
	gfp_t all = 0;

	for (size_t i = 0; i < sizeof(kernel_gfp) / sizeof(kernel_gfp[0]); i++) {
		gfp_t f = kernel_gfp[i];
		void *p[5] = {
			kmalloc(100, f), kmalloc(1u << 20, f),
			kmem_cache_alloc(c, f), kmalloc_node(200, f, 0),
			kvmalloc(3000, f),
		};

		for (int k = 0; k < 5; k++)
			ck_assert_msg(p[k] != NULL, "gfp 0x%x, call %d: %s", f,
				      k, strerror(errno));
		if (f & __GFP_ZERO)
			for (int k = 0; k < 100; k++)
				ck_require((((unsigned char *)p[0])[k]) == (0));
		kfree(p[0]);
		kfree(p[1]);
		kmem_cache_free(c, p[2]);
		kfree(p[3]);
		kvfree(p[4]);
		all |= f;
	}
	/* A bit no flag uses is refused, on every path. */
	for (gfp_t bit = 1; bit; bit <<= 1) {
		if (all & bit)
			continue;
		errno = 0;
		ck_assert_ptr_null(kmalloc(100, GFP_KERNEL | bit));
		ck_assert_int_eq(errno, EINVAL);
		errno = 0;
		ck_assert_ptr_null(kmalloc(1u << 20, bit));
		ck_assert_int_eq(errno, EINVAL);
		errno = 0;
		ck_assert_ptr_null(kmem_cache_alloc(c, bit));
		ck_assert_int_eq(errno, EINVAL);
		errno = 0;
		ck_assert_ptr_null(kmem_cache_alloc_node(c, bit, 0));
		ck_assert_int_eq(errno, EINVAL);
		errno = 0;
		ck_assert_ptr_null(kvmalloc_node(10, bit, NUMA_NO_NODE));
		ck_assert_int_eq(errno, EINVAL);
	}
	kmem_cache_destroy(c);
}
END_TEST

/*
 * <linux/gfp.h>'s masks and tests, which kernel files use beside the
 * flags: radix-tree.c and xarray.h keep their own bits above
 * __GFP_BITS_SHIFT, and radix-tree.c, xarray.c and maple_tree.c ask
 * gfpflags_allow_blocking() whether they may sleep.
 */
TEST(gfp_masks_and_tests_of_6_12)
{
	gfp_t all = 0;

	for (size_t i = 0; i < sizeof(kernel_gfp) / sizeof(kernel_gfp[0]); i++)
		all |= kernel_gfp[i];
	ck_assert_uint_eq(all & ~__GFP_BITS_MASK, 0);
	ck_assert_uint_eq(__GFP_BITS_MASK, (1u << __GFP_BITS_SHIFT) - 1);
	/* The XArray's three marks fit above it, in a gfp_t. */
	ck_assert_uint_ne((gfp_t)((1u << __GFP_BITS_SHIFT) << 2), 0);
	ck_assert_uint_eq(GFP_ZONEMASK, __GFP_DMA | __GFP_HIGHMEM |
					__GFP_DMA32 | __GFP_MOVABLE);
	ck_assert_uint_eq(GFP_KERNEL & GFP_ZONEMASK, 0);
	ck_assert(gfpflags_allow_blocking(GFP_KERNEL));
	ck_assert(gfpflags_allow_blocking(GFP_NOFS));
	ck_assert(gfpflags_allow_blocking(GFP_NOIO));
	ck_assert(gfpflags_allow_blocking(GFP_KERNEL_ACCOUNT | __GFP_ZERO));
	ck_assert(!gfpflags_allow_blocking(GFP_NOWAIT));
	ck_assert(!gfpflags_allow_blocking(GFP_ATOMIC));
	ck_assert(!gfpflags_allow_blocking(__GFP_ZERO));
	ck_assert(gfp_has_io_fs(GFP_KERNEL));
	ck_assert(!gfp_has_io_fs(GFP_NOFS));
	ck_assert(!gfp_has_io_fs(GFP_NOIO));
	ck_assert(!gfp_has_io_fs(GFP_ATOMIC));
}
END_TEST

/*
 * The bit values of Linux 6.12's <linux/gfp_types.h>, with the four
 * configuration-dependent tail bits present, so kernel code can mix
 * uslab's names with a kernel header's values.  (Programs built against
 * 0.1 and 0.2's own values: test-gfp-v02.)
 */
TEST(the_flags_have_the_kernels_bits)
{
	static const struct { gfp_t flag; unsigned int bit; } k[] = {
		{ __GFP_DMA, 0 }, { __GFP_HIGHMEM, 1 }, { __GFP_DMA32, 2 },
		{ __GFP_MOVABLE, 3 }, { __GFP_RECLAIMABLE, 4 },
		{ __GFP_HIGH, 5 }, { __GFP_IO, 6 }, { __GFP_FS, 7 },
		{ __GFP_ZERO, 8 }, { __GFP_DIRECT_RECLAIM, 10 },
		{ __GFP_KSWAPD_RECLAIM, 11 }, { __GFP_WRITE, 12 },
		{ __GFP_NOWARN, 13 }, { __GFP_RETRY_MAYFAIL, 14 },
		{ __GFP_NOFAIL, 15 }, { __GFP_NORETRY, 16 },
		{ __GFP_MEMALLOC, 17 }, { __GFP_COMP, 18 },
		{ __GFP_NOMEMALLOC, 19 }, { __GFP_HARDWALL, 20 },
		{ __GFP_THISNODE, 21 }, { __GFP_ACCOUNT, 22 },
		{ __GFP_ZEROTAGS, 23 }, { __GFP_SKIP_ZERO, 24 },
		{ __GFP_SKIP_KASAN, 25 }, { __GFP_NOLOCKDEP, 26 },
		{ __GFP_NO_OBJ_EXT, 27 },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		ck_assert_uint_eq(k[i].flag, 1u << k[i].bit);
	ck_assert_uint_eq(___GFP_NOFAIL_BIT, 15);
	ck_assert_uint_eq(__GFP_BITS_SHIFT, 28);
	ck_assert_uint_eq(GFP_KERNEL, 0xcc0);
	ck_assert_uint_eq(GFP_NOWAIT, 0x2800);
	ck_assert_uint_eq(GFP_ATOMIC, 0x820);
	ck_assert_uint_eq(gfp_nested_mask(GFP_KERNEL | __GFP_DMA),
			  GFP_KERNEL | __GFP_NORETRY | __GFP_NOMEMALLOC |
				  __GFP_NOWARN);
	ck_assert_uint_eq(SLAB_NO_MERGE, 0x01000000);
}
END_TEST

static const slab_flags_t kernel_slab[] = {
	SLAB_CONSISTENCY_CHECKS, SLAB_RED_ZONE, SLAB_POISON, SLAB_HWCACHE_ALIGN,
	SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_STORE_USER, SLAB_PANIC,
	SLAB_TYPESAFE_BY_RCU, SLAB_TRACE, SLAB_RECLAIM_ACCOUNT, SLAB_MEM_SPREAD,
	SLAB_DEBUG_OBJECTS, SLAB_NOLEAKTRACE, SLAB_NO_MERGE, SLAB_FAILSLAB,
	SLAB_ACCOUNT, SLAB_NO_USER_FLAGS, SLAB_KASAN, SLAB_SKIP_KFENCE,
};

TEST(every_kernel_slab_flag_is_accepted)
{
	slab_flags_t all = 0;

	for (size_t i = 0; i < sizeof(kernel_slab) / sizeof(kernel_slab[0]); i++) {
		struct kmem_cache *c =
			kmem_cache_create("flag", 40, 0, kernel_slab[i], NULL);
		void *p;

		ck_assert_msg(c != NULL, "flag 0x%x: %s", kernel_slab[i],
			      strerror(errno));
		p = kmem_cache_alloc(c, GFP_KERNEL_ACCOUNT);
		ck_assert_ptr_nonnull(p);
		memset(p, 1, 40);
		kmem_cache_free(c, p);
		kmem_cache_destroy(c);
		all |= kernel_slab[i];
	}
	struct kmem_cache *k =
		KMEM_CACHE(kmem_cache_args, SLAB_ACCOUNT | SLAB_RECLAIM_ACCOUNT);

	ck_assert_ptr_nonnull(k);
	kmem_cache_destroy(k);
	for (slab_flags_t bit = 1; bit; bit <<= 1) {
		if (all & bit)
			continue;
		errno = 0;
		ck_assert_ptr_null(kmem_cache_create("bad", 40, 0, bit, NULL));
		ck_assert_int_eq(errno, EINVAL);
		errno = 0;
		ck_assert_ptr_null(kmem_cache_create("bad", 40, NULL, bit));
		ck_assert_int_eq(errno, EINVAL);
	}
}
END_TEST

/* -------------------------------------------------- kmem_cache_create */

static _Atomic unsigned int ctor_runs;

static void count_ctor(void *p)
{
	memset(p, 0x3c, 100);
	ctor_runs++;
}

TEST(create_takes_the_6_12_form_and_the_classic_one)
{
	struct kmem_cache_args args = { .align = 128, .ctor = count_ctor };
	struct kmem_cache *a = kmem_cache_create("args", 100, &args, 0);
	struct kmem_cache *n = kmem_cache_create("null-args", 100, NULL,
						 SLAB_HWCACHE_ALIGN);
	struct kmem_cache *five = kmem_cache_create("five", 100, 16, 0, NULL);
	struct kmem_cache *direct = __kmem_cache_create_args("direct", 24,
							     &args, 0);
	unsigned char *p;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_nonnull(five);
	ck_assert_ptr_nonnull(direct);
	ck_assert_uint_eq(kmem_cache_size(a), 100);
	p = kmem_cache_alloc(a, GFP_KERNEL);
	ck_assert_uint_eq((uintptr_t)p % 128, 0);
	ck_assert_uint_gt(ctor_runs, 0);
	for (int i = 0; i < 100; i++)
		ck_require((p[i]) == (0x3c));
	kmem_cache_free(a, p);
	p = kmem_cache_alloc(n, GFP_KERNEL);
	ck_assert_uint_eq((uintptr_t)p % 64, 0);
	kmem_cache_free(n, p);
	p = kmem_cache_alloc(five, GFP_KERNEL);
	ck_assert_uint_eq((uintptr_t)p % 16, 0);
	kmem_cache_free(five, p);
	kmem_cache_destroy(a);
	kmem_cache_destroy(n);
	kmem_cache_destroy(five);
	kmem_cache_destroy(direct);

	/* The arguments are checked as the classic form's are. */
	args = (struct kmem_cache_args){ .align = 48 };
	errno = 0;
	ck_assert_ptr_null(kmem_cache_create("bad-align", 64, &args, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_create(NULL, 64, NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_create("zero", 0, NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static void create_bad_usercopy_panics(void *arg)
{
	(void)arg;
	kmem_cache_create_usercopy("bad-usercopy", 64, 0, SLAB_PANIC, 60, 8,
				   NULL);
}

struct user_msg {
	long id;
	char text[40];
	void *owner;
};

TEST(a_usercopy_region_must_lie_inside_the_object)
{
	struct kmem_cache_args args = { .useroffset = 8, .usersize = 40 };
	struct kmem_cache *c;

	c = KMEM_CACHE_USERCOPY(user_msg, SLAB_ACCOUNT, text);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(kmem_cache_size(c), sizeof(struct user_msg));
	kmem_cache_destroy(c);
	c = kmem_cache_create("usercopy-args", 48, &args, 0);
	ck_assert_ptr_nonnull(c);
	kmem_cache_destroy(c);
	/* The whole object is a region too. */
	c = kmem_cache_create_usercopy("whole", 64, 0, 0, 0, 64, NULL);
	ck_assert_ptr_nonnull(c);
	kmem_cache_destroy(c);

	static const struct {
		unsigned int offset, size;
	} outside[] = {
		{ 60, 8 }, { 0, 65 }, { 64, 1 }, { 65, 1 },
		{ UINT_MAX, 2 }, { 8, UINT_MAX },
	};
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		errno = 0;
		ck_assert_ptr_null(kmem_cache_create_usercopy(
			"outside", 64, 0, 0, outside[i].offset, outside[i].size,
			NULL));
		ck_assert_int_eq(errno, EINVAL);
		args = (struct kmem_cache_args){
			.useroffset = outside[i].offset,
			.usersize = outside[i].size,
		};
		errno = 0;
		ck_assert_ptr_null(kmem_cache_create("outside", 64, &args, 0));
		ck_assert_int_eq(errno, EINVAL);
	}
	ck_assert_aborts_with(create_bad_usercopy_panics, NULL,
			      "usercopy region or free pointer offset invalid");
}
END_TEST

/* An object whose first word is the caller's to keep valid while free. */
struct rcu_obj {
	_Atomic long refcount;
	void *link;	/* unused while free: the free pointer goes here */
	char payload[48];
};

TEST(freeptr_offset_needs_typesafe_by_rcu_and_a_word_inside)
{
	struct kmem_cache_args args = {
		.freeptr_offset = offsetof(struct rcu_obj, link),
		.use_freeptr_offset = true,
	};
	static const unsigned int bad[] = { 4, 60, 64, 1000 };

	errno = 0;
	ck_assert_ptr_null(kmem_cache_create("not-typesafe",
					     sizeof(struct rcu_obj), &args, 0));
	ck_assert_int_eq(errno, EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		args.freeptr_offset = bad[i];
		errno = 0;
		ck_assert_ptr_null(kmem_cache_create("bad-offset",
						     sizeof(struct rcu_obj),
						     &args, SLAB_TYPESAFE_BY_RCU));
		ck_assert_int_eq(errno, EINVAL);
	}
	/* Without use_freeptr_offset, the offset is not looked at. */
	args.use_freeptr_offset = false;
	kmem_cache_destroy(kmem_cache_create("unused-offset",
					     sizeof(struct rcu_obj), &args,
					     SLAB_TYPESAFE_BY_RCU));
}
END_TEST

#define FREEPTR_OBJECTS 512

TEST(freeptr_offset_keeps_the_rest_of_a_free_object)
{
	struct kmem_cache_args args = {
		.freeptr_offset = offsetof(struct rcu_obj, link),
		.use_freeptr_offset = true,
	};
	struct kmem_cache *c = kmem_cache_create("typesafe",
						 sizeof(struct rcu_obj), &args,
						 SLAB_TYPESAFE_BY_RCU);
	static struct rcu_obj *p[FREEPTR_OBJECTS];
	uintptr_t stride = UINTPTR_MAX;

	ck_assert_ptr_nonnull(c);
	for (int i = 0; i < FREEPTR_OBJECTS; i++) {
		p[i] = kmem_cache_alloc(c, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
		memset(p[i], 0x5e, sizeof(*p[i]));
		p[i]->refcount = 1000 + i;
	}
	/* No room is added for a free pointer: objects sit 64 bytes apart. */
	for (int i = 1; i < FREEPTR_OBJECTS; i++) {
		uintptr_t d = (uintptr_t)p[i] > (uintptr_t)p[i - 1]
				      ? (uintptr_t)p[i] - (uintptr_t)p[i - 1]
				      : (uintptr_t)p[i - 1] - (uintptr_t)p[i];
		if (d < stride)
			stride = d;
	}
	ck_assert_uint_eq(stride, sizeof(struct rcu_obj));

	/*
	 * Free all but the first, and push them through the magazines into
	 * their slabs' free lists, where a link is written into each: only
	 * the link word may change.  The slabs stay in use (the first
	 * object lives on), and the cache keeps them mapped in any case.
	 */
	for (int i = 1; i < FREEPTR_OBJECTS; i++)
		kmem_cache_free(c, p[i]);
	kmem_cache_shrink(c);
	for (int i = 1; i < FREEPTR_OBJECTS; i++) {
		const unsigned char *b = (const unsigned char *)p[i]->payload;

		read_anyway(p[i], sizeof(*p[i]));
		ck_assert_int_eq(p[i]->refcount, 1000 + i);
		for (size_t k = 0; k < sizeof(p[i]->payload); k++)
			ck_require((b[k]) == (0x5e));
	}
	kmem_cache_free(c, p[0]);
	kmem_cache_destroy(c);
}
END_TEST

/* ------------------------------------------------------------ nodes */

TEST(node_calls_on_this_machine)
{
	struct kmem_cache *c = kmem_cache_create("nodes", 72, 0, 0, NULL);
	static const size_t sizes[] = { 1, 100, 5000, 100000, 3u << 20 };
	static const int fallback[] = { NUMA_NO_NODE, 0, 1000, -7, INT_MAX };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t k = 0; k < sizeof(fallback) / sizeof(int); k++) {
			int node = fallback[k];
			unsigned char *p = kmalloc_node(sizes[i], GFP_KERNEL, node);
			unsigned char *z = kzalloc_node(sizes[i], GFP_KERNEL, node);
			void *v = kvmalloc_node(sizes[i], GFP_KERNEL, node);
			void *o = kmem_cache_alloc_node(c, GFP_KERNEL, node);

			/* Not __GFP_THISNODE: any node will do. */
			ck_assert_msg(p && z && v && o, "size %zu node %d",
				      sizes[i], node);
			memset(p, 0xee, sizes[i]);
			for (size_t b = 0; b < sizes[i]; b += 97)
				ck_require((z[b]) == (0));
			kfree(p);
			kfree(z);
			kvfree(v);
			kmem_cache_free(c, o);
		}
		/* With it, a node that does not exist is an error. */
		for (size_t k = 2; k < sizeof(fallback) / sizeof(int); k++) {
			int node = fallback[k];

			errno = 0;
			ck_assert_ptr_null(kmalloc_node(sizes[i],
							GFP_KERNEL | __GFP_THISNODE,
							node));
			ck_assert_int_eq(errno, EINVAL);
			errno = 0;
			ck_assert_ptr_null(kvmalloc_node(sizes[i],
							 GFP_KERNEL | __GFP_THISNODE,
							 node));
			ck_assert_int_eq(errno, EINVAL);
			errno = 0;
			ck_assert_ptr_null(kmem_cache_alloc_node(
				c, GFP_KERNEL | __GFP_THISNODE, node));
			ck_assert_int_eq(errno, EINVAL);
		}
		/* Node 0 always exists; no node means the caller's. */
		kfree(kmalloc_node(sizes[i], GFP_KERNEL | __GFP_THISNODE, 0));
		kfree(kmalloc_node(sizes[i], GFP_KERNEL | __GFP_THISNODE,
				   NUMA_NO_NODE));
	}
	kmem_cache_destroy(c);
}
END_TEST

/* The kernel's macros over the calls above. */
TEST(kernel_macros_reach_their_functions)
{
	struct kmem_cache *c = kmem_cache_create("lru", 64, 0, 0, NULL);
	int lru_list = 0;
	void *p = kmem_cache_alloc_lru(c, &lru_list, GFP_KERNEL);
	unsigned int *a = kvcalloc_node(100, sizeof(unsigned int), GFP_KERNEL, 0);
	void *b = kvmalloc_array_node(100, 8, GFP_KERNEL, NUMA_NO_NODE);
	void *t = kmalloc_track_caller(100, GFP_KERNEL);
	void *u = kmalloc_node_track_caller(100, GFP_KERNEL, 0);

	ck_assert_ptr_nonnull(p);
	ck_assert(a && b && t && u);
	for (int i = 0; i < 100; i++)
		ck_require((a[i]) == (0));
	errno = 0;
	ck_assert_ptr_null(kvcalloc_node(SIZE_MAX, 2, GFP_KERNEL, 0));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kvmalloc_array_node(2, SIZE_MAX, GFP_KERNEL, 0));
	ck_assert_int_eq(errno, ENOMEM);
	kmem_cache_free(c, p);
	kvfree(a);
	kvfree(b);
	kfree(t);
	kfree(u);
	kmem_cache_destroy(c);
}
END_TEST

TEST(node_arrays_refuse_overflowing_counts)
{
	static const size_t n[][2] = {
		{ SIZE_MAX, 2 }, { 2, SIZE_MAX }, { SIZE_MAX / 3, 4 },
		{ (size_t)1 << 33, (size_t)1 << 31 },
	};

	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		errno = 0;
		ck_assert_ptr_null(kmalloc_array_node(n[i][0], n[i][1],
						      GFP_KERNEL, 0));
		ck_assert_int_eq(errno, ENOMEM);
		errno = 0;
		ck_assert_ptr_null(kcalloc_node(n[i][0], n[i][1], GFP_KERNEL,
						NUMA_NO_NODE));
		ck_assert_int_eq(errno, ENOMEM);
		errno = 0;
		ck_assert_ptr_null(kvmalloc_array(n[i][0], n[i][1], GFP_KERNEL));
		ck_assert_int_eq(errno, ENOMEM);
		errno = 0;
		ck_assert_ptr_null(kvcalloc(n[i][0], n[i][1], GFP_KERNEL));
		ck_assert_int_eq(errno, ENOMEM);
		errno = 0;
		ck_assert_ptr_null(kmemdup_array("x", n[i][0], n[i][1],
						 GFP_KERNEL));
		ck_assert_int_eq(errno, ENOMEM);
	}
	unsigned int *a = kcalloc_node(1000, sizeof(unsigned int), GFP_KERNEL, 0);
	unsigned int *b = kmalloc_array_node(1000, sizeof(unsigned int),
					     GFP_KERNEL, NUMA_NO_NODE);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_ge(ksize(b), 1000 * sizeof(unsigned int));
	for (int i = 0; i < 1000; i++)
		ck_require((a[i]) == (0));
	kfree(a);
	kfree(b);
}
END_TEST

/* --------------------------------------------------------- kvmalloc */

/* The index of the first byte of p[0, n) that is not zero, or n. */
static size_t first_nonzero(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] == 0)
		i++;
	return i;
}

/* The index of the first byte not (unsigned char)(i * 7), or n. */
static size_t first_unlike_pattern(const unsigned char *p, size_t from,
				   size_t n)
{
	size_t i = from;

	while (i < n && p[i] == (unsigned char)(i * 7))
		i++;
	return i;
}

/* Dirty a block of each size, so that a zeroing call must zero. */
static void dirty(size_t size)
{
	unsigned char *p = kvmalloc(size, GFP_KERNEL);

	memset(p, 0xd1, size);
	kvfree(p);
}

TEST(kvmalloc_family_allocates_zeroes_and_frees)
{
	static const size_t sizes[] = { 8, 512, 8192, 65536, 1u << 20,
					9u << 20 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t size = sizes[i];
		unsigned char *p, *z, *cz;

		dirty(size);
		p = kvmalloc(size, GFP_KERNEL);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_ge(ksize(p), size);
		memset(p, 0x77, size);
		dirty(size);
		z = kvzalloc(size, GFP_KERNEL);
		dirty(size);
		cz = kvcalloc(size / 8, 8, GFP_KERNEL);
		ck_assert_ptr_nonnull(z);
		ck_assert_ptr_nonnull(cz);
		ck_assert_uint_eq(first_nonzero(z, size), size);
		ck_assert_uint_eq(first_nonzero(cz, size), size);
		kvfree(p);
		kvfree(z);
		kvfree(cz);
		p = kvmalloc_array(size / 4, 4, GFP_KERNEL);
		ck_assert_ptr_nonnull(p);
		kvfree(p);
	}
	/* kvfree() takes what kmalloc() and the caches gave, too. */
	struct kmem_cache *c = kmem_cache_create("kv", 200, 0, 0, NULL);

	kvfree(kmalloc(300, GFP_KERNEL));
	kvfree(kmalloc(5u << 20, GFP_KERNEL));
	kvfree(kmem_cache_alloc(c, GFP_KERNEL));
	kvfree(NULL);
	kvfree(ZERO_SIZE_PTR);
	ck_assert_ptr_eq(kvmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	kmem_cache_destroy(c);
}
END_TEST

TEST(kvrealloc_keeps_contents_on_every_path)
{
	static const size_t steps[] = { 10, 100, 3000, 70000, 4u << 20, 5000,
					64, 6u << 20, 16 };
	unsigned char *p = kvrealloc(NULL, 1, GFP_KERNEL | __GFP_ZERO);
	size_t have = 1;

	/*
	 * __GFP_ZERO from the first call on, as the kernel asks: the bytes
	 * past the size a call asked for are zeroed by the calls before.
	 */
	ck_assert_ptr_nonnull(p);
	p[0] = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t size = steps[i], keep = size < have ? size : have;

		p = kvrealloc(p, size, GFP_KERNEL | __GFP_ZERO);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(first_unlike_pattern(p, 0, keep), keep);
		/* __GFP_ZERO: what was added is zeroed. */
		ck_assert_uint_eq(keep + first_nonzero(p + keep, size - keep),
				  size);
		for (size_t b = 0; b < size; b++)
			p[b] = (unsigned char)(b * 7);
		have = size;
	}
	/* Size 0 frees, as krealloc() does. */
	ck_assert_ptr_eq(kvrealloc(p, 0, GFP_KERNEL), ZERO_SIZE_PTR);
	errno = 0;
	ck_assert_ptr_null(kvrealloc(NULL, 8, 0x80000000u));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

TEST(kvfree_sensitive_clears_before_freeing)
{
	struct kmem_cache *c = uslab_kmalloc_cache(96);
	unsigned char *p, *q;

	pin_to_one_cpu();
	p = kvmalloc(96, GFP_KERNEL);
	memset(p, 0xa5, 96);
	kvfree_sensitive(p, 96);
	/* The next allocation of the class on this CPU is the same block. */
	q = kmem_cache_alloc(c, GFP_KERNEL);
	read_anyway(q, 96);
	ck_assert_ptr_eq(q, p);
	for (int i = 0; i < 96; i++)
		ck_require((q[i]) == (0));
	kfree(q);
	kvfree_sensitive(NULL, 10);
	kvfree_sensitive(ZERO_SIZE_PTR, 0);
}
END_TEST

static void kvfree_stack(void *arg)
{
	char buf[64];

	(void)arg;
	kvfree(buf);
}

static void kvfree_twice(void *arg)
{
	void *p = kvmalloc(2u << 20, GFP_KERNEL);

	(void)arg;
	kvfree(p);
	kvfree(p);
}

static void kvfree_libc(void *arg)
{
	(void)arg;
	kvfree(arg);
}

TEST(kvfree_of_a_foreign_pointer_is_reported)
{
	ck_assert_aborts_with(kvfree_stack, NULL,
			      "BUG kvfree: Invalid object pointer 0x");
	ck_assert_aborts_with(kvfree_twice, NULL,
			      "BUG kmalloc-large: Object already free");
	/* Memory from the C library: whoever provides malloc here. */
	void *libc = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_aborts_with(kvfree_libc, libc, "BUG kvfree:");
	munmap(libc, 4096);
}
END_TEST

/* ---------------------------------------------------------- strings */

static char writable[] = "in writable data";

TEST(string_helpers_of_6_12)
{
	static const char literal_bytes[] = "read-only bytes";
	const char *lit = "a string literal";
	const char *c1 = kstrdup_const(lit, GFP_KERNEL);
	const char *c2 = kstrdup_const(literal_bytes, GFP_KERNEL);
	const char *c3 = kstrdup_const(writable, GFP_KERNEL);
	char *heap = kstrdup("on the heap", GFP_KERNEL);
	const char *c4 = kstrdup_const(heap, GFP_KERNEL);
	char *n;
	int *arr, src[5] = { 1, 2, 3, 4, 5 };

	/* Read-only data is not copied, and kfree_const() leaves it. */
	ck_assert_ptr_eq(c1, lit);
	ck_assert_ptr_eq(c2, literal_bytes);
	/* Anything else is. */
	ck_assert_ptr_ne(c3, writable);
	ck_assert_str_eq(c3, writable);
	ck_assert_ptr_ne(c4, heap);
	ck_assert_str_eq(c4, "on the heap");
	ck_assert_uint_ge(ksize(c4), 12);
	kfree_const(c1);
	kfree_const(c2);
	kfree_const(c3);
	kfree_const(c4);
	kfree_const(NULL);
	ck_assert_ptr_null(kstrdup_const(NULL, GFP_KERNEL));
	ck_assert_str_eq(lit, "a string literal");
	kfree(heap);

	n = kmemdup_nul("abcdef", 3, GFP_KERNEL);
	ck_assert_str_eq(n, "abc");
	kfree(n);
	n = kmemdup_nul("a\0c", 3, GFP_KERNEL);
	ck_assert_int_eq(memcmp(n, "a\0c\0", 4), 0);
	kfree(n);
	n = kmemdup_nul("", 0, GFP_KERNEL);
	ck_assert_str_eq(n, "");
	kfree(n);
	ck_assert_ptr_null(kmemdup_nul(NULL, 3, GFP_KERNEL));
	errno = 0;
	ck_assert_ptr_null(kmemdup_nul("x", SIZE_MAX, GFP_KERNEL));
	ck_assert_int_eq(errno, ENOMEM);

	arr = kmemdup_array(src, 5, sizeof(int), GFP_KERNEL);
	ck_assert_int_eq(memcmp(arr, src, sizeof(src)), 0);
	kfree(arr);
}
END_TEST

static void kfree_const_of_a_freed_copy(void *arg)
{
	const char *c = kstrdup_const(arg, GFP_KERNEL);

	kfree_const(c);
	kfree_const(c);
}

TEST(kfree_const_checks_what_it_frees)
{
	static char name[] = "copied";

	pin_to_one_cpu();
	ck_assert_aborts_with(kfree_const_of_a_freed_copy, name,
			      "Object already free");
}
END_TEST

int main(void)
{
	return run_tests("kapi", 60);
}
