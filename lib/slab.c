/* SPDX-License-Identifier: MIT */
/*
 * slab.c - the slab layer.
 *
 * Owns a cache's slabs: which slots of the page layer it holds, which of
 * their objects are free, and the geometry of objects in a slab.
 *
 * A slab's objects start at base = slot + base_off (its colour) and are
 * `size` apart.
 * Free objects are either on the slab's free list or not yet carved (the
 * first `carved` objects in carving order have been handed out); a slab
 * is handed out in carving order first, so a fresh slab touches its pages
 * only as they are used.  Carving order is address order, or a random
 * permutation with USLAB_RANDOM_FREELIST (see carve_index()).  When a slab
 * becomes empty its free list is dropped and carving starts again from
 * the first object: every object is free and (if the cache has a
 * constructor) still constructed, so either way is correct, and carving
 * is cheaper.
 *
 * Free pointer hardening (after SLUB's CONFIG_SLAB_FREELIST_HARDENED):
 * the link stored in a free object at address `at` is
 *
 *	next ^ cache->secret ^ bswap64(at)
 *
 * so an overflow that overwrites it cannot name an address of its choice
 * without knowing the secret, and a decoded link that is not an object
 * of the slab is reported ("Freepointer corrupt") instead of followed.
 * The head of each list lives in the slab descriptor, outside the objects,
 * and is stored plain.
 *
 * Object layout.  The free pointer overlays the first word of a free
 * object, unless the object must keep its contents while free (a
 * constructor, SLAB_TYPESAFE_BY_RCU, SLAB_POISON), in which case it sits
 * just past the object:
 *
 *	| object_size bytes | [free pointer] | padding to align | next object
 *	^ object                              size ----------------^
 *
 * Lists: partial (some objects free), full (none free), empty (all free,
 * newest at the head).  Allocation takes the head of the partial list
 * and a full slab that gets a free object back joins its tail, so the
 * slabs being filled stay filled and the rest can drain empty; then it
 * takes the newest empty slab, so the oldest age out.  An empty slab goes
 * back to the page layer once it has been empty for the decay period
 * (reclaim.c), never sooner: the check runs whenever objects come back
 * and in the sweep.
 *
 * Populating.  A slab whose slot came clean from the page layer
 * (US_SLAB_CLEAN) faults its pages in as its objects are first written,
 * a page fault each, which costs several times what the allocation does
 * (bench/README.md, grow).  So when a cache that has filled a slab
 * before (it is growing) carves objects from a clean slab, their pages
 * are faulted in with one system call (us_os_populate()), made after the
 * slab lock is dropped.  Only for objects of a page or less: every page
 * of such a slab holds the start of an object, which its user writes,
 * while an object of several pages may leave its middle untouched for
 * good.  What it costs is the pages of objects carved and not yet used,
 * a refill's, which the magazine layer holds anyway.  A cache that never
 * fills a slab, a slab of one page, fewer than US_POPULATE_MIN_PAGES
 * pages, and carving in random order are left to fault as before.  A
 * constructed cache's new slab is populated whole before its objects
 * are constructed: the constructor writes every page anyway.
 *
 * Locking: every field of the pool and of the cache's slab descriptors is
 * under the cache's slab lock (design essay, 7), except slab->cache,
 * which is set before the slab's first object is handed out and cleared
 * after its last one returns.  Page-layer calls and constructors run
 * with the slab lock released.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloctag.h"
#include "bug.h"
#include "chunk.h"
#include "debug.h"
#include "memtool.h"
#include "node.h"
#include "options.h"
#include "os.h"
#include "reclaim.h"
#include "slab.h"

static inline void **fp_addr(const struct kmem_cache *c, void *obj)
{
	return (void **)(void *)((char *)obj + c->offset);
}

/*
 * A tracked cache's free objects are hidden from the memory tools
 * (memtool.h) and opened around the slab layer's own accesses.
 */
static inline void *fp_read(const struct kmem_cache *c, void **at)
{
	void *v;

	if (us_mem_tracked(c))
		us_mem_open(at, sizeof(*at));
	v = us_slab_fp_encode(c, *at, at);
	if (us_mem_tracked(c))
		us_mem_close(at, sizeof(*at));
	return v;
}

static inline void fp_write(const struct kmem_cache *c, void **at, void *next)
{
	if (us_mem_tracked(c))
		us_mem_open(at, sizeof(*at));
	*at = us_slab_fp_encode(c, next, at);
	if (us_mem_tracked(c))
		us_mem_close(at, sizeof(*at));
}

/*
 * Carving order.  By default a slab's objects are handed out in address
 * order.  With USLAB_RANDOM_FREELIST (the kernel's SLAB_FREELIST_RANDOM),
 * the k-th object carved is index (start + k * step) mod objects: step is
 * a random number coprime to objects, per cache, and start is random per
 * slab, derived from its address and the cache's secret, so that heap
 * layouts are not predictable.  The inverse of step lets "has this index
 * been carved?" be answered without a table.
 */
