/* SPDX-License-Identifier: MIT */
/*
 * test-stats.c - uslab_slabinfo() and uslab_cache_stats(), black-box.
 */
#include <uslab.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "testutil.h"

struct line {
	char name[128];
	unsigned long active, num, objsize, perslab, pages;
	unsigned long limit, batch, shared, active_slabs, slabs, sharedavail;
};

static int parse_line(const char *s, struct line *l)
{
	return sscanf(s,
		      "%127s %lu %lu %lu %lu %lu : tunables %lu %lu %lu : "
		      "slabdata %lu %lu %lu",
		      l->name, &l->active, &l->num, &l->objsize, &l->perslab,
		      &l->pages, &l->limit, &l->batch, &l->shared,
		      &l->active_slabs, &l->slabs, &l->sharedavail);
}

/* Run uslab_slabinfo() into a buffer; find the line of a cache. */
static char *slabinfo_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(uslab_slabinfo(f), 0);
	fclose(f);
	return buf;
}

static bool find_line(const char *text, const char *name, struct line *l)
{
	const char *s = text;

	while (s && *s) {
		if (parse_line(s, l) == 12 && strcmp(l->name, name) == 0)
			return true;
		s = strchr(s, '\n');
		if (s)
			s++;
	}
	return false;
}

TEST(slabinfo_has_the_kernel_format)
{
	char *text = slabinfo_text();
	char *save = NULL, *line;
	int n = 0;

	line = strtok_r(text, "\n", &save);
	ck_assert_str_eq(line, "slabinfo - version: 2.1");
	line = strtok_r(NULL, "\n", &save);
	ck_assert_str_eq(line,
			 "# name            <active_objs> <num_objs> <objsize> "
			 "<objperslab> <pagesperslab> : tunables <limit> "
			 "<batchcount> <sharedfactor> : slabdata <active_slabs> "
			 "<num_slabs> <sharedavail>");
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		struct line l;

		ck_assert_int_eq(parse_line(line, &l), 12);
		ck_assert_uint_le(l.active, l.num);
		ck_assert_uint_eq(l.num, l.perslab * l.slabs);
		ck_assert_uint_le(l.active_slabs, l.slabs);
		ck_assert_uint_ge(l.pages, 1);
		n++;
	}
	ck_assert_int_ge(n, 16);
	free(text);
}
END_TEST

