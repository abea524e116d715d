/* SPDX-License-Identifier: MIT */
/*
 * test-stress.c - many threads, mixed sizes, objects freed elsewhere.
 *
 * More threads than CPUs (four per CPU, at least eight) allocate from
 * several caches (with and without constructors) and from kmalloc (small
 * classes and the large path), write a pattern derived from the object's
 * address into each object, and either free it themselves later or post
 * it to another thread's mailbox to be freed there.  Every object is
 * checked against its pattern when freed, so an object handed out twice,
 * or overlapping another, shows up as a mismatch.  At the end every
 * cache must validate and hold no allocated object.
 *
 * The run is seeded (printed) and bounded: USLAB_STRESS_SECONDS
 * (default 3) and USLAB_STRESS_THREADS override; `make stress` runs it
 * longer.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>

#include "cache.h"
#include "chunk.h"
#include "internal.h"
#include "testutil.h"

#define SLOTS 512
#define MAILBOX 1024
#define CTOR_MAGIC 0xc0ffee11c0ffee11ull

enum kind { K_CACHE, K_KMALLOC };

struct obj_ref {
	void *p;
	uint32_t size;		/* bytes the pattern covers */
	uint8_t kind;
	uint8_t cache;		/* index into caches[] for K_CACHE */
	uint8_t tag;		/* per allocation: two owners would differ */
};


static struct {
	unsigned int size;
	void (*ctor)(void *);
	struct kmem_cache *c;
} caches[] = {
	{ 16, NULL, NULL }, { 64, NULL, NULL }, { 200, NULL, NULL },
	{ 1000, NULL, NULL }, { 96, NULL, NULL }, { 4000, NULL, NULL },
};

static unsigned int nthreads;
static struct mailbox *boxes;
static _Atomic int stop;
static _Atomic uint64_t ops;

static void magic_ctor(void *p)
{
	*(uint64_t *)p = CTOR_MAGIC;
}

static bool has_ctor(unsigned int ci)
{
	return caches[ci].ctor != NULL;
}

/*
 * The pattern: a head of up to 96 bytes and the last 16 bytes, both
 * derived from the address; the first word of a constructed object is
 * left to its constructor.
 */
struct span {
	size_t from, head_end, tail_start;
};

static struct span pattern_span(const struct obj_ref *r)
{
	struct span sp;

	sp.from = (r->kind == K_CACHE && has_ctor(r->cache)) ? 8 : 0;
	sp.tail_start = r->size > 16 ? r->size - 16 : sp.from;
	sp.head_end = r->size < 96 ? r->size : 96;
	if (sp.head_end > sp.tail_start)
		sp.head_end = sp.tail_start;
	return sp;
}

static void fill(const struct obj_ref *r)
{
	unsigned char *b = r->p;
	uint8_t seed = (uint8_t)(r->tag ^ ((uintptr_t)r->p >> 4));
	struct span sp = pattern_span(r);

	for (size_t i = sp.from; i < sp.head_end; i++)
		b[i] = (uint8_t)(seed + i);
	for (size_t i = sp.tail_start; i < r->size; i++)
		b[i] = (uint8_t)(seed ^ i);
}

static void verify(const struct obj_ref *r)
{
	const unsigned char *b = r->p;
	uint8_t seed = (uint8_t)(r->tag ^ ((uintptr_t)r->p >> 4));
	struct span sp = pattern_span(r);

	/* Check's assertions are slow when they pass: test, then report. */
	if (sp.from && *(const uint64_t *)(const void *)b != CTOR_MAGIC)
		ck_abort_msg("object %p lost its constructed state", r->p);
	for (size_t i = sp.from; i < sp.head_end; i++)
		if (b[i] != (uint8_t)(seed + i))
			ck_abort_msg("object %p byte %zu overwritten", r->p, i);
	for (size_t i = sp.tail_start; i < r->size; i++)
		if (b[i] != (uint8_t)(seed ^ i))
			ck_abort_msg("object %p byte %zu overwritten", r->p, i);
}

static bool alloc_one(struct obj_ref *r, uint64_t *rng)
{
	uint64_t x = rng_next(rng);

	if (x % 3 != 0) {
		unsigned int ci = (unsigned int)(x >> 8) % US_ARRAY_SIZE(caches);

		r->kind = K_CACHE;
		r->cache = (uint8_t)ci;
		r->size = caches[ci].size;
		r->p = kmem_cache_alloc(caches[ci].c, GFP_KERNEL);
		if (r->p && has_ctor(ci) && *(uint64_t *)r->p != CTOR_MAGIC)
			ck_abort_msg("object %p not constructed", r->p);
	} else {
		/* Mostly small, some medium, rarely large. */
		unsigned int pick = (unsigned int)(x >> 16) % 1000;
		size_t size = pick < 900   ? 1 + (x >> 32) % 512
			      : pick < 995 ? 1 + (x >> 32) % 65536
					   : 65537 + (x >> 32) % (1u << 20);

		r->kind = K_KMALLOC;
		r->size = (uint32_t)size;
		r->p = kmalloc(size, GFP_KERNEL);
	}
	if (!r->p)
		ck_abort_msg("allocation failed: %s", strerror(errno));
	r->tag = (uint8_t)(x >> 56) | 1;
	fill(r);
	return true;
}

static void free_one(const struct obj_ref *r)
{
	verify(r);
	if (r->kind == K_CACHE)
		kmem_cache_free(caches[r->cache].c, r->p);
	else
		kfree(r->p);
}

MAILBOX_DEFINE(mailbox, struct obj_ref, MAILBOX, free_one)

