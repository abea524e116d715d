/* SPDX-License-Identifier: MIT */
/*
 * soak.c - a long multi-threaded mixed workload: make stress, and two
 * minutes of it in .ci/run.
 *
 *   soak [SECONDS [THREADS]]
 *
 * Linked with libuslab-malloc, so the whole process allocates through
 * uslab.  Worker threads (default: four per CPU) mix kmem_cache objects
 * of several caches (some with constructors), kmalloc blocks of every
 * size and the large path, and malloc/calloc/realloc/posix_memalign
 * blocks; a third of what they free they hand to another worker.  Every
 * block carries a pattern derived from its address and a tag, checked
 * before it is freed or resized.  Every few seconds the main thread forks
 * a child that allocates, checks and exits, and checks resident memory
 * against a bound derived from the bytes live (a leak or memory that
 * never returns to the OS breaks it).  Every few seconds it also creates
 * a cache, fills it, empties it and destroys it while the workers run.
 * The seed is printed; exit status 0 is success.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uslab.h>

#include "common.h"

#define SLOTS 1024
#define MAILBOX 512
#define NCACHES 4
#define CTOR_WORD 0x5ca1ab1e5ca1ab1eull

enum kind { K_CACHE, K_KMALLOC, K_MALLOC };

struct block {
	unsigned char *p;
	size_t size;
	uint8_t kind, cache, tag;
};


static struct kmem_cache *caches[NCACHES];
static const unsigned int cache_size[NCACHES] = { 40, 128, 700, 3000 };
static struct mailbox *boxes;	/* one a thread: remote frees */
static unsigned int nthreads;
static _Atomic int stop;
static _Atomic uint64_t ops, live_bytes, forks;
static uint64_t seed;

static void die(const char *what, const void *p)
{
	fprintf(stderr, "soak: %s (%p), seed %llu\n", what, p,
		(unsigned long long)seed);
	abort();
}

static void ctor(void *p)
{
	*(uint64_t *)p = CTOR_WORD;
}

static void fill(const struct block *b)
{
	size_t from = b->kind == K_CACHE && (b->cache & 1) ? 8 : 0;
	size_t head = b->size < 48 ? b->size : 48;

	for (size_t i = from; i < head; i++)
		b->p[i] = (unsigned char)((uintptr_t)b->p + b->tag + i);
	if (b->size >= 64)
		b->p[b->size - 1] = b->tag;
}

static void check(const struct block *b)
{
	size_t from = b->kind == K_CACHE && (b->cache & 1) ? 8 : 0;
	size_t head = b->size < 48 ? b->size : 48;

	if (from && *(uint64_t *)(void *)b->p != CTOR_WORD)
		die("constructed state lost", b->p);
	for (size_t i = from; i < head; i++)
		if (b->p[i] != (unsigned char)((uintptr_t)b->p + b->tag + i))
			die("block overwritten", b->p);
	if (b->size >= 64 && b->p[b->size - 1] != b->tag)
		die("block end overwritten", b->p);
}

static size_t pick(uint64_t x)
{
	unsigned int r = (unsigned int)(x % 1000);

	if (r < 800)
		return 1 + (x >> 10) % 256;
	if (r < 990)
		return 1 + (x >> 10) % 65536;
	return 65537 + (x >> 10) % (4u << 20);
}

static void release(const struct block *b)
{
	check(b);
	atomic_fetch_sub_explicit(&live_bytes, b->size, memory_order_relaxed);
	if (b->kind == K_CACHE) {
		kmem_cache_free(caches[b->cache], b->p);
	} else if (b->kind == K_KMALLOC) {
		kfree(b->p);
	} else {
		free(b->p);
	}
}

MAILBOX_DEFINE(mailbox, struct block, MAILBOX, release)

static void acquire(struct block *b, uint64_t x)
{
	unsigned int how = (unsigned int)(x >> 56) % 10;

	b->tag = (uint8_t)(x >> 48) | 1;
	if (how < 4) {
		b->kind = K_CACHE;
		b->cache = (uint8_t)((x >> 40) % NCACHES);
		b->size = cache_size[b->cache];
		b->p = kmem_cache_alloc(caches[b->cache], GFP_KERNEL);
		if (b->p && (b->cache & 1) &&
		    *(uint64_t *)(void *)b->p != CTOR_WORD)
			die("object not constructed", b->p);
	} else if (how < 7) {
		b->kind = K_KMALLOC;
		b->size = pick(x);
		b->p = how == 6 ? kzalloc(b->size, GFP_KERNEL)
				: kmalloc(b->size, GFP_KERNEL);
	} else {
		void *p = NULL;

		b->kind = K_MALLOC;
		b->size = pick(x);
		if (how == 7)
			p = calloc(1, b->size);
		else if (how == 8 && posix_memalign(&p, 64, b->size) != 0)
			p = NULL;
		else if (how == 9)
			p = malloc(b->size);
		b->p = p;
	}
	if (!b->p)
		die("allocation failed", NULL);
	atomic_fetch_add_explicit(&live_bytes, b->size, memory_order_relaxed);
	fill(b);
}

