/* SPDX-License-Identifier: MIT */
/*
 * test-slab.c - the slab layer: geometry, carving, free lists, hardening,
 * returning empty slabs.
 *
 * Caches come from kmem_cache_create(), but objects are taken from and
 * given to the slab layer directly, below the magazines.
 */
#include "config.h"

#include <sys/mman.h>

#include "cache.h"
#include "chunk.h"
#include "internal.h"
#include "memtool.h"
#include "options.h"
#include "os.h"
#include "reclaim.h"
#include "slab.h"
#include "testutil.h"

static struct kmem_cache *make(unsigned int size, unsigned int align,
			       slab_flags_t flags, void (*ctor)(void *))
{
	struct kmem_cache *c = kmem_cache_create("test", size, align, flags, ctor);

	ck_assert_ptr_nonnull(c);
	return c;
}

/*
 * The slab layer's batches, opened to memcheck: the slab layer keeps
 * free objects hidden and only the magazine layer hands them out.
 */
static unsigned int take(struct kmem_cache *c, void **objs, unsigned int n)
{
	unsigned int got = us_slab_alloc_batch(c, objs, n);

	for (unsigned int i = 0; i < got; i++)
		us_mem_open(objs[i], c->object_size);
	return got;
}

TEST(geometry_follows_the_kernel_rules)
{
	struct kmem_cache *c;

	c = make(20, 0, SLAB_HWCACHE_ALIGN, NULL);
	ck_assert_uint_eq(c->align, 32);	/* 20 <= 64/2: half a line */
	ck_assert_uint_eq(c->size, 32);
	c = make(100, 0, SLAB_HWCACHE_ALIGN, NULL);
	ck_assert_uint_eq(c->align, 64);
	ck_assert_uint_eq(c->size, 128);
	c = make(8, 0, SLAB_HWCACHE_ALIGN, NULL);
	ck_assert_uint_eq(c->align, 8);
	c = make(1, 0, 0, NULL);
	ck_assert_uint_eq(c->size, 8);		/* room for a free pointer */
	ck_assert_uint_eq(c->offset, 0);
	c = make(24, 0, 0, NULL);
	ck_assert_uint_eq(c->size, 24);
	ck_assert_uint_eq(c->objects, us_page_size / 24);
	c = make(100, 4096, 0, NULL);
	ck_assert_uint_eq(c->size, 4096);
	c = make(64, 1u << 20, 0, NULL);
	ck_assert_uint_eq(c->size, 1u << 20);
	ck_assert_uint_eq(c->objects, 1);
}
END_TEST

static void noop_ctor(void *p)
{
	(void)p;
}

TEST(free_pointer_moves_out_of_constructed_objects)
{
	struct kmem_cache *c = make(20, 0, 0, noop_ctor);

	ck_assert_uint_eq(c->offset, 24);
	ck_assert_uint_eq(c->size, 32);
	c = make(20, 0, SLAB_TYPESAFE_BY_RCU, NULL);
	ck_assert_uint_eq(c->offset, 24);
	c = make(USLAB_MAX_OBJECT_SIZE, 0, 0, noop_ctor);
	ck_assert_uint_eq(c->objects, 1);
}
END_TEST

TEST(geometry_wastes_little)
{
	for (unsigned int size = 8; size <= 16384; size += 8) {
		struct kmem_cache k;

		memset(&k, 0, sizeof(k));
		ck_assert_int_eq(us_slab_geometry(&k, size, 0, 0, false), 0);
		ck_assert_uint_ge(k.objects, 1);
		ck_assert_uint_le((size_t)k.objects * k.size, k.slab_size);
		/* At most an eighth of a slab is lost, for all but a few. */
		if (k.objects >= 4)
			ck_assert_uint_le((k.slab_size - k.objects * k.size) * 8,
					  k.slab_size);
	}
}
END_TEST

/*
 * The interior-pointer check (slab.h) against division: every offset of
 * every slab, those past its last object and those below its first
 * (wrapped), for every size a cache can have up to 16 KiB and a spread
 * of larger ones.
 */
