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
 * than all the rest of the fast path.  So there, caches are served from
 * each thread's own pair of magazines instead (glibc's tcache and
 * tcmalloc's thread caches do the same): no lock, no atomic.  They trade
 * with the cache's depot like a CPU's slot does, and hold at most
 * US_TCACHE_BYTES of objects each.  The kmalloc-N and malloc-N caches
 * take the slots below US_TCACHE_FIRST_USER; a program's caches share
 * the rest (256), and one made when none is free, or a debug cache,
 * keeps to the per-CPU locked paths.  A thread's slot of a program's
 * cache is made empty when the cache is made (or when the thread makes
 * its cache, for the caches there are): before, nothing reads it, and
 * the thread's cache is not written there.
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
 * Other threads reach a thread's cache in three places, through the list
 * of every thread's cache (tc_list, under tc_lock):
 *
 *   kmem_cache_destroy()  takes c's magazines from every thread's slot,
 *                         which its contract says no thread is using,
 *                         and frees the slot for the next cache;
 *   statistics            count the objects every thread's slot holds
 *                         as cached, not in use, from top, base and
 *                         prev_rounds, which the owner publishes relaxed
 *                         (tcache.h): exact between its operations;
 *   fork()                keeps the list in the child, with the caches
 *                         of the threads that are not there, so that
 *                         what they held is counted and drained as
 *                         cached rather than lost; the slow paths change
 *                         a slot only inside a window that fork() waits
 *                         out (magazine.c, objects in flight), so each
 *                         is whole in the child.
 *
 * What no one else reaches is a live thread's magazines for the sweep or
 * a shrink: they hold at most 2 * US_TCACHE_BYTES of objects per cache.
 * So a thread trims its own cache: every TRIM_EVERY slow paths it reads
 * the clock, and once a decay period has passed since its last trim, it
 * gives back the magazines of every slot it has not used since then
 * (trim()), as the sweep drains a CPU's slots idle for the period.  A
 * slot left idle goes back after one to two periods of the thread's
 * work elsewhere.  A thread that stops allocating altogether keeps its
 * magazines until it allocates again, exits or shrinks
 * (kmem_cache_shrink() and uslab_shrink_all() give back the calling
 * thread's), as glibc's, jemalloc's and tcmalloc's thread caches do.
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
 * After fork() the child keeps the forking thread's cache, and the other
 * threads' on the list (above).
 *
 * Statistics: a thread counts its fast operations in its slot and adds
 * them to its CPU slot's counters on each slow path and at exit.
 *
 * Locking: a thread cache is its thread's alone, but for the three
 * above; tc_lock guards the list and the program's caches' slots, and
 * is held by a thread's exit and by a flush, so that destroy never
 * meets a slot half given back.  key_lock guards making the key, once.
 * Objects of uslab-tcache come from its slab lock.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "cpu.h"
#include "magazine.h"
#include "memtool.h"
#include "os.h"
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
static _Atomic uint32_t next_index = 1;		/* the classes' slots */

/*
 * Every thread's cache, and the program's caches' slots (slot_cache[]
 * from US_TCACHE_FIRST_USER up): under tc_lock, which also serialises a
 * thread's exit, a flush and kmem_cache_destroy() working on a slot of
 * another thread's.  Lock order: under list_lock, above the CPU slots'.
 */
static struct us_lock tc_lock US_FORK_STATE = US_LOCK_INIT;
static struct us_list tc_list = { &tc_list, &tc_list };

const struct us_anchor_tcaches us_tcache_anchor = {
	.list = &tc_list,
	.tcache_size = sizeof(struct us_tcache),
	.link_off = offsetof(struct us_tcache, link),
};

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

static struct us_tcache *tcache_of(struct us_list *l)
{
	return us_container_of(l, struct us_tcache, link);
}

static void slot_reset(struct us_tcache_slot *s);

static void slot_assign(struct kmem_cache *c, uint32_t i)
{
	slot_limit[i] = (uint32_t)US_MAX((size_t)1, US_TCACHE_BYTES / c->size);
	slot_cache[i] = c;
	c->tc_index = i;
}

/*
 * The classes take the slots below US_TCACHE_FIRST_USER in the order they
 * are made, for good; a cache of the program's takes a free one above,
 * until its destruction frees it (us_tcache_cache_destroy()).  A cache
 * that finds none keeps to the per-CPU paths, as debug caches do.
 */
void us_tcache_cache_init(struct kmem_cache *c)
{
	uint32_t i;

	c->tc_index = 0;
	if (c->flags & (US_CACHE_DEBUG | US_CACHE_NOMAGAZINE))
		return;
	if (c->flags & US_CACHE_KMALLOC) {
		i = atomic_fetch_add(&next_index, 1);
		US_ASSERT(i < US_TCACHE_FIRST_USER);
		if (i < US_TCACHE_FIRST_USER)
			slot_assign(c, i);
		return;
	}
	us_lock(&tc_lock);
	for (i = US_TCACHE_FIRST_USER; i < US_TCACHE_SLOTS; i++) {
		if (!slot_cache[i]) {
			for (struct us_list *l = tc_list.next; l != &tc_list;
			     l = l->next)
				slot_reset(&tcache_of(l)->slot[i]);
			slot_assign(c, i);
			break;
		}
	}
	us_unlock(&tc_lock);
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
	void **top = __atomic_load_n(&s->top, __ATOMIC_RELAXED);
	uint32_t rounds = (uint32_t)(top - m->objs);

	if (m->rounds != rounds)
		m->rounds = rounds;
}

/* Set the fast paths' and the readers' view on the magazines again. */
static void slot_publish(struct us_tcache_slot *s, uint32_t keep)
{
	struct us_mag *m = s->loaded;

	__atomic_store_n(&s->base, m->objs, __ATOMIC_RELAXED);
	__atomic_store_n(&s->prev_rounds, s->prev->rounds, __ATOMIC_RELAXED);
	__atomic_store_n(&s->top, m->objs + m->rounds, __ATOMIC_RELAXED);
	s->end = m->objs + keep;
}

static inline void slot_open(struct us_tcache_slot *s,
			     const struct kmem_cache *c)
{
	slot_publish(s, room(c, s->loaded));
}

/* An empty slot: the sentinel, loaded and previous; both paths fail. */
static void slot_clear(struct us_tcache_slot *s)
{
	s->loaded = &us_mag_sentinel;
	s->prev = &us_mag_sentinel;
	slot_publish(s, 0);
}

/* A slot of whatever it held before, as a new thread's: empty, uncounted. */
static void slot_reset(struct us_tcache_slot *s)
{
	memset(s, 0, sizeof(*s));
	slot_clear(s);
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
	if (slow != SLOW_NONE)
		s->used = 1;
	s->allocs = 0;
	s->frees = 0;
}

/* Give slot s's magazines back to c's depot; tc_lock held. */
static void slot_flush(struct kmem_cache *c, struct us_tcache_slot *s)
{
	slot_sync(s);
	us_depot_give(c, s->loaded);
	us_depot_give(c, s->prev);
	slot_clear(s);
}

/* Give every slot's magazines back; tc_lock held. */
static void flush(struct us_tcache *t)
{
	for (unsigned int i = 1; i < US_TCACHE_SLOTS; i++) {
		struct us_tcache_slot *s = &t->slot[i];
		struct kmem_cache *c = slot_cache[i];

		if (!c)
			continue;
		count(c, s, SLOW_NONE);
		slot_flush(c, s);
	}
}

/*
 * Give back the magazines of t's slots that have seen no operation since
 * the last trim, and start a new period for the others; tc_lock held.
 */
static void trim(struct us_tcache *t)
{
	for (unsigned int i = 1; i < US_TCACHE_SLOTS; i++) {
		struct us_tcache_slot *s = &t->slot[i];
		struct kmem_cache *c = slot_cache[i];

		if (!c || (s->loaded == &us_mag_sentinel &&
			   s->prev == &us_mag_sentinel))
			continue;
		if (s->used || s->allocs || s->frees) {
			count(c, s, SLOW_NONE);
			s->used = 0;
			continue;
		}
		slot_flush(c, s);
	}
}

/*
 * After a slow path, with no lock held and the slot whole: trim the
 * thread's cache once a decay period has passed since the last trim.
 */
#define TRIM_EVERY 64u

static void trim_tick(void)
{
	struct us_tcache *t = mine;
	uint64_t now;

	if (likely(++t->slow_ops % TRIM_EVERY != 0))
		return;
	now = us_os_now_ms();
	if (now < t->trim_at)
		return;
	t->trim_at = now + us_decay_ms;
	us_lock(&tc_lock);
	trim(t);
	us_unlock(&tc_lock);
}

/* The key's destructor: the exiting thread's magazines go back. */
static void thread_exit(void *arg)
{
	struct us_tcache *t = arg;
	void *obj = t;

	state = TC_GONE;
	us_tcache_fast = NULL;
	mine = NULL;
	us_lock(&tc_lock);
	us_list_del(&t->link);
	flush(t);
	us_unlock(&tc_lock);
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
	/* The classes' slots; those of the program's caches that exist. */
	for (unsigned int i = 0; i < US_TCACHE_FIRST_USER; i++)
		slot_reset(&t->slot[i]);
	t->trim_at = 0;
	t->slow_ops = 0;
	/* No callout: glibc allocates only for keys from 32 up. */
	if (pthread_setspecific(key, t) != 0) {
		us_slab_free_batch(&tcache_boot, &obj, 1);
		state = TC_GONE;
		return NULL;
	}
	us_lock(&tc_lock);
	for (unsigned int i = US_TCACHE_FIRST_USER; i < US_TCACHE_SLOTS; i++)
		if (slot_cache[i])
			slot_reset(&t->slot[i]);
	us_list_add(&t->link, &tc_list);
	us_unlock(&tc_lock);
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

/*
 * The slow paths change the slot inside a window that fork() waits out
 * (us_mag_flight_begin()), up to publishing it again: a child keeps every
 * thread's cache, and finds each whole.
 */
static US_NOINLINE void *alloc_slow(struct kmem_cache *c,
				    struct us_tcache_slot *s)
{
	unsigned int window = us_mag_flight_begin();
	struct us_mag *m;
	void *obj;

	slot_sync(s);
	count(c, s, SLOW_ALLOC);
	if (s->prev->rounds) {
		slot_swap(s);
		obj = us_mag_pop(s->loaded);
		slot_open(s, c);
		us_mag_flight_end(window);
		trim_tick();
		return obj;
	}
	/* Both empty: prev goes to the depot for a full one. */
	m = us_depot_trade_empty(c, s->prev);
	if (m) {
		s->prev = s->loaded;
		s->loaded = m;
	} else {
		m = us_mag_refill(c, slot_limit[c->tc_index]);
		if (!m) {
			us_mag_flight_end(window);
			return NULL;
		}
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
	us_mag_flight_end(window);
	trim_tick();
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
	*obj = us_tcache_slot_pop(s, US_VG);
	if (unlikely(!*obj))
		*obj = alloc_slow(c, s);
	return true;
}

static US_NOINLINE void free_slow(struct kmem_cache *c,
				  struct us_tcache_slot *s, void *obj)
{
	unsigned int window;
	struct us_mag *m;

	slot_sync(s);
	m = s->loaded;
	if (unlikely(m->rounds != 0 && m->objs[m->rounds - 1] == obj))
		us_mag_report_double_free(c, obj);
	window = us_mag_flight_begin();
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
			us_mag_flight_end(window);
			return;
		}
		us_depot_give(c, s->prev);
	}
	s->prev = s->loaded;
	s->loaded = m;
	m->objs[m->rounds++] = obj;
	slot_open(s, c);
	us_mag_flight_end(window);
	trim_tick();
	/*
	 * Pushed first, as the allocation pops first: a free's poke makes
	 * no callout today, but the slot is whole whatever it does.
	 */
	us_reclaim_poke(US_RECLAIM_FREE, c);
	return;
push:
	s->loaded->objs[s->loaded->rounds++] = obj;
	slot_open(s, c);
	us_mag_flight_end(window);
	trim_tick();
}

bool us_tcache_ready(void)
{
	return likely(mine != NULL) || make_mine() != NULL;
}

/* The fast path as us_tcache_push() has it, for the locked paths' entry. */
void us_tcache_free(struct kmem_cache *c, void *obj)
{
	struct us_tcache_slot *s = &mine->slot[c->tc_index];
	int pushed = us_tcache_slot_push(s, obj);

	if (unlikely(pushed == US_TC_TWICE))
		us_mag_report_double_free(c, obj);
	if (pushed == US_TC_NO)
		free_slow(c, s, obj);
}

void us_tcache_flush_mine(void)
{
	if (!mine)
		return;
	us_lock(&tc_lock);
	flush(mine);
	us_unlock(&tc_lock);
}

void us_tcache_flush_mine_of(struct kmem_cache *c)
{
	if (!mine || !c->tc_index)
		return;
	us_lock(&tc_lock);
	count(c, &mine->slot[c->tc_index], SLOW_NONE);
	slot_flush(c, &mine->slot[c->tc_index]);
	us_unlock(&tc_lock);
}

void us_tcache_count_mine(struct kmem_cache *c)
{
	if (mine && c->tc_index)
		count(c, &mine->slot[c->tc_index], SLOW_NONE);
}

void us_tcache_cache_destroy(struct kmem_cache *c)
{
	uint32_t i = c->tc_index;

	if (!i)
		return;
	us_lock(&tc_lock);
	for (struct us_list *l = tc_list.next; l != &tc_list; l = l->next) {
		struct us_tcache_slot *s = &tcache_of(l)->slot[i];

		slot_flush(c, s);
		s->allocs = 0;
		s->frees = 0;
	}
	if (i >= US_TCACHE_FIRST_USER)
		slot_cache[i] = NULL;
	c->tc_index = 0;
	us_unlock(&tc_lock);
}

uint64_t us_tcache_cached(struct kmem_cache *c)
{
	uint32_t i = c->tc_index;
	uint64_t n = 0;

	if (!i)
		return 0;
	us_lock(&tc_lock);
	for (struct us_list *l = tc_list.next; l != &tc_list; l = l->next)
		n += us_tcache_slot_held(&tcache_of(l)->slot[i]);
	us_unlock(&tc_lock);
	return n;
}

void us_tcache_fork_prepare(void)
{
	us_lock(&tc_lock);
}

void us_tcache_fork_parent(void)
{
	us_unlock(&tc_lock);
}

void us_tcache_fork_child(void)
{
	us_lock_reset(&tc_lock);
}

bool us_tcache_lock_is_held(void)
{
	return us_lock_is_held(&tc_lock);
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