TEST(slabinfo_lists_kmalloc_and_user_caches)
{
	static const char *const names[] = {
		"kmalloc-8",	"kmalloc-16",	 "kmalloc-32",	  "kmalloc-64",
		"kmalloc-96",	"kmalloc-128",	 "kmalloc-192",	  "kmalloc-256",
		"kmalloc-512",	"kmalloc-1024",	 "kmalloc-2048",  "kmalloc-4096",
		"kmalloc-8192", "kmalloc-16384", "kmalloc-32768", "kmalloc-65536",
		"kmem_cache",
	};
	struct kmem_cache *c = kmem_cache_create("widget", 40, 0, 0, NULL);
	void *objs[100];
	struct line l;
	char *text;

	for (int i = 0; i < 100; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	text = slabinfo_text();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(find_line(text, names[i], &l), "no %s", names[i]);
	ck_assert(find_line(text, "widget", &l));
	ck_assert_uint_eq(l.active, 100);
	ck_assert_uint_eq(l.objsize, 40);
	ck_assert_uint_eq(l.pages, 1);
	free(text);
	for (int i = 0; i < 100; i++)
		kmem_cache_free(c, objs[i]);
	kmem_cache_destroy(c);
	text = slabinfo_text();
	ck_assert(!find_line(text, "widget", &l));
	free(text);
}
END_TEST

TEST(slabinfo_reports_errors)
{
	FILE *full = fopen("/dev/full", "w");

	ck_assert_int_eq(uslab_slabinfo(NULL), -EINVAL);
	ck_assert_ptr_nonnull(full);
	ck_assert_int_eq(uslab_slabinfo(full), -EIO);
	fclose(full);
}
END_TEST

TEST(cache_stats_count_what_happens)
{
	struct kmem_cache *c = kmem_cache_create("counted", 128, 64, 0, NULL);
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	void *objs[1000];

	ck_assert_int_eq(uslab_cache_stats(c, &st), 0);
	ck_assert_str_eq(st.name, "counted");
	ck_assert_uint_eq(st.object_size, 128);
	ck_assert_uint_eq(st.size, 128);
	ck_assert_uint_eq(st.align, 64);
	ck_assert_uint_eq(st.allocs, 0);
	ck_assert_uint_eq(st.slabs, 0);
	for (int i = 0; i < 1000; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	uslab_cache_stats(c, &st);
	ck_assert_uint_eq(st.allocs, 1000);
	ck_assert_uint_eq(st.active_objs, 1000);
	ck_assert_uint_ge(st.num_objs, 1000);
	ck_assert_uint_eq(st.num_objs, st.slabs * st.objs_per_slab);
	/*
	 * The helper may give back slabs that magazines emptied while this
	 * thread was descheduled past the decay period (a loaded machine):
	 * every slab grown is here or was reaped.
	 */
	ck_assert_uint_eq(st.slabs + st.slabs_reaped, st.slabs_grown);
	ck_assert_uint_eq(st.bytes_mapped, st.slabs * st.slab_size);
	ck_assert_uint_ge(st.slab_refills, 1000 / st.magazine_size);
	ck_assert_uint_ge(st.alloc_fast, 1);
	for (int i = 0; i < 1000; i++)
		kmem_cache_free(c, objs[i]);
	uslab_cache_stats(c, &st);
	ck_assert_uint_eq(st.frees, 1000);
	ck_assert_uint_eq(st.active_objs, 0);
	ck_assert_uint_eq(st.alloc_failed, 0);
	kmem_cache_shrink(c);
	uslab_cache_stats(c, &st);
	ck_assert_uint_eq(st.slabs, 0);
	ck_assert_uint_eq(st.cached_objs, 0);
	ck_assert_uint_eq(st.slabs_reaped, st.slabs_grown);
	kmem_cache_destroy(c);
}
END_TEST

/*
 * Where the fast paths run as restartable sequences, allocations are not
 * counted but derived: frees plus the objects out.  Read while threads
 * (more than CPUs) allocate and free, handing a share of their objects
 * to a neighbour to free, the figures must stay sane; once the threads
 * are done, allocs - frees is the objects still out, and allocs is every
 * allocation made, barring the rare free counted twice.  Each thread
 * waits halfway for a reading, so that one is taken while it churns:
 * valgrind runs one thread at a time, and may otherwise run them all
 * to the end before the reader's first turn.
 */
#define CHURN_THREADS 6
#define CHURN_OPS 200000	/* a twentieth under valgrind */
#define CHURN_RING 64

struct churn_ring {
	void *_Atomic slot[CHURN_RING];
};

static struct kmem_cache *churn_cache;
static struct churn_ring churn_rings[CHURN_THREADS];
static _Atomic unsigned long churn_allocs;
static _Atomic int churn_done;
static _Atomic unsigned long churn_reads;

static void *churn(void *arg)
{
	unsigned int self = (unsigned int)(uintptr_t)arg;
	struct churn_ring *next = &churn_rings[(self + 1) % CHURN_THREADS];
	struct churn_ring *mine = &churn_rings[self];
	void *held[16] = { NULL };
	unsigned long made = 0;
	unsigned int ops = on_valgrind() ? CHURN_OPS / 20 : CHURN_OPS;

	for (unsigned int i = 0; i < ops; i++) {
		unsigned int k = i % 16;
		void *p;

		if (i == ops / 2)
			while (atomic_load(&churn_reads) == 0)
				sched_yield();
		if (held[k])
			kmem_cache_free(churn_cache, held[k]);
		held[k] = kmem_cache_alloc(churn_cache, GFP_KERNEL);
		made++;
		if (i % 8 == 0) {	/* one to the neighbour, one from it */
			p = kmem_cache_alloc(churn_cache, GFP_KERNEL);
			made++;
			p = atomic_exchange(&next->slot[i % CHURN_RING], p);
			if (p)
				kmem_cache_free(churn_cache, p);
			p = atomic_exchange(&mine->slot[i % CHURN_RING], NULL);
			if (p)
				kmem_cache_free(churn_cache, p);
		}
	}
	for (unsigned int k = 0; k < 16; k++)
		kmem_cache_free(churn_cache, held[k]);
	atomic_fetch_add(&churn_allocs, made);
	atomic_fetch_add(&churn_done, 1);
	return NULL;
}

TEST(derived_counts_hold_under_concurrent_churn)
{
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	pthread_t t[CHURN_THREADS];
	unsigned long out = 0;

	churn_cache = kmem_cache_create("churn", 48, 0, 0, NULL);
	ck_assert_ptr_nonnull(churn_cache);
	for (unsigned int i = 0; i < CHURN_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn,
						(void *)(uintptr_t)i), 0);
	while (atomic_load(&churn_done) < CHURN_THREADS) {
		ck_assert_int_eq(uslab_cache_stats(churn_cache, &st), 0);
		ck_require((st.alloc_fast) <= (st.allocs));
		ck_require((st.free_fast) <= (st.frees));
		ck_require((st.allocs) < ((uint64_t)1 << 40));
		atomic_fetch_add(&churn_reads, 1);
	}
	for (unsigned int i = 0; i < CHURN_THREADS; i++)
		pthread_join(t[i], NULL);
	for (unsigned int i = 0; i < CHURN_THREADS; i++)
		for (unsigned int k = 0; k < CHURN_RING; k++)
			out += atomic_load(&churn_rings[i].slot[k]) != NULL;
	ck_assert_int_eq(uslab_cache_stats(churn_cache, &st), 0);
	ck_assert_uint_ge(atomic_load(&churn_reads), 1);
	ck_assert_uint_eq(st.active_objs, out);
	ck_assert_uint_eq(st.allocs - st.frees, out);
	ck_assert_uint_ge(st.allocs, atomic_load(&churn_allocs));
	ck_assert_uint_le(st.allocs, atomic_load(&churn_allocs) + 100);
	for (unsigned int i = 0; i < CHURN_THREADS; i++)
		for (unsigned int k = 0; k < CHURN_RING; k++) {
			void *p = atomic_load(&churn_rings[i].slot[k]);

			if (p)
				kmem_cache_free(churn_cache, p);
		}
}
END_TEST

TEST(cache_stats_checks_its_arguments)
{
	struct kmem_cache *c = uslab_kmalloc_cache(64);
	struct uslab_cache_stats st = { .version = 0 };

	ck_assert_int_eq(uslab_cache_stats(c, &st), -EINVAL);
	st.version = USLAB_CACHE_STATS_VERSION + 1;
	ck_assert_int_eq(uslab_cache_stats(c, &st), -EINVAL);
	st.version = USLAB_CACHE_STATS_VERSION;
	ck_assert_int_eq(uslab_cache_stats(NULL, &st), -EINVAL);
	ck_assert_int_eq(uslab_cache_stats(c, NULL), -EINVAL);
	ck_assert_int_eq(uslab_cache_stats(c, &st), 0);
	ck_assert_str_eq(st.name, "kmalloc-64");
}
END_TEST

/* Run this program again as "child" with USLAB_STATS set; wait for it. */
static void run_child_with(const char *stats)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setenv("USLAB_STATS", stats, 1);
		execl(self_exe(), "test-stats", "child", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int child_main(int close_stderr)
{
	struct kmem_cache *c = kmem_cache_create("reported", 80, 0, 0, NULL);

	void *live = NULL;

	for (int i = 0; i < 500; i++) {
		void **o = kmem_cache_alloc(c, GFP_KERNEL);	/* left live */

		*o = live;
		live = o;
	}
	for (int i = 0; i < 300; i++)
		kfree(kmalloc(200, GFP_KERNEL));
	kfree(kmalloc(1 << 20, GFP_KERNEL));
	uslab_shrink_all();		/* 1 MiB and more back to the OS */
	if (close_stderr)
		close(STDERR_FILENO);	/* as coreutils do at exit */
	return 0;
}

static struct uslab_memory_stats memory_now(void)
{
	struct uslab_memory_stats m = { .version = USLAB_MEMORY_STATS_VERSION };

	ck_assert_int_eq(uslab_memory_stats(&m), 0);
	return m;
}

/* What the memory policy does shows in uslab_memory_stats(). */
TEST(memory_stats_show_what_the_policy_does)
{
	struct uslab_memory_stats bad = { .version = 99 }, m0, m1, m2;
	struct kmem_cache *c = kmem_cache_create("depot-fill", 256, 0, 0, NULL);
	static void *objs[20000];
	void *big;

	ck_assert_int_eq(uslab_memory_stats(NULL), -EINVAL);
	ck_assert_int_eq(uslab_memory_stats(&bad), -EINVAL);
	m0 = memory_now();
	ck_assert_uint_gt(m0.bytes_mapped, 0);

	/* A freed large block is kept, then reused without a fault. */
	big = kmalloc(3u << 20, GFP_KERNEL);
	memset(big, 1, 3u << 20);
	kfree(big);
	m1 = memory_now();
	ck_assert_uint_ge(m1.large_cached_bytes, 3u << 20);
	big = kmalloc(3u << 20, GFP_KERNEL);
	m2 = memory_now();
	ck_assert_uint_ge(m2.bytes_reused, m1.bytes_reused + (3u << 20));
	ck_assert_uint_eq(m2.faults_avoided, m2.bytes_reused / 4096);
	kfree(big);

	/* Freed objects fill magazines, which wait in the depot. */
	for (int i = 0; i < 20000; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	for (int i = 0; i < 20000; i++)
		kmem_cache_free(c, objs[i]);
	m1 = memory_now();
	ck_assert_uint_gt(m1.depot_bytes, 0);

	/* Given back at once by a shrink: returned grows, nothing waits. */
	kmem_cache_shrink(c);
	uslab_shrink_all();
	m2 = memory_now();
	ck_assert_uint_gt(m2.bytes_returned, m1.bytes_returned);
	ck_assert_uint_eq(m2.large_cached_bytes, 0);
	ck_assert_uint_eq(m2.resident_free_bytes, 0);
	kmem_cache_destroy(c);
}
END_TEST

TEST(uslab_stats_reports_at_exit)
{
	char path[] = "/tmp/uslab-stats-XXXXXX";
	char *text, *save = NULL, *line;
	int fd = mkstemp(path), found = 0;
	char spec[64];
	static char copy[65536];
	struct line l;

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", path);
	run_child_with(spec);
	{
		FILE *f = fopen(path, "r");
		static char buf[65536];
		size_t n;

		ck_assert_ptr_nonnull(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		text = buf;
	}
	unlink(path);
	strcpy(copy, text);	/* strtok_r() below cuts text up */
	ck_assert_ptr_nonnull(strstr(text, "slabinfo - version: 2.1\n"));
	ck_assert(find_line(text, "reported", &l));
	ck_assert_uint_eq(l.active, 500);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "kmalloc-256 allocs=300 frees=300 ", 33) == 0)
			found++;
		if (strncmp(line, "reported allocs=500 frees=0 ", 28) == 0)
			found++;
	}
	ck_assert_int_eq(found, 2);
	ck_assert_ptr_nonnull(strstr(copy, "\n# mapped bytes "));
	line = strstr(copy, "\n# returned bytes ");
	ck_assert_ptr_nonnull(line);
	ck_assert_uint_ge(strtoull(line + 18, NULL, 10), 1 << 20);
	ck_assert_ptr_nonnull(strstr(copy, "\n# reused bytes "));
	ck_assert_ptr_nonnull(strstr(copy, "(page faults avoided "));
	ck_assert_ptr_nonnull(strstr(copy, "\n# held: resident free slots "));
}
END_TEST

static void exec_child_closing_stderr(void *arg)
{
	(void)arg;
	setenv("USLAB_STATS", "1", 1);
	execl(self_exe(), "test-stats", "child", "close-stderr",
	      (char *)NULL);
}

TEST(uslab_stats_survives_a_closed_stderr)
{
	struct captured r;

	run_captured(exec_child_closing_stderr, NULL, &r);
	ck_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	ck_assert_ptr_nonnull(strstr(r.out, "# uslab statistics of process"));
	ck_assert_ptr_nonnull(strstr(r.out, "\nreported allocs=500 "));
}
END_TEST

int main(int argc, char **argv)
{
	self_argv0 = argv[0];
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child_main(argc > 2);
	return run_tests("stats", 0);
}
