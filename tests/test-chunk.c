/* SPDX-License-Identifier: MIT */
/*
 * test-chunk.c - the page layer: slots, the registry, large mappings.
 */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "chunk.h"
#include "internal.h"
#include "memtool.h"
#include "os.h"
#include "reclaim.h"
#include "testutil.h"

TEST(slots_are_aligned_distinct_and_registered)
{
	for (unsigned int order = 0; order <= US_SLAB_MAX_ORDER; order++) {
		size_t slot_size = us_page_size << order;
		struct us_slab *s[40];
		char *start[40];

		for (int i = 0; i < 40; i++) {
			s[i] = us_chunk_slot_alloc(order, 0, false);
			ck_assert_ptr_nonnull(s[i]);
			ck_assert_int_eq(s[i]->list, US_SLAB_ORPHAN);
			start[i] = us_chunk_slot_start(s[i]);
			us_mem_open(start[i], slot_size);	/* as slab_grow() */
			ck_assert_uint_eq((uintptr_t)start[i] % slot_size, 0);
			/* The slot's memory reads as zero and is usable. */
			ck_assert_int_eq(start[i][0], 0);
			start[i][slot_size - 1] = 1;
			/* Every byte of the slot finds the slot. */
			ck_assert_ptr_eq(us_chunk_lookup(start[i] + 1),
					 us_chunk_of(s[i]));
			ck_assert_ptr_eq(us_chunk_slab(us_chunk_of(start[i] + 1),
						       start[i] + slot_size - 1),
					 s[i]);
			for (int j = 0; j < i; j++)
				ck_require((start[i]) != (start[j]));
		}
		ck_assert_uint_eq(us_chunk_validate(), 0);
		for (int i = 0; i < 40; i++)
			us_chunk_slot_free(s[i]);
		ck_assert_uint_eq(us_chunk_validate(), 0);
	}
}
END_TEST

/*
 * A slot given back stays resident for the next slab of its order (no
 * page fault), until it has been free for the decay period; given back
 * with its pages (shrink), or once decommitted, it reads as zero.
 */
TEST(freed_slots_are_reused_resident_then_decommitted)
{
	struct us_slab *s = us_chunk_slot_alloc(0, 0, false), *t;
	char *p = us_chunk_slot_start(s);
	uint64_t reused = us_chunk_dirty_reused_bytes(), waiting = 0;

	us_mem_open(p, us_page_size);	/* hidden from memcheck while free */
	memset(p, 0x5a, us_page_size);
	us_chunk_slot_free(s);
	t = us_chunk_slot_alloc(0, 0, false);
	ck_assert_ptr_eq(t, s);		/* the resident one, first */
	ck_assert_uint_eq(us_chunk_dirty_reused_bytes(), reused + us_page_size);
	us_chunk_slot_free(t);
	/* Young: kept; a cutoff after it went: decommitted. */
	ck_assert_uint_eq(us_chunk_decommit(0, &waiting), 0);
	ck_assert_uint_ge(waiting, us_page_size);
	ck_assert_uint_eq(us_chunk_decommit(UINT64_MAX, NULL), us_page_size);
	s = us_chunk_slot_alloc(0, 0, false);
	p = us_chunk_slot_start(s);
	us_mem_open(p, us_page_size);
	for (size_t i = 0; i < us_page_size; i++)
		ck_require((p[i]) == (0));
	memset(p, 0x5a, us_page_size);
	us_chunk_slots_free(&s, 1, true);	/* pages back at once */
	s = us_chunk_slot_alloc(0, 0, false);
	p = us_chunk_slot_start(s);
	us_mem_open(p, us_page_size);
	for (size_t i = 0; i < us_page_size; i++)
		ck_require((p[i]) == (0));
	us_chunk_slot_free(s);
	ck_assert_uint_eq(us_chunk_validate(), 0);
}
END_TEST

/*
 * A growing cache's clean slot of one page brings in the clean slots
 * after it, to 64 KiB, with one call: they wait resident and free for
 * the next slabs of the order, which take them in address order, and
 * are not counted as freed memory reused.
 */
