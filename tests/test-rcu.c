/* SPDX-License-Identifier: MIT */
/*
 * test-rcu.c - <uslab-rcu.h> on each liburcu flavour: built three times,
 * as test-rcu (memb, <urcu.h>), test-rcu-qsbr and test-rcu-bp.
 *
 * The promise under test: an object given to kfree_rcu() is not freed,
 * and so never handed out again, while a reader that could see it is in
 * its read-side critical section; it is freed once the reader leaves,
 * and rcu_barrier() waits for that.
 */
#if defined(TEST_RCU_QSBR)
#include <urcu-qsbr.h>
#define FLAVOUR "qsbr"
#elif defined(TEST_RCU_BP)
#include <urcu-bp.h>
#define FLAVOUR "bp"
#else
#include <urcu.h>
#define FLAVOUR "memb"
#endif
#include <uslab-rcu.h>

#include <pthread.h>
#include <semaphore.h>

#include "testutil.h"

/*
 * A thread that is registered but not reading: under QSBR it must say
 * so, or no grace period can end.  Other flavours need nothing.
 */
static void quiescent(void)
{
#ifdef TEST_RCU_QSBR
	rcu_quiescent_state();
#endif
}

static void register_me(void)
{
#ifndef TEST_RCU_BP
	rcu_register_thread();
#endif
}

static void unregister_me(void)
{
#ifndef TEST_RCU_BP
	rcu_unregister_thread();
#endif
}

struct item {
	long key;
	char payload[40];
	struct rcu_head rcu;
	long tail;
};

static struct kmem_cache *items;
static struct item *gp;
static sem_t reader_in, reader_may_leave, reader_out;
static _Atomic long reader_saw;

static uint64_t active(struct kmem_cache *c)
{
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };

	ck_assert_int_eq(uslab_cache_stats(c, &st), 0);
	return st.active_objs;
}

static void *reader(void *arg)
{
	struct item *p;

	(void)arg;
	register_me();
	rcu_read_lock();
	p = rcu_dereference(gp);
	sem_post(&reader_in);
	while (sem_wait(&reader_may_leave) != 0)
		;
	/* Still ours: nothing was freed under us, nothing reused it. */
	reader_saw = p->key + p->tail;
	rcu_read_unlock();
	sem_post(&reader_out);
	unregister_me();
	return NULL;
}

#define PROBES 4096

TEST(an_object_outlives_every_reader_that_could_see_it)
{
	static struct item *probe[PROBES];
	struct item *p;
	pthread_t t;
	uint64_t before;

	items = kmem_cache_create("rcu-item", sizeof(struct item), 0, 0, NULL);
	register_me();
	p = kmem_cache_alloc(items, GFP_KERNEL);
	p->key = 1234;
	p->tail = 5678;
	rcu_assign_pointer(gp, p);
	sem_init(&reader_in, 0, 0);
	sem_init(&reader_may_leave, 0, 0);
	sem_init(&reader_out, 0, 0);
	pthread_create(&t, NULL, reader, NULL);
	while (sem_wait(&reader_in) != 0)
		;

	/* Unpublish and free: the reader may still hold p. */
	rcu_assign_pointer(gp, NULL);
	before = active(items);
	kfree_rcu(p, rcu);

	/*
	 * For a while, push every free object of the cache into its slabs
	 * and take more than all of them: p must never be among them, and
	 * stays counted as active.
	 */
	for (int round = 0; round < 20; round++) {
		kmem_cache_shrink(items);
		for (int i = 0; i < PROBES; i++) {
			probe[i] = kmem_cache_alloc(items, GFP_KERNEL);
			ck_assert_ptr_ne(probe[i], p);
		}
		ck_assert_uint_eq(active(items), before + PROBES);
		for (int i = 0; i < PROBES; i++)
			kmem_cache_free(items, probe[i]);
		ck_assert_uint_eq(active(items), before);
		quiescent();
		usleep(5000);
	}
	ck_assert_int_eq(p->key, 1234);

	/* The reader leaves; the grace period can end. */
	sem_post(&reader_may_leave);
	while (sem_wait(&reader_out) != 0)
		;
	ck_assert_int_eq(reader_saw, 1234 + 5678);
	quiescent();
#ifdef TEST_RCU_QSBR
	rcu_thread_offline();	/* rcu_barrier() waits for grace periods */
#endif
	rcu_barrier();
#ifdef TEST_RCU_QSBR
	rcu_thread_online();
#endif
	/* Freed now: the cache counts it no more. */
	ck_assert_uint_eq(active(items), before - 1);
	pthread_join(t, NULL);
	unregister_me();
}
END_TEST

/* An rcu_head anywhere in any uslab block: the right object is freed. */
struct big {
	char before[(5u << 20) + 123];
	struct rcu_head rcu;
};

struct small {
	int x;
	struct rcu_head rcu;
	char after[100];
};

/*
 * Allocation profiling's lines for func's call sites that still hold
 * something; there must be lines for them (the four sites of the test
 * below), all debited by their objects' frees after the grace period.
 */
static unsigned int sites_still_holding(const char *func)
{
	char *buf = NULL, want[128];
	size_t len = 0, lines = 0;
	unsigned int holding = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(uslab_allocinfo(f), 0);
	fclose(f);
	snprintf(want, sizeof(want), " func:%s \n", func);
	for (char *l = buf; (l = strstr(l, want)) != NULL; l++) {
		char *start = l;
		long long bytes;
		unsigned long long calls;

		while (start > buf && start[-1] != '\n')
			start--;
		ck_assert_int_eq(sscanf(start, "%lld %llu", &bytes, &calls), 2);
		holding += bytes != 0 || calls != 0;
		lines++;
	}
	free(buf);
	ck_assert_uint_eq(lines, 4);
	return holding;
}

