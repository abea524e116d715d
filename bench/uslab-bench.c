/* SPDX-License-Identifier: MIT */
/*
 * uslab-bench.c - allocator workloads, one per subcommand.
 *
 *   uslab-bench WORKLOAD [kmem|malloc|noprof] [ARG...]
 *
 * Each run prints one line of key=value figures, the workload's main
 * figure first; bench/run.sh runs the workloads against uslab and its
 * peers and tabulates them.  "kmem" drives uslab's kmem_cache API (or
 * kmalloc); "malloc" drives malloc/free of whatever allocator the process
 * has, so LD_PRELOAD picks the peer (libuslab-malloc for uslab).
 * "noprof" (pair only) is "kmem" with kmem_cache_alloc_noprof(): the
 * call without its call-site tag (uslab_allocinfo(3)).
 *
 *   pair SIZE [ITERATIONS [THREADS]]
 *                    allocate then free one size, 32 objects kept live;
 *                    with THREADS, each thread does ITERATIONS pairs
 *   batch ORDER      allocate 100,000 objects of 64 bytes, free them in
 *                    lifo, fifo or random order; 20 rounds
 *   xthread          one thread allocates 64-byte objects, another frees
 *                    them, through a single-producer ring
 *   larson THREADS   threads replace random slots of random-size objects
 *                    (16-1024 bytes) and hand a share to other threads
 *   local THREADS    the same with no hand-off: each thread churns a heap
 *                    of its own (the scaling of the per-thread paths)
 *   mixed            a size mix with calloc, posix_memalign and realloc;
 *                    reports live bytes and peak resident memory
 *   heap             a program's heap as seen from outside: small blocks,
 *                    a log-uniform tail to 64 KiB, rare 1 MiB blocks,
 *                    realloc of a quarter of those touched, every page
 *                    written; about 40 MiB live
 *   large [ITERS]    blocks of 5-25 MiB replacing each other in 20 slots,
 *                    each zeroed: mimalloc-bench's malloc-large
 *   rss-return       1 GiB of small objects of 16 sizes, 16 to 256 bytes;
 *                    free all but 1 in 64, then the rest in random order;
 *                    resident memory at each stage and after idling
 *   churn THREADS    short-lived threads that each allocate and free
 *   phases [ROUNDS]  48 phases of 400 blocks of one size each, 85 to
 *                    4,080 bytes, written and freed: how much of one
 *                    phase's memory the next reuses
 *   allocinfo OBJECTS  (kmem) OBJECTS 64-byte objects live from one
 *                    tagged site, counted: what a uslab_allocinfo()
 *                    reading of the table takes
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <uslab.h>

#include "common.h"

static int use_kmem;
/* "noprof": the kmem_cache calls without their call-site tags */
static int use_noprof;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static size_t rss_kib(void)
{
	return rss_bytes_quiet() / 1024;
}

static size_t peak_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (size_t)ru.ru_maxrss;
}