static inline uint32_t carve_start(const struct kmem_cache *c,
				   const struct us_slab *slab)
{
	uint64_t h = ((uintptr_t)us_slab_base(slab) ^ c->secret) *
		     0x9e3779b97f4a7c15ull;

	return (uint32_t)((h >> 32) % slab->objects);
}

static inline uint32_t carve_index(const struct kmem_cache *c,
				   const struct us_slab *slab, uint32_t k)
{
	if (likely(!c->rand_step))
		return k;
	return (uint32_t)((carve_start(c, slab) + (uint64_t)k * c->rand_step) %
			  slab->objects);
}

/* Has the object at this index been carved from its slab yet? */
static inline bool is_carved(const struct kmem_cache *c,
			     const struct us_slab *slab, uint32_t index)
{
	uint64_t pos;

	if (likely(!c->rand_step))
		return index < slab->carved;
	pos = ((uint64_t)index + slab->objects - carve_start(c, slab)) %
	      slab->objects;
	return pos * c->rand_inverse % slab->objects < slab->carved;
}

static uint32_t gcd32(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* x with (a * x) % m == 1, for a coprime to m. */
static uint32_t inverse_mod(uint32_t a, uint32_t m)
{
	int64_t t = 0, newt = 1, r = m, newr = a;

	while (newr) {
		int64_t q = r / newr, tmp;

		tmp = t - q * newt;
		t = newt;
		newt = tmp;
		tmp = r - q * newr;
		r = newr;
		newr = tmp;
	}
	return (uint32_t)(t < 0 ? t + m : t);
}

/* The inverse of odd d modulo 2^64, by Newton's iteration. */
static uint64_t odd_inverse(uint64_t d)
{
	uint64_t x = d;		/* right in the low 3 bits: d * d == 1 mod 8 */

	for (int i = 0; i < 5; i++)	/* each step doubles the good bits */
		x *= 2 - d * x;
	return x;
}

static int set_geometry(struct kmem_cache *c, unsigned int order, size_t slab,
			size_t n, size_t waste, size_t raw, unsigned int align)
{
	c->order = order;
	c->slab_size = (uint32_t)slab;
	c->objects = (uint32_t)n;
	atomic_store_explicit(&c->free_gate, (uint32_t)n, memory_order_relaxed);
	c->span = (uint32_t)(n * raw);
	c->colour_step = US_MAX((uint32_t)US_CACHE_LINE, align);
	c->colour_count = (uint32_t)(waste / c->colour_step) + 1;
	/* Exact for offsets and sizes below 2^20: slab.h. */
	c->reciprocal = (((uint64_t)1 << 40) + raw - 1) / raw;
	c->size_shift = (uint32_t)__builtin_ctzll(raw);
	c->size_inverse = odd_inverse((uint64_t)raw >> c->size_shift);
	return 0;
}

int us_slab_geometry(struct kmem_cache *c, unsigned int object_size,
		     unsigned int align, unsigned int flags, bool has_ctor)
{
	static const unsigned int min_objects[] = { 16, 8, 4, 2, 1 };
	size_t raw;

	if (align < sizeof(void *))
		align = sizeof(void *);
	if (flags & SLAB_HWCACHE_ALIGN) {
		/* As the kernel: small objects take a fraction of a line. */
		unsigned int ralign = US_CACHE_LINE;

		while (object_size <= ralign / 2)
			ralign /= 2;
		align = US_MAX(align, ralign);
	}
	c->align = align;
	c->object_size = object_size;
	c->red_left = 0;
	if (flags & US_CACHE_DEBUG) {
		us_debug_layout(c, has_ctor);
		raw = c->size;
	} else if ((flags & SLAB_TYPESAFE_BY_RCU) && c->freeptr_req) {
		/*
		 * The caller named a word of the object that may serve as
		 * the link while it is free: no room added after it.
		 */
		c->offset = c->freeptr_req - 1;
		raw = US_MAX((size_t)object_size, sizeof(void *));
	} else if (has_ctor || (flags & (SLAB_TYPESAFE_BY_RCU | SLAB_POISON))) {
		c->offset = (uint32_t)US_ALIGN_UP((size_t)object_size,
						  sizeof(void *));
		raw = c->offset + sizeof(void *);
	} else {
		c->offset = 0;
		raw = US_MAX((size_t)object_size, sizeof(void *));
	}
	raw = US_ALIGN_UP(raw, (size_t)align);
	if (raw > US_SLAB_MAX_SIZE)
		return -EINVAL;
	c->size = (uint32_t)raw;

	/*
	 * Slabs of a few sizes only, so that a slot one cache gives back
	 * serves another's next slab while its pages are still resident:
	 * a page for objects of up to 256 bytes, 64 KiB up to 8 KiB, 256 KiB
	 * above; if that wastes more than an eighth, the search below.
	 */
	{
		size_t want = raw <= 256 ? us_page_size
			      : raw <= 8192 ? (size_t)64 << 10 : (size_t)256 << 10;
		unsigned int order = 0;

		while (((size_t)us_page_size << order) < want)
			order++;
		if (order <= US_SLAB_MAX_ORDER && want >= raw + c->red_left) {
			size_t room = want - c->red_left, n = room / raw;
			size_t waste = room - n * raw;

			if (waste * 8 <= want &&
			    set_geometry(c, order, want, n, waste, raw, align) == 0)
				return 0;
		}
	}
	/*
	 * The smallest slab that holds enough objects with little waste;
	 * failing that, the smallest that holds one object at all.
	 */
	for (unsigned int m = 0; m <= US_ARRAY_SIZE(min_objects); m++) {
		bool last = m == US_ARRAY_SIZE(min_objects);

		for (unsigned int order = 0; order <= US_SLAB_MAX_ORDER; order++) {
			size_t slab = us_page_size << order;
			/* A debug cache's first left red zone comes first. */
			size_t room = slab - c->red_left;
			size_t n, waste;

			if (slab > US_SLAB_MAX_SIZE)
				break;
			if (room < raw)
				continue;
			n = room / raw;
			waste = room - n * raw;
			if (!last && (n < min_objects[m] || waste * 8 > slab))
				continue;
			return set_geometry(c, order, slab, n, waste, raw, align);
		}
	}
	return -EINVAL;
}

void us_slab_pool_init(struct kmem_cache *c)
{
	for (unsigned int node = 0; node < us_slab_nr_pools(c); node++) {
		struct us_slab_pool *pool = us_slab_pool(c, node);

		memset(pool, 0, sizeof(*pool));
		us_lock_reset(&pool->lock);
		us_list_init(&pool->partial);
		us_list_init(&pool->full);
		us_list_init(&pool->empty);
	}
	c->secret = (uintptr_t)us_os_random() | 1u;
	c->rand_step = 0;
	if (us_options.random_freelist && c->objects > 2) {
		uint32_t step = (uint32_t)(us_os_random() % c->objects);

		while (step < 2 || gcd32(step, c->objects) != 1)
			step = step + 1 >= c->objects ? 2 : step + 1;
		c->rand_step = step;
		c->rand_inverse = inverse_mod(step, c->objects);
	}
}

static US_COLD US_NORETURN void freepointer_corrupt(struct kmem_cache *c,
						    struct us_slab *slab,
						    void *obj, void *bad)
{
	us_bug_freepointer(c, slab, obj, bad);
}

/* Only caches without debugging free here: the report aborts. */
static US_COLD US_NORETURN void already_free(struct kmem_cache *c, void *obj)
{
	us_bug_already_free(c, obj);
	abort();
}

/*
 * Move a slab to the list its counts call for; slab lock held.  A full
 * slab that gets an object back goes to the tail of the partial list.
 */
static void slab_relist(struct us_slab_pool *pool, struct us_slab *slab,
			uint8_t to)
{
	bool was_full = slab->list == US_SLAB_FULL;

	US_ASSERT_HELD(&pool->lock);

	if (slab->list == to)
		return;
	switch (slab->list) {
	case US_SLAB_PARTIAL: pool->nr_partial--; break;
	case US_SLAB_FULL: pool->nr_full--; break;
	case US_SLAB_EMPTY: pool->nr_empty--; break;
	default: break;
	}
	us_list_del(&slab->link);
	slab->list = to;
	switch (to) {
	case US_SLAB_PARTIAL:
		pool->nr_partial++;
		if (was_full)
			us_list_add_tail(&slab->link, &pool->partial);
		else
			us_list_add(&slab->link, &pool->partial);
		break;
	case US_SLAB_FULL:
		pool->nr_full++;
		us_list_add(&slab->link, &pool->full);
		break;
	case US_SLAB_EMPTY:
		pool->nr_empty++;
		us_list_add(&slab->link, &pool->empty);
		break;
	default:
		break;
	}
}

/*
 * The page layer populates slots ahead of a cache that has filled this
 * many of its slabs (chunk.c, "Populating ahead"): 64 KiB of one-page
 * slabs, so what it brings in ahead is at most what the cache holds.
 */
#define US_AHEAD_AFTER_SLABS 16

/*
 * A new slab for c, constructed, on no list; NULL with errno ENOMEM.
 * ahead: the page layer may populate slots ahead (above).  Called
 * without the slab lock.
 */
/*
 * May slab's pages be faulted in ahead of their first write ("Populating"
 * above)?  Only a clean slab of several pages whose objects are a page or
 * less: a larger object's far pages may never be written.
 */
static inline bool may_populate(const struct kmem_cache *c,
				const struct us_slab *slab)
{
	return (slab->flags & US_SLAB_CLEAN) && c->order &&
	       c->size <= us_page_size;
}

static struct us_slab *slab_grow(struct kmem_cache *c, uint32_t colour,
				 unsigned int node, bool ahead)
{
	struct us_slab *slab = us_chunk_slot_alloc(c->order, node, ahead);
	char *start;

	if (!slab)
		return NULL;
	start = us_chunk_slot_start(slab);
	/* A slot hidden from the memory tools while free: ours now. */
	us_mem_open(start, c->slab_size);
	if (c->ctor && may_populate(c, slab))
		us_os_populate(start, c->slab_size);
	slab->base_off = c->red_left +
			 (colour % c->colour_count) * c->colour_step;
	slab->objects = c->objects;
	slab->empty_since = UINT64_MAX;		/* not empty yet */
	if (c->flags & US_CACHE_DEBUG)
		us_debug_init_slab(c, slab);
	if (c->ctor) {
		for (uint32_t i = 0; i < slab->objects; i++)
			c->ctor(start + slab->base_off + (size_t)i * c->size);
	}
	if (us_mem_tracked(c))
		us_mem_hide(start, c->slab_size);
	/* uslab's own caches' objects are not for callers to free. */
	us_chunk_slot_publish(slab, c->flags & US_CACHE_NOMAGAZINE ? NULL : c,
			      slab->base_off);
	atomic_store_explicit(&slab->cache, c, memory_order_release);
	return slab;
}

/*
 * Is p, a decoded free pointer from anywhere, an object of slab that has
 * been carved (so may be on its free list)?
 */
static inline bool is_listed_object(const struct kmem_cache *c,
				    const struct us_slab *slab, const void *p)
{
	return us_slab_holds_object(c, slab, p) &&
	       is_carved(c, slab, us_slab_obj_index(c, slab, p));
}

/* Fewer pages than this fault in one by one: a call costs about that. */
#define US_POPULATE_MIN_PAGES 4

/* A range to populate once the slab lock is dropped (above). */
struct populate {
	char *from, *to;
};

/*
 * Carving from `carved` has just taken the objects before `upto`: their
 * pages are to be faulted in at once, if slab is clean, its cache is
 * growing (the pool has a full slab) and the rest of "Populating" above
 * holds.  The first page may be resident already, shared with the last
 * object carved before.  Slab lock held.
 */
static void populate_note(const struct kmem_cache *c,
			  const struct us_slab_pool *pool,
			  const struct us_slab *slab, uint32_t carved,
			  uint32_t upto, struct populate *pop)
{
	uintptr_t slot, base, from, to;

	if (!may_populate(c, slab) || c->rand_step || !pool->nr_full ||
	    pop->to || upto == carved)
		return;
	slot = (uintptr_t)us_chunk_slot_start(slab);
	base = (uintptr_t)us_slab_base(slab);
	from = carved ? US_ALIGN_DOWN(base + (uintptr_t)carved * c->size,
				      (uintptr_t)us_page_size)
		      : slot;
	to = US_MIN(US_ALIGN_UP(base + (uintptr_t)upto * c->size,
				(uintptr_t)us_page_size),
		    slot + c->slab_size);
	if (to <= from ||
	    to - from < US_POPULATE_MIN_PAGES * (uintptr_t)us_page_size)
		return;
	pop->from = (char *)from;
	pop->to = (char *)to;
}

/* Take up to n objects from one slab; slab lock held. */
static unsigned int slab_take(struct kmem_cache *c, struct us_slab *slab,
			      void **objs, unsigned int n)
{
	unsigned int got = 0;

	while (got < n && slab->freelist) {
		void *obj = slab->freelist;
		void *next = fp_read(c, fp_addr(c, obj));

		if (next && unlikely(!is_listed_object(c, slab, next)))
			freepointer_corrupt(c, slab, obj, next);
		slab->freelist = next;
		objs[got++] = obj;
	}
	while (got < n && slab->carved < slab->objects)
		objs[got++] = us_slab_base(slab) +
			      (size_t)carve_index(c, slab, slab->carved++) * c->size;
	slab->inuse += got;
	return got;
}

/*
 * Take up to n objects; prepare, if not NULL, sees each one under the
 * slab lock, before any other thread can see it allocated.
 */
static unsigned int alloc_batch(struct kmem_cache *c, void **objs,
				unsigned int n,
				void (*prepare)(struct kmem_cache *,
						struct us_slab *, void *,
						const void *),
				const void *arg, unsigned int node)
{
	struct us_slab_pool *pool = us_slab_pool(c, node);
	unsigned int got = 0, taken;
	struct populate pop = { NULL, NULL };

	us_lock(&pool->lock);
	while (got < n) {
		struct us_slab *slab;
		uint32_t carved;

		if (!us_list_is_empty(&pool->partial)) {
			slab = us_container_of(pool->partial.next,
					       struct us_slab, link);
		} else if (!us_list_is_empty(&pool->empty)) {
			slab = us_container_of(pool->empty.next,
					       struct us_slab, link);
			/* Kept, not released: its pages need no faulting in. */
			us_stat_add(&pool->reused, 1);
		} else {
			uint32_t colour = pool->colour_next++;
			bool ahead = pool->nr_full >= US_AHEAD_AFTER_SLABS;

			us_unlock(&pool->lock);
			slab = slab_grow(c, colour,
					 us_slab_nr_pools(c) > 1 ? node : 0, ahead);
			us_lock(&pool->lock);
			if (!slab)
				break;
			us_stat_add(&pool->grown, 1);
		}
		carved = slab->carved;
		taken = slab_take(c, slab, objs + got, n - got);
		populate_note(c, pool, slab, carved, slab->carved, &pop);
		if (prepare)
			for (unsigned int i = 0; i < taken; i++)
				prepare(c, slab, objs[got + i], arg);
		/* Counted now: the lock may drop to grow another slab. */
		pool->inuse += taken;
		got += taken;
		slab_relist(pool, slab, slab->inuse == slab->objects
						? US_SLAB_FULL
						: US_SLAB_PARTIAL);
	}
	us_stat_add(&pool->refills, 1);
	us_unlock(&pool->lock);
	if (pop.to)
		us_os_populate(pop.from, (size_t)(pop.to - pop.from));
	if (got == 0) {
		atomic_fetch_add_explicit(&pool->alloc_failed, 1,
					  memory_order_relaxed);
		errno = ENOMEM;
	}
	return got;
}

/* The node a cache's refill takes slabs of: the calling thread's. */
static inline unsigned int refill_node(const struct kmem_cache *c)
{
	return us_slab_nr_pools(c) > 1 ? us_node_current() : 0;
}

unsigned int us_slab_alloc_batch(struct kmem_cache *c, void **objs,
				 unsigned int n)
{
	return alloc_batch(c, objs, n, NULL, NULL, refill_node(c));
}

unsigned int us_slab_alloc_batch_node(struct kmem_cache *c, void **objs,
				      unsigned int n, unsigned int node)
{
	return alloc_batch(c, objs, n, NULL, NULL, node);
}

static bool may_release(const struct kmem_cache *c)
{
	return !(c->flags & SLAB_TYPESAFE_BY_RCU);
}

/*
 * Detach the empty slabs that go back to the page layer onto `out`,
 * oldest first; slab lock held: those beyond US_SLAB_KEEP_EMPTY, and
 * those empty since before `before` (ms).  A cache keeps a few for a
 * working set that crosses a slab boundary; the rest wait in the page
 * layer, where a slab of any cache can have them.
 */
static void collect_empty(struct us_slab_pool *pool, uint64_t before,
			  struct us_list *out)
{
	US_ASSERT_HELD(&pool->lock);

	while (!us_list_is_empty(&pool->empty)) {
		struct us_slab *oldest = us_container_of(pool->empty.prev,
							 struct us_slab, link);

		if (pool->nr_empty <= US_SLAB_KEEP_EMPTY &&
		    oldest->empty_since >= before)
			break;
		slab_relist(pool, oldest, US_SLAB_ORPHAN);
		us_list_add(&oldest->link, out);
	}
}

/* Empty slabs idle since before this go back now (reclaim.c). */
static uint64_t decay_cutoff(uint64_t now)
{
	return now >= us_decay_ms ? now - us_decay_ms + 1 : 0;
}

/* Slots handed to the page layer in one call, from the stack. */
#define RELEASE_BATCH 256

/*
 * Give slabs back to the page layer: their pages at once (now: shrink,
 * destroy), or resident for any cache's next slab until they have been
 * free for the decay period (us_chunk_slots_free()).
 */
static size_t release_slabs(struct kmem_cache *c, struct us_list *list,
			    bool now)
{
	struct us_slab *batch[RELEASE_BATCH];
	size_t released = 0;

	while (!us_list_is_empty(list)) {
		unsigned int n = 0;

		while (n < RELEASE_BATCH && !us_list_is_empty(list)) {
			struct us_slab *slab = us_container_of(list->next,
							       struct us_slab,
							       link);

			us_list_del(&slab->link);
			us_tag_slab_release(slab);
			batch[n++] = slab;
		}
		/*
		 * Counted first: handing the slots over may unmap their
		 * chunks (two that fall idle in one batch: the first goes).
		 */
		us_stat_add(&us_slab_pool(c, us_chunk_of(batch[0])->node)->reaped, n);
		us_chunk_slots_free(batch, n, now);
		released += (size_t)n * c->slab_size;
	}
	return released;
}

/*
 * Put obj on its slab's free list and relist the slab; slab lock held.
 * Returns whether the slab became empty, which drops the free list.
 * Without `link`, no free link is written into obj: the caller knows the
 * slab falls empty before the lock is dropped, so the link would never
 * be read (us_slab_free_batch_idle()); the head still names obj, for the
 * double-free test.
 */
static bool free_one(struct kmem_cache *c, struct us_slab_pool *pool,
		     struct us_slab *slab, void *obj, uint64_t idle_since,
		     bool link)
{
	US_ASSERT_HELD(&pool->lock);
	US_ASSERT(slab->inuse > 0 && slab->inuse <= slab->objects);
	US_ASSERT(link || slab->returning == slab->inuse);

	if (--slab->inuse == 0) {
		struct us_list *empty = &pool->empty;
		struct us_slab *oldest;

		slab->freelist = NULL;
		slab->carved = 0;
		slab->empty_since = idle_since;
		slab_relist(pool, slab, US_SLAB_EMPTY);
		/* Idle since long before (a reaped magazine): age it first. */
		oldest = us_container_of(empty->prev, struct us_slab, link);
		if (oldest != slab && idle_since <= oldest->empty_since) {
			us_list_del(&slab->link);
			us_list_add_tail(&slab->link, empty);
		}
		return true;
	}
	if (link)
		fp_write(c, fp_addr(c, obj), slab->freelist);
	slab->freelist = obj;
	slab_relist(pool, slab, US_SLAB_PARTIAL);
	return false;
}

/* Done with a pool in a batch free: count, collect, unlock. */
static void free_batch_done(struct kmem_cache *c, struct us_slab_pool *pool,
			    unsigned int freed, struct us_list *doomed)
{
	pool->inuse -= freed;
	us_stat_add(&pool->flushes, 1);
	if (may_release(c))
		collect_empty(pool, decay_cutoff(us_os_now_ms()), doomed);
	us_unlock(&pool->lock);
}

/*
 * Free a batch, a pool's run of it at a time.  A first pass counts each
 * slab's objects in the run; a slab whose objects in use are all still
 * to come falls empty in this run, and its free list is dropped then, so
 * those objects get no link (free_one()): a flush that empties
 * slabs writes into none of their objects, which may be cold, or never
 * touched at all (a refill's objects that no one took), whose pages the
 * link would fault in only for the slab to give them back.
 */
void us_slab_free_batch_idle(struct kmem_cache *c, void *const *objs,
			     unsigned int n, uint64_t idle_since)
{
	struct us_list doomed;
	bool emptied = false;

	us_list_init(&doomed);
	for (unsigned int i = 0, j; i < n; i = j) {
		struct us_slab_pool *pool =
			us_slab_pool(c, us_chunk_of(objs[i])->node);

		/*
		 * Objects of several nodes: one pool's lock at a time, over
		 * the run of objects of that pool, counted as it is found.
		 */
		us_lock(&pool->lock);
		for (j = i; j < n && j - i < UINT16_MAX; j++) {
			struct us_chunk *ch = us_chunk_of(objs[j]);

			if (us_slab_pool(c, ch->node) != pool)
				break;
			us_chunk_slab(ch, objs[j])->returning++;
		}
		for (unsigned int k = i; k < j; k++) {
			void *obj = objs[k];
			struct us_chunk *ch = us_chunk_of(obj);
			struct us_slab *slab = us_chunk_slab(ch, obj);

			if (unlikely(obj == slab->freelist ||
				     !is_carved(c, slab,
						us_slab_obj_index(c, slab, obj))))
				already_free(c, obj);
			emptied |= free_one(c, pool, slab, obj, idle_since,
					    slab->returning != slab->inuse);
			slab->returning--;
		}
		free_batch_done(c, pool, j - i, &doomed);
	}
	release_slabs(c, &doomed, false);
	if (emptied)
		us_reclaim_note(c->slab_size);
}

void us_slab_free_batch(struct kmem_cache *c, void *const *objs,
			unsigned int n)
{
	us_slab_free_batch_idle(c, objs, n, us_os_now_ms());
}

/*
 * Call fn on every object of one slab, in windows of WALK_WINDOW objects
 * so that the "is it free?" bitmap fits on the stack; slab lock held.
 */
#define WALK_WINDOW 4096

typedef void visit_fn(struct kmem_cache *c, struct us_slab *slab, void *obj,
		      bool is_free, void *arg);

static void walk_slab(struct kmem_cache *c, struct us_slab *slab,
		      visit_fn *fn, void *arg)
{
	uint64_t free_map[WALK_WINDOW / 64];

	for (uint32_t lo = 0; lo < slab->objects; lo += WALK_WINDOW) {
		uint32_t hi = US_MIN(lo + WALK_WINDOW, slab->objects), n = 0;

		memset(free_map, 0, sizeof(free_map));
		for (void *p = slab->freelist; p && n <= slab->objects; n++) {
			uint32_t i;

			if (!is_listed_object(c, slab, p))
				break;
			i = us_slab_obj_index(c, slab, p);
			if (i >= lo && i < hi)
				free_map[(i - lo) / 64] |= 1ull << ((i - lo) % 64);
			p = fp_read(c, fp_addr(c, p));
		}
		for (uint32_t i = lo; i < hi; i++) {
			bool is_free = !is_carved(c, slab, i) ||
				       (free_map[(i - lo) / 64] >> ((i - lo) % 64) & 1);

			fn(c, slab, us_slab_base(slab) + (size_t)i * c->size, is_free,
			   arg);
		}
	}
}

/*
 * Call fn on every object of every slab of c, under c's slab lock.  For
 * debug caches, whose objects are never in magazines, is_free is exact.
 */
static void walk_objects(struct kmem_cache *c, visit_fn *fn, void *arg)
{
	for (unsigned int node = 0; node < us_slab_nr_pools(c); node++) {
		struct us_slab_pool *pool = us_slab_pool(c, node);
		struct us_list *lists[] = { &pool->partial, &pool->full,
					    &pool->empty };

		us_lock(&pool->lock);
		for (size_t k = 0; k < US_ARRAY_SIZE(lists); k++)
			for (struct us_list *l = lists[k]->next; l != lists[k];
			     l = l->next)
				walk_slab(c, us_container_of(l, struct us_slab,
							     link), fn, arg);
		us_unlock(&pool->lock);
	}
}

/* ------------------------------------------------------------ debug caches */

/* Is obj, an object of slab, free?  Slab lock held.  O(free objects). */
static bool obj_is_free(struct kmem_cache *c, struct us_slab *slab,
			const void *obj)
{
	uint32_t n = 0;

	if (!is_carved(c, slab, us_slab_obj_index(c, slab, obj)))
		return true;
	for (void *p = slab->freelist; p && n <= slab->objects; n++) {
		if (p == obj)
			return true;
		if (!is_listed_object(c, slab, p))
			break;
		p = fp_read(c, fp_addr(c, p));
	}
	return false;
}

void *us_slab_alloc_debug(struct kmem_cache *c, int node)
{
	struct us_track t = { 0 };
	void *obj;

	/* Unwound before the slab lock is taken: see internal.h, 7. */
	if (c->flags & SLAB_STORE_USER)
		us_bug_capture_track(&t);
	if (!alloc_batch(c, &obj, 1, us_debug_alloc_checks, &t,
			 node >= 0 ? (unsigned int)node : refill_node(c)))
		return NULL;
	us_obj_handout(c, obj);
	return obj;
}

void us_slab_free_debug(struct kmem_cache *c, void *obj)
{
	struct us_slab_pool *pool = us_slab_pool(c, us_chunk_of(obj)->node);
	struct us_slab *slab = us_chunk_slab(us_chunk_of(obj), obj);
	struct us_track t = { 0 };
	struct us_list doomed;

	/* Unwound before the slab lock is taken: see internal.h, 7. */
	if (c->flags & SLAB_STORE_USER)
		us_bug_capture_track(&t);
	us_obj_takeback(c, obj);
	us_list_init(&doomed);
	us_lock(&pool->lock);
	if (obj_is_free(c, slab, obj)) {
		us_debug_already_free(c, slab, obj);
		us_unlock(&pool->lock);
		return;
	}
	if (!us_debug_free_checks(c, slab, obj, &t)) {
		us_unlock(&pool->lock);
		return;
	}
	free_one(c, pool, slab, obj, us_os_now_ms(), true);
	pool->inuse--;
	if (may_release(c))
		collect_empty(pool, decay_cutoff(us_os_now_ms()), &doomed);
	us_unlock(&pool->lock);
	release_slabs(c, &doomed, false);
}

unsigned int us_slab_check_debug(struct kmem_cache *c)
{
	unsigned int damaged = 0;

	if (!(c->flags & US_CACHE_DEBUG))
		return 0;
	walk_objects(c, us_debug_check_one, &damaged);
	return damaged;
}

void us_slab_report_leaks(struct kmem_cache *c, uint64_t live)
{
	struct us_debug_leaks leaks;

	us_debug_leaks_begin(c, &leaks);
	walk_objects(c, us_debug_leak_one, &leaks);
	us_debug_leaks_end(c, &leaks, live);
}

size_t us_slab_reap(struct kmem_cache *c, uint64_t before, uint64_t *waiting)
{
	size_t released = 0;

	for (unsigned int node = 0; node < us_slab_nr_pools(c); node++) {
		struct us_slab_pool *pool = us_slab_pool(c, node);
		struct us_list doomed;
		uint64_t kept;

		us_list_init(&doomed);
		us_lock(&pool->lock);
		if (may_release(c))
			collect_empty(pool, before, &doomed);
		kept = pool->nr_empty * c->slab_size;
		us_unlock(&pool->lock);
		if (waiting && may_release(c))
			*waiting += kept;
		released += release_slabs(c, &doomed, before == UINT64_MAX);
	}
	return released;
}

uint64_t us_slab_release_all(struct kmem_cache *c)
{
	uint64_t inuse = 0;

	for (unsigned int node = 0; node < us_slab_nr_pools(c); node++) {
		struct us_slab_pool *pool = us_slab_pool(c, node);
		struct us_list doomed;

		us_list_init(&doomed);
		us_lock(&pool->lock);
		collect_empty(pool, UINT64_MAX, &doomed);
		inuse += pool->inuse;
		us_unlock(&pool->lock);
		release_slabs(c, &doomed, true);
	}
	return inuse;
}

void us_slab_counts(struct kmem_cache *c, struct us_slab_counts *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int node = 0; node < us_slab_nr_pools(c); node++) {
		struct us_slab_pool *pool = us_slab_pool(c, node);

		us_lock(&pool->lock);
		out->partial += pool->nr_partial;
		out->full += pool->nr_full;
		out->empty += pool->nr_empty;
		out->inuse += pool->inuse;
		us_unlock(&pool->lock);
		out->refills += us_stat_read(&pool->refills);
		out->flushes += us_stat_read(&pool->flushes);
		out->grown += us_stat_read(&pool->grown);
		out->reaped += us_stat_read(&pool->reaped);
		out->reused += us_stat_read(&pool->reused);
		out->alloc_failed += us_stat_read(&pool->alloc_failed);
	}
}