TEST(a_growing_cache_s_slot_brings_the_next_clean_slots_in)
{
	uint32_t extra = (uint32_t)((64u << 10) / us_page_size) - 1;
	uint64_t resident = us_chunk_resident_free_bytes();
	uint64_t reused = us_chunk_dirty_reused_bytes();
	struct us_slab *s, *t[64];

	if (!rss_is_meaningful() || !kernel_populates())
		return;
	ck_assert_uint_le(extra, 64);
	s = us_chunk_slot_alloc(0, 0, true);
	ck_assert_ptr_nonnull(s);
	ck_assert(!(s->flags & US_SLAB_CLEAN));	/* resident now */
	ck_assert_uint_eq(us_chunk_resident_free_bytes(),
			  resident + (uint64_t)extra * us_page_size);
	for (uint32_t i = 0; i <= extra; i++)
		ck_assert_msg(page_resident(us_chunk_slot_start(s) +
					    (size_t)i * us_page_size),
			      "slot %u is not resident", i);
	ck_assert_uint_eq(us_chunk_validate(), 0);
	for (uint32_t i = 0; i < extra; i++) {
		t[i] = us_chunk_slot_alloc(0, 0, false);
		ck_assert_ptr_eq(t[i], s + 1 + i);
		ck_assert(!(t[i]->flags & US_SLAB_CLEAN));
	}
	ck_assert_uint_eq(us_chunk_dirty_reused_bytes(), reused);
	ck_assert_uint_eq(us_chunk_resident_free_bytes(), resident);
	for (uint32_t i = 0; i < extra; i++)
		us_chunk_slot_free(t[i]);
	us_chunk_slot_free(s);
	ck_assert_uint_eq(us_chunk_validate(), 0);
}
END_TEST

/*
 * While a fork is pending (us_chunk_fork_wait() to us_chunk_fork_done()),
 * nothing leaves the page layer's structures with no lock held: no slot
 * is decommitted, no cached large block unmapped, no slot populated
 * ahead.  A child forked meanwhile would never have them again.
 */
TEST(nothing_leaves_the_page_layer_while_a_fork_is_pending)
{
	struct us_slab *s, *t, *u;
	size_t cached;
	char *l, *p;

	us_chunk_decommit(UINT64_MAX, NULL);
	us_chunk_large_reap(UINT64_MAX, NULL);
	ck_assert_uint_eq(us_chunk_resident_free_bytes(), 0);
	t = us_chunk_slot_alloc(0, 0, false);	/* resident, then freed */
	p = us_chunk_slot_start(t);
	us_mem_open(p, us_page_size);
	memset(p, 0x5a, us_page_size);
	us_chunk_slot_free(t);
	l = us_chunk_large_alloc(1u << 20, 0, false, -1);
	ck_assert_ptr_nonnull(l);
	us_chunk_large_free(us_chunk_lookup(l));
	cached = us_chunk_large_cached_bytes();
	ck_assert_uint_ge(cached, 1u << 20);

	us_chunk_fork_wait();
	ck_assert_uint_eq(us_chunk_decommit(UINT64_MAX, NULL), 0);
	ck_assert_uint_eq(us_chunk_resident_free_bytes(), us_page_size);
	ck_assert_uint_eq(us_chunk_large_reap(UINT64_MAX, NULL), 0);
	ck_assert_uint_eq(us_chunk_large_cached_bytes(), cached);
	s = us_chunk_slot_alloc(0, 0, false);	/* takes the resident one */
	ck_assert_ptr_eq(s, t);
	u = us_chunk_slot_alloc(0, 0, true);	/* clean, brings in none */
	ck_assert(u->flags & US_SLAB_CLEAN);
	ck_assert_uint_eq(us_chunk_resident_free_bytes(), 0);
	us_chunk_fork_done(false);

	us_chunk_slot_free(s);
	ck_assert_uint_eq(us_chunk_decommit(UINT64_MAX, NULL), us_page_size);
	ck_assert_uint_ge(us_chunk_large_reap(UINT64_MAX, NULL), 1u << 20);
	us_chunk_slot_free(u);
	ck_assert_uint_eq(us_chunk_validate(), 0);
}
END_TEST

