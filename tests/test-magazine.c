/* SPDX-License-Identifier: MIT */
/*
 * test-magazine.c - per-CPU magazines and the depot.
 *
 * Tests that count fast-path hits pin themselves to one CPU, so that the
 * slot they fill is the slot they empty.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache.h"
#include "cpu.h"
#include "magazine.h"
#include "os.h"
#include "reclaim.h"
#include "rseq.h"
#include "slab.h"
#include "testutil.h"

static void pin_to_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

/* Allocate n objects into objs, then free them all. */
static void cycle(struct kmem_cache *c, void **objs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		ck_require((objs[i] = us_mag_alloc(c)) != NULL);
	for (unsigned int i = 0; i < n; i++)
		us_mag_free(c, objs[i]);
}

/*
 * A new cache, not yet used, on the per-CPU magazines this file tests:
 * without rseq, a program's cache takes a thread-cache slot (tcache.c),
 * which this one gives up at once.
 */
static struct kmem_cache *make_new(unsigned int size)
{
	struct kmem_cache *c = kmem_cache_create("mag-test", size, 0, 0, NULL);

	ck_assert_ptr_nonnull(c);
	us_tcache_cache_destroy(c);
	return c;
}

/*
 * A cache in use: past its first, small magazine (magazine.c, "Magazine
 * sizes"), so that us_mag_capacity() is what its magazines hold.
 */
static struct kmem_cache *make(unsigned int size)
{
	struct kmem_cache *c = make_new(size);
	void *objs[US_MAG_FIRST_ROUNDS + 1];

	cycle(c, objs, US_MAG_FIRST_ROUNDS + 1);
	return c;
}

TEST(cpu_is_in_range)
{
	ck_assert_uint_ge(us_nr_cpus, 1);
	for (int i = 0; i < 1000; i++)
		ck_require((us_cpu_current()) < (us_nr_cpus));
	pin_to_cpu0();
	ck_assert_uint_eq(us_cpu_id(), 0);
	/* Where no rseq area tells it, a cached CPU catches up on refresh. */
	ck_assert_uint_eq(us_cpu_refresh(), 0);
	ck_assert_uint_eq(us_cpu_current(), 0);
}
END_TEST

TEST(steady_alloc_free_stays_on_the_fast_path)
{
	/*
	 * Not make(): its objects could leave the slot's top magazine
	 * with fewer than 40 rounds, and every round would cross into the
	 * other one, a slow path each time.
	 */
	struct kmem_cache *c = make_new(64);
	struct uslab_cache_stats before = { .version = USLAB_CACHE_STATS_VERSION };
	struct uslab_cache_stats after = before;
	uint64_t refills;
	void *objs[40];

	pin_to_cpu0();
	for (int round = 0; round < 3; round++) {	/* warm up */
		for (int i = 0; i < 40; i++)
			objs[i] = us_mag_alloc(c);
		for (int i = 0; i < 40; i++)
			us_mag_free(c, objs[i]);
	}
	ck_assert_int_eq(uslab_cache_stats(c, &before), 0);
	refills = c->slabs.refills;
	for (int round = 0; round < 1000; round++) {
		for (int i = 0; i < 40; i++)
			objs[i] = us_mag_alloc(c);
		for (int i = 0; i < 40; i++)
			us_mag_free(c, objs[i]);
	}
	ck_assert_int_eq(uslab_cache_stats(c, &after), 0);
	ck_assert_uint_eq(after.alloc_fast - before.alloc_fast, 40000);
	ck_assert_uint_eq(after.free_fast - before.free_fast, 40000);
	ck_assert_uint_eq(after.allocs - before.allocs, 40000);
	ck_assert_uint_eq(c->slabs.refills, refills);
	ck_assert_uint_eq(us_mag_validate(c), 0);
}
END_TEST

/*
 * A new cache's first magazine is small, and what its first refill
 * carves with it; the next magazine it needs has the full capacity
 * (magazine.c, "Magazine sizes").  Not with USLAB_REENTER=1: the first
 * refill's callout allocates enough of the cache to make its second
 * magazine at once.
 */
TEST(a_new_cache_starts_with_a_small_magazine)
{
	struct kmem_cache *c;
	void *objs[US_MAG_FIRST_ROUNDS + 1];
	struct us_slab_counts sc;

	if (getenv("USLAB_REENTER"))
		return;
	c = make_new(64);
	us_mag_free(c, us_mag_alloc(c));
	ck_assert_uint_eq(us_mag_capacity(c), US_MAG_FIRST_ROUNDS);
	us_slab_counts(c, &sc);
	ck_assert_uint_le(sc.inuse, US_MAG_FIRST_ROUNDS);
	ck_assert_uint_eq(us_mag_cached(c), sc.inuse);
	/* Outgrown: the next magazine is a full one. */
	cycle(c, objs, US_MAG_FIRST_ROUNDS + 1);
	ck_assert_uint_eq(us_mag_capacity(c), US_MAG_MAX_ROUNDS);
	cycle(c, objs, US_MAG_FIRST_ROUNDS + 1);
	ck_assert_uint_eq(us_mag_validate(c), 0);
	ck_assert_uint_eq(us_cache_validate(c), 0);
	kmem_cache_destroy(c);
}
END_TEST

