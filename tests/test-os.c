/* SPDX-License-Identifier: MIT */
/*
 * test-os.c - the OS primitives, the report formatter and the lock.
 */
#include "config.h"

#include <pthread.h>
#include <sys/mman.h>

#include "internal.h"
#include "lock.h"
#include "options.h"
#include "os.h"
#include "report.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define TEST_ASAN 1
#endif

TEST(map_aligned_honours_alignment_and_skew)
{
	static const size_t aligns[] = { 4096, 65536, 1u << 22, 1u << 24 };

	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		for (size_t skew = 0; skew < aligns[i];
		     skew += aligns[i] / 2 >= 4096 ? aligns[i] / 2 : aligns[i]) {
			char *p = us_os_map_aligned(3 * 4096, aligns[i], skew);

			ck_assert_ptr_nonnull(p);
			ck_assert_uint_eq(((uintptr_t)p + skew) % aligns[i], 0);
			p[0] = 1;
			p[3 * 4096 - 1] = 2;	/* the whole length is mapped */
			us_os_unmap(p, 3 * 4096);
		}
	}
}
END_TEST

TEST(map_aligned_rejects_impossible_sizes)
{
	errno = 0;
	ck_assert_ptr_null(us_os_map_aligned(SIZE_MAX - 100, 4096, 0));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_ptr_null(us_os_map_aligned(0, 4096, 0));
}
END_TEST

#ifdef TEST_ASAN
/*
 * ASan keeps manual poisoning on addresses that mremap() gives back to
 * the kernel (it does not intercept the call): after a move, the old
 * addresses must carry none, or a block mapped there later starts out
 * poisoned.
 */
TEST(addresses_a_move_leaves_carry_no_poison)
{
	size_t len = 64 * 4096;
	char *a = us_os_map_aligned(len, 4096, 0);
	char *b = us_os_map_aligned(2 * len, 4096, 0);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	__asan_poison_memory_region(a, len);
	ck_assert(us_os_move(a, len, len, b));
	ck_assert_ptr_null(__asan_region_is_poisoned(a, len));
	us_os_unmap(b, 2 * len);
}
END_TEST
#endif

TEST(decommit_returns_pages_and_zeroes_them)
{
	size_t len = 256 * 4096;
	char *p = us_os_map_aligned(len, 4096, 0);
	size_t before, touched, after;

	if (on_valgrind())
		return;	/* resident sizes are valgrind's there */
	ck_assert_ptr_nonnull(p);
	before = rss_bytes();
	memset(p, 0xab, len);
	touched = rss_bytes();
	ck_assert_uint_ge(touched, before + len / 2);
	us_os_decommit(p, len);
	after = rss_bytes();
	ck_assert_uint_le(after, touched - len / 2);
	for (size_t i = 0; i < len; i += 4096)
		ck_require((p[i]) == (0));
	us_os_unmap(p, len);
}
END_TEST

/*
 * A batch of scattered runs, more than one batch holds: every run given
 * back (not resident, and zero when read), every page between them kept
 * with its contents.  mincore() tells page by page.
 */
static void decommit_batch_gives_back_exactly_its_runs(void)
{
	enum { RUNS = 3 * US_OS_BATCH + 5 };
	size_t page = us_page_size, len = 2 * RUNS * page;
	char *p = us_os_map_aligned(len, page, 0);
	unsigned char in_core[2 * RUNS];
	struct us_os_batch batch = { 0 };

	ck_assert_ptr_nonnull(p);
	memset(p, 0xab, len);
	for (size_t i = 0; i < RUNS; i++)	/* the odd pages */
		us_os_decommit_add(&batch, p + (2 * i + 1) * page, page);
	ck_assert_uint_eq(batch.n, RUNS % US_OS_BATCH);
	us_os_decommit_flush(&batch);
	ck_assert_uint_eq(batch.n, 0);
	ck_assert_int_eq(mincore(p, len, in_core), 0);
	for (size_t i = 0; i < 2 * RUNS; i++) {
		ck_assert_msg((in_core[i] & 1) == (i % 2 == 0),
			      "page %zu: resident %d", i, in_core[i] & 1);
		ck_require(p[i * page] == (i % 2 ? 0 : (char)0xab));
		ck_require(p[i * page + page - 1] == (i % 2 ? 0 : (char)0xab));
	}
	us_os_decommit_flush(&batch);	/* an empty batch: nothing */
	us_os_unmap(p, len);
}