/*
 * Slots populated ahead that no slab takes age as freed ones do: kept
 * for the decay period, then given back.  A cache not growing brings
 * in nothing.
 */
TEST(slots_populated_ahead_age_out_unused)
{
	uint32_t extra = (uint32_t)((64u << 10) / us_page_size) - 1;
	uint64_t resident = us_chunk_resident_free_bytes(), waiting = 0;
	struct us_slab *s, *t;

	if (!rss_is_meaningful() || !kernel_populates())
		return;
	ck_assert_uint_eq(us_chunk_decommit(UINT64_MAX, NULL), resident);
	t = us_chunk_slot_alloc(0, 0, false);
	ck_assert(t->flags & US_SLAB_CLEAN);
	ck_assert_uint_eq(us_chunk_resident_free_bytes(), 0);
	s = us_chunk_slot_alloc(0, 0, true);
	ck_assert_uint_eq(us_chunk_resident_free_bytes(),
			  (uint64_t)extra * us_page_size);
	ck_assert_uint_eq(us_chunk_decommit(0, &waiting), 0);
	ck_assert_uint_ge(waiting, (uint64_t)extra * us_page_size);
	ck_assert_uint_eq(us_chunk_decommit(UINT64_MAX, NULL),
			  (uint64_t)extra * us_page_size);
	ck_assert_msg(!page_resident(us_chunk_slot_start(s) + us_page_size),
		      "a slot given back is still resident");
	us_chunk_slot_free(s);
	us_chunk_slot_free(t);
	ck_assert_uint_eq(us_chunk_validate(), 0);
}
END_TEST

TEST(empty_chunks_are_unmapped)
{
	/* Fill three chunks of order 6 (16 slots each), then free all. */
	size_t before = us_chunk_mapped_bytes();
	struct us_slab *s[48];

	for (int i = 0; i < 48; i++)
		ck_require((s[i] = us_chunk_slot_alloc(6, 0, false)) != NULL);
	ck_assert_uint_ge(us_chunk_mapped_bytes(), before + 3 * US_CHUNK_SIZE);
	for (int i = 0; i < 48; i++)
		us_chunk_slot_free(s[i]);
	/* Resident for a while; then one idle chunk per order may stay. */
	us_chunk_decommit(UINT64_MAX, NULL);
	ck_assert_uint_le(us_chunk_mapped_bytes(), before + US_CHUNK_SIZE);
	ck_assert_uint_eq(us_chunk_validate(), 0);
}
END_TEST

TEST(foreign_pointers_are_not_ours)
{
	static char data[64];
	int local;
	char *heap = malloc(64);

	ck_assert_ptr_null(us_chunk_lookup(data));
	ck_assert_ptr_null(us_chunk_lookup(&local));
	ck_assert_ptr_null(us_chunk_lookup(heap));
	ck_assert_ptr_null(us_chunk_lookup((void *)(uintptr_t)1));
	ck_assert_ptr_null(us_chunk_lookup((void *)~(uintptr_t)0));
	ck_assert_ptr_null(us_chunk_lookup((void *)((uintptr_t)1 << 50)));
	/* The free path's lookup, at and past the end of the address space. */
	ck_assert_ptr_null(us_chunk_page(data));
	ck_assert_ptr_null(us_chunk_page(heap));
	ck_assert_ptr_null(us_chunk_page((void *)((uintptr_t)1 << US_ADDRESS_BITS)));
	ck_assert_ptr_null(us_chunk_page((void *)((uintptr_t)1 << 50)));
	ck_assert_ptr_null(us_chunk_page((void *)~(uintptr_t)0));
	ck_assert_ptr_null(
		us_chunk_page((void *)(((uintptr_t)1 << US_ADDRESS_BITS) - 1)));
	free(heap);
}
END_TEST

