/* SPDX-License-Identifier: MIT */
/*
 * test-debug.c - the debug layer, through the public API only.
 *
 * Every check is exercised by damaging memory on purpose in a child
 * process and asserting the report it writes, in the kernel's words, and
 * what happens next: by default the damage is repaired and the program
 * continues; with X in USLAB_DEBUG it aborts.  USLAB_DEBUG is read at
 * start-up, so its cases re-execute this program with the variable set
 * and a scenario name.
 *
 * The program is linked with -export-dynamic, so that allocation sites
 * are named in reports.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>

#include <uslab.h>

#include "testutil.h"

#define noinline __attribute__((noinline))

/* Keep a write the compiler could prove out of bounds. */
static noinline void poke(void *p, long off, unsigned char v)
{
	unsigned char *volatile b = p;

	b[off] = v;
}

/*
 * Allocation sites, exported (so named in reports) and not tail calls
 * (so that they are the caller uslab records).
 */
void *make_one(struct kmem_cache *c);
void *leak_three_site(struct kmem_cache *c);
void *leak_one_site(struct kmem_cache *c);
void right_redzone(void *arg);
void double_free_debug(void *arg);

#define SITE(name)                                                           \
	noinline void *name(struct kmem_cache *c)                            \
	{                                                                    \
		void *p = kmem_cache_alloc(c, GFP_KERNEL);                   \
		__asm__ volatile("" : : "r"(p) : "memory");                  \
		return p;                                                    \
	}

SITE(make_one)
SITE(leak_three_site)
SITE(leak_one_site)

/*
 * In an AddressSanitizer build, red zones and free objects are poisoned
 * (memtool.h): the first bad access is ASan's to report, before uslab's
 * checks could see it.
 */
static void expect_asan_report(void (*fn)(void *), void *arg)
{
	struct captured cap;

	run_captured(fn, arg, &cap);
	ck_assert_msg(!WIFEXITED(cap.status) || WEXITSTATUS(cap.status) != 0,
		      "ASan did not stop the child: %s", cap.out);
	ck_assert_msg(strstr(cap.out, "ERROR: AddressSanitizer: "
				      "use-after-poison") != NULL,
		      "no ASan report: %s", cap.out);
	ck_assert_msg(strstr(cap.out, "in poke") != NULL,
		      "ASan blamed another access: %s", cap.out);
}

#ifdef TEST_ASAN
#define ASAN_CATCHES_FIRST(fn)                                               \
	do {                                                                 \
		expect_asan_report((fn), NULL);                              \
		return;                                                      \
	} while (0)
#else
/*
 * Under memcheck, which also hides red zones and free objects, the bad
 * write is reported by memcheck (on valgrind's own descriptor, not the
 * captured one) and then by uslab, whose report is checked as usual.
 */
#define ASAN_CATCHES_FIRST(fn) (void)expect_asan_report
#endif

/*
 * Did the child run to its end?  Under memcheck, which reports the
 * deliberate bugs too, valgrind's error exit code (1) counts as well.
 */
static bool exited_ok(int status)
{
	return WIFEXITED(status) &&
	       (WEXITSTATUS(status) == 0 ||
		(on_valgrind() && WEXITSTATUS(status) == 1));
}

/*
 * Run fn in a child, which must report needle and then, the damage
 * repaired, continue to its end; its output is left in *cap for more
 * checks.
 */
#define run_repairing(fn, arg, cap, needle)                                  \
	run_expect((fn), (arg), (cap), exited_ok, "exit 0", (needle))

#define ck_assert_repairs_with(fn, arg, needle)                              \
	ck_assert_run(run_repairing, (fn), (arg), (needle))


static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* ------------------------------------------------------------ red zones */

noinline void right_redzone(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("rz", 40, 0, SLAB_RED_ZONE,
						 NULL);
	unsigned char *p = make_one(c);

	(void)arg;
	poke(p, 40, 'x');
	kmem_cache_free(c, p);
	/* Repaired, not freed: the cache goes on working. */
	for (int i = 0; i < 100; i++)
		kmem_cache_free(c, make_one(c));
	_exit(0);
}