TEST(decommit_batch_gives_back_exactly_its_runs_in_one_call)
{
	decommit_batch_gives_back_exactly_its_runs();
}
END_TEST

TEST(decommit_batch_gives_back_exactly_its_runs_a_run_at_a_time)
{
	/* USLAB_PROCESS_MADVISE=0, as where the kernel refuses the call. */
	us_options.process_madvise = 0;
	us_options.process_madvise_set = 1;
	us_os_init();
	decommit_batch_gives_back_exactly_its_runs();
}
END_TEST

TEST(page_size_matches_sysconf)
{
	ck_assert_uint_eq(us_page_size, (size_t)sysconf(_SC_PAGESIZE));
	ck_assert_uint_eq((size_t)1 << us_page_shift, us_page_size);
}
END_TEST

TEST(clock_and_random_behave)
{
	uint64_t t0 = us_os_now_ms(), r0 = us_os_random(), r1 = us_os_random();
	struct timespec ts = { 0, 50 * 1000000L };

	nanosleep(&ts, NULL);
	ck_assert_uint_ge(us_os_now_ms() - t0, 30);
	ck_assert_uint_ne(r0, r1);
}
END_TEST

/* What a child forked now draws first from us_os_random(). */
static uint64_t random_in_a_child(void)
{
	uint64_t v = 0;
	int fds[2];
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		v = us_os_random();
		_exit(write(fds[1], &v, sizeof(v)) == sizeof(v) ? 0 : 1);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &v, sizeof(v)), sizeof(v));
	close(fds[0]);
	waitpid(pid, NULL, 0);
	return v;
}

/*
 * Children draw secrets of their own: otherwise every child of a process
 * hardens the caches it creates with the same secrets, and one child's
 * leak tells an attacker the others'.
 */
TEST(forked_children_draw_their_own_random_bits)
{
	uint64_t a, b;

	us_init();	/* the fork handlers */
	(void)us_os_random();
	a = random_in_a_child();
	b = random_in_a_child();
	ck_assert_uint_ne(a, b);
}
END_TEST

TEST(format_understands_its_subset)
{
	char buf[128];
	size_t n;

	n = us_format(buf, sizeof(buf), "%s|%d|%u|%x|%lu|%llu|%zu|%c|%%|%5u|%08lx",
		      "str", -42, 42u, 0xbeefu, 123456789ul,
		      18446744073709551615ull, (size_t)7, 'z', 3u, 0xabcul);
	ck_assert_str_eq(buf, "str|-42|42|beef|123456789|18446744073709551615"
			      "|7|z|%|    3|00000abc");
	ck_assert_uint_eq(n, strlen(buf));
	us_format(buf, sizeof(buf), "%p %s", (void *)0x1234, (char *)NULL);
	ck_assert_str_eq(buf, "0x1234 (null)");
}
END_TEST

TEST(format_truncates_and_terminates)
{
	char buf[8];
	size_t n = us_format(buf, sizeof(buf), "%s", "0123456789");

	ck_assert_uint_eq(n, 10);
	ck_assert_str_eq(buf, "0123456");
}
END_TEST

static void report_then_return(void *arg)
{
	(void)arg;
	us_report("cache %s: %d objects", "conn", 3);
}

static void panic_now(void *arg)
{
	(void)arg;
	us_panic("BUG %s: something", "conn");
}

TEST(report_writes_one_line_to_stderr)
{
	struct captured r;

	run_captured(report_then_return, NULL, &r);
	ck_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	ck_assert_str_eq(r.out, "uslab: cache conn: 3 objects\n");
	ck_assert_aborts_with(panic_now, NULL, "uslab: BUG conn: something\n");
}
END_TEST

static struct us_lock test_lock = US_LOCK_INIT;
static long counter;

static void *lock_hammer(void *arg)
{
	for (int i = 0; i < 200000; i++) {
		us_lock(&test_lock);
		counter++;
		us_unlock(&test_lock);
	}
	return arg;
}

TEST(lock_excludes_with_more_threads_than_cpus)
{
	pthread_t t[8];

	counter = 0;
	for (int i = 0; i < 8; i++)
		ck_require((pthread_create(&t[i], NULL, lock_hammer, NULL)) == (0));
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(counter, 8 * 200000);
	ck_assert(!us_lock_is_held(&test_lock));
	ck_assert(us_trylock(&test_lock));
	ck_assert(!us_trylock(&test_lock));
	us_unlock(&test_lock);
}
END_TEST


int main(void)
{
	return run_tests("os", 60);
}