TEST(two_magazines_absorb_a_boundary)
{
	struct kmem_cache *c = make(64);
	unsigned int cap = us_mag_capacity(c);
	void **objs = calloc(cap + 1, sizeof(void *));
	struct us_mag_counts before, after;

	pin_to_cpu0();
	/* Fill loaded exactly, then cross its boundary back and forth. */
	for (unsigned int i = 0; i <= cap; i++)
		objs[i] = us_mag_alloc(c);
	for (unsigned int i = 0; i <= cap; i++)
		us_mag_free(c, objs[i]);
	us_mag_counts(c, &before);
	for (int round = 0; round < 100; round++) {
		void *o = us_mag_alloc(c);

		us_mag_free(c, o);
		o = us_mag_alloc(c);
		us_mag_free(c, o);
	}
	us_mag_counts(c, &after);
	ck_assert_uint_eq(after.depot_full_taken, before.depot_full_taken);
	ck_assert_uint_eq(after.depot_empty_taken, before.depot_empty_taken);
	free(objs);
}
END_TEST

TEST(depot_trades_full_magazines)
{
	struct kmem_cache *c = make(128);
	unsigned int cap = us_mag_capacity(c), n = 5 * cap;
	void **objs = calloc(n, sizeof(void *));
	struct us_mag_counts mc;

	pin_to_cpu0();
	cycle(c, objs, n);
	ck_assert_uint_ge(c->depot.nfull, 2);
	ck_assert_uint_ge(us_mag_cached(c), n);	/* none flushed */
	for (unsigned int i = 0; i < n; i++)
		ck_require((objs[i] = us_mag_alloc(c)) != NULL);
	us_mag_counts(c, &mc);
	ck_assert_uint_ge(mc.depot_full_taken, 2);
	ck_assert_uint_eq(us_mag_validate(c), 0);
	free(objs);
}
END_TEST

TEST(depot_cap_bounds_what_magazines_hide)
{
	struct kmem_cache *c = make(64);
	unsigned int cap = us_mag_capacity(c), n = 40 * cap;
	void **objs = calloc(n, sizeof(void *));
	uint64_t bound;
	struct us_slab_counts sc;

	/* Push well past what the depot may keep: 4 MiB of objects. */
	n = (unsigned int)(US_DEPOT_MAX_BYTES / c->size) * 2;
	objs = realloc(objs, n * sizeof(void *));
	cycle(c, objs, n);
	bound = (uint64_t)(2 * us_nr_cpus + c->depot.max_full) * cap;
	ck_assert_uint_le((uint64_t)c->depot.max_full * cap * c->size,
			  US_DEPOT_MAX_BYTES);
	ck_assert_uint_le(us_mag_cached(c), bound);
	us_slab_counts(c, &sc);
	ck_assert_uint_eq(sc.inuse, us_mag_cached(c));
	ck_assert_uint_le(c->depot.nfull, c->depot.max_full);
	free(objs);
}
END_TEST

TEST(drain_returns_every_object_to_the_slabs)
{
	struct kmem_cache *c = make(32);
	enum { N = 5000 };
	static void *objs[N];
	struct us_slab_counts sc;

	for (int i = 0; i < N; i++)
		objs[i] = us_mag_alloc(c);
	for (int i = 0; i < N; i += 2)
		us_mag_free(c, objs[i]);
	us_mag_drain(c);
	ck_assert_uint_eq(us_mag_cached(c), 0);
	us_slab_counts(c, &sc);
	ck_assert_uint_eq(sc.inuse, N / 2);
	ck_assert_uint_eq(us_cache_validate(c), 0);
	/* Draining leaves the cache working. */
	for (int i = 0; i < N; i += 2)
		ck_require((objs[i] = us_mag_alloc(c)) != NULL);
	for (int i = 0; i < N; i++)
		us_mag_free(c, objs[i]);
	ck_assert_uint_eq(us_cache_validate(c), 0);
}
END_TEST

TEST(bulk_takes_from_magazines_then_slabs)
{
	struct kmem_cache *c = make(64);
	enum { N = 1000 };
	static void *objs[N];

	for (int i = 0; i < 10; i++)
		us_mag_free(c, us_mag_alloc(c));
	ck_assert_uint_eq(us_mag_alloc_bulk(c, objs, N), N);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N && j < i + 64; j++)
			ck_require((objs[i]) != (objs[j]));
	for (int i = 0; i < N; i++)
		us_mag_free(c, objs[i]);
	ck_assert_uint_eq(us_cache_validate(c), 0);
}
END_TEST

