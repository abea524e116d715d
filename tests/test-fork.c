/* SPDX-License-Identifier: MIT */
/*
 * test-fork.c - fork() while other threads allocate.
 *
 * Threads allocate and free without pause (caches, kmalloc classes and
 * the large path, and cache creation) while the main thread forks many
 * times.  Each child, in which only the forking thread exists, must find
 * every lock free: it allocates and frees from every kind of cache,
 * checks the objects its parent allocated before the fork, creates a
 * cache, and exits 0.  A child that does not exit within the deadline is
 * a hang, killed and reported as a failure.
 */
#include <uslab.h>

#include <pthread.h>
#include <stdatomic.h>

#include "testutil.h"

#define FORKS 60
#define CHILD_DEADLINE_MS 10000

static struct kmem_cache *shared_cache;
static _Atomic int stop;

static void *allocator_thread(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 7;
	void *held[64] = { 0 };

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t x = rng_next(&rng);
		unsigned int i = x % 64;

		if (held[i]) {
			kfree(held[i]);
			held[i] = NULL;
		} else if (x % 7 == 0) {
			held[i] = kmem_cache_alloc(shared_cache, GFP_KERNEL);
		} else if (x % 1009 == 0) {
			held[i] = kmalloc(100000 + (x >> 40) % 300000, GFP_KERNEL);
		} else if (x % 4001 == 0) {
			struct kmem_cache *c = kmem_cache_create("fork-tmp", 48, 0,
								 0, NULL);
			void *o = kmem_cache_alloc(c, GFP_KERNEL);

			kmem_cache_free(c, o);
			kmem_cache_destroy(c);
		} else {
			held[i] = kmalloc(1 + (x >> 32) % 8192, GFP_KERNEL);
		}
	}
	for (int i = 0; i < 64; i++)
		kfree(held[i]);
	return NULL;
}

static void child_work(char *const *before, int n)
{
	struct kmem_cache *c;
	void *objs[256];

	for (int i = 0; i < n; i++)
		for (int b = 0; b < 100; b++)
			if (before[i][b] != (char)(i + b))
				_exit(3);
	for (int i = 0; i < 256; i++) {
		objs[i] = kmalloc(1 + (size_t)i * 37, GFP_KERNEL);
		if (!objs[i])
			_exit(4);
		memset(objs[i], i, 1 + (size_t)i * 37);
	}
	for (int i = 0; i < 256; i++)
		kfree(objs[i]);
	objs[0] = kmalloc(1u << 20, GFP_KERNEL);
	objs[1] = kmem_cache_alloc(shared_cache, GFP_KERNEL);
	if (!objs[0] || !objs[1])
		_exit(5);
	kfree(objs[0]);
	kmem_cache_free(shared_cache, objs[1]);
	c = kmem_cache_create("in-child", 100, 0, SLAB_HWCACHE_ALIGN, NULL);
	if (!c)
		_exit(6);
	for (int i = 0; i < 256; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	for (int i = 0; i < 256; i++)
		kmem_cache_free(c, objs[i]);
	kmem_cache_destroy(c);
	if (kmem_cache_shrink(shared_cache) != 0)
		_exit(7);
	_exit(0);
}

/* Wait for pid; a child still running at the deadline is killed. */
static int wait_with_deadline(pid_t pid)
{
	struct timespec ts = { 0, 1000000L };
	int status;

	for (int ms = 0; ms < CHILD_DEADLINE_MS; ms++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

TEST(children_of_a_busy_process_can_allocate)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nthreads = (int)(ncpu * 2 > 4 ? ncpu * 2 : 4);
	pthread_t tids[64];
	char *before[32];

	shared_cache = kmem_cache_create("fork-shared", 200, 0, 0, NULL);
	ck_assert_ptr_nonnull(shared_cache);
	for (int i = 0; i < 32; i++) {
		before[i] = kmalloc(100, GFP_KERNEL);
		for (int b = 0; b < 100; b++)
			before[i][b] = (char)(i + b);
	}
	for (int i = 0; i < nthreads; i++)
		ck_assert_int_eq(pthread_create(&tids[i], NULL, allocator_thread,
						(void *)(uintptr_t)(i + 1)), 0);
	for (int f = 0; f < FORKS; f++) {
		pid_t pid = fork();
		int status;

		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			child_work(before, 32);
		status = wait_with_deadline(pid);
		ck_assert_msg(status != -1, "fork %d: the child hung", f);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "fork %d: child status 0x%x", f, status);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	for (int i = 0; i < 32; i++)
		kfree(before[i]);
}
END_TEST

/*
 * fork() while another thread holds objects between two locks: a
 * magazine refilled from the slabs on its way to a CPU slot, magazines a
 * shrink took off the slots on their way back to the slabs.  The child,
 * where only the forking thread runs, must find none of them lost: once
 * it has freed what the other thread held (its array, copied by fork;
 * one object of each may be between the allocation and the array, or
 * between the array and the free), the cache holds at most two, and
 * kmem_cache_destroy() finds it empty.
 */
#define FLIGHT_OBJECTS 400
#define FLIGHT_FORKS 150

static struct kmem_cache *flight_cache;
static void *_Atomic flight_held[2][FLIGHT_OBJECTS];	/* by worker */

static void *flight_worker(void *arg)
{
	void *_Atomic *held = flight_held[(uintptr_t)arg];

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < FLIGHT_OBJECTS; i++)
			atomic_store(&held[i],
				     kmem_cache_alloc(flight_cache, GFP_KERNEL));
		for (int i = 0; i < FLIGHT_OBJECTS; i++)
			kmem_cache_free(flight_cache,
					atomic_exchange(&held[i], NULL));
		kmem_cache_shrink(flight_cache);
	}
	return NULL;
}