TEST(right_redzone_is_caught_at_free_and_repaired)
{
	struct captured cap;

	ASAN_CATCHES_FIRST(right_redzone);
	run_captured(right_redzone, NULL, &cap);
	ck_assert_msg(exited_ok(cap.status),
		      "status 0x%x: %s", cap.status, cap.out);
	expect_in(&cap, "=============================================="
			"===============================\nBUG rz: Right Redzone "
			"overwritten\n-----------------------------------------"
			"------------------------------------\n");
	expect_in(&cap, "First byte 0x78 instead of 0xcc");
	expect_in(&cap, "\nINFO: Slab 0x");
	expect_in(&cap, "\nINFO: Object 0x");
	expect_in(&cap, "\nRedzone  ");
	expect_in(&cap, "\nObject   ");
	expect_in(&cap, ": 78 cc cc cc cc cc cc cc");
	expect_in(&cap, "\nCall Trace:\n");
	expect_in(&cap, "right_redzone+0x");
	expect_in(&cap, "\nFIX rz: Restoring Right Redzone 0x");
	expect_in(&cap, "=0xcc\n");
	expect_in(&cap, "\nFIX rz: Object at 0x");
	expect_in(&cap, " not freed\n");
	ck_assert_uint_eq(count_of(cap.out, "BUG "), 1);
}
END_TEST

static void left_redzone(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("lz", 64, 0,
						 SLAB_RED_ZONE | SLAB_HWCACHE_ALIGN,
						 NULL);
	unsigned char *p = make_one(c);

	(void)arg;
	poke(p, -1, 0);
	kmem_cache_free(c, p);
	_exit(0);
}

TEST(left_redzone_is_caught_at_free)
{
	struct captured cap;

	ASAN_CATCHES_FIRST(left_redzone);
	run_repairing(left_redzone, NULL, &cap,
		      "BUG lz: Left Redzone overwritten");
	expect_in(&cap, "First byte 0x0 instead of 0xcc");
	expect_in(&cap, "FIX lz: Restoring Left Redzone");
}
END_TEST

static void redzone_at_validation(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("rzv", 24, 0, SLAB_RED_ZONE,
						 NULL);
	unsigned char *p = make_one(c);

	(void)arg;
	poke(p, 25, 0x11);
	kmem_cache_shrink(c);		/* validates: reports and repairs */
	ck_assert_int_eq(write(STDERR_FILENO, "--shrunk--\n", 11), 11);
	kmem_cache_free(c, p);		/* now clean: no second report */
	kmem_cache_destroy(c);
	_exit(0);
}

TEST(redzone_of_a_live_object_is_caught_at_validation)
{
	struct captured cap;
	char *mark;

	ASAN_CATCHES_FIRST(redzone_at_validation);
	run_captured(redzone_at_validation, NULL, &cap);
	ck_assert_msg(exited_ok(cap.status), "status 0x%x", cap.status);
	mark = strstr(cap.out, "--shrunk--");
	ck_assert_ptr_nonnull(mark);
	expect_in(&cap, "BUG rzv: Right Redzone overwritten");
	expect_in(&cap, "First byte 0x11 instead of 0xcc");
	ck_assert_ptr_null(strstr(mark, "BUG"));
}
END_TEST

/* ----------------------------------------------------------- poisoning */

static void poison_at_alloc(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("pz", 48, 0,
						 SLAB_POISON | SLAB_RED_ZONE,
						 NULL);
	unsigned char *p = make_one(c);
	unsigned char *q;

	(void)arg;
	kmem_cache_free(c, p);
	poke(p, 3, 1);			/* use after free */
	q = make_one(c);		/* the same object, LIFO */
	ck_assert_ptr_eq(q, p);
	_exit(0);
}

TEST(write_after_free_is_caught_when_handed_out_again)
{
	struct captured cap;

	ASAN_CATCHES_FIRST(poison_at_alloc);
	run_repairing(poison_at_alloc, NULL, &cap,
		      "BUG pz: Poison overwritten");
	expect_in(&cap, "First byte 0x1 instead of 0x6b");
	expect_in(&cap, "@offset=");
	expect_in(&cap, ": 6b 6b 6b 01 6b 6b");
	expect_in(&cap, "FIX pz: Restoring Poison 0x");
	expect_in(&cap, "=0x6b\n");
}
END_TEST

/*
 * The poison check reads a free object eight bytes at a time: each
 * report must still name the first damaged byte and the last, wherever
 * they fall against the words (the offsets are from the object, which is
 * 8-byte aligned), for damage one byte long and several.
 */
