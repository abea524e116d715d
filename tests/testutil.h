/* SPDX-License-Identifier: MIT */
/*
 * testutil.h - helpers shared by uslab's Check suites.
 *
 *   run_captured()    run a function in a child with stderr captured, to
 *                     assert the exact report of a misuse and that the
 *                     child aborted (Check's own fork mode cannot show us
 *                     the message)
 *   test_seed()       the seed of a randomised test, from USLAB_TEST_SEED
 *                     or the clock, printed so a failure can be replayed
 *   rss_bytes()       resident memory from /proc/self/statm
 *   run_suite()       run a suite and turn its result into an exit code
 *   run_self()        run this program again in a child, in a given mode
 *                     and environment, with stderr captured
 *   run_self_child()  the child's side: the mode's function from a table,
 *                     which says what failed with child_failed()
 *   ck_assert_self_ok()  run_self() of a mode that must exit 0, quietly
 *   TEST()            a Check test that adds itself to the program's list
 *   run_tests()       run that list as the program's suite
 *   test_main()       a suite's main(): its tests, or a child's mode
 *   read_anyway()     tell memcheck a test reads undefined bytes on purpose
 */
#ifndef USLAB_TESTUTIL_H
#define USLAB_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define TEST_HAVE_MEMCHECK 1
#endif
#endif

#include <uslab.h>

#include "common.h"

struct captured {
	int status;		/* as from waitpid() */
	char out[16384];	/* what the child wrote to stderr */
};

static inline void run_captured(void (*fn)(void *), void *arg,
				struct captured *r)
{
	int fds[2];
	pid_t pid;
	size_t len = 0;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* No core files from deliberate aborts. */
		signal(SIGABRT, SIG_DFL);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		char spill[4096];
		bool full = len == sizeof(r->out) - 1;
		/* Past the buffer, keep reading, so the child never blocks. */
		ssize_t n = full ? read(fds[0], spill, sizeof(spill))
				 : read(fds[0], r->out + len,
					sizeof(r->out) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!full)
			len += (size_t)n;
	}
	r->out[len] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &r->status, 0), pid);
}

/*
 * Run fn in a child, whose exit status must satisfy ok(status) (what:
 * what was expected) and whose report must contain needle; its output
 * is left in *cap for more checks (expect_in()).
 */
#define run_expect(fn, arg, cap, ok, what, needle)                           \
	do {                                                                 \
		run_captured((fn), (arg), (cap));                            \
		ck_assert_msg(ok((cap)->status),                             \
			      "expected %s, status 0x%x, output: %s", (what), \
			      (cap)->status, (cap)->out);                    \
		expect_in((cap), (needle));                                  \
	} while (0)