static void flight_child(void)
{
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };

	for (int i = 0; i < 2 * FLIGHT_OBJECTS; i++) {
		void *p = atomic_load(&flight_held[i / FLIGHT_OBJECTS]
						  [i % FLIGHT_OBJECTS]);

		if (p)
			kmem_cache_free(flight_cache, p);
	}
	if (uslab_cache_stats(flight_cache, &st) != 0)
		_exit(2);
	if (st.active_objs > 2) {
		fprintf(stderr, "%llu objects allocated that no thread holds "
			"(%llu cached, %llu in all)\n",
			(unsigned long long)st.active_objs,
			(unsigned long long)st.cached_objs,
			(unsigned long long)st.num_objs);
		_exit(3);
	}
	_exit(0);
}

TEST(fork_loses_no_object_in_flight_between_locks)
{
	pthread_t t[2];
	int failed = 0, status = 0;

	atomic_store(&stop, 0);
	flight_cache = kmem_cache_create("flight", 96, 0, 0, NULL);
	ck_assert_ptr_nonnull(flight_cache);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, flight_worker,
						(void *)(uintptr_t)i), 0);
	for (int f = 0; f < FLIGHT_FORKS; f++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			flight_child();
		status = wait_with_deadline(pid);
		ck_assert_msg(status != -1, "fork %d: the child hung", f);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ck_assert_msg(failed == 0, "%d of %d children found objects lost "
		      "(last status 0x%x)", failed, FLIGHT_FORKS, status);
	kmem_cache_destroy(flight_cache);
}
END_TEST

/*
 * fork() while other threads map and unmap large blocks.  Each mapping
 * is registered with LeakSanitizer where the program has it, and LSan's
 * lock knows nothing of fork(): a fork while another thread was inside
 * LSan left the child hung at its first new mapping.  The child here maps
 * at once, a block larger than any the workers hold.  Blocks held
 * throughout make many mappings, so that LSan's unregistering, a search
 * of its list, is long enough for forks to meet it.  Without LSan the
 * test is a plain one of fork() beside the large path, and shorter.
 */
#ifdef TEST_ASAN
#define MAPPER_FORKS 200
#else
#define MAPPER_FORKS 50
#endif
#define MAPPER_HELD 2000

static void *mapper_thread(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 11;
	void *held[16] = { 0 };

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t x = rng_next(&rng);
		unsigned int i = x % 16;

		kfree(held[i]);
		/* 64 KiB to 8 MiB, log-uniform: mapped, cut, grown, moved */
		held[i] = kmalloc((size_t)65536 << ((x >> 8) % 7) |
				  (x >> 32) % 65536, GFP_KERNEL);
	}
	for (int i = 0; i < 16; i++)
		kfree(held[i]);
	return NULL;
}

TEST(children_of_a_process_mapping_pages_can_map)
{
	static void *held[MAPPER_HELD];
	pthread_t t[3];
	int failed = 0, status = 0;

	for (int i = 0; i < MAPPER_HELD; i++)
		ck_assert_ptr_nonnull(held[i] = kmalloc(70000, GFP_KERNEL));
	atomic_store(&stop, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, mapper_thread,
						(void *)(uintptr_t)(i + 1)), 0);
	for (int f = 0; f < MAPPER_FORKS; f++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			char *p = kmalloc(48u << 20, GFP_KERNEL);

			if (!p)
				_exit(2);
			p[0] = p[(48u << 20) - 1] = 1;
			kfree(p);
			_exit(0);
		}
		status = wait_with_deadline(pid);
		ck_assert_msg(status != -1, "fork %d: the child hung", f);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < MAPPER_HELD; i++)
		kfree(held[i]);
	ck_assert_msg(failed == 0, "%d of %d children failed (last status "
		      "0x%x)", failed, MAPPER_FORKS, status);
}
END_TEST

