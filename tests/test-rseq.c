/* SPDX-License-Identifier: MIT */
/*
 * test-rseq.c - the lock-free fast paths under preemption, migration,
 * signals and concurrent slot locking.
 *
 * Workers (four per CPU) allocate objects of one cache, stamp each with
 * its address and a tag, and free them later, some on another worker
 * (remote frees).  Around them, depending on the test: workers hop
 * between CPUs with sched_setaffinity; a thread fires signals at them;
 * a thread drains the cache's magazines over and over (which locks every
 * CPU's slot from wherever it runs, and so fences); the process forks.
 * At the end every object must have kept its stamp, the cache must
 * validate and hold no allocated object.
 *
 * Without rseq (valgrind, GLIBC_TUNABLES=glibc.pthread.rseq=0,
 * USLAB_NO_RSEQ=1) the same tests run the locked paths.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>

#include "cache.h"
#include "magazine.h"
#include "rseq.h"
#include "testutil.h"

#define OBJ_SIZE 48
#define HELD 64
#define BOX 256

static struct kmem_cache *cache;
static unsigned int nworkers;
static _Atomic int stop;
static _Atomic unsigned long signals_seen, hops, ops_done;
static int opt_hop;
static long ncpu;

static void stamp(void *p, uint64_t tag)
{
	uint64_t *w = p;

	w[0] = (uint64_t)(uintptr_t)p;
	w[1] = tag;
	w[5] = ~tag;
}

static void verify(void *p)
{
	uint64_t *w = p;

	if (w[0] != (uint64_t)(uintptr_t)p || w[5] != ~w[1])
		ck_abort_msg("object %p lost its stamp (%#llx %#llx %#llx)", p,
			     (unsigned long long)w[0], (unsigned long long)w[1],
			     (unsigned long long)w[5]);
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add_explicit(&signals_seen, 1, memory_order_relaxed);
}

static void hop(uint64_t x)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((int)(x % (uint64_t)ncpu), &set);
	if (sched_setaffinity(0, sizeof(set), &set) == 0)
		atomic_fetch_add_explicit(&hops, 1, memory_order_relaxed);
}

typedef void *object;

static void free_verified(const object *p)
{
	verify(*p);
	kmem_cache_free(cache, *p);
}

MAILBOX_DEFINE(box, object, BOX, free_verified)
static struct box boxes[64];

/*
 * Workers also stop on their own at the deadline: a scheduler that runs
 * one thread at a time (valgrind's) may not wake the main thread to say
 * stop for a long while.
 */
static struct timespec deadline;

static bool past_deadline(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec ||
	       (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

static void *worker(void *arg)
{
	unsigned int self = (unsigned int)(uintptr_t)arg;
	uint64_t rng = (self + 1) * 0x9e3779b97f4a7c15ull;
	void *held[HELD] = { 0 };
	unsigned long n = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t x = rng_next(&rng);
		unsigned int i = x % HELD;

		if (held[i]) {
			unsigned int to = (unsigned int)(x >> 32) % nworkers;
			void *p = held[i];

			verify(p);
			held[i] = NULL;
			if (to == self || (x >> 20) % 4 != 0 ||
			    !box_post(&boxes[to], &p))
				kmem_cache_free(cache, p);
		} else {
			held[i] = kmem_cache_alloc(cache, GFP_KERNEL);
			if (!held[i])
				ck_abort_msg("allocation failed");
			stamp(held[i], x);
		}
		if (opt_hop && (x >> 40) % 512 == 0)
			hop(x >> 44);
		if ((++n & 127) == 0) {
			box_drain(&boxes[self]);
			if (past_deadline())
				break;
		}
	}
	for (unsigned int i = 0; i < HELD; i++)
		if (held[i]) {
			verify(held[i]);
			kmem_cache_free(cache, held[i]);
		}
	atomic_fetch_add(&ops_done, n);
	return NULL;
}

struct run_opts {
	int hop, signals, drain, forks;
	unsigned int seconds;
};

static void *signaller(void *arg)
{
	pthread_t *t = arg;
	struct timespec gap = { 0, 20000 };
	unsigned int k = 0;

	while (!atomic_load(&stop)) {
		pthread_kill(t[k++ % nworkers], SIGUSR1);
		nanosleep(&gap, NULL);
	}
	return NULL;
}

static void *drainer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		us_mag_drain(cache);
		sched_yield();
	}
	return NULL;
}