TEST(large_allocations_find_their_header)
{
	static const size_t sizes[] = { 1, 4096, 65537, 3u << 20, 9u << 20 };
	static const size_t aligns[] = { 0, 4096, 65536, 1u << 22, 1u << 23,
					 1u << 25 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizeof(aligns) / sizeof(aligns[0]); j++) {
			char *p = us_chunk_large_alloc(sizes[i], aligns[j], false, -1);
			struct us_chunk *ch;

			ck_assert_ptr_nonnull(p);
			if (aligns[j])
				ck_assert_uint_eq((uintptr_t)p % aligns[j], 0);
			ck_assert_uint_eq((uintptr_t)p % us_page_size, 0);
			ch = us_chunk_lookup(p);
			ck_assert_ptr_nonnull(ch);
			ck_assert_uint_eq(ch->kind, US_CHUNK_LARGE);
			ck_assert_ptr_eq(us_chunk_large_object(ch), p);
			ck_assert_uint_ge(ch->usable, sizes[i]);
			memset(p, 0x77, ch->usable);
			us_chunk_large_free(ch);
			/* Unmapped, or kept for reuse and marked free. */
			ch = us_chunk_lookup(p);
			ck_assert(ch == NULL || ch->kind == US_CHUNK_LARGE_FREE);
		}
	}
	us_chunk_large_reap(UINT64_MAX, NULL);
}
END_TEST

TEST(freed_large_chunks_are_reused_then_unmapped)
{
	size_t page = us_page_size;
	char *p, *q, *small;
	uint64_t reused, returned;
	size_t mapped, cached;

	us_chunk_large_reap(UINT64_MAX, NULL);	/* no other test's blocks */
	p = us_chunk_large_alloc(1u << 20, 0, false, -1);
	reused = us_chunk_reused_bytes();

	memset(p, 0xaa, 1u << 20);
	us_chunk_large_free(us_chunk_lookup(p));
	ck_assert_uint_ge(us_chunk_large_cached_bytes(), 1u << 20);
	/*
	 * A close size reuses it; zero asked, zero given; and its usable
	 * size is what was asked for, rounded to the page.
	 */
	q = us_chunk_large_alloc(900000, 0, true, -1);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(us_chunk_lookup(q)->usable, US_ALIGN_UP((size_t)900000, page));
	ck_assert_int_eq(q[0], 0);
	ck_assert_int_eq(q[US_ALIGN_UP((size_t)900000, page) - 1], 0);
	ck_assert_uint_gt(us_chunk_reused_bytes(), reused);
	memset(q, 0xbb, US_ALIGN_UP((size_t)900000, page));
	us_chunk_large_free(us_chunk_lookup(q));
	/*
	 * A much smaller size leaves it for a request its size: cut down to
	 * fit, it would give back pages in use a moment ago.  A new mapping
	 * serves it, and nothing goes back.
	 */
	mapped = us_chunk_mapped_bytes();
	returned = us_chunk_returned_bytes();
	cached = us_chunk_large_cached_bytes();
	q = us_chunk_large_alloc(300000, 0, false, -1);
	ck_assert_ptr_ne(q, p);
	ck_assert_uint_gt(us_chunk_mapped_bytes(), mapped);
	ck_assert_uint_eq(us_chunk_large_cached_bytes(), cached);
	ck_assert_uint_eq(us_chunk_returned_bytes(), returned);
	small = q;
	/*
	 * A larger one grows the cached one (in place, or moved where the
	 * address space after it is taken): only the new pages are new.
	 */
	q = us_chunk_large_alloc(2u << 20, 0, true, -1);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(us_chunk_large_cached_bytes(), 0);
	for (size_t i = 0; i < (2u << 20); i += page)
		ck_require((q[i]) == (0));
	p = q;
	us_chunk_large_free(us_chunk_lookup(small));
	us_chunk_large_free(us_chunk_lookup(q));
	ck_assert_uint_eq(us_chunk_returned_bytes(), returned);
	/*
	 * An aligned request never takes a cached one; freed, it is cached
	 * as a page-aligned block, not unmapped within the decay period.
	 */
	q = us_chunk_large_alloc(1u << 20, 1u << 16, false, -1);
	ck_assert_ptr_ne(q, p);
	ck_assert_uint_eq((uintptr_t)q % (1u << 16), 0);
	memset(q, 0xcc, 1u << 20);
	mapped = us_chunk_mapped_bytes();
	us_chunk_large_free(us_chunk_lookup(q));
	ck_assert_uint_eq(us_chunk_mapped_bytes(), mapped);
	ck_assert_uint_ge(us_chunk_large_cached_bytes(),
			  (2u << 20) + (1u << 20) + 300000);
	/* Young blocks stay; those freed before the cutoff go. */
	ck_assert_uint_eq(us_chunk_large_reap(0, NULL), 0);
	ck_assert_ptr_nonnull(us_chunk_lookup(p));
	ck_assert_ptr_nonnull(us_chunk_lookup(q));
	mapped = us_chunk_mapped_bytes();
	ck_assert_uint_ge(us_chunk_large_reap(UINT64_MAX, NULL), 2u << 20);
	ck_assert_uint_lt(us_chunk_mapped_bytes(), mapped);
	ck_assert_ptr_null(us_chunk_lookup(p));
	ck_assert_uint_eq(us_chunk_large_cached_bytes(), 0);
}
END_TEST