TEST(object_start_check_agrees_with_division)
{
	unsigned long checked = 0;

	for (unsigned int size = 8; size <= (1u << 20);
	     size = size < 16384 ? size + 8 : size * 5 / 4 + 8) {
		struct kmem_cache k;
		uintptr_t end;

		memset(&k, 0, sizeof(k));
		if (us_slab_geometry(&k, size & ~7u, 0, 0, false) != 0)
			continue;
		ck_assert_uint_eq((uint64_t)k.size >> k.size_shift << k.size_shift,
				  k.size);
		ck_assert_uint_eq(((uint64_t)k.size >> k.size_shift) * k.size_inverse,
				  1);
		/*
		 * Every byte for the smallest sizes; beyond, every byte
		 * within 16 of each object's start, and a spread between.
		 */
		end = (uintptr_t)k.span + 2 * k.size;
		for (uintptr_t off = 0; off < end; off++) {
			uintptr_t in = off % k.size;
			bool want = off < k.span && in == 0;

			if (k.size > 128 && in > 16 && in < k.size - 16) {
				off += (k.size - 16 - in) / 2;
				continue;
			}
			if (us_slab_offset_is_object(&k, off) != want)
				ck_abort_msg("size %u: offset %zu is%s an object",
					     k.size, (size_t)off, want ? " not" : "");
			checked++;
		}
		/* Plain tests in the loops: each ck_assert() writes a pipe. */
		for (uintptr_t below = 1; below <= 2 * k.size; below++)
			if (us_slab_offset_is_object(&k, (uintptr_t)0 - below))
				ck_abort_msg("size %u: %zu below the first object",
					     k.size, (size_t)below);
		ck_assert(!us_slab_offset_is_object(&k, UINTPTR_MAX));
		ck_assert(!us_slab_offset_is_object(&k, k.span));
	}
	ck_assert_uint_gt(checked, 1000000);
}
END_TEST

TEST(reciprocal_index_is_exact)
{
	for (unsigned int size = 8; size <= (1u << 20); size = size * 3 / 2 + 8) {
		struct kmem_cache k;
		struct us_slab slab;
		/* A slot at an address aligned to any slab size. */
		char *slot = (char *)(uintptr_t)0x100000000ull, *base;

		memset(&k, 0, sizeof(k));
		memset(&slab, 0, sizeof(slab));
		size &= ~7u;
		if (us_slab_geometry(&k, size, 0, 0, false) != 0)
			continue;
		/* The last colour: objects start furthest into the slot. */
		slab.base_off = (k.colour_count - 1) * k.colour_step;
		base = slot + slab.base_off;
		for (uint32_t i = 0; i < k.objects; i++) {
			char *obj = base + (size_t)i * k.size;

			ck_assert_uint_eq(us_slab_obj_index(&k, &slab, obj), i);
			ck_assert(us_slab_is_object(&k, &slab, obj));
			if (k.size > 8) {
				ck_assert(!us_slab_is_object(&k, &slab, obj + 8));
				ck_assert(!us_slab_is_object(&k, &slab,
							     obj + k.size - 8));
			}
			ck_assert(!us_slab_is_object(&k, &slab, obj + 1));
		}
		if (slab.base_off)
			ck_assert(!us_slab_is_object(&k, &slab, base - 8));
		if (base + (size_t)k.objects * k.size < slot + k.slab_size)
			ck_assert(!us_slab_is_object(&k, &slab,
						     base + (size_t)k.objects * k.size));
	}
}
END_TEST

TEST(batches_are_distinct_aligned_objects_of_the_cache)
{
	struct kmem_cache *c = make(48, 16, 0, NULL);
	enum { N = 2000 };
	static void *objs[N];
	unsigned int got = 0;

	while (got < N) {
		unsigned int n = take(c, objs + got, N - got);

		ck_assert_uint_ge(n, 1);
		got += n;
	}
	for (unsigned int i = 0; i < N; i++) {
		struct us_chunk *ch = us_chunk_lookup(objs[i]);
		struct us_slab *slab;

		ck_assert_ptr_nonnull(ch);
		slab = us_chunk_slab(ch, objs[i]);
		ck_assert_ptr_eq(slab->cache, c);
		ck_assert(us_slab_is_object(c, slab, objs[i]));
		ck_assert_uint_eq((uintptr_t)objs[i] % 16, 0);
		memset(objs[i], (int)i, 48);
	}
	for (unsigned int i = 0; i < N; i++)
		for (size_t b = 0; b < 48; b++)
			ck_assert_int_eq(((unsigned char *)objs[i])[b],
					 (unsigned char)i);
	ck_assert_uint_eq(us_slab_validate(c), 0);
	us_slab_free_batch(c, objs, N);
	ck_assert_uint_eq(us_slab_validate(c), 0);
	ck_assert_uint_eq(us_slab_release_all(c), 0);
}
END_TEST

