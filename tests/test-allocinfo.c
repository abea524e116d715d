/* SPDX-License-Identifier: MIT */
/*
 * test-allocinfo.c - allocation profiling: exact bytes and live calls per
 * call site across alloc, free, krealloc, bulk, the large path, a cache
 * destroyed, threads freeing each other's objects and fork(); the
 * /proc/allocinfo format, parsed; turning it on and off; USLAB_ALLOCINFO.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "testutil.h"

/* p = AT(line, call): the call, with line set to the line it is on. */
#define AT(line, call) ((line) = __LINE__, (call))

struct site {
	long long bytes;
	unsigned long long calls;
	bool found;
};

/*
 * The table as uslab_allocinfo() writes it, checked line by line against
 * the kernel's format: two header lines, then "%12lli %8llu TAG \n".
 */
static char *table(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(uslab_allocinfo(f), 0);
	fclose(f);
	ck_assert_msg(strncmp(buf, "allocinfo - version: 1.0\n"
				   "#     <size>  <calls> <tag info>\n",
			      58) == 0,
		      "header: %.60s", buf);
	for (char *l = strchr(strchr(buf, '\n') + 1, '\n') + 1; *l;) {
		char *end = strchr(l, '\n');
		long long bytes;
		unsigned long long calls;
		int tag = 0;

		ck_assert_ptr_nonnull(end);
		ck_assert_msg(sscanf(l, "%12lld %8llu %n", &bytes, &calls,
				     &tag) == 2 && tag == 22,
			      "line: %.*s", (int)(end - l), l);
		ck_assert_msg(end[-1] == ' ' && strstr(l + tag, ":") &&
				      strstr(l + tag, " func:"),
			      "tag: %.*s", (int)(end - l), l);
		l = end + 1;
	}
	return buf;
}

/* The figures of this file's site at line in func. */
static struct site site_of(int line, const char *func)
{
	struct site s = { 0, 0, false };
	char *buf = table(), want[128];

	snprintf(want, sizeof(want), "test-allocinfo.c:%d func:%s \n", line,
		 func);
	for (char *l = buf; (l = strstr(l, want)) != NULL; l++) {
		char *start = l;

		while (start > buf && start[-1] != '\n')
			start--;
		/* The name must be whole: preceded by a path or a space. */
		if (l > start && l[-1] != '/' && l[-1] != ' ')
			continue;
		ck_assert_msg(!s.found, "site %s listed twice", want);
		ck_assert_int_eq(sscanf(start, "%lld %llu", &s.bytes, &s.calls),
				 2);
		s.found = true;
	}
	free(buf);
	return s;
}

static struct site untagged(void)
{
	struct site s = { 0, 0, false };
	char *buf = table(), *l = strstr(buf, " untagged:0 func:untagged \n");

	if (l) {
		while (l > buf && l[-1] != '\n')
			l--;
		ck_assert_int_eq(sscanf(l, "%lld %llu", &s.bytes, &s.calls), 2);
		s.found = true;
	}
	free(buf);
	return s;
}

#define ck_assert_site(line, func, b, c)                                     \
	do {                                                                 \
		struct site s_ = site_of((line), (func));                    \
		/* A site never counted has no line: it holds nothing. */    \
		ck_assert_msg(s_.found || ((b) == 0 && (c) == 0),            \
			      "no line for %s:%d", (func), (line));          \
		ck_assert_msg(s_.bytes == (long long)(b) &&                  \
				      s_.calls == (unsigned long long)(c),   \
			      "%s:%d holds %lld bytes in %llu calls, "       \
			      "expected %lld in %llu",                       \
			      (func), (line), s_.bytes, s_.calls,            \
			      (long long)(b), (unsigned long long)(c));      \
	} while (0)

static void setup(void)
{
	ck_assert_int_eq(uslab_allocinfo_enable(true), 0);
	ck_assert(uslab_allocinfo_enabled());
}

#define N 300