/*
 * A freed mapping much larger than the request is cut at a chunk
 * boundary, and the rest stays cached, resident, for the next request:
 * nothing is unmapped, nothing new is mapped, and each part is a block
 * of its own to every lookup.
 */
TEST(a_large_cached_mapping_is_split_not_unmapped)
{
	size_t big = 6 * US_CHUNK_SIZE, mapped;
	char *p = us_chunk_large_alloc(big, 0, false, -1), *q, *r;
	struct us_chunk *ch;

	memset(p, 0xaa, big);
	us_chunk_large_free(us_chunk_lookup(p));
	us_chunk_large_reap(UINT64_MAX, NULL);	/* only this one cached */
	p = us_chunk_large_alloc(big, 0, false, -1);
	memset(p, 0xaa, big);
	us_chunk_large_free(us_chunk_lookup(p));
	mapped = us_chunk_mapped_bytes();
	q = us_chunk_large_alloc(US_CHUNK_SIZE + 1000, 0, true, -1);
	ck_assert_ptr_eq(q, p);
	ch = us_chunk_lookup(q);
	ck_assert_uint_eq(ch->map_len, 2 * US_CHUNK_SIZE);
	ck_assert_uint_eq(us_chunk_mapped_bytes(), mapped);
	ck_assert_uint_eq(us_chunk_large_cached_bytes(),
			  big + us_page_size - 2 * US_CHUNK_SIZE);
	for (size_t i = 0; i < US_CHUNK_SIZE + 1000; i += 512)
		ck_require((q[i]) == (0));
	/* The rest serves the next request, from its chunk boundary on. */
	r = us_chunk_large_alloc(3 * US_CHUNK_SIZE, 0, true, -1);
	ck_assert_ptr_eq(r, (char *)ch + 2 * US_CHUNK_SIZE + us_page_size);
	ck_assert_uint_eq(us_chunk_mapped_bytes(), mapped);
	for (size_t i = 0; i < 3 * US_CHUNK_SIZE; i += 512)
		ck_require((r[i]) == (0));
	/* Two blocks: an interior pointer finds its own. */
	ck_assert_ptr_eq(us_chunk_large_holding(q + US_CHUNK_SIZE), ch);
	ck_assert_ptr_eq(us_chunk_large_holding(r + 5), us_chunk_lookup(r));
	ck_assert_ptr_null(us_chunk_large_holding(r - 1));
	ck_assert_ptr_null(us_chunk_large_holding(q + 2 * US_CHUNK_SIZE - 1));
	/* Freed, the two parts join again, and go as one. */
	us_chunk_large_free(us_chunk_lookup(r));
	us_chunk_large_free(ch);
	ck_assert_uint_eq(us_chunk_large_reap(UINT64_MAX, NULL), mapped);
	ck_assert_ptr_null(us_chunk_lookup(q));
	ck_assert_ptr_null(us_chunk_lookup(r));
}
END_TEST