TEST(freed_objects_come_back_first)
{
	struct kmem_cache *c = make(64, 0, 0, NULL);
	void *a[3], *b[2];

	ck_assert_uint_eq(take(c, a, 3), 3);
	us_slab_free_batch(c, &a[1], 1);
	us_slab_free_batch(c, &a[0], 1);
	ck_assert_uint_eq(take(c, b, 2), 2);
	ck_assert_ptr_eq(b[0], a[0]);
	ck_assert_ptr_eq(b[1], a[1]);
	ck_assert_uint_eq(us_slab_validate(c), 0);
}
END_TEST

static int ctor_calls;

static void counting_ctor(void *p)
{
	ctor_calls++;
	memset(p, 0xc5, 40);
}

TEST(constructor_runs_once_per_object_at_slab_creation)
{
	struct kmem_cache *c = make(40, 0, 0, counting_ctor);
	void *obj;

	ctor_calls = 0;
	ck_assert_uint_eq(take(c, &obj, 1), 1);
	ck_assert_int_eq(ctor_calls, (int)c->objects);
	/* Free and reuse: the object keeps its constructed state. */
	for (int i = 0; i < 100; i++) {
		us_slab_free_batch(c, &obj, 1);
		ck_assert_uint_eq(take(c, &obj, 1), 1);
		for (int b = 0; b < 40; b++)
			ck_require((((unsigned char *)obj)[b]) == (0xc5));
	}
	ck_assert_int_eq(ctor_calls, (int)c->objects);
}
END_TEST

struct corrupt_arg {
	struct kmem_cache *c;
	void *target;
};

static void overwrite_free_pointer(void *arg)
{
	struct corrupt_arg *a = arg;
	void *objs[4], *got[4];

	take(a->c, objs, 4);
	us_slab_free_batch(a->c, &objs[2], 1);
	us_slab_free_batch(a->c, &objs[1], 1);
	/* objs[1] heads the free list and links to objs[2]: steer it. */
	us_mem_open(objs[1], sizeof(void *));
	*(void **)objs[1] = a->target;
	take(a->c, got, 2);
	/* Not reached: the corruption is detected. */
	if (got[1] == a->target)
		fprintf(stderr, "handed out the attacker's address\n");
}

TEST(a_steered_free_pointer_is_caught_not_followed)
{
	static char target[256];
	struct corrupt_arg a = { make(64, 0, 0, NULL), target };

	ck_assert_aborts_with(overwrite_free_pointer, &a,
			      "BUG test: Freepointer corrupt");
	/* Even the address of another object of the slab is refused. */
	a.c = make(64, 0, 0, NULL);
	{
		void *o;

		take(a.c, &o, 1);
		a.target = (char *)o + 10 * 64;
		us_slab_free_batch(a.c, &o, 1);
	}
	ck_assert_aborts_with(overwrite_free_pointer, &a, "Freepointer corrupt");
}
END_TEST

static void free_twice(void *arg)
{
	struct kmem_cache *c = arg;
	void *objs[2];

	take(c, objs, 2);
	us_slab_free_batch(c, &objs[0], 1);
	us_slab_free_batch(c, &objs[0], 1);
}

static void free_never_allocated(void *arg)
{
	struct kmem_cache *c = arg;
	void *obj;

	take(c, &obj, 1);
	obj = (char *)obj + 5 * c->size;	/* not yet carved */
	us_slab_free_batch(c, &obj, 1);
}

static void batch_frees_twice_in_a_row(void *arg)
{
	struct kmem_cache *c = arg;
	void *objs[2], *batch[2];

	take(c, objs, 2);
	batch[0] = batch[1] = objs[0];	/* the slab's two in use, by count */
	us_slab_free_batch(c, batch, 2);
}

static void batch_frees_twice_apart(void *arg)
{
	struct kmem_cache *c = arg;
	void *objs[2], *batch[3];

	take(c, objs, 2);
	batch[0] = objs[0];
	batch[1] = objs[1];
	batch[2] = objs[0];
	us_slab_free_batch(c, batch, 3);
}

/* Within one batch, whether or not the batch empties the slab by count. */
TEST(double_free_at_the_slab_is_caught)
{
	void (*const twice[])(void *) = {
		free_twice, free_never_allocated, batch_frees_twice_in_a_row,
		batch_frees_twice_apart,
	};

	for (size_t i = 0; i < sizeof(twice) / sizeof(twice[0]); i++)
		ck_assert_aborts_with(twice[i], make(64, 0, 0, NULL),
				      "BUG test: Object already free");
}
END_TEST