static void run(const struct run_opts *o)
{
	pthread_t t[64], sig, dr;
	struct sigaction sa;
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	struct timespec slice = { 0, 100 * 1000000L };
	unsigned long slices = o->seconds * 10;

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nworkers = (unsigned int)(ncpu * 4 > 8 ? ncpu * 4 : 8);
	if (nworkers > 64)
		nworkers = 64;
	printf("rseq fast path: %s; %u workers on %ld CPUs\n",
	       us_rseq_enabled ? "on" : "off (locked paths)", nworkers, ncpu);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	opt_hop = o->hop;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += o->seconds;
	cache = kmem_cache_create("rseq-test", OBJ_SIZE, 0, 0, NULL);
	ck_assert_ptr_nonnull(cache);
	for (unsigned int i = 0; i < nworkers; i++)
		box_init(&boxes[i]);
	for (unsigned int i = 0; i < nworkers; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker,
						(void *)(uintptr_t)i), 0);
	if (o->signals)
		pthread_create(&sig, NULL, signaller, t);
	if (o->drain)
		pthread_create(&dr, NULL, drainer, NULL);
	for (unsigned long s = 0; s < slices && !past_deadline(); s++) {
		nanosleep(&slice, NULL);
		if (o->forks) {
			pid_t pid = fork();
			int status;

			ck_assert_int_ge(pid, 0);
			if (pid == 0) {
				void *p[200];

				for (int i = 0; i < 200; i++) {
					p[i] = kmem_cache_alloc(cache, GFP_KERNEL);
					stamp(p[i], (uint64_t)i);
				}
				for (int i = 0; i < 200; i++) {
					verify(p[i]);
					kmem_cache_free(cache, p[i]);
				}
				kmem_cache_shrink(cache);
				_exit(us_mag_validate(cache) ? 3
				      : us_slab_validate(cache) ? 4 : 0);
			}
			ck_assert_int_eq(waitpid(pid, &status, 0), pid);
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				      "child status 0x%x", status);
		}
	}
	atomic_store(&stop, 1);
	/* The signaller first: it signals workers until it sees stop, and
	 * pthread_kill() of a thread already joined is undefined. */
	if (o->signals)
		pthread_join(sig, NULL);
	for (unsigned int i = 0; i < nworkers; i++)
		pthread_join(t[i], NULL);
	if (o->drain)
		pthread_join(dr, NULL);
	for (unsigned int i = 0; i < nworkers; i++)
		box_drain(&boxes[i]);
	printf("%lu operations, %lu hops, %lu signals\n",
	       (unsigned long)atomic_load(&ops_done),
	       (unsigned long)atomic_load(&hops),
	       (unsigned long)atomic_load(&signals_seen));
	ck_assert_uint_eq(us_cache_validate(cache), 0);
	uslab_cache_stats(cache, &st);
	ck_assert_uint_eq(st.active_objs, 0);
	if (o->hop)
		ck_assert_uint_gt(atomic_load(&hops), 0);
	/* Valgrind runs one thread at a time; the signaller may not get a turn. */
	if (o->signals && !on_valgrind())
		ck_assert_uint_gt(atomic_load(&signals_seen), 100);
}

TEST(fast_path_is_used_where_available)
{
	struct kmem_cache *c = kmem_cache_create("count", 64, 0, 0, NULL);
	struct uslab_cache_stats a = { .version = USLAB_CACHE_STATS_VERSION };
	struct uslab_cache_stats b = a;
	void *p[20];

#if US_RSEQ_FAST
	printf("rseq area: %s, fast path %s\n",
	       us_rseq_mode() == US_RSEQ_GLIBC ? "glibc's"
	       : us_rseq_mode() == US_RSEQ_OWN ? "uslab's own" : "none",
	       us_rseq_enabled ? "on" : "off");
	if (us_rseq_mode() != US_RSEQ_NONE && !getenv("USLAB_NO_RSEQ"))
		ck_assert_msg(us_rseq_enabled, "rseq registered but not used");
	/* uslab's own area where glibc has none, when asked to. */
	if (getenv("USLAB_OWN_RSEQ") && !getenv("USLAB_NO_RSEQ"))
		ck_assert_int_ne(us_rseq_mode(), US_RSEQ_NONE);
#endif
	pin_to_one_cpu();
	for (int round = 0; round < 103; round++) {
		if (round == 3)		/* warmed up: count from here */
			ck_assert_int_eq(uslab_cache_stats(c, &a), 0);
		for (int i = 0; i < 20; i++)
			p[i] = kmem_cache_alloc(c, GFP_KERNEL);
		for (int i = 0; i < 20; i++)
			kmem_cache_free(c, p[i]);
	}
	ck_assert_int_eq(uslab_cache_stats(c, &b), 0);
	/* Exact barring a sequence restarted at its last instruction. */
	ck_assert_uint_ge(b.free_fast - a.free_fast, 2000);
	ck_assert_uint_le(b.free_fast - a.free_fast, 2010);
	/* Pops, counted or derived (stats.c), and no slow path. */
	ck_assert_uint_eq(b.alloc_fast - a.alloc_fast, b.free_fast - a.free_fast);
	ck_assert_uint_eq(b.allocs - a.allocs, b.alloc_fast - a.alloc_fast);
	ck_assert_uint_eq(b.active_objs, 0);
}
END_TEST

