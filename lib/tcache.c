/* SPDX-License-Identifier: MIT */
/*
 * tcache.c - per-thread magazines, where no restartable sequence runs,
 * and the entry to the locked paths.
 *
 * Where a thread has an rseq area, the per-CPU magazines are reached with
 * no atomic instruction (rseq.h).  Where it has none (glibc's registration
 * turned off and USLAB_OWN_RSEQ not set, valgrind, ThreadSanitizer
 * builds, non-x86 machines), reaching them takes the slot's lock: two
 * locked instructions an operation, which on a virtual machine cost more
 * than all the rest of the fast path.  So there, the kmalloc-N and
 * malloc-N caches, which every malloc() reaches, are served from each
 * thread's own pair of magazines instead (glibc's tcache and tcmalloc's
 * thread caches do the same): no lock, no atomic.  They trade with the
 * cache's depot like a CPU's slot does, and hold at most US_TCACHE_BYTES
 * of objects each.
 *
 * Their fast paths are inline, beside the sequences (magazine.h,
 * us_tcache_pop() and us_tcache_push()): where a sequence cannot serve,
 * the thread's cache, found through the static-TLS pointer
 * us_tcache_fast, serves at its slot's top (tcache.h), as a CPU slot
 * serves the sequences.  Out of line, a malloc()/free() pair without
 * rseq took a call into libuslab each way, its bound tests and a stack
 * frame: 8.4 ns against 4.0 with rseq on this project's machine
 * (bench/README.md); inline it takes 4.3.  Only this file's slow paths
 * work on the magazines themselves, between writing top back and
 * setting it again; under valgrind every operation takes them, since
 * each round that leaves a magazine is cleared and described to memcheck
 * (memtool.h), and us_tcache_fast stays NULL.
 *
 * A cache a program makes itself keeps to the per-CPU locked paths,
 * since kmem_cache_destroy() must be able to drain every magazine of it,
 * and the statistics count every object in a magazine as free, not in
 * use: another thread's magazines are out of reach of both.
 *
 *   thread cache   struct us_tcache, one per thread, an object of the
 *                  bootstrap cache "uslab-tcache" (never malloc), made on
 *                  the thread's first locked-path call and found through
 *                  static-TLS pointers: `mine` for the slow paths, and
 *                  us_tcache_fast, the same but NULL under valgrind, for
 *                  the fast ones.  Slot i serves the cache whose tc_index
 *                  is i; slot 0 holds the sentinel for good.
 *
 * At thread exit a pthread key's destructor gives the magazines back to
 * the depots; a thread that allocates after that (a later destructor)
 * takes the per-CPU paths.  pthread_setspecific() allocates for keys
 * from 32 up, so if ours is one of those, there are no thread caches.
 * After fork() the child keeps the forking thread's cache; what other
 * threads' caches held stays allocated there, as glibc's tcache does.
 *
 * Statistics: a thread counts its fast operations in its slot and adds
 * them to its CPU slot's counters on each slow path and at exit.
 *
 * Locking: a thread cache is its thread's alone; key_lock guards making
 * the key, once.  Objects of uslab-tcache come from its slab lock.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "cpu.h"
#include "magazine.h"
#include "memtool.h"
#include "reclaim.h"
#include "report.h"
#include "slab.h"
#include "tcache.h"

/* pthread_setspecific() allocates for keys from here up (glibc). */
#define KEY_NO_ALLOC_LIMIT 32

enum { TC_NONE, TC_READY, TC_MAKING, TC_GONE };

static struct kmem_cache tcache_boot US_FORK_STATE;	/* magazine.c */
static struct kmem_cache *slot_cache[US_TCACHE_SLOTS];	/* by tc_index */
static uint32_t slot_limit[US_TCACHE_SLOTS];		/* rounds kept */
static _Atomic uint32_t next_index = 1;

static struct us_lock key_lock = US_LOCK_INIT;
static pthread_key_t key;
static _Atomic int key_state;	/* 0 not made, 1 usable, 2 unusable */

static __thread struct us_tcache *mine
	__attribute__((tls_model("initial-exec")));
__thread struct us_tcache *us_tcache_fast
	__attribute__((tls_model("initial-exec")));
static __thread unsigned char state
	__attribute__((tls_model("initial-exec")));

struct kmem_cache *us_tcache_boot_cache(void)
{
	return &tcache_boot;
}

void us_tcache_init(void)
{
	strcpy(tcache_boot.name, "uslab-tcache");
	tcache_boot.flags = US_CACHE_NOMAGAZINE | US_CACHE_STATIC;
	if (us_slab_geometry(&tcache_boot, sizeof(struct us_tcache),
			     US_CACHE_LINE, 0, false) != 0)
		us_panic("cannot lay out %s", tcache_boot.name);
	us_slab_pool_init(&tcache_boot);
}