struct worker {
	unsigned int id;
	uint64_t rng;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct obj_ref slots[SLOTS];
	uint64_t n = 0;

	memset(slots, 0, sizeof(slots));
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t x = rng_next(&w->rng);
		struct obj_ref *r = &slots[x % SLOTS];

		if (r->p) {
			unsigned int to = (unsigned int)(x >> 40) % nthreads;

			if (to == w->id || (x >> 20) % 4 != 0 ||
			    !mailbox_post(&boxes[to], r))
				free_one(r);
			r->p = NULL;
		} else {
			alloc_one(r, &w->rng);
		}
		if ((++n & 255) == 0)
			mailbox_drain(&boxes[w->id]);
	}
	for (unsigned int i = 0; i < SLOTS; i++)
		if (slots[i].p)
			free_one(&slots[i]);
	atomic_fetch_add(&ops, n);
	return NULL;
}

static unsigned int env_uint(const char *name, unsigned int dflt)
{
	const char *s = getenv(name);

	return s ? (unsigned int)strtoul(s, NULL, 10) : dflt;
}

TEST(threads_exchange_objects_and_nothing_is_lost)
{
	unsigned int seed = test_seed();
	unsigned int seconds = env_uint("USLAB_STRESS_SECONDS", 3);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t *tids;
	struct worker *ws;
	struct timespec ts = { (time_t)seconds, 0 };

	nthreads = env_uint("USLAB_STRESS_THREADS",
			    (unsigned int)(ncpu * 4 > 8 ? ncpu * 4 : 8));
	printf("%u threads on %ld CPUs for %u s\n", nthreads, ncpu, seconds);
	caches[2].ctor = magic_ctor;
	caches[4].ctor = magic_ctor;
	for (unsigned int i = 0; i < US_ARRAY_SIZE(caches); i++) {
		caches[i].c = kmem_cache_create("stress", caches[i].size, 0,
						i == 3 ? SLAB_HWCACHE_ALIGN : 0,
						caches[i].ctor);
		ck_assert_ptr_nonnull(caches[i].c);
	}
	boxes = calloc(nthreads, sizeof(*boxes));
	tids = calloc(nthreads, sizeof(*tids));
	ws = calloc(nthreads, sizeof(*ws));
	for (unsigned int i = 0; i < nthreads; i++)
		mailbox_init(&boxes[i]);
	for (unsigned int i = 0; i < nthreads; i++) {
		ws[i].id = i;
		ws[i].rng = ((uint64_t)seed << 32 | i) * 0x9e3779b97f4a7c15ull + 1;
		ck_assert_int_eq(pthread_create(&tids[i], NULL, worker_main,
						&ws[i]), 0);
	}
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	for (unsigned int i = 0; i < nthreads; i++)
		mailbox_drain(&boxes[i]);
	printf("%llu operations\n", (unsigned long long)atomic_load(&ops));
	ck_assert_uint_gt(atomic_load(&ops), 1000);

	for (unsigned int i = 0; i < US_ARRAY_SIZE(caches); i++) {
		struct uslab_cache_stats st = { .version =
							USLAB_CACHE_STATS_VERSION };

		ck_assert_uint_eq(us_cache_validate(caches[i].c), 0);
		uslab_cache_stats(caches[i].c, &st);
		ck_assert_uint_eq(st.active_objs, 0);
		kmem_cache_destroy(caches[i].c);
	}
	for (size_t size = 8; size <= 65536; size *= 2)
		ck_require((us_cache_validate(uslab_kmalloc_cache(size))) == (0));
	free(boxes);
	free(tids);
	free(ws);
}
END_TEST

/*
 * Large blocks handed from thread to thread through the cache of freed
 * blocks, while another thread trims it: a block is on the cache's list
 * the moment its free drops the lock, and may be taken, grown, moved or
 * unmapped at once, so the free must not touch it after.  (It read the
 * block's length after the unlock; the soak workload crashed on that
 * once in a few minutes.  ThreadSanitizer reports such a read here.)
 */
#define LARGE_THREADS 4
#define LARGE_ROUNDS 3000

static _Atomic int large_done;

static void *large_trader(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	/* Valgrind runs one thread at a time: a token run there. */
	int rounds = on_valgrind() ? LARGE_ROUNDS / 20 : LARGE_ROUNDS;

	for (int i = 0; i < rounds; i++) {
		size_t size = (1u << 20) + rng_next(&rng) % (3u << 20);
		unsigned char *p = kmalloc(size, GFP_KERNEL);

		ck_require((p) != NULL);
		p[0] = p[size - 1] = (unsigned char)i;
		if (i % 3 == 0) {
			p = krealloc(p, size + (1u << 20), GFP_KERNEL);
			ck_require((p) != NULL);
			ck_require((p[0]) == ((unsigned char)i));
		}
		kfree(p);
	}
	atomic_fetch_add(&large_done, 1);
	return NULL;
}

TEST(large_blocks_traded_between_threads_while_trimmed)
{
	pthread_t t[LARGE_THREADS];

	for (int i = 0; i < LARGE_THREADS; i++)
		pthread_create(&t[i], NULL, large_trader, (void *)(intptr_t)i);
	while (atomic_load(&large_done) < LARGE_THREADS)
		uslab_shrink_all();
	for (int i = 0; i < LARGE_THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(us_cache_locks_held(), 0);
	ck_assert_uint_eq(us_chunk_validate(), 0);
}
END_TEST

int main(void)
{
	return run_tests("stress", env_uint("USLAB_STRESS_SECONDS", 3) * 4 + 60);
}