TEST(kmalloc_counts_bytes_of_its_class_and_live_calls)
{
	void *p[N];
	int line = 0;

	setup();
	for (int i = 0; i < N; i++)
		p[i] = AT(line, kmalloc(100, GFP_KERNEL));
	ck_assert_site(line, __func__, N * 128, N);
	for (int i = 0; i < N; i += 2)
		kfree(p[i]);
	ck_assert_site(line, __func__, N / 2 * 128, N / 2);
	for (int i = 1; i < N; i += 2)
		kfree(p[i]);
	ck_assert_site(line, __func__, 0, 0);
}
END_TEST

TEST(each_call_site_has_its_own_line)
{
	void *a, *b, *c;
	int la = 0, lb = 0, lc = 0;

	setup();
	a = AT(la, kzalloc(64, GFP_KERNEL));
	b = AT(lb, kcalloc(10, 64, GFP_KERNEL));
	c = AT(lc, kmalloc_array(3, 8, GFP_KERNEL));
	ck_assert_site(la, __func__, 64, 1);
	ck_assert_site(lb, __func__, 1024, 1);
	ck_assert_site(lc, __func__, 32, 1);
	kfree(a);
	kfree(b);
	kfree(c);
	ck_assert_site(la, __func__, 0, 0);
	ck_assert_site(lb, __func__, 0, 0);
}
END_TEST

TEST(a_cache_counts_its_object_slots)
{
	struct kmem_cache *c = kmem_cache_create("allocinfo-128", 128, 0, 0,
						 NULL);
	void *p[N];
	int line = 0, lz = 0;

	setup();
	for (int i = 0; i < N; i++)
		p[i] = AT(line, kmem_cache_alloc(c, GFP_KERNEL));
	ck_assert_site(line, __func__, N * 128, N);
	for (int i = 0; i < N; i++)
		kmem_cache_free(c, p[i]);
	p[0] = AT(lz, kmem_cache_zalloc(c, GFP_KERNEL));
	ck_assert_site(line, __func__, 0, 0);
	ck_assert_site(lz, __func__, 128, 1);
	kfree(p[0]);	/* kfree() of a cache object debits it too */
	ck_assert_site(lz, __func__, 0, 0);
	kmem_cache_destroy(c);
}
END_TEST

TEST(bulk_allocations_count_each_object)
{
	struct kmem_cache *c = kmem_cache_create("allocinfo-bulk", 64, 0, 0,
						 NULL);
	void *p[N];
	int line = 0, got;

	setup();
	got = AT(line, kmem_cache_alloc_bulk(c, GFP_KERNEL, N, p));
	ck_assert_int_eq(got, N);
	ck_assert_site(line, __func__, N * 64, N);
	kmem_cache_free_bulk(c, N / 3, p);
	ck_assert_site(line, __func__, (N - N / 3) * 64, N - N / 3);
	kfree_bulk(N - N / 3, p + N / 3);
	ck_assert_site(line, __func__, 0, 0);
	kmem_cache_destroy(c);
}
END_TEST

TEST(krealloc_moves_the_object_to_its_own_site)
{
	void *p;
	int la = 0, lb = 0, lc = 0;

	setup();
	p = AT(la, kmalloc(100, GFP_KERNEL));
	/* In place: still the first site's, as in the kernel. */
	p = AT(lb, krealloc(p, 120, GFP_KERNEL));
	ck_assert_site(la, __func__, 128, 1);
	ck_assert_site(lb, __func__, 0, 0);
	/* Moved: a new object, of krealloc()'s site. */
	p = AT(lc, krealloc(p, 5000, GFP_KERNEL));
	ck_assert_site(la, __func__, 0, 0);
	ck_assert_site(lc, __func__, 8192, 1);
	kfree(p);
	ck_assert_site(lc, __func__, 0, 0);
}
END_TEST