static const struct { long from, to; } scan_damage[] = {
	{ 0, 0 }, { 7, 7 }, { 8, 8 }, { 31, 31 }, { 32, 32 }, { 33, 33 },
	{ 100, 100 }, { 197, 197 }, { 198, 198 }, { 5, 20 }, { 30, 70 },
	{ 190, 198 },
};
#define SCAN_N (sizeof(scan_damage) / sizeof(scan_damage[0]))
#define SCAN_SIZE 200		/* poison 0..198, the end poison at 199 */

struct scan_case {
	size_t i;		/* into scan_damage */
	FILE *where;		/* the child's damaged range, as %p-%p */
};

static void poison_scan(void *arg)
{
	/* ASan's run (ASAN_CATCHES_FIRST) passes none: it stops at poke(). */
	static const struct scan_case asan_run = { 0, NULL };
	const struct scan_case *sc = arg ? arg : &asan_run;
	struct kmem_cache *c = kmem_cache_create("scan", SCAN_SIZE, 0,
						 SLAB_POISON, NULL);
	unsigned char *p = make_one(c), *keep = make_one(c);
	long from = scan_damage[sc->i].from, to = scan_damage[sc->i].to;

	kmem_cache_free(c, p);
	for (long b = from; b <= to; b++)
		poke(p, b, 0x5a);
	fprintf(sc->where, "%p-%p", (void *)(p + from), (void *)(p + to));
	fflush(sc->where);
	kmem_cache_shrink(c);
	kmem_cache_free(c, keep);
	_exit(0);
}

TEST(the_poison_check_names_the_first_and_last_damaged_byte)
{
	ASAN_CATCHES_FIRST(poison_scan);
	for (size_t i = 0; i < SCAN_N; i++) {
		struct scan_case sc = { i, tmpfile() };
		struct captured cap;
		char range[80] = "", want[96];

		ck_assert_ptr_nonnull(sc.where);
		run_repairing(poison_scan, &sc, &cap,
			      "BUG scan: Poison overwritten");
		rewind(sc.where);
		ck_assert_ptr_nonnull(fgets(range, sizeof(range), sc.where));
		fclose(sc.where);
		snprintf(want, sizeof(want), "INFO: %s @offset=", range);
		expect_in(&cap, want);
		expect_in(&cap, "First byte 0x5a instead of 0x6b");
		ck_assert_uint_eq(count_of(cap.out, "Poison overwritten"), 1);
	}
}
END_TEST

static void poison_at_shrink(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("ps", 100, 0, SLAB_POISON,
						 NULL);
	unsigned char *p = make_one(c), *keep = make_one(c);

	(void)arg;
	kmem_cache_free(c, p);
	poke(p, 99, 0);			/* the end-of-poison byte */
	kmem_cache_shrink(c);
	kmem_cache_free(c, keep);
	_exit(0);
}

TEST(write_after_free_is_caught_at_shrink)
{
	struct captured cap;

	ASAN_CATCHES_FIRST(poison_at_shrink);
	run_repairing(poison_at_shrink, NULL, &cap,
		      "BUG ps: End Poison overwritten");
	expect_in(&cap, "First byte 0x0 instead of 0xa5");
}
END_TEST

static void poison_at_destroy(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("pd", 32, 0, SLAB_POISON,
						 NULL);
	unsigned char *p = make_one(c), *q = make_one(c);

	(void)arg;
	kmem_cache_free(c, q);
	kmem_cache_free(c, p);
	poke(q, 0, 0xee);
	kmem_cache_destroy(c);
	_exit(0);
}

TEST(write_after_free_is_caught_at_destroy)
{
	struct captured cap;

	ASAN_CATCHES_FIRST(poison_at_destroy);
	run_repairing(poison_at_destroy, NULL, &cap,
		      "BUG pd: Poison overwritten");
	expect_in(&cap, "First byte 0xee instead of 0x6b");
}
END_TEST

/*
 * Validation walks every object, live ones too, and must leave the live
 * ones as the caller's: here the free pointer sits in the object (F
 * alone), where a walk that opened and closed it to the memory tools
 * took the caller's first word away (ASan: use-after-poison).
 */