static inline bool aborted(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

/* The child must abort after writing a report containing needle. */
#define run_aborting(fn, arg, cap, needle)                                   \
	run_expect((fn), (arg), (cap), aborted, "SIGABRT", (needle))

/* run() (run_aborting(), or the like) when only needle is to be checked. */
#define ck_assert_run(run, fn, arg, needle)                                  \
	do {                                                                 \
		struct captured cap_;                                        \
		run((fn), (arg), &cap_, (needle));                           \
	} while (0)

#define ck_assert_aborts_with(fn, arg, needle)                               \
	ck_assert_run(run_aborting, (fn), (arg), (needle))

/* The child's output must contain needle. */
static inline void expect_in(const struct captured *cap, const char *needle)
{
	ck_assert_msg(strstr(cap->out, needle) != NULL,
		      "report lacks \"%s\": %s", needle, cap->out);
}

/*
 * ck_assert() for loops of many thousand checks: Check records where
 * every assertion that holds was reached, a write to its channel each,
 * which under valgrind costs more than the code tested.  This one does
 * nothing unless expr is false.
 */
#define ck_require(expr)                                                     \
	do {                                                                 \
		if (!(expr))                                                 \
			ck_abort_msg("Assertion '%s' failed", #expr);        \
	} while (0)

/* Sleep ms milliseconds, through signals. */
static inline void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Keep the calling thread on one CPU: a double free is caught cheaply
 * only while the object is still on top of that CPU's magazine.
 */
static inline void pin_to_one_cpu(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * A child that frees an object twice in a row, in a new cache "twice" of
 * 64-byte objects: the double free the fast path catches, since the
 * object is still on top of the CPU's magazine.
 */
static inline void child_frees_twice(void *arg)
{
	struct kmem_cache *c = kmem_cache_create("twice", 64, 0, 0, NULL);
	void *p;

	(void)arg;
	pin_to_one_cpu();
	p = kmem_cache_alloc(c, GFP_KERNEL);
	kmem_cache_free(c, p);
	kmem_cache_free(c, p);
}

static inline unsigned int test_seed(void)
{
	const char *s = getenv("USLAB_TEST_SEED");
	unsigned int seed = s ? (unsigned int)strtoul(s, NULL, 0)
			      : (unsigned int)time(NULL) ^ (unsigned int)getpid();

	printf("seed %u (replay with USLAB_TEST_SEED=%u)\n", seed, seed);
	fflush(stdout);
	return seed;
}

/*
 * This program, to run again in a child: /proc/self/exe, except under
 * valgrind, where that is valgrind itself; then argv[0], which main()
 * stores here.
 */
static const char *self_argv0;

static inline const char *self_exe(void)
{
	const char *p = getenv("LD_PRELOAD");

	if (p && strstr(p, "vgpreload") && self_argv0)
		return self_argv0;
	return "/proc/self/exe";
}

/*
 * Run this program again in a child, as "argv0 --child MODE", with the
 * "NAME=value" strings of env (NULL-terminated) added to its
 * environment, and capture its stderr and status.  main() stores argv[0]
 * in self_argv0 and hands "--child MODE" to the test's own dispatcher.
 */
struct self_exec {
	const char *mode;
	const char *const *env;
};

static inline void exec_self_child(void *arg)
{
	const struct self_exec *x = arg;

	for (const char *const *e = x->env; e && *e; e++)
		putenv((char *)(uintptr_t)*e);
	execl(self_exe(), self_argv0 ? self_argv0 : "test", "--child", x->mode,
	      (char *)NULL);
	_exit(127);
}

static inline void run_self(const char *mode, const char *const *env,
			    struct captured *r)
{
	struct self_exec x = { mode, env };

	run_captured(exec_self_child, &x, r);
}

/* Is argv "prog --child MODE"?  Then *mode is MODE. */
static inline bool is_self_child(int argc, char **argv, const char **mode)
{
	if (argc < 3 || strcmp(argv[1], "--child") != 0)
		return false;
	*mode = argv[2];
	return true;
}

/*
 * A child run by run_self() in a table of modes: child_failed() says
 * what went wrong on stderr, which run_self() shows the parent, and the
 * child's exit status is whether anything did.
 */
struct self_child {
	const char *mode;
	int (*fn)(void);
};

static int child_failures __attribute__((unused));

static inline __attribute__((format(printf, 1, 2))) void
child_failed(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	child_failures++;
}

/*
 * Run this program again in mode, with env; it must exit 0 and report no
 * misuse ("BUG ").  What it wrote to stderr (child_failed()'s lines, a
 * report) is the failure message.
 */
#define ck_assert_self_ok(mode, env)                                         \
	do {                                                                 \
		const char *const *env_ = (env);                             \
		struct captured cap_;                                        \
		run_self((mode), env_, &cap_);                               \
		ck_assert_msg(WIFEXITED(cap_.status) &&                      \
				      WEXITSTATUS(cap_.status) == 0 &&       \
				      !strstr(cap_.out, "BUG "),             \
			      "%s (%s): status 0x%x: %s", (mode),            \
			      env_ && env_[0] ? env_[0] : "no environment",  \
			      cap_.status, cap_.out);                        \
	} while (0)

/*
 * Tests register themselves.  TEST(test) opens a Check test, as
 * START_TEST does, and a constructor adds it to this program's list, in
 * the order of the source; END_TEST closes it.  run_tests() runs the
 * list as one suite and one test case, named name, each test under
 * timeout seconds (0: Check's default).  A test that does not apply in
 * some build is left out with #if around its definition.
 */
#define TEST_MAX 128

static const TTest *test_list[TEST_MAX];
static size_t test_count;

static inline void test_register(const TTest *t)
{
	if (test_count == TEST_MAX) {
		fprintf(stderr, "more than %d tests: raise TEST_MAX\n", TEST_MAX);
		abort();
	}
	test_list[test_count++] = t;
}

#define TEST(test)                                                           \
	static void test##_fn(int _i CK_ATTRIBUTE_UNUSED);                  \
	static const TTest test##_ttest = { .name = #test,                   \
					    .fn = test##_fn,                 \
					    .file = __FILE__,                \
					    .line = __LINE__ };              \
	__attribute__((constructor)) static void test##_register(void)      \
	{                                                                    \
		test_register(&test##_ttest);                                \
	}                                                                    \
	static void test##_fn(int _i CK_ATTRIBUTE_UNUSED)

static inline int run_suite(Suite *s);

static inline int run_tests(const char *name, double timeout)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);

	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	for (size_t i = 0; i < test_count; i++)
		tcase_add_test(tc, test_list[i]);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

/*
 * The main() of a suite with child modes: with "--child MODE"
 * (run_self()), run MODE's entry of children; otherwise run_tests().
 */
static inline int run_self_child(const char *mode,
				 const struct self_child *table, size_t n);

static inline int test_main(int argc, char **argv, const char *name,
			    double timeout, const struct self_child *children,
			    size_t nchildren)
{
	self_argv0 = argv[0];
	if (argc >= 3 && strcmp(argv[1], "--child") == 0)
		return run_self_child(argv[2], children, nchildren);
	return run_tests(name, timeout);
}

/* main() of a suite with the child modes given, as { "mode", fn }. */
#define TEST_MAIN(suite, timeout, ...)                                       \
	int main(int argc, char **argv)                                      \
	{                                                                    \
		static const struct self_child children_[] = { __VA_ARGS__ }; \
                                                                             \
		return test_main(argc, argv, (suite), (timeout), children_,  \
				 sizeof(children_) / sizeof(children_[0]));  \
	}

/*
 * A test that runs this program's child mode with the "NAME=value"
 * settings given added to its environment, which must exit 0.
 */
#define SELF_TEST(test, mode, ...)                                           \
	TEST(test)                                                           \
	{                                                                    \
		static const char *const self_env_[] = { __VA_ARGS__, NULL }; \
                                                                             \
		ck_assert_self_ok((mode), self_env_);                        \
	}                                                                    \
	END_TEST

/* Run mode's entry of the table; 99 for a mode it does not have. */
static inline int run_self_child(const char *mode,
				 const struct self_child *table, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(mode, table[i].mode) == 0)
			return table[i].fn();
	return 99;
}

/* Are we running under valgrind (make check-valgrind)? */
/*
 * Bytes a test inspects although the contract leaves them undefined (an
 * object's contents as handed out again): defined, to memcheck.
 */
static inline void read_anyway(const void *p, size_t n)
{
#ifdef TEST_HAVE_MEMCHECK
	VALGRIND_MAKE_MEM_DEFINED(p, n);
#else
	(void)p;
	(void)n;
#endif
}

static inline bool on_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload") != NULL;
}

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define TEST_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define TEST_SANITIZER 1
#endif
#endif