/* A run of the workers with some of the disturbances switched on. */
#define RUN_TEST(test, ...)                                                  \
	TEST(test)                                                           \
	{                                                                    \
		run(&(struct run_opts){ .seconds = 2, __VA_ARGS__ });       \
	}                                                                    \
	END_TEST

RUN_TEST(many_threads_with_remote_frees)
RUN_TEST(threads_hopping_between_cpus, .hop = 1)
RUN_TEST(signals_interrupting_allocations, .hop = 1, .signals = 1)
RUN_TEST(draining_every_slot_while_threads_allocate, .hop = 1, .signals = 1,
	 .drain = 1)
RUN_TEST(forking_while_threads_allocate, .hop = 1, .drain = 1, .forks = 1)

TEST(double_free_is_caught_on_the_fast_path)
{
	ck_assert_aborts_with(child_frees_twice, NULL,
			      "BUG twice: Object already free");
}
END_TEST

/*
 * A slot shared by two CPUs.  With one slot (USLAB_NR_CPUS=1) the CPU
 * numbers 1 and up fold onto slot 0: a thread on CPU 1 takes the locked
 * path on slot 0 while a thread on CPU 0 may be inside a sequence on it,
 * so the thread on CPU 1 must fence CPU 0 after taking the lock.  Two
 * threads pinned to CPUs 0 and 1 allocate, stamp, check and free batches
 * of 1 to 70 objects; an object handed out twice loses a stamp, or is
 * later freed twice.
 */
#define FOLD_SECONDS 2

static struct kmem_cache *fold_cache;

static void *fold_worker(void *arg)
{
	unsigned int cpu = (unsigned int)(uintptr_t)arg;
	uint64_t rng = (cpu + 7) * 0x9e3779b97f4a7c15ull, tag = 0;
	cpu_set_t set;
	void *p[70];

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return NULL;
	while (!past_deadline()) {
		unsigned int n = 1 + (unsigned int)(rng_next(&rng) % 70);

		for (unsigned int i = 0; i < n; i++) {
			uint64_t *w = p[i] = kmem_cache_alloc(fold_cache, GFP_KERNEL);

			if (!w)
				abort();
			w[0] = (uint64_t)(uintptr_t)w;
			w[1] = ++tag << 1 | cpu;
			w[5] = ~w[1];
		}
		for (unsigned int i = 0; i < n; i++) {
			uint64_t *w = p[i];

			if (w[0] != (uint64_t)(uintptr_t)w || w[5] != ~w[1] ||
			    (w[1] & 1) != cpu) {
				fprintf(stderr, "object %p handed out twice\n", p[i]);
				abort();
			}
		}
		for (unsigned int i = 0; i < n; i++)
			kmem_cache_free(fold_cache, p[i]);
	}
	return NULL;
}

static int folded_slot_child(void)
{
	pthread_t t[2];

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("one CPU online: no slot is shared\n");
		return 0;
	}
	printf("rseq fast path: %s; %u slot(s)\n",
	       us_rseq_enabled ? "on" : "off (locked paths)", us_nr_cpus);
	fold_cache = kmem_cache_create("fold", 64, 0, 0, NULL);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += FOLD_SECONDS;
	for (unsigned int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, fold_worker, (void *)(uintptr_t)i);
	for (unsigned int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	kmem_cache_shrink(fold_cache);
	return us_cache_validate(fold_cache) ? 3 : 0;
}

SELF_TEST(a_slot_shared_by_two_cpus_is_fenced, "folded", "USLAB_NR_CPUS=1")

/*
 * A slot opened from another CPU while its own CPU runs sequences on it.
 * A drainer pinned to CPU 1 empties every slot over and over: for CPU
 * 0's it locks and closes the slot, fences CPU 0, takes the magazines
 * away and opens the slot again, on the empty sentinel.  A worker pinned
 * to CPU 0 allocates batches through the sequences meanwhile, stamps
 * each object with its place in the batch, checks the stamps and frees
 * the batch.  A sequence that read the slot's top before such an opening
 * and its bound (base or end) after it would pop from, or push into, a
 * magazine the drainer had taken: an object handed out twice loses a
 * stamp, and the slot's top is left outside its magazine.
 */