static void die(const char *what)
{
	fprintf(stderr, "uslab-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---------------------------------------------------------------- pair */

struct pair_args {
	struct kmem_cache *c;
	size_t size;
	unsigned long iters;
};

static void *pair_loop(void *arg)
{
	const struct pair_args *a = arg;
	struct kmem_cache *c = a->c;
	size_t size = a->size;
	unsigned long iters = a->iters;
	void *ring[32];

	for (int i = 0; i < 32; i++)
		ring[i] = use_kmem ? kmem_cache_alloc(c, GFP_KERNEL) : malloc(size);
	if (use_noprof) {
		for (unsigned long i = 0; i < iters; i++) {
			void *p = kmem_cache_alloc_noprof(c, GFP_KERNEL);

			*(volatile char *)p = 1;
			kmem_cache_free(c, ring[i % 32]);
			ring[i % 32] = p;
		}
	} else if (use_kmem) {
		for (unsigned long i = 0; i < iters; i++) {
			void *p = kmem_cache_alloc(c, GFP_KERNEL);

			*(volatile char *)p = 1;
			kmem_cache_free(c, ring[i % 32]);
			ring[i % 32] = p;
		}
	} else {
		for (unsigned long i = 0; i < iters; i++) {
			void *p = malloc(size);

			*(volatile char *)p = 1;
			free(ring[i % 32]);
			ring[i % 32] = p;
		}
	}
	for (int i = 0; i < 32; i++) {
		if (use_kmem)
			kmem_cache_free(c, ring[i]);
		else
			free(ring[i]);
	}
	return NULL;
}

/* THREADS threads each run ITERS pairs; throughput counts them all. */
static int bench_pair(size_t size, unsigned long iters, unsigned int threads)
{
	struct pair_args a = { NULL, size, iters };
	pthread_t t[64];
	double t0, t1;

	if (threads < 1 || threads > 64)
		return 2;
	if (use_kmem && !(a.c = kmem_cache_create("bench", (unsigned int)size,
						  0, 0, NULL)))
		die("kmem_cache_create");
	t0 = now_ns();
	if (threads == 1) {
		pair_loop(&a);
	} else {
		for (unsigned int i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, pair_loop, &a);
		for (unsigned int i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
	}
	t1 = now_ns();
	printf("ns_per_pair=%.2f pairs_per_us=%.2f\n", (t1 - t0) / (double)iters,
	       (double)iters * threads / ((t1 - t0) / 1e3));
	return 0;
}

/* --------------------------------------------------------------- batch */

static int bench_batch(const char *order, unsigned int rounds)
{
	enum { N = 100000 };
	static void *objs[N];
	static uint32_t perm[N];
	struct kmem_cache *c = NULL;
	uint64_t rng = 12345;
	double t0, t1;

	if (use_kmem && !(c = kmem_cache_create("bench", 64, 0, 0, NULL)))
		die("kmem_cache_create");
	for (uint32_t i = 0; i < N; i++)
		perm[i] = i;
	if (strcmp(order, "random") == 0) {
		for (uint32_t i = N - 1; i > 0; i--) {
			uint32_t j = (uint32_t)(rng_next(&rng) % (i + 1)), t = perm[i];

			perm[i] = perm[j];
			perm[j] = t;
		}
	} else if (strcmp(order, "lifo") == 0) {
		for (uint32_t i = 0; i < N; i++)
			perm[i] = N - 1 - i;
	} else if (strcmp(order, "fifo") != 0) {
		fprintf(stderr, "batch: order is lifo, fifo or random\n");
		return 2;
	}
	t0 = now_ns();
	for (unsigned int r = 0; r < rounds; r++) {
		for (uint32_t i = 0; i < N; i++) {
			objs[i] = use_kmem ? kmem_cache_alloc(c, GFP_KERNEL)
					   : malloc(64);
			*(volatile char *)objs[i] = 1;
		}
		for (uint32_t i = 0; i < N; i++) {
			if (use_kmem)
				kmem_cache_free(c, objs[perm[i]]);
			else
				free(objs[perm[i]]);
		}
	}
	t1 = now_ns();
	printf("ns_per_op=%.2f\n", (t1 - t0) / (2.0 * N * rounds));
	return 0;
}

/* ------------------------------------------------------------- xthread */

#define RING 4096

struct xring {
	_Atomic uint64_t head __attribute__((aligned(64)));
	_Atomic uint64_t tail __attribute__((aligned(64)));
	void *slot[RING];
	struct kmem_cache *c;
	unsigned long n;
};

static void *xthread_consumer(void *arg)
{
	struct xring *q = arg;

	for (unsigned long i = 0; i < q->n; i++) {
		uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
		void *p;

		while (atomic_load_explicit(&q->head, memory_order_acquire) == t)
			;
		p = q->slot[t % RING];
		atomic_store_explicit(&q->tail, t + 1, memory_order_release);
		if (use_kmem)
			kmem_cache_free(q->c, p);
		else
			free(p);
	}
	return NULL;
}

static int bench_xthread(unsigned long n)
{
	static struct xring q;
	pthread_t t;
	double t0, t1;

	q.n = n;
	if (use_kmem && !(q.c = kmem_cache_create("bench", 64, 0, 0, NULL)))
		die("kmem_cache_create");
	t0 = now_ns();
	pthread_create(&t, NULL, xthread_consumer, &q);
	for (unsigned long i = 0; i < n; i++) {
		uint64_t h = atomic_load_explicit(&q.head, memory_order_relaxed);
		void *p = use_kmem ? kmem_cache_alloc(q.c, GFP_KERNEL) : malloc(64);

		*(volatile char *)p = 1;
		while (h - atomic_load_explicit(&q.tail, memory_order_acquire) >= RING)
			sched_yield();
		q.slot[h % RING] = p;
		atomic_store_explicit(&q.head, h + 1, memory_order_release);
	}
	pthread_join(t, NULL);
	t1 = now_ns();
	printf("ns_per_object=%.2f\n", (t1 - t0) / (double)n);
	return 0;
}

/* -------------------------------------------------------------- larson */

#define LARSON_SLOTS 4096
#define LARSON_MAIL 256

struct larson_mailbox {
	pthread_mutex_t lock;
	void *items[LARSON_MAIL];
	unsigned int count;
} __attribute__((aligned(64)));

static struct larson_mailbox *mailboxes;
static unsigned int larson_threads;
static unsigned long larson_ops;
/* "local": no hand-offs, each thread churns a heap of its own. */
static bool larson_local;

static void *larson_worker(void *arg)
{
	unsigned int self = (unsigned int)(uintptr_t)arg;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (self + 1);
	void **slots = calloc(LARSON_SLOTS, sizeof(void *));

	for (unsigned int i = 0; i < LARSON_SLOTS; i++)
		slots[i] = malloc(16 + rng_next(&rng) % 1009);
	for (unsigned long op = 0; op < larson_ops; op++) {
		uint64_t x = rng_next(&rng);
		unsigned int i = (unsigned int)(x % LARSON_SLOTS);
		void *old = slots[i];

		slots[i] = malloc(16 + (x >> 20) % 1009);
		*(volatile char *)slots[i] = 1;
		if ((x >> 40) % 8 == 0 && larson_threads > 1 && !larson_local) {
			/* Hand it to another thread, which frees it. */
			struct larson_mailbox *mb =
				&mailboxes[(self + 1 + (x >> 48) % (larson_threads - 1)) %
					   larson_threads];

			pthread_mutex_lock(&mb->lock);
			if (mb->count < LARSON_MAIL) {
				mb->items[mb->count++] = old;
				old = NULL;
			}
			pthread_mutex_unlock(&mb->lock);
		}
		free(old);
		if ((op & 63) == 0) {
			struct larson_mailbox *mine = &mailboxes[self];
			void *take[LARSON_MAIL];
			unsigned int n;

			pthread_mutex_lock(&mine->lock);
			n = mine->count;
			memcpy(take, mine->items, n * sizeof(void *));
			mine->count = 0;
			pthread_mutex_unlock(&mine->lock);
			for (unsigned int k = 0; k < n; k++)
				free(take[k]);
		}
	}
	for (unsigned int i = 0; i < LARSON_SLOTS; i++)
		free(slots[i]);
	free(slots);
	return NULL;
}

static int bench_larson(unsigned int threads, unsigned long ops)
{
	pthread_t *t = calloc(threads, sizeof(pthread_t));
	double t0, t1;

	larson_threads = threads;
	larson_ops = ops;
	mailboxes = aligned_alloc(64, sizeof(*mailboxes) * threads);
	for (unsigned int i = 0; i < threads; i++) {
		pthread_mutex_init(&mailboxes[i].lock, NULL);
		mailboxes[i].count = 0;
	}
	t0 = now_ns();
	for (unsigned int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, larson_worker, (void *)(uintptr_t)i);
	for (unsigned int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	t1 = now_ns();
	for (unsigned int i = 0; i < threads; i++)
		for (unsigned int k = 0; k < mailboxes[i].count; k++)
			free(mailboxes[i].items[k]);
	printf("ns_per_op=%.2f\n", (t1 - t0) / (double)(ops * threads));
	return 0;
}

/* --------------------------------------------------------------- mixed */

static size_t mixed_size(uint64_t x)
{
	unsigned int pick = (unsigned int)(x % 10000);

	if (pick < 7000)
		return 8 + (x >> 16) % 120;	/* small */
	if (pick < 9500)
		return 128 + (x >> 16) % 900;	/* medium */
	if (pick < 9995)
		return 1024 + (x >> 16) % 64512;	/* tail to 64 KiB */
	return ((size_t)1 << 20) + (x >> 16) % (3u << 20);	/* rare MiB */
}

/* A block of n bytes by calloc (kind 1), posix_memalign(64) (2) or malloc. */
static void *heap_alloc(int kind, size_t n)
{
	void *p;

	if (kind == 1)
		p = calloc(1, n);
	else if (kind != 2)
		p = malloc(n);
	else if (posix_memalign(&p, 64, n) != 0)
		p = NULL;
	if (!p)
		die("allocation");
	return p;
}

/*
 * The figures of a heap-shaped workload (mixed, heap): time per
 * operation, peak resident memory, the peak of live bytes and their
 * ratio; then every slot freed.
 */
static int heap_report(double t0, double t1, unsigned long ops,
		       size_t live_peak, void **slot, unsigned int nslots)
{
	printf("ns_per_op=%.2f peak_kib=%zu live_peak_kib=%zu rss_per_live=%.2f\n",
	       (t1 - t0) / (double)ops, peak_kib(), live_peak / 1024,
	       (double)peak_kib() / (double)(live_peak / 1024));
	for (unsigned int i = 0; i < nslots; i++)
		free(slot[i]);
	return 0;
}

static int bench_mixed(unsigned long ops)
{
	enum { LIVE = 50000 };
	static void *slot[LIVE];
	static size_t sz[LIVE];
	uint64_t rng = 777;
	size_t live = 0, live_peak = 0;
	double t0, t1;

	t0 = now_ns();
	for (unsigned long op = 0; op < ops; op++) {
		uint64_t x = rng_next(&rng);
		unsigned int i = (unsigned int)(x % LIVE);
		unsigned int kind = (unsigned int)((x >> 56) % 10);
		size_t n = mixed_size(x >> 8);

		if (slot[i] && kind == 0) {
			void *p = realloc(slot[i], n);

			if (!p)
				die("realloc");
			live += n - sz[i];
			slot[i] = p;
			sz[i] = n;
		} else {
			if (slot[i]) {
				free(slot[i]);
				live -= sz[i];
			}
			slot[i] = heap_alloc(kind, n);
			live += n;
			sz[i] = n;
		}
		memset(slot[i], 1, sz[i]);	/* programs write what they get */
		if (live > live_peak)
			live_peak = live;
	}
	t1 = now_ns();
	return heap_report(t0, t1, ops, live_peak, slot, LIVE);
}

/* ---------------------------------------------------------------- heap */

/*
 * A program's heap as it looks from outside: mostly blocks of 1 KiB or
 * less, a tail up to 64 KiB (log-uniform, so smaller ones are commoner)
 * and rare blocks of about 1 MiB; 10% of allocations by calloc, 2% by
 * posix_memalign(64); a quarter of the blocks touched are resized with
 * realloc, the rest replaced; every page of every block written once,
 * as a program writes what it asks for.  The share of slots in use rises
 * and falls in phases, between about 25 and 60 MiB live.
 */
static size_t heap_size(uint64_t x)
{
	unsigned int pick = (unsigned int)(x % 1000);

	x >>= 10;
	if (pick < 500)
		return 8 + x % 121;			/* 8-128 */
	if (pick < 900)
		return 129 + x % 896;			/* 129-1024 */
	if (pick < 999) {				/* 1 KiB-64 KiB */
		double f = (double)(x % 1000000) / 1e6;

		return (size_t)(1024.0 * __builtin_exp2(6.0 * f));
	}
	return ((size_t)3 << 18) + x % ((size_t)1 << 19);	/* ~1 MiB */
}

static void heap_touch(char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 1;
	p[n - 1] = 1;
}

static int bench_heap(unsigned long ops)
{
	enum { SLOTS = 15000, PHASE = 400000 };
	static void *slot[SLOTS];
	static size_t sz[SLOTS];
	uint64_t rng = 4242;
	size_t live = 0, live_peak = 0;
	double t0, t1;

	t0 = now_ns();
	for (unsigned long op = 0; op < ops; op++) {
		uint64_t x = rng_next(&rng), y = rng_next(&rng);
		unsigned int i = (unsigned int)(x % SLOTS);
		unsigned int how = (unsigned int)((x >> 32) % 100);
		/*
		 * Phases, as a server's load rises and falls: the share of
		 * slots in use swings between 40% and 100% and back.
		 */
		unsigned long t = op % PHASE;
		unsigned int fill = 40 + (unsigned int)(60 * (t < PHASE / 2 ? t :
							   PHASE - t) / (PHASE / 2));
		size_t n = heap_size(y);

		if ((unsigned int)((x >> 48) % 100) >= fill) {
			free(slot[i]);	/* the load falls: let it go */
			live -= sz[i];
			slot[i] = NULL;
			sz[i] = 0;
			continue;
		}
		if (slot[i] && how < 25) {
			void *p = realloc(slot[i], n);

			if (!p)
				die("realloc");
			slot[i] = p;
			live += n - sz[i];
		} else {
			free(slot[i]);
			live -= sz[i];
			slot[i] = heap_alloc(how < 35 ? 1 : how < 37 ? 2 : 0, n);
			live += n;
		}
		sz[i] = n;
		heap_touch(slot[i], n);
		if (live > live_peak)
			live_peak = live;
	}
	t1 = now_ns();
	return heap_report(t0, t1, ops, live_peak, slot, SLOTS);
}

/* --------------------------------------------------------------- large */

/*
 * Blocks of 5 to 25 MiB replacing one another in 20 slots, each zeroed
 * by memset as C++'s make_unique<char[]> does: the shape of
 * mimalloc-bench's malloc-large.  What it measures is whether a freed
 * large block is reused, or mapped and faulted in afresh.
 */
static int bench_large(unsigned long iters)
{
	enum { SLOTS = 20 };
	const size_t min = (size_t)5 << 20, span = ((size_t)20 << 20) + 1;
	void *slot[SLOTS] = { 0 };
	uint64_t rng = 42;
	double t0, t1;

	t0 = now_ns();
	for (unsigned long i = 0; i < iters; i++) {
		uint64_t x = rng_next(&rng);
		unsigned int k = (unsigned int)(x % SLOTS);
		size_t n = min + (size_t)((x >> 20) % span);

		free(slot[k]);
		if (!(slot[k] = malloc(n)))
			die("malloc");
		memset(slot[k], 0, n);
	}
	t1 = now_ns();
	printf("us_per_op=%.2f peak_kib=%zu\n", (t1 - t0) / 1e3 / (double)iters,
	       peak_kib());
	for (unsigned int k = 0; k < SLOTS; k++)
		free(slot[k]);
	return 0;
}

/* ---------------------------------------------------------- rss-return */

static int bench_rss_return(void)
{
	/* 1 GiB at 136 bytes on average (16 sizes, 16 to 256). */
	const size_t total = (size_t)1 << 30, n = total / 136;
	void **p = malloc(n * sizeof(void *));
	size_t base, peak, partial, freed, idle, left = 0;
	struct timespec second = { 1, 0 };
	uint64_t rng = 99;

	if (!p)
		die("malloc");
	memset(p, 0, n * sizeof(void *));
	base = rss_kib();
	for (size_t i = 0; i < n; i++) {
		p[i] = malloc(16 * (1 + rng_next(&rng) % 16));
		*(volatile char *)p[i] = 1;
	}
	peak = rss_kib();
	for (size_t i = 0; i < n; i++)
		if (i % 64)
			free(p[i]);
		else
			p[left++] = p[i];
	partial = rss_kib();
	/* The survivors, scattered over every slab, go in random order. */
	shuffle(p, left, &rng);
	for (size_t i = 0; i < left; i++)
		free(p[i]);
	freed = rss_kib();
	nanosleep(&second, NULL);
	idle = rss_kib();
	printf("idle_pct_of_peak=%.1f base_kib=%zu peak_kib=%zu "
	       "one_in_64_kib=%zu freed_kib=%zu idle_kib=%zu\n",
	       100.0 * (double)(idle - base) / (double)(peak - base), base, peak,
	       partial, freed, idle);
	free(p);
	return 0;
}

/* ---------------------------------------------------------------- grow */

/*
 * A heap built from nothing, as a program loads its data: objects of 16
 * sizes from 256 bytes to 4 KiB, 512 MiB of them, each written at both
 * ends, then all freed.  Every page is new, so the time is mostly how
 * the pages are faulted in.
 */
static int bench_grow(size_t mib)
{
	const size_t total = mib << 20, n = total / 2176;
	void **p = malloc(n * sizeof(void *));
	uint64_t rng = 7;
	double t0, t1;

	if (!p)
		die("malloc");
	memset(p, 0, n * sizeof(void *));
	t0 = now_ns();
	for (size_t i = 0; i < n; i++) {
		size_t size = 256 * (1 + rng_next(&rng) % 16);

		p[i] = malloc(size);
		if (!p[i])
			die("malloc");
		((volatile char *)p[i])[0] = 1;
		((volatile char *)p[i])[size - 1] = 1;
	}
	t1 = now_ns();
	for (size_t i = 0; i < n; i++)
		free(p[i]);
	printf("ns_per_object=%.2f peak_kib=%zu\n", (t1 - t0) / (double)n,
	       peak_kib());
	free(p);
	return 0;
}

/* --------------------------------------------------------------- churn */

static void *churn_thread(void *arg)
{
	void *p[16];

	for (int i = 0; i < 16; i++)
		p[i] = malloc(32 + (size_t)i * 100 + (uintptr_t)arg % 64);
	for (int i = 0; i < 16; i++)
		free(p[i]);
	return NULL;
}

static int bench_churn(unsigned int threads)
{
	double t0 = now_ns(), t1;

	for (unsigned int i = 0; i < threads; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, churn_thread, (void *)(uintptr_t)i))
			die("pthread_create");
		pthread_join(t, NULL);
	}
	t1 = now_ns();
	printf("us_per_thread=%.2f peak_kib=%zu\n", (t1 - t0) / 1e3 / threads,
	       peak_kib());
	return 0;
}

/* -------------------------------------------------------------- phases */

/*
 * A program that works in phases, each with blocks of its own size (a
 * compiler's passes, a server's start-up before its steady state): 48
 * phases of 400 blocks of one size each, 85 to 4,080 bytes, written and
 * freed, in `rounds` rounds.  The peak shows how much of one phase's
 * freed memory the next, of another size, reuses.
 */
static int bench_phases(unsigned int rounds)
{
	enum { PHASES = 48, BLOCKS = 400 };
	static void *p[BLOCKS];
	double t0 = now_ns(), t1;

	for (unsigned int r = 0; r < rounds; r++) {
		for (size_t s = 1; s <= PHASES; s++) {
			size_t n = s * 85;

			for (int i = 0; i < BLOCKS; i++) {
				if (!(p[i] = malloc(n)))
					die("malloc");
				memset(p[i], 1, n);
			}
			for (int i = 0; i < BLOCKS; i++)
				free(p[i]);
		}
	}
	t1 = now_ns();
	printf("ns_per_block=%.2f peak_kib=%zu\n",
	       (t1 - t0) / ((double)rounds * PHASES * BLOCKS), peak_kib());
	return 0;
}

/* ----------------------------------------------------------- allocinfo */

static int bench_allocinfo(unsigned long n)
{
	struct kmem_cache *c = kmem_cache_create("bench-allocinfo", 64, 0, 0,
						 NULL);
	void **p = malloc(n * sizeof(void *));
	FILE *null = fopen("/dev/null", "w");
	double best = 0;

	if (!c || !p || !null)
		die("allocinfo setup");
	if (uslab_allocinfo_enable(true) != 0)
		die("uslab_allocinfo_enable");
	for (unsigned long i = 0; i < n; i++)
		if (!(p[i] = kmem_cache_alloc(c, GFP_KERNEL)))
			die("kmem_cache_alloc");
	for (int r = 0; r < 5; r++) {
		double t0 = now_ns(), t;

		if (uslab_allocinfo(null) != 0)
			die("uslab_allocinfo");
		t = now_ns() - t0;
		if (r == 0 || t < best)
			best = t;
	}
	printf("ms_per_read=%.2f objects=%lu\n", best / 1e6, n);
	for (unsigned long i = 0; i < n; i++)
		kmem_cache_free(c, p[i]);
	kmem_cache_destroy(c);
	fclose(null);
	free(p);
	return 0;
}

int main(int argc, char **argv)
{
	const char *w = argc > 1 ? argv[1] : "";
	const char *mode = argc > 2 ? argv[2] : "malloc";
	unsigned long arg = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;

	use_noprof = strcmp(mode, "noprof") == 0;
	use_kmem = use_noprof || strcmp(mode, "kmem") == 0;
	if (!use_kmem && strcmp(mode, "malloc") != 0)
		goto usage;
	if (strcmp(w, "pair") == 0)
		return bench_pair(arg ? arg : 64,
				  argc > 4 ? strtoul(argv[4], NULL, 0) : 20000000,
				  argc > 5 ? (unsigned int)strtoul(argv[5], NULL, 0) : 1);
	if (strcmp(w, "batch") == 0)
		return bench_batch(argc > 3 ? argv[3] : "random",
				   argc > 4 ? (unsigned int)strtoul(argv[4], NULL, 0)
					    : 20);
	if (strcmp(w, "xthread") == 0)
		return bench_xthread(arg ? arg : 5000000);
	if (strcmp(w, "larson") == 0 || strcmp(w, "local") == 0) {
		larson_local = strcmp(w, "local") == 0;
		return bench_larson(arg ? (unsigned int)arg : 2,
				    argc > 4 ? strtoul(argv[4], NULL, 0) : 2000000);
	}
	if (strcmp(w, "mixed") == 0)
		return bench_mixed(arg ? arg : 3000000);
	if (strcmp(w, "heap") == 0)
		return bench_heap(arg ? arg : 2000000);
	if (strcmp(w, "large") == 0)
		return bench_large(arg ? arg : 1000);
	if (strcmp(w, "rss-return") == 0)
		return bench_rss_return();
	if (strcmp(w, "grow") == 0)
		return bench_grow(arg ? arg : 512);
	if (strcmp(w, "churn") == 0)
		return bench_churn(arg ? (unsigned int)arg : 10000);
	if (strcmp(w, "phases") == 0)
		return bench_phases(arg ? (unsigned int)arg : 3);
	if (strcmp(w, "allocinfo") == 0 && use_kmem)
		return bench_allocinfo(arg ? arg : 1000000);
usage:
	fprintf(stderr, "usage: %s pair|batch|xthread|larson|local|mixed|heap|"
			"large|rss-return|grow|churn|phases|allocinfo kmem|malloc "
			"[ARG...]\n",
		argv[0]);
	return 2;
}