TEST(kvfree_rcu_frees_what_kmalloc_and_kvmalloc_gave)
{
	/*
	 * Counted in a cache of the program's own: kmalloc's caches may be
	 * served from per-thread magazines (where no rseq runs), whose
	 * objects count as active while the call_rcu thread holds them.
	 * Allocation profiling counts from the first of them on.
	 */
	int profiling = uslab_allocinfo_enable(true);
	struct kmem_cache *c = kmem_cache_create("rcu-small",
						 sizeof(struct small), 0, 0,
						 NULL);
	struct small *s[64], *k = kmalloc(sizeof(struct small), GFP_KERNEL);
	struct big *b = kvmalloc(sizeof(*b), GFP_KERNEL);
	void *plain[8];

	register_me();
	ck_assert_int_eq(profiling, 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(k);
	for (int i = 0; i < 64; i++) {
		s[i] = kmem_cache_alloc(c, GFP_KERNEL);
		s[i]->x = i;
	}
	for (int i = 0; i < 8; i++)
		plain[i] = kmem_cache_alloc(c, GFP_KERNEL);
	ck_assert_uint_eq(active(c), 72);
	for (int i = 0; i < 64; i++)
		kfree_rcu(s[i], rcu);
	kfree_rcu(k, rcu);
	/* What kvfree_rcu() finds the block by, from its rcu_head. */
	ck_assert_ptr_eq(uslab_object_start(&b->rcu), b);
	kvfree_rcu(b, rcu);	/* its rcu_head 5 MiB into the block */
	for (int i = 0; i < 8; i++)
		kfree_rcu_mightsleep(plain[i]);
	kvfree_rcu_mightsleep(NULL);
	kfree_rcu((struct small *)NULL, rcu);
#ifdef TEST_RCU_QSBR
	rcu_thread_offline();
#endif
	kvfree_rcu_barrier();
#ifdef TEST_RCU_QSBR
	rcu_thread_online();
#endif
	ck_assert_uint_eq(active(c), 0);
	/* The large block is no longer an allocated one. */
	ck_assert_ptr_null(uslab_object_start(&b->rcu));
	kmem_cache_destroy(c);
	unregister_me();
	ck_assert_uint_eq(sites_still_holding(__func__), 0);
}
END_TEST

static void kfree_rcu_of_a_foreign_object(void *arg)
{
	static struct small s;

	(void)arg;
	register_me();
	kfree_rcu(&s, rcu);
#ifdef TEST_RCU_QSBR
	rcu_thread_offline();
#endif
	rcu_barrier();
}

TEST(kfree_rcu_of_a_foreign_object_is_reported)
{
	ck_assert_aborts_with(kfree_rcu_of_a_foreign_object, NULL,
			      "BUG kvfree: Invalid object pointer");
}
END_TEST

/* Several writers replace and free while readers read, for a while. */
#define SLOTS 64
#define WRITERS 2
#define READERS 3

static struct item *slots[SLOTS];
static _Atomic int stop;
static _Atomic long bad_reads;

static void *churn_reader(void *arg)
{
	(void)arg;
	register_me();
	while (!stop) {
		rcu_read_lock();
		for (int i = 0; i < SLOTS; i++) {
			struct item *p = rcu_dereference(slots[i]);

			/* A freed and reused object would show another key. */
			if (p && (p->key != i || p->tail != -i))
				bad_reads++;
		}
		rcu_read_unlock();
		quiescent();
	}
	unregister_me();
	return NULL;
}

static void *churn_writer(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	register_me();
	for (int n = 0; n < 20000; n++) {
		int i = (int)(rand_r(&seed) % SLOTS);
		struct item *p = kmem_cache_alloc(items, GFP_KERNEL), *old;

		p->key = i;
		p->tail = -i;
		old = rcu_xchg_pointer(&slots[i], p);
		if (old) {
			kfree_rcu(old, rcu);
		}
		quiescent();
	}
	unregister_me();
	return NULL;
}

TEST(readers_never_see_an_object_reused_under_them)
{
	pthread_t r[READERS], w[WRITERS];

	items = kmem_cache_create("rcu-churn", sizeof(struct item), 0, 0, NULL);
	for (int i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, churn_reader, NULL);
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, churn_writer,
			       (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	stop = 1;
	for (int i = 0; i < READERS; i++)
		pthread_join(r[i], NULL);
	ck_assert_int_eq(bad_reads, 0);
	register_me();
	for (int i = 0; i < SLOTS; i++)
		kfree_rcu(slots[i], rcu);
#ifdef TEST_RCU_QSBR
	rcu_thread_offline();
#endif
	rcu_barrier();
	ck_assert_uint_eq(active(items), 0);
	unregister_me();
	kmem_cache_destroy(items);
}
END_TEST

/*
 * ThreadSanitizer cannot see a grace period: liburcu is not built with
 * it, and its barriers and futexes order a reader's last access before
 * the free that follows the grace period, so every free after one looks
 * like a race.  uslab's own concurrency is tested under ThreadSanitizer
 * by test-stress, test-rseq and the rest; this suite is skipped there.
 */
#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif

int main(void)
{
#ifdef TEST_TSAN
	puts("skipped: liburcu's grace periods are invisible to "
	     "ThreadSanitizer");
	return 77;
#endif
	return run_tests("rcu-" FLAVOUR, 120);
}