/*
 * A batch that empties a slab writes no free link into its objects: the
 * slab drops its free list as it falls empty, and the objects may never
 * have been touched (a refill's that no one took), whose pages a link
 * would fault in only for the slab to give them back.
 */
TEST(a_batch_that_empties_a_slab_touches_none_of_its_objects)
{
	struct kmem_cache *c = make(4096, 4096, 0, NULL);
	struct us_slab *slab;
	void *objs[64];
	unsigned int n = c->objects;

	if (!rss_is_meaningful())
		return;	/* sanitizers and valgrind keep pages of their own */
	ck_assert_uint_ge(n, 2);
	ck_assert_uint_le(n, 64);
	ck_assert_uint_eq(take(c, objs, n), n);
	slab = us_chunk_slab(us_chunk_of(objs[0]), objs[0]);
	for (unsigned int i = 0; i < n; i++) {
		ck_assert_ptr_eq(us_chunk_slab(us_chunk_of(objs[i]), objs[i]), slab);
		ck_assert_msg(!page_resident(objs[i]), "object %u resident", i);
	}
	/* In an order of their own, not the carving order. */
	for (unsigned int i = 0; i < n / 2; i += 2) {
		void *t = objs[i];

		objs[i] = objs[n - 1 - i];
		objs[n - 1 - i] = t;
	}
	us_slab_free_batch(c, objs, n);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_msg(!page_resident(objs[i]),
			      "the batch faulted in object %u", i);
	ck_assert_uint_eq(slab->inuse, 0);
	ck_assert_ptr_null(slab->freelist);
	ck_assert_uint_eq(slab->returning, 0);
	kmem_cache_destroy(c);
}
END_TEST

/*
 * A cache that has filled a slab is growing: carving from a clean slab
 * faults in the pages of the objects it carves, in one call, and no
 * others.  A cache's first slab is left to fault as its objects are
 * written.
 */
TEST(a_growing_cache_faults_in_what_it_carves_at_once)
{
	struct kmem_cache *c = make(1024, 1024, 0, NULL);
	void *first[16], *fill[64], *next[16];
	unsigned int n = c->objects;
	struct us_slab *slab;

	if (!rss_is_meaningful() || !kernel_populates())
		return;
	ck_assert_uint_eq(c->slab_size, 64u << 10);
	ck_assert_uint_le(n, 64);
	ck_assert_uint_eq(take(c, first, 16), 16);
	for (unsigned int i = 0; i < 16; i++)
		ck_assert_msg(!page_resident(first[i]),
			      "first slab: object %u resident", i);
	ck_assert_uint_eq(take(c, fill, n - 16), n - 16);
	ck_assert_uint_eq(take(c, next, 16), 16);
	slab = us_chunk_slab(us_chunk_of(next[0]), next[0]);
	ck_assert_ptr_ne(slab, us_chunk_slab(us_chunk_of(first[0]), first[0]));
	ck_assert(slab->flags & US_SLAB_CLEAN);
	for (unsigned int i = 0; i < 16; i++)
		ck_assert_msg(page_resident(next[i]),
			      "a growing cache's object %u is not resident", i);
	ck_assert_msg(!page_resident(us_slab_base(slab) +
				     (size_t)(n - 1) * c->size),
		      "pages past what was carved are resident");
	us_slab_free_batch(c, next, 16);
	us_slab_free_batch(c, fill, n - 16);
	us_slab_free_batch(c, first, 16);
	kmem_cache_destroy(c);
}
END_TEST

/*
 * An object of several pages may leave its middle pages untouched for
 * good: a growing cache of them faults nothing in ahead.
 */
TEST(objects_of_several_pages_are_not_faulted_in_ahead)
{
	struct kmem_cache *c = make(8192, 4096, 0, NULL);
	void *fill[64], *next[64];
	unsigned int n = c->objects;

	if (!rss_is_meaningful())
		return;
	ck_assert_uint_le(n, 64);
	ck_assert_uint_ge(n, 4);
	ck_assert_uint_eq(take(c, fill, n), n);
	ck_assert_uint_eq(take(c, next, n), n);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_msg(!page_resident(next[i]), "object %u resident", i);
	us_slab_free_batch(c, next, n);
	us_slab_free_batch(c, fill, n);
	kmem_cache_destroy(c);
}
END_TEST

/*
 * A batch that empties one slab and leaves another in use: the first's
 * objects go unlinked, the second's are linked, and come back first.
 */