TEST(large_blocks_count_their_pages_and_follow_a_resize)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t big = (size_t)1 << 20;
	void *p, *q;
	int line = 0, lr = 0;

	setup();
	p = AT(line, kvmalloc(big + 1, GFP_KERNEL));
	ck_assert_site(line, __func__, big + (size_t)page, 1);
	p = AT(lr, krealloc(p, 4 * big, GFP_KERNEL));
	ck_assert_ptr_nonnull(p);
	/* A large block is resized, never copied: it keeps its site. */
	ck_assert_site(line, __func__, 4 * big, 1);
	ck_assert_site(lr, __func__, 0, 0);
	q = AT(lr, kvrealloc(p, big / 2, GFP_KERNEL));
	ck_assert_site(line, __func__, big / 2, 1);
	kvfree(q);
	ck_assert_site(line, __func__, 0, 0);
}
END_TEST

TEST(string_helpers_count_to_their_caller)
{
	char *s, *t, *u;
	int ls = 0, lt = 0, lu = 0;

	setup();
	s = AT(ls, kstrdup("allocation profiling", GFP_KERNEL));
	t = AT(lt, kstrndup("allocation profiling", 5, GFP_KERNEL));
	u = AT(lu, kmemdup("0123456789abcdefXYZ", 20, GFP_KERNEL));
	/* 21, 6 and 20 bytes: kmalloc-32, -8 and -32 */
	ck_assert_site(ls, __func__, 32, 1);
	ck_assert_site(lt, __func__, 8, 1);
	ck_assert_site(lu, __func__, 32, 1);
	kfree(s);
	kfree(t);
	kfree(u);
	ck_assert_site(ls, __func__, 0, 0);
	ck_assert_site(lu, __func__, 0, 0);
}
END_TEST

TEST(calls_without_a_tag_count_as_untagged)
{
	struct site before, after;
	void *p;

	setup();
	before = untagged();
	ck_assert(before.found);
	/* The function, not the macro: as a program built against 0.2. */
	p = (kmalloc)(200, GFP_KERNEL);
	after = untagged();
	ck_assert_int_eq(after.calls, before.calls + 1);
	ck_assert_int_eq(after.bytes, before.bytes + 256);
	kfree(p);
	after = untagged();
	ck_assert_int_eq(after.calls, before.calls);
}
END_TEST

TEST(off_counts_nothing_new_and_still_debits_what_it_counted)
{
	void *counted, *not_counted;
	int lc = 0, ln = 0;

	setup();
	counted = AT(lc, kmalloc(64, GFP_KERNEL));
	ck_assert_int_eq(uslab_allocinfo_enable(false), 0);
	ck_assert(!uslab_allocinfo_enabled());
	not_counted = AT(ln, kmalloc(64, GFP_KERNEL));
	ck_assert_site(lc, __func__, 64, 1);
	ck_assert(!site_of(ln, __func__).found);
	kfree(counted);
	kfree(not_counted);
	ck_assert_site(lc, __func__, 0, 0);
	/* On again: the site that was never counted appears. */
	ck_assert_int_eq(uslab_allocinfo_enable(true), 0);
	not_counted = AT(ln, kmalloc(64, GFP_KERNEL));
	ck_assert_site(ln, __func__, 64, 1);
	kfree(not_counted);
}
END_TEST

TEST(a_destroyed_cache_leaves_its_live_objects_counted)
{
	struct kmem_cache *c = kmem_cache_create("allocinfo-destroy", 256, 0,
						 0, NULL);
	void *p[N];
	int line = 0;

	setup();
	for (int i = 0; i < N; i++)
		p[i] = AT(line, kmem_cache_alloc(c, GFP_KERNEL));
	for (int i = 1; i < N; i++)
		kmem_cache_free(c, p[i]);
	/* One object still out: the kernel keeps it counted, and so do we. */
	kmem_cache_destroy(c);
	ck_assert_site(line, __func__, 256, 1);
	kmem_cache_free(c, p[0]);
	ck_assert_site(line, __func__, 0, 0);
}
END_TEST

/* Eight threads on two cores, each freeing what another allocated. */
#define THREADS 8
#define PER_THREAD 20000

static void *pool[THREADS][PER_THREAD];
static pthread_barrier_t barrier;
static int thread_line;