TEST(validation_leaves_live_objects_alone)
{
	struct kmem_cache *c = kmem_cache_create("vl", 64, 0,
						 SLAB_CONSISTENCY_CHECKS, NULL);
	unsigned char *p = make_one(c);

	memset(p, 7, 64);
	kmem_cache_shrink(c);		/* validates every object */
	for (int i = 0; i < 64; i++)
		ck_require(p[i] == 7);
	memset(p, 8, 64);
	kmem_cache_free(c, p);
	kmem_cache_destroy(c);
}
END_TEST

TEST(uninitialised_memory_shows_the_poison)
{
	struct kmem_cache *c = kmem_cache_create("pu", 20, 0, SLAB_POISON,
						 NULL);
	unsigned char *p = make_one(c);

	read_anyway(p, 20);
	for (int i = 0; i < 19; i++)
		ck_require((p[i]) == (0x6b));
	ck_assert_uint_eq(p[19], 0xa5);
	memset(p, 0, 20);
	kmem_cache_free(c, p);
	p = kmem_cache_zalloc(c, GFP_KERNEL);
	for (int i = 0; i < 20; i++)
		ck_require((p[i]) == (0));
	kmem_cache_free(c, p);
	kmem_cache_destroy(c);
}
END_TEST

static void ctor_fill(void *p)
{
	memset(p, 0x42, 16);
}

TEST(constructed_objects_are_not_poisoned)
{
	struct kmem_cache *c = kmem_cache_create("pc", 16, 0,
						 SLAB_POISON | SLAB_RED_ZONE,
						 ctor_fill);
	unsigned char *p = make_one(c);

	for (int i = 0; i < 16; i++)
		ck_require((p[i]) == (0x42));
	kmem_cache_free(c, p);
	p = make_one(c);
	for (int i = 0; i < 16; i++)
		ck_require((p[i]) == (0x42));
	kmem_cache_free(c, p);
	kmem_cache_destroy(c);
}
END_TEST

/* -------------------------------------------- consistency and ownership */

noinline void double_free_debug(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("df", 64, 0,
						 SLAB_CONSISTENCY_CHECKS |
						 SLAB_STORE_USER, NULL);
	void *a = make_one(c), *b = make_one(c);

	(void)arg;
	kmem_cache_free(c, a);
	kmem_cache_free(c, b);
	kmem_cache_free(c, a);		/* not at the head of the list */
	a = make_one(c);
	b = make_one(c);
	ck_assert_ptr_ne(a, b);
	_exit(0);
}

TEST(double_free_is_caught_anywhere_on_the_free_list)
{
	struct captured cap;

	run_repairing(double_free_debug, NULL, &cap,
		      "BUG df: Object already free");
	expect_in(&cap, "INFO: Allocated in make_one+0x");
	expect_in(&cap, "INFO: Freed in double_free_debug+0x");
	expect_in(&cap, " age=");
	expect_in(&cap, " cpu=");
	expect_in(&cap, " pid=");
	expect_in(&cap, "FIX df: Object at 0x");
}
END_TEST

/* A double free in a child of fork(), with the cache made before it. */
static void double_free_in_a_child(void *arg)
{
	struct kmem_cache *c = arg;
	void *a = make_one(c);

	fprintf(stderr, "child pid=%d\n", (int)getpid());
	kmem_cache_free(c, a);
	kmem_cache_free(c, a);
	_exit(0);
}

/*
 * The tracks name the thread by the kernel's id, which a thread learns
 * once: a child of fork() runs on as the thread that forked, under a new
 * id, and must not keep its parent's.
 */
TEST(a_child_of_fork_tracks_its_own_thread_id)
{
	struct kmem_cache *c = kmem_cache_create("tid", 64, 0,
						 SLAB_CONSISTENCY_CHECKS |
						 SLAB_STORE_USER, NULL);
	struct captured cap;
	char want[64];
	const char *child;

	kmem_cache_free(c, make_one(c));	/* this thread's id, learnt */
	run_repairing(double_free_in_a_child, c, &cap,
		      "BUG tid: Object already free");
	child = strstr(cap.out, "child pid=");
	ck_assert_ptr_nonnull(child);
	snprintf(want, sizeof(want), "INFO: Allocated in make_one+0x");
	expect_in(&cap, want);
	snprintf(want, sizeof(want), " pid=%d\n", atoi(child + 10));
	ck_assert_msg(count_of(cap.out, want) >= 2,
		      "the tracks do not name the child (%s): %s", want,
		      cap.out);
	snprintf(want, sizeof(want), " pid=%d\n", (int)getpid());
	ck_assert_msg(strstr(cap.out, want) == NULL,
		      "a track names the parent (%s): %s", want, cap.out);
	kmem_cache_destroy(c);
}
END_TEST