TEST(a_batch_links_the_objects_of_slabs_it_leaves_in_use)
{
	struct kmem_cache *c = make(4096, 4096, 0, NULL);
	void *a[64], *b[64], *batch[128], *again[64];
	unsigned int n = c->objects, m = 0;

	ck_assert_uint_le(n, 64);
	ck_assert_uint_eq(take(c, a, n), n);
	ck_assert_uint_eq(take(c, b, n), n);
	ck_assert_ptr_ne(us_chunk_slab(us_chunk_of(a[0]), a[0]),
			 us_chunk_slab(us_chunk_of(b[0]), b[0]));
	for (unsigned int i = 0; i < n; i++) {
		batch[m++] = b[i];
		if (i > 0)
			batch[m++] = a[i];	/* a[0] stays in use */
	}
	us_slab_free_batch(c, batch, m);
	ck_assert_uint_eq(take(c, again, n - 1), n - 1);
	for (unsigned int i = 0; i < n - 1; i++) {
		bool found = false;

		for (unsigned int k = 1; k < n; k++)
			found |= again[i] == a[k];
		for (unsigned int k = 0; k < i; k++)
			ck_assert_ptr_ne(again[k], again[i]);
		ck_assert_msg(found, "object %u is not one the batch freed", i);
	}
	us_slab_free_batch(c, again, n - 1);
	us_slab_free_batch(c, a, 1);
	kmem_cache_destroy(c);
}
END_TEST

/*
 * A cache keeps US_SLAB_KEEP_EMPTY empty slabs; the rest go to the page
 * layer, where they stay resident for the decay period and serve the
 * next slabs of any cache of their order with no page fault.  Memory
 * freed and reused within the period is never returned and faulted in
 * again.
 */
TEST(empty_slabs_stay_for_the_decay_period)
{
	struct kmem_cache *c = make(256, 0, 0, NULL);
	unsigned int n = 6 * c->objects, got = 0;
	void **objs = calloc(n, sizeof(void *));
	struct us_slab_counts sc;
	uint64_t reused_pages;

	while (got < n)
		got += take(c, objs + got, n - got);
	us_slab_counts(c, &sc);
	ck_assert_uint_eq(sc.full, 6);
	us_slab_free_batch(c, objs, n);
	us_slab_counts(c, &sc);
	ck_assert_uint_eq(sc.full + sc.partial, 0);
	ck_assert_uint_eq(sc.empty, US_SLAB_KEEP_EMPTY);
	ck_assert_uint_eq(c->slabs.reaped, 6 - US_SLAB_KEEP_EMPTY);
	/* Taken again: two kept, four resident in the page layer. */
	reused_pages = us_chunk_dirty_reused_bytes();
	got = 0;
	while (got < n)
		got += take(c, objs + got, n - got);
	ck_assert_uint_eq(c->slabs.reused, US_SLAB_KEEP_EMPTY);
	ck_assert_uint_eq(us_chunk_dirty_reused_bytes() - reused_pages,
			  (6 - US_SLAB_KEEP_EMPTY) * (uint64_t)c->slab_size);
	us_slab_free_batch(c, objs, n);
	/* A cutoff before they emptied keeps them; one after takes them. */
	ck_assert_uint_eq(us_slab_reap(c, 0, NULL), 0);
	ck_assert_uint_eq(us_slab_reap(c, UINT64_MAX, NULL),
			  US_SLAB_KEEP_EMPTY * c->slab_size);
	us_slab_counts(c, &sc);
	ck_assert_uint_eq(sc.empty, 0);
	free(objs);
}
END_TEST

/* Slabs emptied by a magazine that idled count as idle since then. */
TEST(slabs_emptied_by_idle_objects_age_from_then)
{
	struct kmem_cache *c = make(512, 0, 0, NULL);
	unsigned int n = 2 * c->objects, got = 0;
	void **objs = calloc(n, sizeof(void *));
	uint64_t long_ago = us_os_now_ms() - 10 * us_decay_ms - 1000, waiting = 0;

	struct us_slab_counts sc;

	while (got < n)
		got += take(c, objs + got, n - got);
	/* Cold already: back at once, with no sweep. */
	us_slab_free_batch_idle(c, objs, n, long_ago);
	us_slab_counts(c, &sc);
	ck_assert_uint_eq(sc.empty, 0);
	ck_assert_uint_eq(c->slabs.reaped, 2);
	ck_assert_uint_eq(us_slab_reap(c, UINT64_MAX, &waiting), 0);
	ck_assert_uint_eq(waiting, 0);
	free(objs);
}
END_TEST