void us_tcache_cache_init(struct kmem_cache *c)
{
	uint32_t i;

	c->tc_index = 0;
	if (!(c->flags & US_CACHE_KMALLOC) || (c->flags & US_CACHE_DEBUG))
		return;
	i = atomic_fetch_add(&next_index, 1);
	if (i >= US_TCACHE_SLOTS)
		return;
	slot_limit[i] = (uint32_t)US_MAX((size_t)1, US_TCACHE_BYTES / c->size);
	slot_cache[i] = c;
	c->tc_index = i;
}

/* The rounds this thread keeps in a magazine of c. */
static inline uint32_t room(const struct kmem_cache *c, const struct us_mag *m)
{
	return US_MIN(m->capacity, slot_limit[c->tc_index]);
}

/*
 * Write the fast paths' top back into the loaded magazine, before the
 * slow paths work on it.  The sentinel, which every thread's empty slots
 * share, is read and never written.
 */
static inline void slot_sync(struct us_tcache_slot *s)
{
	struct us_mag *m = s->loaded;
	uint32_t rounds = (uint32_t)(s->top - m->objs);

	if (m->rounds != rounds)
		m->rounds = rounds;
}

/* Set top and end on the loaded magazine again, for the fast paths. */
static inline void slot_open(struct us_tcache_slot *s,
			     const struct kmem_cache *c)
{
	struct us_mag *m = s->loaded;

	s->top = m->objs + m->rounds;
	s->end = m->objs + room(c, m);
}

/* An empty slot: the sentinel, loaded and previous; both paths fail. */
static void slot_clear(struct us_tcache_slot *s)
{
	s->loaded = &us_mag_sentinel;
	s->prev = &us_mag_sentinel;
	s->top = us_mag_sentinel.objs;
	s->end = us_mag_sentinel.objs;
}

/*
 * Add a slot's uncounted fast operations, and this slow one (if any), to
 * this CPU's counters.
 */
enum { SLOW_NONE, SLOW_ALLOC, SLOW_FREE };

static void count(struct kmem_cache *c, struct us_tcache_slot *s, int slow)
{
	struct us_cpu_slot *cpu = &c->cpu[us_cpu_current()];

	us_stat_add(&cpu->alloc_fast, s->allocs);
	us_stat_add(&cpu->free_fast, s->frees);
	if (slow == SLOW_ALLOC)
		us_stat_add(&cpu->alloc_slow, 1);
	else if (slow == SLOW_FREE)
		us_stat_add(&cpu->free_slow, 1);
	s->allocs = 0;
	s->frees = 0;
}

static void flush(struct us_tcache *t)
{
	for (unsigned int i = 1; i < US_TCACHE_SLOTS; i++) {
		struct us_tcache_slot *s = &t->slot[i];
		struct kmem_cache *c = slot_cache[i];

		if (!c)
			continue;
		slot_sync(s);
		count(c, s, SLOW_NONE);
		us_depot_give(c, s->loaded);
		us_depot_give(c, s->prev);
		slot_clear(s);
	}
}

/* The key's destructor: the exiting thread's magazines go back. */
static void thread_exit(void *arg)
{
	struct us_tcache *t = arg;
	void *obj = t;

	state = TC_GONE;
	us_tcache_fast = NULL;
	mine = NULL;
	flush(t);
	us_slab_free_batch(&tcache_boot, &obj, 1);
}

static bool key_ready(void)
{
	int s = atomic_load_explicit(&key_state, memory_order_acquire);

	if (likely(s))
		return s == 1;
	us_lock(&key_lock);
	if (!atomic_load(&key_state)) {
		s = 2;
		if (pthread_key_create(&key, thread_exit) == 0) {
			if ((unsigned int)key < KEY_NO_ALLOC_LIMIT)
				s = 1;
			else
				pthread_key_delete(key);
		}
		atomic_store_explicit(&key_state, s, memory_order_release);
	}
	us_unlock(&key_lock);
	return atomic_load(&key_state) == 1;
}

/* The calling thread's cache, made now if it has none; or NULL. */
static US_NOINLINE struct us_tcache *make_mine(void)
{
	struct us_tcache *t;
	void *obj;

	if (state != TC_NONE || !key_ready())
		return NULL;
	state = TC_MAKING;	/* what this allocates takes the CPU paths */
	if (!us_slab_alloc_batch(&tcache_boot, &obj, 1)) {
		state = TC_NONE;
		return NULL;
	}
	t = obj;
	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < US_TCACHE_SLOTS; i++)
		slot_clear(&t->slot[i]);
	/* No callout: glibc allocates only for keys from 32 up. */
	if (pthread_setspecific(key, t) != 0) {
		us_slab_free_batch(&tcache_boot, &obj, 1);
		state = TC_GONE;
		return NULL;
	}
	mine = t;
	if (!US_VG)
		us_tcache_fast = t;
	state = TC_READY;
	return t;
}