static void wrong_cache_debug(void *arg)
{
	struct kmem_cache *a = kmem_cache_create("wc-a", 64, 0,
						 SLAB_CONSISTENCY_CHECKS, NULL);
	struct kmem_cache *b = kmem_cache_create("wc-b", 64, 0, 0, NULL);
	void *p = kmem_cache_alloc(b, GFP_KERNEL);

	(void)arg;
	kmem_cache_free(a, p);
	kmem_cache_free(b, p);		/* still b's, still allocated */
	_exit(0);
}

TEST(wrong_cache_is_reported_and_the_object_kept)
{
	ck_assert_repairs_with(wrong_cache_debug, NULL,
			       "BUG wc-a: Wrong slab cache. wc-a but object is "
			       "from wc-b");
}
END_TEST

static void inside_object(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("io", 64, 0,
						 SLAB_CONSISTENCY_CHECKS, NULL);
	char *p = make_one(c);
	static char not_ours[64];

	(void)arg;
	kmem_cache_free(c, p + 8);
	kmem_cache_free(c, not_ours);
	kmem_cache_free(c, p);
	_exit(0);
}

TEST(pointers_inside_or_outside_objects_are_reported)
{
	struct captured cap;

	run_repairing(inside_object, NULL, &cap,
		      "BUG io: Invalid object pointer 0x");
	expect_in(&cap, "not the start of an object");
	expect_in(&cap, "not allocated by uslab");
	ck_assert_uint_eq(count_of(cap.out, "BUG io: Invalid object pointer"), 2);
}
END_TEST

#ifdef TEST_ASAN
/* Without debugging, ASan alone guards the objects of an ASan build. */
static void plain_use_after_free(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("plain-uaf", 64, 0, 0, NULL);
	unsigned char *p = make_one(c);

	(void)arg;
	kmem_cache_free(c, p);
	poke(p, 8, 1);
	_exit(0);
}

static void plain_overflow(void *arg)
{
	unsigned char *p = kmalloc(64, GFP_KERNEL);

	(void)arg;
	poke(p, 64, 1);			/* into the never-used next object */
	_exit(0);
}
#endif

#ifdef TEST_ASAN
TEST(asan_reports_misuse_of_plain_objects)
{
	expect_asan_report(plain_use_after_free, NULL);
	expect_asan_report(plain_overflow, NULL);
}
END_TEST
#endif

/* ---------------------------------------------- owners, leaks, tracing */

static void leaks(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("lk", 32, 0, SLAB_STORE_USER,
						 NULL);

	(void)arg;
	for (int i = 0; i < 3; i++)
		leak_three_site(c);
	leak_one_site(c);
	kmem_cache_free(c, make_one(c));
	kmem_cache_destroy(c);
	_exit(0);
}

TEST(destroy_lists_live_objects_by_allocation_site)
{
	struct captured cap;

	run_captured(leaks, NULL, &cap);
	ck_assert_msg(exited_ok(cap.status), "status 0x%x", cap.status);
	expect_in(&cap, "BUG lk: Objects remaining in lk on kmem_cache_destroy()");
	expect_in(&cap, "INFO: 3 objects allocated in leak_three_site+0x");
	expect_in(&cap, "INFO: 1 objects allocated in leak_one_site+0x");
	expect_in(&cap, "Slab cache still has objects (4 objects allocated)");
	ck_assert_uint_eq(count_of(cap.out, "INFO: Object 0x"), 4);
	ck_assert_ptr_null(strstr(cap.out, "in make_one"));
}
END_TEST

static void traced(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("tr", 16, 0, SLAB_TRACE, NULL);
	char *p = make_one(c);

	(void)arg;
	memcpy(p, "hello, tracing!", 16);
	kmem_cache_free(c, p);
	_exit(0);
}

TEST(trace_reports_every_operation)
{
	struct captured cap;

	run_captured(traced, NULL, &cap);
	ck_assert_msg(exited_ok(cap.status), "status 0x%x", cap.status);
	expect_in(&cap, "TRACE tr alloc 0x");
	expect_in(&cap, "TRACE tr free 0x");
	expect_in(&cap, "hello, tracing!");
	ck_assert_uint_eq(count_of(cap.out, "TRACE "), 2);
}
END_TEST