static unsigned int validate_list(struct kmem_cache *c, struct us_list *head,
				  uint8_t kind, uint64_t expect,
				  uint64_t *inuse)
{
	unsigned int problems = 0;
	uint64_t count = 0;

	for (struct us_list *l = head->next; l != head; l = l->next) {
		struct us_slab *slab = us_container_of(l, struct us_slab, link);
		uint32_t nfree = 0;

		count++;
		if (slab->list != kind ||
		    atomic_load_explicit(&slab->cache, memory_order_relaxed) != c ||
		    slab->objects != c->objects || slab->inuse > slab->carved ||
		    slab->carved > slab->objects)
			problems++;
		if ((kind == US_SLAB_FULL) != (slab->inuse == slab->objects) ||
		    (kind == US_SLAB_EMPTY) != (slab->inuse == 0))
			problems++;
		for (void *obj = slab->freelist; obj && nfree <= slab->objects;
		     nfree++) {
			void **at = fp_addr(c, obj);

			if (!is_listed_object(c, slab, obj)) {
				problems++;
				break;
			}
			obj = fp_read(c, at);
		}
		if (nfree != slab->carved - slab->inuse)
			problems++;
		*inuse += slab->inuse;
	}
	if (count != expect)
		problems++;
	return problems;
}

unsigned int us_slab_validate(struct kmem_cache *c)
{
	unsigned int problems = 0;

	for (unsigned int node = 0; node < us_slab_nr_pools(c); node++) {
		struct us_slab_pool *pool = us_slab_pool(c, node);
		uint64_t inuse = 0;

		us_lock(&pool->lock);
		problems += validate_list(c, &pool->partial, US_SLAB_PARTIAL,
					  pool->nr_partial, &inuse);
		problems += validate_list(c, &pool->full, US_SLAB_FULL,
					  pool->nr_full, &inuse);
		problems += validate_list(c, &pool->empty, US_SLAB_EMPTY,
					  pool->nr_empty, &inuse);
		if (inuse != pool->inuse)
			problems++;
		us_unlock(&pool->lock);
	}
	return problems;
}

void us_slab_fork_prepare(struct kmem_cache *c)
{
	for (unsigned int node = 0; node < us_slab_nr_pools(c); node++)
		us_lock(&us_slab_pool(c, node)->lock);
}

void us_slab_fork_parent(struct kmem_cache *c)
{
	for (unsigned int node = 0; node < us_slab_nr_pools(c); node++)
		us_unlock(&us_slab_pool(c, node)->lock);
}

void us_slab_fork_child(struct kmem_cache *c)
{
	for (unsigned int node = 0; node < us_slab_nr_pools(c); node++)
		us_lock_reset(&us_slab_pool(c, node)->lock);
}

bool us_slab_may_grow(struct kmem_cache *c, unsigned int want)
{
	struct us_slab_pool *pool = us_slab_pool(c, refill_node(c));
	uint64_t slabs, avail;

	us_lock(&pool->lock);
	slabs = pool->nr_partial + pool->nr_full + pool->nr_empty;
	avail = slabs * c->objects - pool->inuse;
	us_unlock(&pool->lock);
	return avail < want;
}