static inline void slot_swap(struct us_tcache_slot *s)
{
	struct us_mag *t = s->loaded;

	s->loaded = s->prev;
	s->prev = t;
}

static US_NOINLINE void *alloc_slow(struct kmem_cache *c,
				    struct us_tcache_slot *s)
{
	struct us_mag *m;
	void *obj;

	slot_sync(s);
	count(c, s, SLOW_ALLOC);
	if (s->prev->rounds) {
		slot_swap(s);
		obj = us_mag_pop(s->loaded);
		slot_open(s, c);
		return obj;
	}
	/* Both empty: prev goes to the depot for a full one. */
	m = us_depot_trade_empty(c, s->prev);
	if (m) {
		s->prev = s->loaded;
		s->loaded = m;
	} else {
		m = us_mag_refill(c, slot_limit[c->tc_index]);
		if (!m)
			return NULL;
		us_depot_give(c, s->loaded);
		s->loaded = m;
	}
	/*
	 * Pop, and open the slot, before the poke: it may start the helper,
	 * and pthread_create() callocs on this thread, from this very slot
	 * (callout.h).
	 */
	obj = us_mag_pop(m);
	slot_open(s, c);
	us_reclaim_poke(US_RECLAIM_ALLOC, c);
	return obj;
}

/*
 * The fast path as us_tcache_pop() has it, for the locked paths' entry:
 * the first call of a thread, which makes its cache, and every call
 * under valgrind, which clears each round that leaves a magazine.
 */
bool us_tcache_alloc(struct kmem_cache *c, void **obj)
{
	struct us_tcache *t = mine;
	struct us_tcache_slot *s;

	if (unlikely(!t) && !(t = make_mine()))
		return false;
	s = &t->slot[c->tc_index];
	if (likely(s->top[-1] != NULL)) {
		*obj = *--s->top;
		if (US_VG)
			*s->top = NULL;
		s->allocs++;
	} else {
		*obj = alloc_slow(c, s);
	}
	return true;
}

static US_NOINLINE void free_slow(struct kmem_cache *c,
				  struct us_tcache_slot *s, void *obj)
{
	struct us_mag *m;

	slot_sync(s);
	m = s->loaded;
	if (unlikely(m->rounds != 0 && m->objs[m->rounds - 1] == obj))
		us_mag_report_double_free(c, obj);
	count(c, s, SLOW_FREE);
	if (s->prev->rounds < room(c, s->prev)) {
		slot_swap(s);
		goto push;
	}
	/* Both full (or the sentinel): prev goes for an empty one. */
	m = us_depot_trade_full(c, s->prev);
	if (!m) {
		m = us_mag_new_empty(c);
		if (!m) {
			us_slab_free_batch(c, &obj, 1);
			return;
		}
		us_depot_give(c, s->prev);
	}
	s->prev = s->loaded;
	s->loaded = m;
	m->objs[m->rounds++] = obj;
	slot_open(s, c);
	/*
	 * Pushed first, as the allocation pops first: a free's poke makes
	 * no callout today, but the slot is whole whatever it does.
	 */
	us_reclaim_poke(US_RECLAIM_FREE, c);
	return;
push:
	s->loaded->objs[s->loaded->rounds++] = obj;
	slot_open(s, c);
}

bool us_tcache_ready(void)
{
	return likely(mine != NULL) || make_mine() != NULL;
}

/* The fast path as us_tcache_push() has it, for the locked paths' entry. */
void us_tcache_free(struct kmem_cache *c, void *obj)
{
	struct us_tcache_slot *s = &mine->slot[c->tc_index];
	void **top = s->top;

	if (likely(top < s->end)) {
		if (unlikely(top[-1] == obj))
			us_mag_report_double_free(c, obj);
		*top = obj;
		s->top = top + 1;
		s->frees++;
	} else {
		free_slow(c, s, obj);
	}
}

void us_tcache_flush_mine(void)
{
	if (mine)
		flush(mine);
}

void us_tcache_count_mine(struct kmem_cache *c)
{
	if (mine && c->tc_index)
		count(c, &mine->slot[c->tc_index], SLOW_NONE);
}

/*
 * The locked paths' entry, where a sequence gave up or none can run: a
 * thread's own magazines if the cache has a slot and no thread runs the
 * sequences, else the CPU's, locked (magazine.c).
 */
void *us_mag_alloc_slow(struct kmem_cache *c)
{
	void *obj;

	if (c->tc_index && !us_rseq_enabled && us_tcache_alloc(c, &obj)) {
		if (obj)
			us_obj_handout(c, obj);
		else
			errno = ENOMEM;
		return obj;
	}
	return us_mag_alloc_percpu(c);
}

void us_mag_free_slow(struct kmem_cache *c, void *obj)
{
	if (c->tc_index && !us_rseq_enabled && us_tcache_ready()) {
		us_obj_takeback(c, obj);
		us_tcache_free(c, obj);
		return;
	}
	us_mag_free_percpu(c, obj);
}