TEST(idle_empty_slabs_go_back_without_a_shrink)
{
	struct kmem_cache *c = make(512, 0, 0, NULL);
	unsigned int n = 2 * c->objects, got = 0;
	void **objs = calloc(n, sizeof(void *));
	struct us_slab_counts sc;
	uint64_t wait = us_decay_ms + 200;
	struct timespec ts = { (time_t)(wait / 1000), (long)(wait % 1000) * 1000000L };
	void *one;

	while (got < n)
		got += take(c, objs + got, n - got);
	us_slab_free_batch(c, objs, n);
	us_slab_counts(c, &sc);
	ck_assert_uint_eq(sc.empty, 2);
	nanosleep(&ts, NULL);
	/* Any later activity of the cache returns what idled. */
	ck_assert_uint_eq(take(c, &one, 1), 1);
	us_slab_free_batch(c, &one, 1);
	us_slab_counts(c, &sc);
	ck_assert_uint_le(sc.empty, 1);
	free(objs);
}
END_TEST

TEST(typesafe_by_rcu_slabs_stay_mapped)
{
	struct kmem_cache *c = make(128, 0, SLAB_TYPESAFE_BY_RCU, NULL);
	unsigned int n = 5 * c->objects, got = 0;
	void **objs = calloc(n, sizeof(void *));
	struct us_slab_counts sc;

	while (got < n)
		got += take(c, objs + got, n - got);
	for (unsigned int i = 0; i < n; i++)
		memset(objs[i], 0x3c, 128);
	us_slab_free_batch(c, objs, n);
	us_slab_reap(c, UINT64_MAX, NULL);
	us_slab_counts(c, &sc);
	ck_assert_uint_eq(sc.empty, 5);
	/* A stale pointer still reads an object of the type. */
	for (unsigned int i = 0; i < n; i++)
		ck_require((((unsigned char *)objs[i])[64]) == (0x3c));
	free(objs);
}
END_TEST

TEST(random_carving_order_covers_each_object_once)
{
	struct kmem_cache *c;
	void **objs;
	unsigned int n, in_order = 0;
	char *seen;

	us_options.random_freelist = 1;
	c = make(64, 0, 0, NULL);
	us_options.random_freelist = 0;
	ck_assert_uint_ne(c->rand_step, 0);
	n = c->objects;
	objs = calloc(n, sizeof(void *));
	seen = calloc(n, 1);
	ck_assert_uint_eq(take(c, objs, n), n);
	for (unsigned int i = 0; i < n; i++) {
		struct us_slab *slab = us_chunk_slab(us_chunk_lookup(objs[i]),
						     objs[i]);
		uint32_t idx = us_slab_obj_index(c, slab, objs[i]);

		ck_assert(us_slab_is_object(c, slab, objs[i]));
		ck_assert_int_eq(seen[idx], 0);
		seen[idx] = 1;
		if (i && objs[i] == (char *)objs[i - 1] + c->size)
			in_order++;
	}
	/* Not address order: few neighbours follow each other. */
	ck_assert_uint_lt(in_order, n / 4);
	ck_assert_uint_eq(us_slab_validate(c), 0);
	us_slab_free_batch(c, objs + 1, n - 1);
	ck_assert_uint_eq(us_slab_validate(c), 0);
	ck_assert_uint_eq(take(c, objs + 1, n - 1), n - 1);
	us_slab_free_batch(c, objs, n);
	free(objs);
	free(seen);
}
END_TEST

static void random_order_double_free(void *arg)
{
	struct kmem_cache *c;
	void *objs[3];

	(void)arg;
	us_options.random_freelist = 1;
	c = make(64, 0, 0, NULL);
	take(c, objs, 3);
	/* An object not yet carved, in random order, is not ours to free. */
	for (uint32_t i = 0; i < c->objects; i++) {
		char *o = (char *)us_chunk_slot_start(
				  us_chunk_slab(us_chunk_lookup(objs[0]), objs[0])) +
			  (size_t)i * c->size;

		if (o != objs[0] && o != objs[1] && o != objs[2]) {
			void *p = o;

			us_slab_free_batch(c, &p, 1);
		}
	}
}

TEST(random_order_still_catches_frees_of_free_objects)
{
	ck_assert_aborts_with(random_order_double_free, NULL,
			      "BUG test: Object already free");
}
END_TEST


int main(void)
{
	return run_tests("slab", 0);
}