/*
 * The parts that cuts made of a mapping join again once all are freed,
 * whatever the order, so that the mapping serves a request as large as
 * it once held, from its resident pages: a program whose large blocks
 * vary in size would otherwise grow one part into new pages and keep the
 * others cached beside it.
 */
TEST(the_parts_of_a_cut_mapping_join_again_once_freed)
{
	size_t big = 6 * US_CHUNK_SIZE, mapped;
	char *p, *q, *r, *s;

	us_chunk_large_reap(UINT64_MAX, NULL);	/* only this one cached */
	p = us_chunk_large_alloc(big, 0, false, -1);
	memset(p, 0xaa, big);
	us_chunk_large_free(us_chunk_lookup(p));
	mapped = us_chunk_mapped_bytes();
	/* Three parts: two chunks, two chunks, and the rest. */
	q = us_chunk_large_alloc(US_CHUNK_SIZE + 1000, 0, false, -1);
	r = us_chunk_large_alloc(US_CHUNK_SIZE + 1000, 0, false, -1);
	s = us_chunk_large_alloc(2 * US_CHUNK_SIZE, 0, false, -1);
	ck_assert_ptr_eq(q, p);
	ck_assert_ptr_eq(r, p + 2 * US_CHUNK_SIZE);
	ck_assert_ptr_eq(s, p + 4 * US_CHUNK_SIZE);
	ck_assert_uint_eq(us_chunk_large_cached_bytes(), 0);
	/* The middle last: it joins the part below and the part above. */
	us_chunk_large_free(us_chunk_lookup(q));
	us_chunk_large_free(us_chunk_lookup(s));
	ck_assert_uint_eq(us_chunk_large_cached_bytes(), big + us_page_size -
			  2 * US_CHUNK_SIZE);
	us_chunk_large_free(us_chunk_lookup(r));
	ck_assert_uint_eq(us_chunk_large_cached_bytes(), big + us_page_size);
	ck_assert_ptr_eq(us_chunk_lookup(q), us_chunk_lookup(p));
	ck_assert_ptr_null(us_chunk_lookup(r));
	ck_assert_ptr_null(us_chunk_lookup(s));
	ck_assert_ptr_null(us_chunk_large_holding(s));
	/* One mapping again: the whole request fits, nothing new mapped. */
	q = us_chunk_large_alloc(big, 0, false, -1);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(us_chunk_mapped_bytes(), mapped);
	ck_assert_uint_eq(us_chunk_lookup(q)->map_len, big + us_page_size);
	ck_assert_uint_eq(us_chunk_large_cached_bytes(), 0);
	us_chunk_large_free(us_chunk_lookup(q));
	ck_assert_uint_eq(us_chunk_large_reap(UINT64_MAX, NULL), mapped);
}
END_TEST

/*
 * The cache keeps every freed block until it has idled for the decay
 * period, however many bytes that is (384 MiB here, never touched, so
 * never resident); a free unmaps those older than that, and only those.
 */
TEST(the_large_cache_keeps_every_young_block)
{
	enum { N = 12 };
	size_t each = (size_t)32 << 20;
	uint64_t returned;
	char *p[N], *last;

	us_chunk_large_reap(UINT64_MAX, NULL);
	us_decay_ms = 60000;
	returned = us_chunk_returned_bytes();
	for (int i = 0; i < N; i++)
		p[i] = us_chunk_large_alloc(each, 0, false, -1);
	for (int i = 0; i < N; i++)
		us_chunk_large_free(us_chunk_lookup(p[i]));
	ck_assert_uint_ge(us_chunk_large_cached_bytes(), N * each);
	ck_assert_uint_eq(us_chunk_returned_bytes(), returned);
	ck_assert_uint_eq(us_chunk_large_reap(0, NULL), 0);
	for (int i = 0; i < N; i++)
		ck_assert_ptr_nonnull(us_chunk_lookup(p[i]));
	/* Aged, they go at the next free; the block just freed stays. */
	us_decay_ms = 20;
	usleep(60 * 1000);
	last = us_chunk_large_alloc(each + us_page_size, 1u << 16, false, -1);
	us_chunk_large_free(us_chunk_lookup(last));
	ck_assert_uint_ge(us_chunk_returned_bytes(), returned + N * each);
	ck_assert_uint_le(us_chunk_large_cached_bytes(),
			  each + 2 * us_page_size + (1u << 16));
	ck_assert_ptr_nonnull(us_chunk_lookup(last));
	us_decay_ms = US_DECAY_MS_DEFAULT;
	us_chunk_large_reap(UINT64_MAX, NULL);
}
END_TEST