TEST(idle_depot_magazines_are_reaped)
{
	struct kmem_cache *c = make(64);
	unsigned int cap = us_mag_capacity(c), n = 10 * cap;
	void **objs = calloc(n, sizeof(void *));
	struct timespec tick = { 0, 20 * 1000000L };
	struct us_slab_counts sc;
	uint64_t after;

	cycle(c, objs, n);
	ck_assert_uint_ge(c->depot.nfull, 5);
	/* Still part of the working set: nothing goes. */
	us_mag_reap(c, us_os_now_ms() - us_decay_ms);
	ck_assert_uint_ge(c->depot.nfull, 5);
	nanosleep(&tick, NULL);
	after = us_os_now_ms();
	/* Idle since before the cutoff: flushed, and their slabs with them. */
	us_mag_reap(c, after);
	ck_assert_uint_eq(c->depot.nfull, 0);
	ck_assert_uint_eq(c->depot.nempty, 0);
	us_slab_counts(c, &sc);
	ck_assert_uint_le(sc.inuse, 2 * us_nr_cpus * cap);
	us_slab_reap(c, after, NULL);
	us_slab_counts(c, &sc);
	ck_assert_uint_eq(sc.empty, 0);
	ck_assert_uint_eq(us_cache_validate(c), 0);
	free(objs);
}
END_TEST

/*
 * The sweep drains a CPU slot whose use has stopped for the decay period
 * (us_mag_reap_slots()).  Pops from the slot's magazine are its use too,
 * though the sequences count none of them (rseq.h): a CPU that only
 * allocates must keep its magazines.  The test plays the sweep with
 * times of its own, so no other sweep may run meanwhile: none does here
 * (no helper, since uslab is not this program's malloc, and no slow path
 * to run one inline), except with USLAB_REENTER=1, whose callouts take
 * slow paths that sweep at the real time, and use c besides.
 */
TEST(a_slot_that_only_allocates_is_not_idle)
{
	struct kmem_cache *c;
	void *objs[40];
	uint64_t held;

	if (getenv("USLAB_REENTER"))
		return;
	pin_to_cpu0();		/* before make(): its objects stay on CPU 0 */
	c = make(64);
	for (int i = 0; i < 40; i++)
		objs[i] = us_mag_alloc(c);
	for (int i = 0; i < 40; i++)
		us_mag_free(c, objs[i]);
	held = us_mag_cached(c);
	ck_assert_uint_ge(held, 40);
	us_mag_reap_slots(c, 1000, 0);		/* seen in use at 1000 */
	for (int i = 0; i < 10; i++)
		objs[i] = us_mag_alloc(c);	/* pops only */
	us_mag_reap_slots(c, 5000, 4000);	/* in use again at 5000 */
	ck_assert_uint_eq(us_mag_cached(c), held - 10);
	us_mag_reap_slots(c, 9000, 8000);	/* idle since 5000: drained */
	ck_assert_uint_eq(us_mag_cached(c), 0);
	for (int i = 0; i < 10; i++)
		us_mag_free(c, objs[i]);
	ck_assert_uint_eq(us_cache_validate(c), 0);
}
END_TEST