static void *half_open_worker(void *arg)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull, tag = 0;
	cpu_set_t set;
	void *p[70];

	(void)arg;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return NULL;
	while (!past_deadline()) {
		unsigned int n = 1 + (unsigned int)(rng_next(&rng) % 70);

		tag += 70;
		for (unsigned int i = 0; i < n; i++) {
			uint64_t *w = p[i] = kmem_cache_alloc(fold_cache, GFP_KERNEL);

			if (!w)
				abort();
			w[1] = tag + i;
		}
		for (unsigned int i = 0; i < n; i++) {
			if (((uint64_t *)p[i])[1] != tag + i) {
				fprintf(stderr, "object %p handed out twice\n", p[i]);
				abort();
			}
		}
		for (unsigned int i = 0; i < n; i++)
			kmem_cache_free(fold_cache, p[i]);
	}
	return NULL;
}

static void *half_open_drainer(void *arg)
{
	cpu_set_t set;

	(void)arg;
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return NULL;
	while (!past_deadline())
		us_mag_drain(fold_cache);
	return NULL;
}

TEST(a_slot_opened_from_another_cpu_is_never_read_half_open)
{
	pthread_t w, d;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("one CPU online: no other CPU opens the slot\n");
		return;
	}
	fold_cache = kmem_cache_create("half-open", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(fold_cache);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += FOLD_SECONDS;
	ck_assert_int_eq(pthread_create(&w, NULL, half_open_worker, NULL), 0);
	ck_assert_int_eq(pthread_create(&d, NULL, half_open_drainer, NULL), 0);
	pthread_join(w, NULL);
	pthread_join(d, NULL);
	ck_assert_uint_eq(us_mag_validate(fold_cache), 0);
	kmem_cache_shrink(fold_cache);
	ck_assert_uint_eq(us_cache_validate(fold_cache), 0);
	kmem_cache_destroy(fold_cache);
}
END_TEST

/*
 * More possible CPUs than a cache descriptor has room for slots (about
 * 4,000 slots of 128 bytes in its 512 KiB, fewer with more nodes):
 * every slot it holds is used, the CPUs above fold onto them, and the
 * process runs.  Past the room (8,190 CPUs with the 64-byte slots of
 * 0.2), every first allocation used to abort, laying out the
 * descriptors.
 */
static int many_cpus_child(void)
{
	const char *s = getenv("USLAB_NR_CPUS");
	unsigned long want = s ? strtoul(s, NULL, 10) : 0;
	void *p = kmalloc(100, GFP_KERNEL);	/* uslab starts here */
	unsigned int most = us_cache_max_cpu_slots();
	pthread_t t[2];

	kfree(p);
	if (!p || want == 0)
		return 2;
	if (us_nr_cpus != (want < most ? want : most)) {
		fprintf(stderr, "%u slots for %lu CPUs (room for %u)\n",
			us_nr_cpus, want, most);
		return 3;
	}
	printf("%u slots for %lu CPUs\n", us_nr_cpus, want);
	fold_cache = kmem_cache_create("many", 64, 0, 0, NULL);
	if (!fold_cache)
		return 4;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 1;
	for (unsigned int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, fold_worker, (void *)(uintptr_t)i);
	for (unsigned int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	kmem_cache_shrink(fold_cache);
	if (us_cache_validate(fold_cache))
		return 5;
	kmem_cache_destroy(fold_cache);
	return 0;
}

SELF_TEST(more_cpus_than_a_descriptor_holds_fold_onto_its_slots, "many-cpus",
	  "USLAB_NR_CPUS=65536")
SELF_TEST(more_cpus_than_a_descriptor_holds_with_64_nodes, "many-cpus",
	  "USLAB_NR_CPUS=65536", "USLAB_NR_NODES=64")
SELF_TEST(as_many_cpus_as_a_descriptor_holds_get_a_slot_each, "many-cpus",
	  "USLAB_NR_CPUS=4090")

int main(int argc, char **argv)
{
	const char *mode;

	self_argv0 = argv[0];
	if (is_self_child(argc, argv, &mode) && strcmp(mode, "folded") == 0)
		return folded_slot_child();
	if (is_self_child(argc, argv, &mode) && strcmp(mode, "many-cpus") == 0)
		return many_cpus_child();
	return run_tests("rseq", 60);
}