/*
 * Shrinking a block gives no page back: its pages were in use a moment
 * ago.  What lies past the first chunk boundary after it is cut off into
 * the cache, where it ages as any freed block; the rest stays the block's
 * room, and growing into it again zeroes what the caller had written.
 * Room of more than the block's size goes back once it has aged.
 */
TEST(shrinking_a_large_block_gives_nothing_back)
{
	size_t big = 2 * US_CHUNK_SIZE + 5 * us_page_size, small = 1u << 20;
	uint64_t returned;
	size_t mapped, cached;
	char *p, *q;

	us_chunk_large_reap(UINT64_MAX, NULL);
	us_decay_ms = 60000;
	p = us_chunk_large_alloc(big, 0, false, -1);
	ck_assert_ptr_nonnull(p);
	memset(p, 0xaa, big);
	returned = us_chunk_returned_bytes();
	mapped = us_chunk_mapped_bytes();
	cached = us_chunk_large_cached_bytes();
	q = us_chunk_large_resize(us_chunk_lookup(p), small);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(us_chunk_returned_bytes(), returned);
	ck_assert_uint_eq(us_chunk_mapped_bytes(), mapped);
	ck_assert_uint_eq(us_chunk_lookup(p)->usable, small);
	/* The cut: from the chunk boundary after 1 MiB to the end. */
	ck_assert_uint_eq(us_chunk_lookup(p)->map_len, US_CHUNK_SIZE);
	ck_assert_uint_eq(us_chunk_large_cached_bytes(),
			  cached + big + us_page_size - US_CHUNK_SIZE);
	for (size_t i = 0; i < small; i += 512)
		ck_require(p[i] == (char)0xaa);
	/* Grown within its room: the bytes past the caller's are zero. */
	q = us_chunk_large_resize(us_chunk_lookup(p), 3 * small);
	ck_assert_ptr_eq(q, p);
	for (size_t i = small; i < 3 * small; i += 512)
		ck_require(p[i] == 0);
	ck_assert_uint_eq(us_chunk_returned_bytes(), returned);
	/*
	 * Room of more than the block holds goes back once it has idled,
	 * and only then; the block itself stays as it was.
	 */
	q = us_chunk_large_resize(us_chunk_lookup(p), small);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(us_chunk_large_reap(0, NULL), 0);
	ck_assert_uint_eq(us_chunk_lookup(p)->map_len, US_CHUNK_SIZE);
	us_chunk_large_reap(UINT64_MAX, NULL);
	ck_assert_uint_eq(us_chunk_returned_bytes(),
			  returned + big + us_page_size - US_CHUNK_SIZE +
			  US_CHUNK_SIZE - us_page_size - small);
	ck_assert_uint_eq(us_chunk_lookup(p)->map_len, us_page_size + small);
	for (size_t i = 0; i < small; i += 512)
		ck_require(p[i] == (char)0xaa);
	returned = us_chunk_returned_bytes();
	us_chunk_large_free(us_chunk_lookup(p));
	us_decay_ms = US_DECAY_MS_DEFAULT;
	us_chunk_large_reap(UINT64_MAX, NULL);
}
END_TEST