TEST(debug_caches_work_in_bulk)
{
	struct kmem_cache *c = kmem_cache_create("bulk", 200, 0,
						 SLAB_CONSISTENCY_CHECKS |
						 SLAB_RED_ZONE | SLAB_POISON |
						 SLAB_STORE_USER, NULL);
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	void *p[500];

	ck_assert_int_eq(kmem_cache_alloc_bulk(c, GFP_KERNEL, 500, p), 500);
	for (int i = 0; i < 500; i++)
		memset(p[i], i, 200);
	kmem_cache_free_bulk(c, 500, p);
	ck_assert_int_eq(kmem_cache_shrink(c), 0);
	ck_assert_int_eq(uslab_cache_stats(c, &st), 0);
	ck_assert_uint_eq(st.active_objs, 0);
	ck_assert_uint_eq(st.cached_objs, 0);	/* no magazines */
	ck_assert_uint_ge(st.size, 200 + 8 + 8 + 2 * 24 + 16);
	kmem_cache_destroy(c);
}
END_TEST

/*
 * More threads than CPUs share a fully debugged cache, each freeing
 * what another allocated, while the process forks: no report may
 * appear, and nothing may leak.
 */
#define THREADS 8
#define ROUNDS 3000

static struct kmem_cache *shared;
static void *_Atomic handoff[THREADS];

static void *debug_worker(void *arg)
{
	unsigned int self = (unsigned int)(uintptr_t)arg;

	for (int i = 0; i < ROUNDS; i++) {
		unsigned char *p = kmem_cache_alloc(shared, GFP_KERNEL);
		void *old;

		/*
		 * No Check macro here: each takes Check's mutex, which a
		 * fork would leave held in the child.
		 */
		if (!p)
			abort();
		memset(p, (int)self, 96);
		old = atomic_exchange(&handoff[(self + 1) % THREADS], p);
		if (old)
			kmem_cache_free(shared, old);
	}
	return NULL;
}

static void threads_share(void *arg)
{
	pthread_t t[THREADS];
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };

	(void)arg;
	shared = kmem_cache_create("shared", 96, 0, SLAB_CONSISTENCY_CHECKS |
				   SLAB_RED_ZONE | SLAB_POISON |
				   SLAB_STORE_USER, NULL);
	for (uintptr_t i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, debug_worker,
						(void *)i), 0);
	/* Forks while they run: the child's debug cache must work. */
	for (int i = 0; i < 10; i++) {
		pid_t pid = fork();
		int status;

		if (pid < 0)
			abort();
		if (pid == 0) {
			void *p[50];

			for (int k = 0; k < 50; k++)
				p[k] = kmem_cache_alloc(shared, GFP_KERNEL);
			for (int k = 0; k < 50; k++)
				kmem_cache_free(shared, p[k]);
			kmem_cache_shrink(shared);
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			abort();
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++)
		kmem_cache_free(shared, atomic_exchange(&handoff[i], NULL));
	kmem_cache_shrink(shared);
	uslab_cache_stats(shared, &st);
	ck_assert_uint_eq(st.active_objs, 0);
	kmem_cache_destroy(shared);
	_exit(0);
}

TEST(debug_caches_are_thread_safe)
{
	struct captured cap;

	run_captured(threads_share, NULL, &cap);
	ck_assert_msg(exited_ok(cap.status),
		      "status 0x%x: %s", cap.status, cap.out);
	ck_assert_str_eq(cap.out, "");
}
END_TEST

/* ------------------------------------------------------- USLAB_DEBUG */