/*
 * Is resident memory ours to measure?  Not under valgrind, nor with a
 * sanitizer's shadow memory and allocator quarantine beside it.
 */
static inline bool rss_is_meaningful(void)
{
#ifdef TEST_SANITIZER
	return false;
#else
	/*
	 * USLAB_REENTER=1 (make check-reenter): every callout allocates a
	 * few hundred objects, which stay in magazines and on slabs.
	 */
	return !on_valgrind() && !getenv("USLAB_REENTER");
#endif
}

/* Can the kernel fault pages in for writing in one call (Linux 5.14)? */
static inline bool kernel_populates(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool ok;

	ck_assert_ptr_ne(p, MAP_FAILED);
	ok = madvise(p, 4096, 23 /* MADV_POPULATE_WRITE */) == 0;
	munmap(p, 4096);
	return ok;
}

/* Is the page holding p resident? */
static inline bool page_resident(const void *p)
{
	unsigned char in_core = 0;

	ck_assert_int_eq(mincore((void *)((uintptr_t)p & ~(uintptr_t)4095), 4096,
				 &in_core), 0);
	return in_core & 1;
}

/* Resident bytes, in a Check test: /proc must say. */
static inline size_t rss_bytes(void)
{
	size_t rss = rss_bytes_quiet();

	ck_assert_uint_gt(rss, 0);
	return rss;
}

static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* USLAB_TESTUTIL_H */