static void *thread_fn(void *arg)
{
	int me = (int)(intptr_t)arg, line = 0;

	for (int i = 0; i < PER_THREAD; i++)
		pool[me][i] = AT(line, kmalloc(48 + i % 64, GFP_KERNEL));
	if (me == 0)
		thread_line = line;	/* the same in every thread */
	pthread_barrier_wait(&barrier);		/* all allocated: read */
	pthread_barrier_wait(&barrier);		/* read: free */
	for (int i = 0; i < PER_THREAD; i++)
		kfree(pool[(me + 1) % THREADS][i]);
	return NULL;
}

TEST(threads_freeing_each_others_objects_keep_the_counts_exact)
{
	pthread_t t[THREADS];

	setup();
	pthread_barrier_init(&barrier, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_fn,
						(void *)(intptr_t)i), 0);
	pthread_barrier_wait(&barrier);
	{
		/* kmalloc-64 for 48..64, -96 for up to 96, -128 above */
		long long want = 0;

		for (int i = 0; i < PER_THREAD; i++) {
			int n = 48 + i % 64;

			want += n <= 64 ? 64 : n <= 96 ? 96 : 128;
		}
		ck_assert_site(thread_line, "thread_fn", want * THREADS,
			       THREADS * PER_THREAD);
	}
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&barrier);
	ck_assert_site(thread_line, "thread_fn", 0, 0);
}
END_TEST

/*
 * Readings while more threads than cores count and free, their slabs
 * made and given back (with their vectors) under the reader.
 */
#define CHURNERS 4
#define CHURN_BATCH 2000
#define CHURN_READS 20

static _Atomic int churn_line;
static _Atomic bool churn_stop;

static void *churn_fn(void *arg)
{
	static void *held[CHURNERS][CHURN_BATCH];
	void **mine = held[(intptr_t)arg];
	int line = 0;

	for (int r = 0; !atomic_load(&churn_stop); r++) {
		for (int i = 0; i < CHURN_BATCH; i++)
			mine[i] = AT(line, kmalloc(64, GFP_KERNEL));
		churn_line = line;
		for (int i = 0; i < CHURN_BATCH; i++)
			kfree(mine[i]);
		if (r % 8 == 7)
			uslab_shrink_all();	/* slabs given back */
	}
	return NULL;
}

TEST(a_reading_while_threads_count_is_a_consistent_snapshot)
{
	pthread_t t[CHURNERS];
	int seen = 0;

	setup();
	atomic_store(&churn_stop, false);
	for (int i = 0; i < CHURNERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn_fn,
						(void *)(intptr_t)i), 0);
	while (seen < CHURN_READS) {
		char *buf = table(), *l = strstr(buf, "func:churn_fn \n");

		if (l) {
			long long bytes;
			unsigned long long calls;

			while (l > buf && l[-1] != '\n')
				l--;
			ck_assert_int_eq(sscanf(l, "%lld %llu", &bytes, &calls), 2);
			/* Each object is counted whole, or not at all. */
			ck_assert_int_eq(bytes, 64 * (long long)calls);
			/* An object reused across a block read twice, at most. */
			ck_assert_uint_le(calls, 2ull * CHURNERS * CHURN_BATCH);
			seen++;
		}
		free(buf);
	}
	atomic_store(&churn_stop, true);
	for (int i = 0; i < CHURNERS; i++)
		pthread_join(t[i], NULL);
	ck_assert_site(churn_line, "churn_fn", 0, 0);
}
END_TEST