static void pin_to(unsigned int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

/*
 * A sweep that finds many caches idle on a CPU empties their slots there
 * with one fence of that CPU, not one a cache (magazine.c, "Reaping
 * slots"): each fence is a membarrier() call and may interrupt the CPU.
 * The caches fill their slots of CPU 1; the sweeps run on CPU 0.  Where
 * no sequences run (no rseq, valgrind), nothing is fenced, and the test
 * still checks that every slot was emptied.
 */
enum { CACHES = 20 };

/* CACHES caches, each with objects in its magazines on CPU 1; on CPU 0. */
static void fill_slots_of_cpu1(struct kmem_cache **c)
{
	void *objs[8];

	pin_to(1);
	for (int i = 0; i < CACHES; i++) {
		c[i] = make(64);
		for (int j = 0; j < 8; j++)
			ck_require((objs[j] = kmem_cache_alloc(c[i], GFP_KERNEL)));
		for (int j = 0; j < 8; j++)
			kmem_cache_free(c[i], objs[j]);
		ck_assert_uint_ge(us_mag_cached(c[i]), 8);
	}
	pin_to(0);
}

TEST(a_sweep_fences_each_cpu_once)
{
	struct kmem_cache *c[CACHES];
	struct timespec tick = { 0, 30 * 1000000L };
	uint64_t fences;

	if (getenv("USLAB_REENTER") || us_nr_cpus < 2)
		return;
	fill_slots_of_cpu1(c);
	us_decay_ms = 10;
	us_reclaim_sweep_now();			/* sees the slots' counters */
	nanosleep(&tick, NULL);
	fences = us_rseq_fence_count();
	us_reclaim_sweep_now();			/* idle since the first: drained */
	fences = us_rseq_fence_count() - fences;
	ck_assert_msg(fences <= us_nr_cpus - 1,
		      "a sweep of %d idle caches made %llu fences", CACHES,
		      (unsigned long long)fences);
	for (int i = 0; i < CACHES; i++) {
		ck_assert_uint_eq(us_mag_cached(c[i]), 0);
		ck_assert_uint_eq(us_cache_validate(c[i]), 0);
		kmem_cache_destroy(c[i]);
	}
}
END_TEST

/* The same for uslab_shrink_all(), which malloc_trim() calls. */
TEST(shrinking_every_cache_fences_each_cpu_once)
{
	struct kmem_cache *c[CACHES];
	uint64_t fences;

	if (us_nr_cpus < 2)
		return;
	fill_slots_of_cpu1(c);
	fences = us_rseq_fence_count();
	ck_assert_uint_gt(uslab_shrink_all(), 0);
	fences = us_rseq_fence_count() - fences;
	ck_assert_msg(fences <= us_nr_cpus - 1,
		      "shrinking %d caches made %llu fences", CACHES,
		      (unsigned long long)fences);
	for (int i = 0; i < CACHES; i++) {
		struct uslab_cache_stats st = {
			.version = USLAB_CACHE_STATS_VERSION
		};

		ck_assert_uint_eq(us_mag_cached(c[i]), 0);
		ck_assert_int_eq(uslab_cache_stats(c[i], &st), 0);
		ck_assert_uint_eq(st.slabs, 0);
		kmem_cache_destroy(c[i]);
	}
}
END_TEST

/*
 * A cache about to grow takes room from the caches of its slab order
 * whose objects have all come back: their depots and CPU slots go back
 * to their slabs, and the slabs that empties to the page layer, so that
 * a program that works in phases, one size at a time, does not hold
 * every phase's memory at once.  A cache with an object in use keeps
 * its depot.
 */
TEST(a_growing_cache_takes_room_from_caches_with_nothing_in_use)
{
	struct kmem_cache *c[3], *done, *mine, *busy, *grows;
	unsigned int cap, n;
	struct us_slab_counts sc;
	void **objs[3], *kept;

	pin_to_cpu0();
	us_decay_ms = 3600 * 1000;	/* nothing ages out meanwhile */
	c[0] = done = make(256);
	/* Without rseq, this one's objects go to this thread's cache. */
	c[1] = mine = kmem_cache_create("mag-test-mine", 256, 0, 0, NULL);
	ck_assert_ptr_nonnull(mine);
	c[2] = busy = make(256);
	grows = make_new(256);
	cap = us_mag_capacity(done);
	n = 10 * cap;
	/* All three grow before any has a depot, which a growth would take. */
	for (int k = 0; k < 3; k++) {
		objs[k] = calloc(n, sizeof(void *));
		ck_assert_ptr_nonnull(objs[k]);
		for (unsigned int i = 0; i < n; i++)
			ck_require((objs[k][i] = us_mag_alloc(c[k])) != NULL);
	}
	for (int k = 0; k < 3; k++)
		for (unsigned int i = 0; i < n; i++)
			us_mag_free(c[k], objs[k][i]);
	kept = us_mag_alloc(busy);
	ck_assert_ptr_nonnull(kept);
	ck_assert_uint_ge(done->depot.nfull, 5);
	ck_assert_uint_ge(busy->depot.nfull, 5);
	for (unsigned int i = 0; i < n; i++)
		ck_require((objs[0][i] = us_mag_alloc(grows)) != NULL);
	/*
	 * done's depot and its CPU slots' magazines went back to its slabs,
	 * and every slab, emptied, on: nothing of done is left.
	 */
	ck_assert_uint_eq(done->depot.nfull, 0);
	ck_assert_uint_eq(us_mag_cached(done), 0);
	us_slab_counts(done, &sc);
	ck_assert_uint_eq(sc.inuse, 0);
	ck_assert_uint_eq(sc.partial + sc.full + sc.empty, 0);
	/* And the objects of mine in this thread's cache, the grower's. */
	ck_assert_uint_eq(us_mag_cached(mine) + us_tcache_cached(mine), 0);
	us_slab_counts(mine, &sc);
	ck_assert_uint_eq(sc.inuse, 0);
	/* busy's object in use kept it whole. */
	ck_assert_uint_ge(busy->depot.nfull, 5);
	us_mag_free(busy, kept);
	for (unsigned int i = 0; i < n; i++)
		us_mag_free(grows, objs[0][i]);
	ck_assert_uint_eq(us_cache_validate(done), 0);
	ck_assert_uint_eq(us_cache_validate(mine), 0);
	ck_assert_uint_eq(us_cache_validate(busy), 0);
	ck_assert_uint_eq(us_cache_validate(grows), 0);
	for (int k = 0; k < 3; k++)
		free(objs[k]);
}
END_TEST

/*
 * Two classes used in turn, each freed whole before the other grows: the
 * second takes the first's room, and the first, growing again, does not
 * take it back, so that neither refills from its slabs at every turn
 * (bench/README.md, "Phases": what taking room costs a program that
 * alternates).
 */
TEST(a_cache_does_not_take_back_room_from_the_cache_that_took_its_own)
{
	struct kmem_cache *a, *b;
	unsigned int cap, n;
	void **objs;

	pin_to_cpu0();
	us_decay_ms = 3600 * 1000;	/* nothing ages out meanwhile */
	a = make(256);
	b = make(256);
	/*
	 * Start with neither holding room the other could take, nor marked
	 * as having taken the other's: their making may have done both (and
	 * under USLAB_REENTER the callouts allocate more of each).
	 */
	kmem_cache_shrink(a);
	kmem_cache_shrink(b);
	a->room_taker = b->room_taker = 0;
	cap = us_mag_capacity(a);
	n = 10 * cap;
	objs = calloc(n, sizeof(void *));
	ck_assert_ptr_nonnull(objs);
	cycle(a, objs, n);
	ck_assert_uint_ge(a->depot.nfull, 5);
	cycle(b, objs, n);		/* b grows into a's room */
	ck_assert_uint_eq(a->depot.nfull, 0);
	ck_assert_uint_ge(b->depot.nfull, 5);
	for (unsigned int i = 0; i < n; i++)	/* a grows: b keeps its own */
		ck_require((objs[i] = us_mag_alloc(a)) != NULL);
	ck_assert_uint_ge(b->depot.nfull, 5);
	for (unsigned int i = 0; i < n; i++)
		us_mag_free(a, objs[i]);
	ck_assert_uint_eq(us_cache_validate(a), 0);
	ck_assert_uint_eq(us_cache_validate(b), 0);
	free(objs);
}
END_TEST

/*
 * Statistics count what every CPU's slot holds without fencing the CPU:
 * a monitor reading every cache each second would otherwise interrupt
 * every CPU at work once per cache.  The count is still exact here,
 * where no sequence runs meanwhile.
 */
TEST(statistics_fence_no_cpu)
{
	struct kmem_cache *c = make(64);
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	uint64_t fences;
	void *objs[8];

	if (us_nr_cpus < 2)
		return;
	pin_to(1);
	for (int j = 0; j < 8; j++)
		ck_require((objs[j] = kmem_cache_alloc(c, GFP_KERNEL)));
	for (int j = 0; j < 3; j++)
		kmem_cache_free(c, objs[j]);
	pin_to(0);
	fences = us_rseq_fence_count();
	ck_assert_int_eq(uslab_cache_stats(c, &st), 0);
	ck_assert_uint_eq(us_rseq_fence_count(), fences);
	ck_assert_uint_eq(st.cached_objs, us_mag_cached(c));
	ck_assert_uint_eq(st.active_objs, 5);
	for (int j = 3; j < 8; j++)
		kmem_cache_free(c, objs[j]);
	ck_assert_int_eq(uslab_cache_stats(c, &st), 0);
	ck_assert_uint_eq(st.active_objs, 0);
	ck_assert_uint_eq(us_rseq_fence_count(), fences);
	ck_assert_uint_eq(us_cache_validate(c), 0);
}
END_TEST

static _Atomic int ctor_calls;

static void counting_ctor(void *p)
{
	(void)p;
	atomic_fetch_add(&ctor_calls, 1);
}

TEST(a_working_set_is_kept_and_not_reconstructed)
{
	struct kmem_cache *c;
	void *objs[1000];
	int after_first = 0;

	pin_to_cpu0();
	c = kmem_cache_create("working-set", 256, 0, 0, counting_ctor);
	/*
	 * A pause as long as the decay period between two rounds would let
	 * the slabs go back to the OS, as they should; on a loaded machine
	 * that can happen, so the period is made an hour for this test.
	 */
	us_decay_ms = 3600 * 1000;
	for (int round = 0; round < 200; round++) {
		cycle(c, objs, 1000);
		if (round == 0)
			after_first = atomic_load(&ctor_calls);
	}
	/* Slabs made for the first round serve all the others. */
	ck_assert_int_eq(atomic_load(&ctor_calls), after_first);
}
END_TEST

/*
 * fork() writes no magazine: the handlers close every slot before the
 * fork and open it again after, in the parent and in the child, on its
 * settled top, with no write-back of the count into the loaded
 * magazine.  Each such write would copy the magazine's page on both
 * sides, for every slot of every cache, at every fork of a program that
 * forks (a shell).  The loaded magazine's pages are made read-only
 * across the fork: a handler that writes there dies of SIGSEGV.  Where
 * no sequences run (no rseq, valgrind), slots are not opened or closed,
 * and the fork must work all the same.
 */
TEST(fork_writes_no_magazine)
{
	/*
	 * Not make(): its objects could leave fewer than 8 rounds in the
	 * slot's magazines, and a refill among the pops below would run
	 * USLAB_REENTER=1's callout, which takes and gives back objects of
	 * the cache in an order of its own.
	 */
	struct kmem_cache *c = make_new(64);
	void *objs[8];
	struct us_mag *m;
	uintptr_t page = (uintptr_t)us_page_size, lo = 0, hi = 0;
	bool live = us_mag_slots_live();
	int status;
	pid_t pid;

	pin_to_cpu0();
	for (int i = 0; i < 8; i++)
		ck_require((objs[i] = us_mag_alloc(c)) != NULL);
	for (int i = 0; i < 8; i++)
		us_mag_free(c, objs[i]);
	if (live) {
		m = c->cpu[0].loaded;
		ck_assert_ptr_ne(m, &us_mag_sentinel);
		lo = (uintptr_t)m & ~(page - 1);
		hi = ((uintptr_t)&m->objs[m->capacity] + page - 1) & ~(page - 1);
		ck_assert_int_eq(mprotect((void *)lo, hi - lo, PROT_READ), 0);
	}
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (live)
		ck_assert_int_eq(mprotect((void *)lo, hi - lo,
					  PROT_READ | PROT_WRITE), 0);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the child's fork handler died (status %#x)", status);
	/* The slot still serves its rounds, in order. */
	for (int i = 8; i-- > 0;)
		ck_assert_ptr_eq(us_mag_alloc(c), objs[i]);
	for (int i = 0; i < 8; i++)
		us_mag_free(c, objs[i]);
	ck_assert_uint_eq(us_cache_validate(c), 0);
	kmem_cache_destroy(c);
}
END_TEST

static void free_top_twice(void *arg)
{
	struct kmem_cache *c = arg;
	void *a = us_mag_alloc(c), *b = us_mag_alloc(c);

	us_mag_free(c, a);
	us_mag_free(c, b);
	us_mag_free(c, b);
}

TEST(double_free_on_top_of_a_magazine_is_caught)
{
	pin_to_cpu0();
	ck_assert_aborts_with(free_top_twice, make(64),
			      "BUG mag-test: Object already free");
}
END_TEST

/*
 * Where no sequence runs, kmalloc's caches are served from the thread's
 * own magazines at its slot's top, inline (tcache.h): a pop takes
 * top[-1], a push stores at top.  Whatever path an operation takes, it
 * leaves top and end on the loaded magazine: top within its rounds' room,
 * its guard word below the first round; giving the magazines back leaves
 * the sentinel, on which both fast paths fail.  Where the sequences run,
 * and under valgrind, the thread has no cache for the fast paths.
 */
static void expect_slot_whole(const struct kmem_cache *c,
			      const struct us_tcache_slot *s)
{
	const struct us_mag *m = s->loaded;

	ck_assert_msg(s->top >= m->objs && s->top <= s->end &&
			      s->end <= m->objs + m->capacity,
		      "top %td and end %td of a magazine of %u rounds",
		      s->top - m->objs, s->end - m->objs, m->capacity);
	ck_assert_ptr_null(m->guard);
	ck_assert_uint_ne(c->tc_index, 0);
}

TEST(a_thread_cache_serves_at_its_slots_top)
{
	struct kmem_cache *c = uslab_kmalloc_cache(64);
	enum { N = 1200 };	/* past a refill and a flush, any capacity */
	static void *objs[N];
	struct us_tcache_slot *s;
	void **top, *p;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(p = us_mag_alloc(c));	/* makes the cache */
	us_mag_free(c, p);
	if (us_mag_slots_live() || US_VG) {
		ck_assert_ptr_null(us_tcache_fast);
		return;
	}
	if (!c->tc_index)
		return;		/* a debug cache: the per-CPU paths */
	ck_assert_ptr_nonnull(us_tcache_fast);
	s = &us_tcache_fast->slot[c->tc_index];
	expect_slot_whole(c, s);

	/* The free left p on top; the pop takes it, the push puts it back. */
	top = s->top;
	ck_assert_ptr_eq(top[-1], p);
	ck_assert_ptr_eq(us_mag_alloc(c), p);
	ck_assert_ptr_eq(s->top, top - 1);
	us_mag_free(c, p);
	ck_assert_ptr_eq(s->top, top);
	ck_assert_ptr_eq(top[-1], p);

	/*
	 * Across the slow paths: empty, refilled, full, traded; the second
	 * round trades with the magazines the first gave the depot, and
	 * swaps loaded and previous.
	 */
	for (int round = 0; round < 2; round++) {
		for (unsigned int i = 0; i < N; i++) {
			ck_assert_ptr_nonnull(objs[i] = us_mag_alloc(c));
			expect_slot_whole(c, s);
		}
		for (unsigned int i = 0; i < N; i++) {
			us_mag_free(c, objs[i]);
			expect_slot_whole(c, s);
			ck_assert_ptr_eq(s->top[-1], objs[i]);
		}
	}

	/* Given back (malloc_trim()): the sentinel, then served again. */
	uslab_shrink_all();
	ck_assert_ptr_eq(s->loaded, &us_mag_sentinel);
	ck_assert_ptr_eq(s->top, s->end);
	ck_assert_ptr_nonnull(p = us_mag_alloc(c));
	expect_slot_whole(c, s);
	us_mag_free(c, p);
	ck_assert_ptr_eq(s->top[-1], p);
	ck_assert_uint_eq(us_cache_validate(c), 0);
}
END_TEST

/*
 * Without rseq, a program's own cache is served from the thread caches
 * too (tcache.c): another thread's magazines hold what it freed, the
 * statistics count them as cached, not in use, and kmem_cache_destroy()
 * takes them back, from a thread that is still alive, and frees the
 * cache's slot for the next cache.  Run in a child, whose reports are
 * read.
 */
struct holder {
	struct kmem_cache *c;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stage;		/* 1: freed; 2: destroyed; 3: checked */
	bool slot_emptied;
};

static void holder_wait(struct holder *h, int stage)
{
	pthread_mutex_lock(&h->lock);
	while (h->stage < stage)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

static void holder_set(struct holder *h, int stage)
{
	pthread_mutex_lock(&h->lock);
	h->stage = stage;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void *holder_thread(void *arg)
{
	struct holder *h = arg;
	uint32_t index = h->c->tc_index;
	static void *objs[500];

	for (unsigned int i = 0; i < 500; i++)
		if (!(objs[i] = kmem_cache_alloc(h->c, GFP_KERNEL)))
			return NULL;
	for (unsigned int i = 0; i < 500; i++)
		kmem_cache_free(h->c, objs[i]);
	holder_set(h, 1);
	holder_wait(h, 2);
	h->slot_emptied =
		us_tcache_fast->slot[index].loaded == &us_mag_sentinel;
	holder_set(h, 3);
	return NULL;
}

static void destroy_while_a_thread_holds(void *arg)
{
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	struct holder h = { .lock = PTHREAD_MUTEX_INITIALIZER,
			    .cond = PTHREAD_COND_INITIALIZER };
	struct kmem_cache *next;
	uint32_t index;
	pthread_t t;

	(void)arg;
	h.c = kmem_cache_create("held", 64, 0, 0, NULL);
	index = h.c->tc_index;
	if (index < US_TCACHE_FIRST_USER)
		_exit(10);
	if (pthread_create(&t, NULL, holder_thread, &h) != 0)
		_exit(11);
	holder_wait(&h, 1);
	if (uslab_cache_stats(h.c, &st) != 0 || st.active_objs != 0 ||
	    st.cached_objs < 500) {
		fprintf(stderr, "active %llu, cached %llu\n",
			(unsigned long long)st.active_objs,
			(unsigned long long)st.cached_objs);
		_exit(12);
	}
	kmem_cache_destroy(h.c);
	holder_set(&h, 2);
	holder_wait(&h, 3);
	pthread_join(t, NULL);
	if (!h.slot_emptied)
		_exit(13);
	next = kmem_cache_create("next", 64, 0, 0, NULL);
	if (!next || next->tc_index != index)
		_exit(14);
	kmem_cache_destroy(next);
	_exit(0);
}

/* Run fn in a child, which must exit 0 with no cache left holding objects. */
static void expect_clean_exit(void (*fn)(void *))
{
	struct captured cap;

	run_captured(fn, NULL, &cap);
	ck_assert_msg(WIFEXITED(cap.status) && WEXITSTATUS(cap.status) == 0,
		      "status 0x%x: %s", cap.status, cap.out);
	ck_assert_msg(!strstr(cap.out, "still has objects"), "%s", cap.out);
}

TEST(a_programs_cache_uses_the_thread_caches_without_rseq)
{
	if (us_mag_slots_live() || US_VG)
		return;		/* the per-CPU paths serve every cache */
	expect_clean_exit(destroy_while_a_thread_holds);
}
END_TEST

/*
 * A program's caches beyond sixteen take the thread caches too, 256 of
 * them at a time, in a thread whose cache was made before they were: its
 * slots of them, never written until then, are made empty when each
 * cache is made.
 */
#define MANY_CACHES 40

struct many {
	struct kmem_cache *c[MANY_CACHES];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stage;		/* 1: thread cache made; 2: caches made */
	int failed;		/* the first cache whose slot stayed empty, + 1 */
};

static void many_set(struct many *m, int stage)
{
	pthread_mutex_lock(&m->lock);
	m->stage = stage;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

static void many_wait(struct many *m, int stage)
{
	pthread_mutex_lock(&m->lock);
	while (m->stage < stage)
		pthread_cond_wait(&m->cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
}

static void *many_thread(void *arg)
{
	struct many *m = arg;
	void *objs[10];

	kfree(kmalloc(32, GFP_KERNEL));		/* makes the thread's cache */
	many_set(m, 1);
	many_wait(m, 2);
	for (int k = 0; k < MANY_CACHES; k++) {
		for (int i = 0; i < 10; i++)
			objs[i] = kmem_cache_alloc(m->c[k], GFP_KERNEL);
		for (int i = 0; i < 10; i++)
			kmem_cache_free(m->c[k], objs[i]);
		if (!m->failed && us_tcache_fast->slot[m->c[k]->tc_index].loaded ==
				  &us_mag_sentinel)
			m->failed = k + 1;
	}
	return NULL;
}

static void many_caches_in_an_older_thread(void *arg)
{
	struct many m = { .lock = PTHREAD_MUTEX_INITIALIZER,
			  .cond = PTHREAD_COND_INITIALIZER };
	pthread_t t;

	(void)arg;
	if (pthread_create(&t, NULL, many_thread, &m) != 0)
		_exit(10);
	many_wait(&m, 1);
	for (int k = 0; k < MANY_CACHES; k++) {
		char name[32];

		snprintf(name, sizeof(name), "many-%d", k);
		m.c[k] = kmem_cache_create(name, 64, 0, 0, NULL);
		if (!m.c[k] || m.c[k]->tc_index < US_TCACHE_FIRST_USER) {
			fprintf(stderr, "cache %d has no thread-cache slot\n", k);
			_exit(11);
		}
	}
	many_set(&m, 2);
	pthread_join(t, NULL);
	if (m.failed) {
		fprintf(stderr, "cache %d was not served from the thread's "
			"cache\n", m.failed - 1);
		_exit(12);
	}
	for (int k = 0; k < MANY_CACHES; k++)
		kmem_cache_destroy(m.c[k]);
	_exit(0);
}

TEST(many_caches_take_the_thread_caches_of_threads_made_before_them)
{
	if (us_mag_slots_live() || US_VG)
		return;		/* the per-CPU paths serve every cache */
	expect_clean_exit(many_caches_in_an_older_thread);
}
END_TEST

/*
 * A thread that stops using a cache gives its magazines of it back
 * within two decay periods of its work elsewhere: it trims its own cache,
 * which no sweep reaches, every so many slow paths.  Here the thread
 * frees objects of one cache, then churns another for several periods;
 * its slot of the first must be empty, and the objects accounted for.
 */
static void trim_while_working_elsewhere(void *arg)
{
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	struct kmem_cache *idle = kmem_cache_create("idle", 64, 0, 0, NULL);
	struct kmem_cache *busy = kmem_cache_create("busy", 64, 0, 0, NULL);
	static void *objs[600];
	uint64_t start, held_before;

	(void)arg;
	if (!idle || !busy || !idle->tc_index || !busy->tc_index)
		_exit(10);
	us_decay_ms = 20;
	for (unsigned int i = 0; i < 200; i++)
		if (!(objs[i] = kmem_cache_alloc(idle, GFP_KERNEL)))
			_exit(11);
	for (unsigned int i = 0; i < 200; i++)
		kmem_cache_free(idle, objs[i]);
	held_before = us_tcache_cached(idle);
	if (held_before == 0)
		_exit(12);
	start = us_os_now_ms();
	while (us_os_now_ms() - start < 10 * us_decay_ms) {
		for (unsigned int i = 0; i < 600; i++)
			if (!(objs[i] = kmem_cache_alloc(busy, GFP_KERNEL)))
				_exit(13);
		for (unsigned int i = 0; i < 600; i++)
			kmem_cache_free(busy, objs[i]);
	}
	if (us_tcache_cached(idle) != 0 || us_tcache_cached(busy) == 0) {
		fprintf(stderr, "the thread's slots hold %llu objects of the "
			"idle cache (%llu before) and %llu of the busy one\n",
			(unsigned long long)us_tcache_cached(idle),
			(unsigned long long)held_before,
			(unsigned long long)us_tcache_cached(busy));
		_exit(14);
	}
	if (uslab_cache_stats(idle, &st) != 0 || st.active_objs != 0 ||
	    us_cache_validate(idle) != 0)
		_exit(15);
	kmem_cache_destroy(idle);
	kmem_cache_destroy(busy);
	_exit(0);
}

TEST(a_thread_gives_back_the_magazines_of_a_cache_it_stopped_using)
{
	if (us_mag_slots_live())
		return;		/* the sweep drains the CPU slots instead */
	expect_clean_exit(trim_while_working_elsewhere);
}
END_TEST

struct churn {
	struct kmem_cache *c;
	_Atomic int stop;
	unsigned int n;
};

static void *churn_thread(void *arg)
{
	struct churn *ch = arg;
	void **objs = calloc(ch->n, sizeof(void *));

	while (!atomic_load(&ch->stop)) {
		for (unsigned int i = 0; i < ch->n; i++)
			objs[i] = us_mag_alloc(ch->c);
		for (unsigned int i = 0; i < ch->n; i++)
			us_mag_free(ch->c, objs[i]);
	}
	free(objs);
	return NULL;
}

TEST(contention_grows_the_magazines)
{
	struct churn ch = { make(1024), 0, 0 };
	unsigned int initial = us_mag_capacity(ch.c);
	pthread_t t[4];
	struct timespec hold = { 0, 3 * 1000000L }, gap = { 0, 200000L };

	ch.n = 3 * initial;
	if (on_valgrind())
		return;	/* one thread at a time there: no contention */
	for (int i = 0; i < 4; i++)
		ck_require((pthread_create(&t[i], NULL, churn_thread, &ch)) == (0));
	/* Holding the depot lock makes every visitor wait. */
	for (int i = 0; i < 200 && us_mag_capacity(ch.c) == initial; i++) {
		us_lock(&ch.c->depot.lock);
		nanosleep(&hold, NULL);
		us_unlock(&ch.c->depot.lock);
		nanosleep(&gap, NULL);
	}
	atomic_store(&ch.stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_gt(us_mag_capacity(ch.c), initial);
	ck_assert_uint_ge(us_stat_read(&ch.c->depot.contended), 16);
	ck_assert_uint_eq(us_cache_validate(ch.c), 0);
}
END_TEST

/* A magazine, an object of uslab's own caches, is not kmalloc memory. */
static struct us_mag *a_magazine(void)
{
	struct kmem_cache *c = make(64);
	void *p[200];

	pin_to_cpu0();
	cycle(c, p, 200);
	ck_assert_ptr_ne(c->cpu[0].loaded, &us_mag_sentinel);
	return c->cpu[0].loaded;
}

static void kfree_magazine(void *arg)
{
	(void)arg;
	kfree(a_magazine());
}

static void ksize_magazine(void *arg)
{
	(void)arg;
	printf("%zu\n", ksize(a_magazine()));
}

static void krealloc_magazine(void *arg)
{
	(void)arg;
	printf("%p\n", krealloc(a_magazine(), 100000, GFP_KERNEL));
}

TEST(a_magazine_is_not_kmalloc_memory)
{
	ck_assert_aborts_with(kfree_magazine, NULL, "uslab's own object");
	ck_assert_aborts_with(ksize_magazine, NULL, "uslab's own object");
	ck_assert_aborts_with(krealloc_magazine, NULL, "uslab's own object");
}
END_TEST


int main(void)
{
	return run_tests("magazine", 60);
}