TEST(large_chunks_resize_without_copying)
{
	static const size_t aligns[] = { 0, 1u << 16, 1u << 22, 1u << 23 };

	for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
		size_t size = 200000;
		char *p = us_chunk_large_alloc(size, aligns[a], false, -1), *blocker;
		struct us_chunk *ch;

		for (size_t i = 0; i < size; i += 4096)
			p[i] = (char)(i >> 12);
		/* Grow several times; something may be mapped in the way. */
		blocker = us_chunk_large_alloc(100000, 0, false, -1);
		for (int step = 0; step < 5; step++) {
			ch = us_chunk_lookup(p);
			p = us_chunk_large_resize(ch, size * 3);
			ck_assert_ptr_nonnull(p);
			if (aligns[a])
				ck_assert_uint_eq((uintptr_t)p % aligns[a], 0);
			ch = us_chunk_lookup(p);
			ck_assert_ptr_eq(us_chunk_large_object(ch), p);
			ck_assert_uint_ge(ch->usable, size * 3);
			for (size_t i = 0; i < size; i += 4096)
				ck_require((p[i]) == ((char)(i >> 12)));
			size *= 3;
			for (size_t i = 0; i < size; i += 4096)
				p[i] = (char)(i >> 12);
		}
		/* Shrink: in place, tail returned. */
		ch = us_chunk_lookup(p);
		ck_assert_ptr_eq(us_chunk_large_resize(ch, 100000), p);
		ck_assert_uint_lt(ch->usable, 200000);
		ck_assert_int_eq(p[4096], 1);
		us_chunk_large_free(ch);
		us_chunk_large_free(us_chunk_lookup(blocker));
	}
	us_chunk_large_reap(UINT64_MAX, NULL);
	ck_assert_uint_eq(us_chunk_validate(), 0);
}
END_TEST

TEST(large_allocation_fails_cleanly)
{
	errno = 0;
	ck_assert_ptr_null(us_chunk_large_alloc((size_t)1 << 62, 0, false, -1));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(us_chunk_large_alloc(4096, (size_t)1 << 62, false, -1));
	ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

/*
 * The registry's invariant: a region's bit is cleared before its range
 * is unmapped or moved away, or another thread could map and register a
 * chunk there in between and then lose its bit.  This program is linked
 * with the library statically, so its mremap() and munmap() are the ones
 * uslab calls: they check the invariant on every call.
 */
static _Atomic int violations;

/* A sanitizer intercepts these itself: then the check cannot run. */
#ifndef USLAB_TEST_SANITIZED
static void registered_range_check(void *addr)
{
	if (((uintptr_t)addr & US_CHUNK_MASK) == 0 &&
	    us_chunk_lookup((char *)addr + 1) == (struct us_chunk *)addr)
		atomic_fetch_add(&violations, 1);
}

void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *to = NULL;

	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		to = va_arg(ap, void *);
		va_end(ap);
	}
	if (flags & MREMAP_MAYMOVE)
		registered_range_check(old);
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, to);
}

int munmap(void *addr, size_t len)
{
	registered_range_check(addr);
	return (int)syscall(SYS_munmap, addr, len);
}
#endif

TEST(registered_ranges_are_never_unmapped_or_moved)
{
	char *blocker[8];

#ifdef USLAB_TEST_SANITIZED
	return;
#endif
	atomic_store(&violations, 0);
	/* Large blocks moved by growth, freed, and chunks unmapped. */
	for (int round = 0; round < 20; round++) {
		char *p = us_chunk_large_alloc(70000, 0, false, -1);

		for (int i = 0; i < 8; i++)
			blocker[i] = us_chunk_large_alloc(10000, 1u << 16, false, -1);
		for (size_t size = 200000; size < (16u << 20); size *= 3)
			p = us_chunk_large_resize(us_chunk_lookup(p), size);
		us_chunk_large_free(us_chunk_lookup(p));
		for (int i = 0; i < 8; i++)
			us_chunk_large_free(us_chunk_lookup(blocker[i]));
	}
	us_chunk_large_reap(UINT64_MAX, NULL);
	{
		struct us_slab *s[48];

		for (int i = 0; i < 48; i++)
			s[i] = us_chunk_slot_alloc(6, 0, false);
		for (int i = 0; i < 48; i++)
			us_chunk_slot_free(s[i]);
	}
	ck_assert_int_eq(atomic_load(&violations), 0);
}
END_TEST


int main(void)
{
	return run_tests("chunk", 60);
}