/* Scenarios run in a re-executed child with USLAB_DEBUG set. */
static int scenario(const char *name)
{
	if (strcmp(name, "kmalloc-past-class") == 0) {
		unsigned char *p = kmalloc(50, GFP_KERNEL);

		poke(p, 64, 0x99);	/* past kmalloc-64 */
		kfree(p);
		return 0;
	}
	if (strcmp(name, "overflow") == 0) {
		struct kmem_cache *c = kmem_cache_create("conn", 40, 0, 0, NULL);
		unsigned char *p = make_one(c);

		poke(p, 40, 1);
		kmem_cache_free(c, p);
		return 0;
	}
	if (strcmp(name, "sizes") == 0) {
		/* "flagged" asks for red zones itself: they always apply. */
		const char *names[] = { "conn", "plain-1", "dentry", "kmalloc-64",
					"flagged" };

		for (size_t i = 0; i < 5; i++) {
			struct uslab_cache_stats st = {
				.version = USLAB_CACHE_STATS_VERSION
			};
			struct kmem_cache *c = strncmp(names[i], "kmalloc", 7)
				? kmem_cache_create(names[i], 64, 0,
						    i == 4 ? SLAB_RED_ZONE : 0,
						    NULL)
				: uslab_kmalloc_cache(64);

			uslab_cache_stats(c, &st);
			fprintf(stderr, "%s %s\n", names[i],
				st.size > 64 ? "debug" : "plain");
		}
		return 0;
	}
	return 2;
}

/*
 * Run scenario name in this program again, with USLAB_DEBUG=debug, which
 * is read at start-up; what it writes to stderr is in cap->out.
 */
static void exec_scenario(const char *debug, const char *name,
			  struct captured *cap)
{
	char var[128];
	const char *env[] = { var, NULL };

	snprintf(var, sizeof(var), "USLAB_DEBUG=%s", debug);
	run_self(name, env, cap);
}

TEST(uslab_debug_reaches_kmalloc_caches_by_glob)
{
	struct captured cap;

	exec_scenario("FZ,kmalloc-*", "kmalloc-past-class", &cap);
#ifdef TEST_ASAN
	ck_assert_msg(strstr(cap.out, "use-after-poison") != NULL, "%s", cap.out);
	return;
#endif
	ck_assert_msg(exited_ok(cap.status),
		      "status 0x%x: %s", cap.status, cap.out);
	expect_in(&cap, "BUG kmalloc-64: Right Redzone overwritten");
	expect_in(&cap, "First byte 0x99 instead of 0xcc");
}
END_TEST

TEST(uslab_debug_x_aborts_after_the_report)
{
	struct captured cap;

	exec_scenario("ZX", "overflow", &cap);
#ifdef TEST_ASAN
	ck_assert_msg(strstr(cap.out, "use-after-poison") != NULL, "%s", cap.out);
	return;
#endif
	ck_assert_msg(WIFSIGNALED(cap.status) && WTERMSIG(cap.status) == SIGABRT,
		      "status 0x%x: %s", cap.status, cap.out);
	expect_in(&cap, "BUG conn: Right Redzone overwritten");
	expect_in(&cap, "FIX conn: none; aborting");
}
END_TEST

TEST(uslab_debug_selects_and_excludes_caches)
{
	struct captured cap;

	exec_scenario("FZPU;-,plain*,flagged", "sizes", &cap);
	ck_assert_msg(exited_ok(cap.status),
		      "status 0x%x: %s", cap.status, cap.out);
	ck_assert_str_eq(cap.out, "conn debug\nplain-1 plain\ndentry debug\n"
				  "kmalloc-64 debug\nflagged debug\n");
	/* Nothing but the sizes: no warning. */
	exec_scenario("Z,con?;P,dent*", "sizes", &cap);
	ck_assert_str_eq(cap.out, "conn debug\nplain-1 plain\ndentry debug\n"
				  "kmalloc-64 plain\nflagged debug\n");
	exec_scenario("", "sizes", &cap);
	ck_assert_str_eq(cap.out, "conn debug\nplain-1 debug\ndentry debug\n"
				  "kmalloc-64 debug\nflagged debug\n");
}
END_TEST

TEST(uslab_debug_warns_once_about_unknown_letters)
{
	struct captured cap;

	exec_scenario("FZQ;Q,conn", "sizes", &cap);
	ck_assert_msg(exited_ok(cap.status),
		      "status 0x%x: %s", cap.status, cap.out);
	ck_assert_str_eq(cap.out, "uslab: USLAB_DEBUG: unknown option 'Q' "
				  "ignored; the options are F Z P U T X and -\n"
				  "conn plain\nplain-1 debug\ndentry debug\n"
				  "kmalloc-64 debug\nflagged debug\n");
}
END_TEST

int main(int argc, char **argv)
{
	const char *mode;

	self_argv0 = argv[0];
	if (is_self_child(argc, argv, &mode))
		return scenario(mode);
	return run_tests("debug", 60);
}
