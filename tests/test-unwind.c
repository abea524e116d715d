/* SPDX-License-Identifier: MIT */
/*
 * test-unwind.c - the cached CFI unwinder (cfi.h) and the stack depot
 * (depot.h): every stack it reads is the one libgcc reads, whatever the
 * frames' shapes, in many threads at once, in a forked child; a stack it
 * cannot read is handed to libgcc; the depot names a stack once.
 */
#include "config.h"

#include <alloca.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unwind.h>

#include "bug.h"
#include "depot.h"
#include "internal.h"
#include "testutil.h"
#include "cfi.h"

#define MAXF 64

struct walk {
	void *fast[MAXF], *gcc[MAXF];
	int nfast, ngcc;
};

/*
 * libgcc's unwinder, called directly: glibc's backtrace() is the same,
 * but the sanitizers replace it with their own, which counts a frame
 * more, and its first call loads libgcc with dlopen().
 */
struct gcc_state {
	void **frames;
	int n, max, skip;
};

static _Unwind_Reason_Code gcc_one(struct _Unwind_Context *ctx, void *arg)
{
	struct gcc_state *st = arg;
	uintptr_t ip = _Unwind_GetIP(ctx);

	if (!ip)
		return _URC_END_OF_STACK;
	if (st->skip) {
		st->skip--;		/* gcc_backtrace() itself */
		return _URC_NO_REASON;
	}
	st->frames[st->n++] = (void *)ip;
	return st->n < st->max ? _URC_NO_REASON : _URC_END_OF_STACK;
}

/* Like backtrace(): frames[0] is where its caller continues. */
__attribute__((noinline)) static int gcc_backtrace(void **frames, int max)
{
	struct gcc_state st = { frames, 0, max, 1 };

	_Unwind_Backtrace(gcc_one, &st);
	__asm__ volatile("" ::: "memory");	/* no tail call */
	return st.n;
}

/*
 * Both unwinders from one frame.  Each list's first entry is a return
 * address inside probe() itself, after its own call: they differ, and
 * are left out of the comparison.
 */
__attribute__((noinline)) static void probe(struct walk *w)
{
	w->nfast = us_unwind(w->fast, MAXF);
	w->ngcc = gcc_backtrace(w->gcc, MAXF);
	__asm__ volatile("" ::: "memory");	/* no tail call */
}

static bool walks_agree(const struct walk *w)
{
	if (w->nfast != w->ngcc || w->nfast < 2)
		return false;
	for (int i = 1; i < w->nfast; i++)
		if (w->fast[i] != w->gcc[i])
			return false;
	return true;
}

static void expect_agree(const struct walk *w, const char *what)
{
	if (walks_agree(w))
		return;
	for (int i = 0; i < MAXF && (i < w->nfast || i < w->ngcc); i++)
		fprintf(stderr, "%s %2d: %p %p\n", what, i,
			i < w->nfast ? w->fast[i] : NULL,
			i < w->ngcc ? w->gcc[i] : NULL);
	ck_abort_msg("%s: uslab read %d frames, libgcc %d, or they differ",
		     what, w->nfast, w->ngcc);
}

/* Frames of several shapes, called in turn down a recursion. */
static void descend(struct walk *w, unsigned int depth, unsigned int shape);

__attribute__((noinline, optimize("omit-frame-pointer"))) static void
shape_plain(struct walk *w, unsigned int depth, unsigned int shape)
{
	volatile char pad[40];

	pad[0] = (char)depth;
	descend(w, depth, shape + 1);
	__asm__ volatile("" : : "r"(pad) : "memory");
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) static void
shape_fp(struct walk *w, unsigned int depth, unsigned int shape)
{
	descend(w, depth, shape + 1);
	__asm__ volatile("" ::: "memory");
}

