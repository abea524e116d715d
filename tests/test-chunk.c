/* SPDX-License-Identifier: MIT */
/*
 * test-chunk.c - the page layer: slots, the registry, large mappings.
 */
#include "config.h"

#include "chunk.h"
#include "internal.h"
#include "os.h"
#include "testutil.h"

START_TEST(slots_are_aligned_distinct_and_registered)
{
	for (unsigned int order = 0; order <= US_SLAB_MAX_ORDER; order++) {
		size_t slot_size = us_page_size << order;
		struct us_slab *s[40];
		char *start[40];

		for (int i = 0; i < 40; i++) {
			s[i] = us_chunk_slot_alloc(order);
			ck_assert_ptr_nonnull(s[i]);
			ck_assert_int_eq(s[i]->list, US_SLAB_ORPHAN);
			start[i] = us_chunk_slot_start(s[i]);
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
				ck_assert_ptr_ne(start[i], start[j]);
		}
		ck_assert_uint_eq(us_chunk_validate(), 0);
		for (int i = 0; i < 40; i++)
			us_chunk_slot_free(s[i]);
		ck_assert_uint_eq(us_chunk_validate(), 0);
	}
}
END_TEST

START_TEST(freed_slots_read_zero_when_reused)
{
	struct us_slab *s = us_chunk_slot_alloc(0);
	char *p = us_chunk_slot_start(s);

	memset(p, 0x5a, us_page_size);
	us_chunk_slot_free(s);
	s = us_chunk_slot_alloc(0);
	p = us_chunk_slot_start(s);
	for (size_t i = 0; i < us_page_size; i++)
		ck_assert_int_eq(p[i], 0);
	us_chunk_slot_free(s);
}
END_TEST

START_TEST(empty_chunks_are_unmapped)
{
	/* Fill three chunks of order 6 (16 slots each), then free all. */
	size_t before = us_chunk_mapped_bytes();
	struct us_slab *s[48];

	for (int i = 0; i < 48; i++)
		ck_assert_ptr_nonnull(s[i] = us_chunk_slot_alloc(6));
	ck_assert_uint_ge(us_chunk_mapped_bytes(), before + 3 * US_CHUNK_SIZE);
	for (int i = 0; i < 48; i++)
		us_chunk_slot_free(s[i]);
	/* One idle chunk per order may stay. */
	ck_assert_uint_le(us_chunk_mapped_bytes(), before + US_CHUNK_SIZE);
	ck_assert_uint_eq(us_chunk_validate(), 0);
}
END_TEST

START_TEST(foreign_pointers_are_not_ours)
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
	free(heap);
}
END_TEST

START_TEST(large_allocations_find_their_header)
{
	static const size_t sizes[] = { 1, 4096, 65537, 3u << 20, 9u << 20 };
	static const size_t aligns[] = { 0, 4096, 65536, 1u << 22, 1u << 23,
					 1u << 25 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizeof(aligns) / sizeof(aligns[0]); j++) {
			char *p = us_chunk_large_alloc(sizes[i], aligns[j]);
			struct us_chunk *ch;

			ck_assert_ptr_nonnull(p);
			if (aligns[j])
				ck_assert_uint_eq((uintptr_t)p % aligns[j], 0);
			ck_assert_uint_eq((uintptr_t)p % us_page_size, 0);
			ch = us_chunk_lookup(p);
			ck_assert_ptr_nonnull(ch);
			ck_assert_uint_eq(ch->kind, US_CHUNK_LARGE);
			ck_assert_ptr_eq(ch->object, p);
			ck_assert_uint_ge(ch->usable, sizes[i]);
			memset(p, 0x77, ch->usable);
			us_chunk_large_free(ch);
			ck_assert_ptr_null(us_chunk_lookup(p));
		}
	}
}
END_TEST

START_TEST(large_allocation_fails_cleanly)
{
	errno = 0;
	ck_assert_ptr_null(us_chunk_large_alloc((size_t)1 << 62, 0));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(us_chunk_large_alloc(4096, (size_t)1 << 62));
	ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

static Suite *chunk_suite(void)
{
	Suite *s = suite_create("chunk");
	TCase *tc = tcase_create("slots");

	tcase_add_test(tc, slots_are_aligned_distinct_and_registered);
	tcase_add_test(tc, freed_slots_read_zero_when_reused);
	tcase_add_test(tc, empty_chunks_are_unmapped);
	suite_add_tcase(s, tc);
	tc = tcase_create("registry");
	tcase_add_test(tc, foreign_pointers_are_not_ours);
	suite_add_tcase(s, tc);
	tc = tcase_create("large");
	tcase_add_test(tc, large_allocations_find_their_header);
	tcase_add_test(tc, large_allocation_fails_cleanly);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(chunk_suite());
}