static void *worker(void *arg)
{
	unsigned int self = (unsigned int)(uintptr_t)arg;
	uint64_t rng = (seed + self + 1) * 0x9e3779b97f4a7c15ull;
	struct block *slot = calloc(SLOTS, sizeof(*slot));
	uint64_t n = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t x = rng_next(&rng);
		struct block *b = &slot[x % SLOTS];

		if (!b->p) {
			acquire(b, rng_next(&rng));
		} else if (b->kind == K_MALLOC && (x >> 16) % 8 == 0) {
			size_t n2 = pick(rng_next(&rng));
			void *q;

			check(b);
			q = realloc(b->p, n2);
			if (!q)
				die("realloc failed", b->p);
			atomic_fetch_add_explicit(&live_bytes, n2 - b->size,
						  memory_order_relaxed);
			b->p = q;
			b->size = n2;
			fill(b);
		} else {
			unsigned int to = (unsigned int)(x >> 32) % nthreads;
			bool posted = false;

			if (to != self && (x >> 20) % 3 == 0) {
				check(b);
				posted = mailbox_post(&boxes[to], b);
			}
			if (!posted)
				release(b);
			b->p = NULL;
		}
		if ((++n & 255) == 0) {
			mailbox_drain(&boxes[self]);
			atomic_fetch_add_explicit(&ops, 256, memory_order_relaxed);
		}
	}
	for (unsigned int i = 0; i < SLOTS; i++)
		if (slot[i].p)
			release(&slot[i]);
	free(slot);
	return NULL;
}

static void fork_child(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		die("fork failed", NULL);
	if (pid == 0) {
		uint64_t rng = seed ^ 0xfeed;
		struct block b[64];

		for (int i = 0; i < 64; i++)
			acquire(&b[i], rng_next(&rng));
		for (int i = 0; i < 64; i++)
			release(&b[i]);
		_exit(0);
	}
	for (int ms = 0; ms < 20000; ms++) {
		struct timespec t = { 0, 1000000L };

		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				die("child failed", NULL);
			atomic_fetch_add(&forks, 1);
			return;
		}
		nanosleep(&t, NULL);
	}
	kill(pid, SIGKILL);
	die("child hung after fork", NULL);
}

/* A cache of its own, used and destroyed while the workers run. */
static void cache_churn(unsigned int sec)
{
	struct kmem_cache *c = kmem_cache_create("soak-churn", 24 + sec % 500,
						 0, 0, NULL);
	void **p = malloc(10000 * sizeof(void *));

	if (!c || !p)
		die("churn cache", NULL);
	for (int i = 0; i < 10000; i++)
		if (!(p[i] = kmem_cache_alloc(c, GFP_KERNEL)))
			die("churn allocation", NULL);
	for (int i = 0; i < 10000; i++)
		kmem_cache_free(c, p[i]);
	kmem_cache_destroy(c);
	free(p);
}

int main(int argc, char **argv)
{
	unsigned int seconds = argc > 1 ? (unsigned int)atoi(argv[1]) : 60;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t *t;
	size_t peak_rss = 0, max_live = 0;
	const char *s = getenv("USLAB_TEST_SEED");

	nthreads = argc > 2 ? (unsigned int)atoi(argv[2])
			    : (unsigned int)(ncpu * 4 > 8 ? ncpu * 4 : 8);
	seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
	printf("soak: %u s, %u threads on %ld CPUs, seed %llu "
	       "(replay with USLAB_TEST_SEED)\n", seconds, nthreads, ncpu,
	       (unsigned long long)seed);
	fflush(stdout);
	for (unsigned int i = 0; i < NCACHES; i++)
		caches[i] = kmem_cache_create("soak", cache_size[i], 0,
					      i == 2 ? SLAB_HWCACHE_ALIGN : 0,
					      (i & 1) ? ctor : NULL);
	boxes = calloc(nthreads, sizeof(*boxes));
	t = calloc(nthreads, sizeof(*t));
	for (unsigned int i = 0; i < nthreads; i++)
		mailbox_init(&boxes[i]);
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);

	for (unsigned int sec = 1; sec <= seconds; sec++) {
		struct timespec one = { 1, 0 };
		size_t rss, live;

		nanosleep(&one, NULL);
		if (sec % 5 == 0)
			fork_child();
		if (sec % 3 == 0)
			cache_churn(sec);
		rss = rss_bytes_quiet() / 1024;
		live = (size_t)atomic_load(&live_bytes) / 1024;
		if (rss > peak_rss)
			peak_rss = rss;
		if (live > max_live)
			max_live = live;
		/*
		 * Bounded: resident memory stays within a small multiple of
		 * what is live, plus what caches, magazines and kept large
		 * blocks may hold.
		 */
		if (rss > 3 * live + 256 * 1024) {
			fprintf(stderr, "soak: %zu KiB resident for %zu KiB live\n",
				rss, live);
			die("resident memory unbounded", NULL);
		}
		if (sec % 30 == 0) {
			printf("  %4u s: %llu operations, %zu KiB live, %zu KiB "
			       "resident\n", sec,
			       (unsigned long long)atomic_load(&ops), live, rss);
			fflush(stdout);
		}
	}
	atomic_store(&stop, 1);
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	for (unsigned int i = 0; i < nthreads; i++)
		mailbox_drain(&boxes[i]);
	if (atomic_load(&live_bytes) != 0)
		die("live bytes left after the run", NULL);
	for (unsigned int i = 0; i < NCACHES; i++) {
		struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };

		uslab_cache_stats(caches[i], &st);
		if (st.active_objs)
			die("objects left in a cache", caches[i]);
		kmem_cache_destroy(caches[i]);
	}
	printf("soak: %u s, %llu operations, %llu forks, peak %zu KiB "
	       "resident, at most %zu KiB live: ok\n", seconds,
	       (unsigned long long)atomic_load(&ops),
	       (unsigned long long)atomic_load(&forks), peak_rss, max_live);
	return 0;
}