/* alloca: the CFA is on rbp, and rsp moves by a size known at run time. */
__attribute__((noinline)) static void
shape_alloca(struct walk *w, unsigned int depth, unsigned int shape)
{
	char *p = alloca(16 + depth * 24);

	memset(p, (int)depth, 16 + depth * 24);
	descend(w, depth, shape + 1);
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* Many callee-saved registers: a long prologue of pushes. */
__attribute__((noinline)) static void
shape_pushes(struct walk *w, unsigned int depth, unsigned int shape)
{
	__asm__ volatile("" ::: "rbx", "r12", "r13", "r14", "r15", "memory");
	descend(w, depth, shape + 1);
	__asm__ volatile("" ::: "rbx", "r12", "r13", "r14", "r15", "memory");
}

/* A large frame: the CFA offset needs more than a byte. */
__attribute__((noinline)) static void
shape_big(struct walk *w, unsigned int depth, unsigned int shape)
{
	volatile char big[70000];

	big[0] = (char)depth;
	big[sizeof(big) - 1] = 1;
	descend(w, depth, shape + 1);
	__asm__ volatile("" : : "r"(big) : "memory");
}

static __thread struct walk *qsort_walk;
static __thread unsigned int qsort_depth, qsort_shape;
static __thread bool qsort_done;

/* Through libc's frames: qsort() calls back. */
static int compare_and_descend(const void *a, const void *b)
{
	if (!qsort_done) {
		qsort_done = true;
		descend(qsort_walk, qsort_depth, qsort_shape);
	}
	return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) static void
shape_qsort(struct walk *w, unsigned int depth, unsigned int shape)
{
	int v[4] = { 3, 1, 2, 0 };

	qsort_walk = w;
	qsort_depth = depth;
	qsort_shape = shape + 1;
	qsort_done = false;
	qsort(v, 4, sizeof(v[0]), compare_and_descend);
}

static void descend(struct walk *w, unsigned int depth, unsigned int shape)
{
	static void (*const shapes[])(struct walk *, unsigned int,
				      unsigned int) = {
		shape_plain, shape_fp, shape_alloca, shape_pushes, shape_big,
		shape_qsort,
	};

	if (depth == 0) {
		probe(w);
		return;
	}
	shapes[shape % US_ARRAY_SIZE(shapes)](w, depth - 1, shape);
}

TEST(every_frame_shape_reads_as_libgcc_reads_it)
{
	struct walk w;

	/* Twice each: the first walk fills the rule cache, the next uses it. */
	for (unsigned int depth = 0; depth < 14; depth++)
		for (unsigned int start = 0; start < 6; start++)
			for (int again = 0; again < 2; again++) {
				char what[64];

				memset(&w, 0, sizeof(w));
				descend(&w, depth, start);
				snprintf(what, sizeof(what), "depth %u shape %u",
					 depth, start);
				expect_agree(&w, what);
			}
}
END_TEST

TEST(a_stack_longer_than_asked_is_cut_at_max)
{
	void *frames[3];
	struct walk w;

	descend(&w, 10, 0);
	ck_assert_int_gt(w.nfast, 10);
	ck_assert_int_eq(us_unwind(frames, 3), 3);
	ck_assert_int_eq(us_unwind(frames, 0), 0);
}
END_TEST

/* ------------------------------------------------------- signal frames */

static struct walk sig_walk;
static void *sig_stack[MAXF];
static unsigned int sig_n;
static volatile sig_atomic_t sig_fast;

static void on_signal(int sig)
{
	(void)sig;
	sig_fast = us_unwind(sig_walk.fast, MAXF);
	sig_walk.ngcc = gcc_backtrace(sig_walk.gcc, MAXF);
	sig_n = us_bug_stack(sig_stack, MAXF);
}

TEST(a_signal_frame_goes_to_libgcc)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	/* The kernel's signal frame has CFI of its own kind: not ours. */
	ck_assert_int_eq(sig_fast, -1);
	/* us_bug_stack() then reads it with libgcc, past the handler. */
	ck_assert_uint_ge(sig_n, 4);
	ck_assert_int_ge(sig_walk.ngcc, 4);
	/* Both end in the same outermost frames. */
	ck_assert_ptr_eq(sig_stack[sig_n - 1], sig_walk.gcc[sig_walk.ngcc - 1]);
	ck_assert_ptr_eq(sig_stack[sig_n - 2], sig_walk.gcc[sig_walk.ngcc - 2]);
}
END_TEST