TEST(a_child_of_fork_counts_on_from_its_parents_figures)
{
	void *p;
	int line = 0;
	pid_t pid;
	int status;

	setup();
	p = AT(line, kmalloc(1000, GFP_KERNEL));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct site s = site_of(line, __func__);
		void *q = kmalloc_noprof(1000, GFP_KERNEL);

		kfree(p);
		kfree(q);
		_exit(s.found && s.bytes == 1024 && s.calls == 1 &&
				      site_of(line, __func__).calls == 0 ?
			      0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_site(line, __func__, 1024, 1);
	kfree(p);
}
END_TEST

TEST(bad_arguments)
{
	ck_assert_int_eq(uslab_allocinfo(NULL), -EINVAL);
}
END_TEST

/* --------------------------------------------- USLAB_ALLOCINFO, in children */

static int leak_line;

static int child_leaks(void)
{
	void *keep[3];

	if (!uslab_allocinfo_enabled())
		child_failed("not counting with USLAB_ALLOCINFO=%s",
			     getenv("USLAB_ALLOCINFO"));
	for (int i = 0; i < 3; i++)
		keep[i] = AT(leak_line, kmalloc(500, GFP_KERNEL));
	(void)keep;
	fprintf(stderr, "%d\n", leak_line);	/* first, for the parent */
	return child_failures;
}

static int child_off(void)
{
	if (uslab_allocinfo_enabled())
		child_failed("counting with USLAB_ALLOCINFO=%s",
			     getenv("USLAB_ALLOCINFO"));
	return child_failures;
}

TEST(allocinfo_exit_writes_the_table_with_the_leak_at_exit)
{
	static const char *const env[] = { "USLAB_ALLOCINFO=exit", NULL };
	struct captured cap;
	char want[96];
	char *l;

	run_self("leaks", env, &cap);
	ck_assert_msg(WIFEXITED(cap.status) && WEXITSTATUS(cap.status) == 0,
		      "%s", cap.out);
	l = strstr(cap.out, "allocinfo - version: 1.0\n");
	ck_assert_msg(l != NULL, "no table: %s", cap.out);
	/* The child wrote its site's line first. */
	snprintf(want, sizeof(want), "test-allocinfo.c:%d func:child_leaks \n",
		 atoi(cap.out));
	l = strstr(cap.out, want);
	ck_assert_msg(l != NULL, "no %s in %s", want, cap.out);
	while (l > cap.out && l[-1] != '\n')
		l--;
	ck_assert_msg(strncmp(l, "        1536        3 ", 22) == 0, "%s", l);
}
END_TEST

TEST(allocinfo_file_writes_the_table_to_the_file)
{
	char path[64], envv[96], want[64];
	const char *env[] = { envv, NULL };
	struct captured cap;
	char text[4096] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/test-allocinfo.%d", (int)getpid());
	snprintf(envv, sizeof(envv), "USLAB_ALLOCINFO=file:%s", path);
	run_self("leaks", env, &cap);
	ck_assert_msg(WIFEXITED(cap.status) && WEXITSTATUS(cap.status) == 0,
		      "%s", cap.out);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_gt(fread(text, 1, sizeof(text) - 1, f), 0);
	fclose(f);
	unlink(path);
	snprintf(want, sizeof(want), "test-allocinfo.c:%d func:child_leaks \n",
		 atoi(cap.out));
	ck_assert_msg(strncmp(text, "allocinfo - version: 1.0\n", 25) == 0,
		      "%s", text);
	ck_assert_msg(strstr(text, want) &&
			      strstr(text, "        1536        3 "),
		      "%s", text);
	ck_assert_msg(!strstr(cap.out, "allocinfo - version"),
		      "the table went to stderr too: %s", cap.out);
}
END_TEST

SELF_TEST(allocinfo_0_and_unset_count_nothing, "off", "USLAB_ALLOCINFO=0")

TEST(a_bad_allocinfo_value_is_reported_and_ignored)
{
	static const char *const env[] = { "USLAB_ALLOCINFO=sometimes", NULL };
	struct captured cap;

	run_self("off", env, &cap);
	ck_assert_msg(WIFEXITED(cap.status) && WEXITSTATUS(cap.status) == 0,
		      "%s", cap.out);
	expect_in(&cap, "USLAB_ALLOCINFO=sometimes ignored");
}
END_TEST

TEST_MAIN("allocinfo", 60, { "leaks", child_leaks }, { "off", child_off })