/*
 * A constructor that allocates while another thread forks.  The refill
 * that runs the constructor holds a window of objects in flight open,
 * and fork() waits for it to close; the constructor's own allocation,
 * from a fresh cache, refills too, and opens a window inside it.  Had
 * that window waited for the fork, as a first window does, each would
 * have waited for the other for good.  Here the constructor lets the fork
 * start and reach its wait before it allocates.
 */
#define NESTED_DEADLINE_MS 20000

static struct kmem_cache *nested_inner;
static _Atomic int nested_armed, nested_stage;	/* 1: in ctor, 2: forking */
static _Atomic int nested_done;			/* threads finished */
static void *_Atomic nested_obj;
static _Atomic int nested_status = -1;

static void allocating_ctor(void *obj)
{
	memset(obj, 0x5a, 64);
	if (!atomic_exchange(&nested_armed, 0))
		return;
	atomic_store(&nested_stage, 1);
	while (atomic_load(&nested_stage) < 2)
		sleep_ms(1);
	sleep_ms(200);		/* the fork handlers reach the windows' wait */
	atomic_store(&nested_obj, kmem_cache_alloc(nested_inner, GFP_KERNEL));
}

/* Registered after uslab's handlers, so run before them. */
static void nested_note_fork(void)
{
	int in_ctor = 1;

	atomic_compare_exchange_strong(&nested_stage, &in_ctor, 2);
}

static void *nested_allocator(void *arg)
{
	void *p = kmem_cache_alloc(arg, GFP_KERNEL);

	atomic_fetch_add(&nested_done, 1);
	return p;
}

static void *nested_forker(void *arg)
{
	pid_t pid;
	int status;

	(void)arg;
	while (atomic_load(&nested_stage) < 1)
		sleep_ms(1);
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		atomic_store(&nested_status, status);
	atomic_fetch_add(&nested_done, 1);
	return NULL;
}

TEST(a_constructor_may_allocate_while_a_fork_waits)
{
	struct kmem_cache *outer;
	pthread_t a, f;
	void *obj;
	int ms;

	outer = kmem_cache_create("nested-outer", 64, 0, 0, allocating_ctor);
	nested_inner = kmem_cache_create("nested-inner", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(outer);
	ck_assert_ptr_nonnull(nested_inner);
	ck_assert_int_eq(pthread_atfork(nested_note_fork, NULL, NULL), 0);
	atomic_store(&nested_armed, 1);
	ck_assert_int_eq(pthread_create(&f, NULL, nested_forker, NULL), 0);
	ck_assert_int_eq(pthread_create(&a, NULL, nested_allocator, outer), 0);
	for (ms = 0; ms < NESTED_DEADLINE_MS && atomic_load(&nested_done) < 2;
	     ms++)
		sleep_ms(1);
	ck_assert_msg(atomic_load(&nested_done) == 2,
		      "a constructor's allocation and fork() waited for each "
		      "other (stage %d, %d of 2 threads done after %d ms)",
		      atomic_load(&nested_stage), atomic_load(&nested_done),
		      NESTED_DEADLINE_MS);
	ck_assert_int_eq(atomic_load(&nested_stage), 2);
	pthread_join(a, &obj);
	pthread_join(f, NULL);
	ck_assert_ptr_nonnull(obj);
	ck_assert_ptr_nonnull(atomic_load(&nested_obj));
	ck_assert_msg(WIFEXITED(nested_status) &&
		      WEXITSTATUS(nested_status) == 0,
		      "child status %#x", atomic_load(&nested_status));
	kmem_cache_free(nested_inner, atomic_load(&nested_obj));
	kmem_cache_free(outer, obj);
	kmem_cache_destroy(nested_inner);
	kmem_cache_destroy(outer);
}
END_TEST

TEST(exec_after_fork_works)
{
	pid_t pid;
	int status;

	for (int i = 0; i < 100; i++)
		kfree(kmalloc(64, GFP_KERNEL));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	status = wait_with_deadline(pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

int main(void)
{
	return run_tests("fork", 120);
}