/* ------------------------------------------------------------ threads */

#define THREADS 8		/* more than this machine's CPUs */

static _Atomic unsigned int thread_failures;

static void *thread_walks(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	for (int i = 0; i < 300; i++) {
		struct walk w;

		descend(&w, 1 + (seed + (unsigned int)i) % 12, seed + (unsigned int)i);
		if (!walks_agree(&w))
			atomic_fetch_add(&thread_failures, 1);
	}
	return NULL;
}

TEST(threads_fill_the_cache_at_once_and_agree)
{
	pthread_t t[THREADS];

	for (uintptr_t i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_walks,
						(void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(atomic_load(&thread_failures), 0);
}
END_TEST

TEST(a_forked_child_reads_stacks_too)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct walk w;

		descend(&w, 7, 2);
		_exit(walks_agree(&w) ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* -------------------------------------------------------------- depot */

TEST(the_depot_names_a_stack_once)
{
	void *a[4] = { (void *)0x1000, (void *)0x2000, (void *)0x3000,
		       (void *)0x4000 };
	void *b[4] = { (void *)0x1000, (void *)0x2000, (void *)0x3000,
		       (void *)0x4008 };
	void *const *got;
	unsigned int n;
	uint32_t ha = us_depot_save(a, 4), hb = us_depot_save(b, 4);

	ck_assert_uint_ne(ha, 0);
	ck_assert_uint_ne(hb, 0);
	ck_assert_uint_ne(ha, hb);
	ck_assert_uint_eq(us_depot_save(a, 4), ha);
	ck_assert_uint_ne(us_depot_save(a, 3), ha);	/* a prefix differs */
	got = us_depot_fetch(hb, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_mem_eq(got, b, sizeof(b));
	ck_assert_uint_eq(us_depot_save(a, 0), 0);
	ck_assert_ptr_null(us_depot_fetch(0, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(us_depot_fetch(0xfffffff0u, &n));
}
END_TEST

static void *depot_saves(void *arg)
{
	uintptr_t base = (uintptr_t)arg;

	for (uintptr_t i = 0; i < 20000; i++) {
		/* Half the stacks are every thread's, half its own. */
		void *f[3] = { (void *)(0x10000 + (i % 500) * 16),
			       (void *)(i % 2 ? base : 0x777),
			       (void *)(0x5000 + i % 7) };
		uint32_t h = us_depot_save(f, 3);
		unsigned int n;
		void *const *got = us_depot_fetch(h, &n);

		if (!got || n != 3 || memcmp(got, f, sizeof(f)) != 0)
			return (void *)1;
	}
	return NULL;
}

TEST(threads_save_the_same_stacks_at_once)
{
	pthread_t t[THREADS];
	uint64_t stacks0, stacks, bytes;

	us_depot_usage(&stacks0, &bytes);
	for (uintptr_t i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, depot_saves,
						(void *)(0x900000 + i * 64)), 0);
	for (int i = 0; i < THREADS; i++) {
		void *ret;

		pthread_join(t[i], &ret);
		ck_assert_ptr_null(ret);
	}
	us_depot_usage(&stacks, &bytes);
	/*
	 * A stack is i modulo 3500 (500 first frames, whose parity gives
	 * the second, by 7 last ones): 1750 with an even i, the same in
	 * every thread, and 1750 of each thread's own.  Each saved once.
	 */
	ck_assert_uint_eq(stacks - stacks0, 1750 + THREADS * 1750);
}
END_TEST

int main(void)
{
	return run_tests("unwind", 120);
}
