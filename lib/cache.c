/* SPDX-License-Identifier: MIT */
/*
 * cache.c - the cache layer: kmem_cache_* and the list of caches.
 *
 * Owns cache descriptors and the list of every cache (for statistics,
 * shrinking and fork).  Joins the layers: an allocation goes to the
 * magazines (magazine.h), which fall back on the slabs; a free is first
 * checked against the page layer's registry and the slab descriptor, so
 * that a foreign pointer, an object of another cache or a pointer into
 * the middle of an object is reported instead of freed.
 *
 * Descriptors are objects of the bootstrap cache "kmem_cache", whose
 * object size is fixed at start-up: the descriptor followed by one slot
 * per possible CPU.  It has no magazines, like the magazine caches.
 *
 * Locking: list_lock protects cache_list and every cache's `link`; it is
 * above every per-cache lock (design essay, 7).  A cache descriptor is
 * immutable between creation and destruction apart from its locked
 * parts, and the caller guarantees nobody uses a cache being destroyed.
 *
 * A cache destroyed with objects still allocated is reported and kept,
 * as the kernel keeps it: its slabs stay mapped so those objects stay
 * valid and can still be freed into it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloctag.h"
#include "anchor.h"
#include "bug.h"
#include "cache.h"
#include "chunk.h"
#include "cpu.h"
#include "debug.h"
#include "magazine.h"
#include "memtool.h"
#include "node.h"
#include "os.h"
#include "reclaim.h"
#include "report.h"
#include "tcache.h"
#include "slab.h"

#define NOFAIL_ATTEMPTS 10

static struct us_lock list_lock US_FORK_STATE = US_LOCK_INIT;
static struct us_list cache_list = { &cache_list, &cache_list };
static struct kmem_cache kmem_cache_boot US_FORK_STATE;	/* magazine.c */

/* For uslabtop (anchor.h); exported by the version script. */
__attribute__((visibility("default"), used))
const struct us_anchor uslab_anchor = {
	.magic = US_ANCHOR_MAGIC,
	.cache_size = sizeof(struct kmem_cache),
	.slot_size = sizeof(struct us_cpu_slot),
	.cache_list = &cache_list,
	.nr_cpus = &us_nr_cpus,
	.pages = &us_chunk_anchor,
	.tags = &us_tag_anchor,
	.tcaches = &us_tcache_anchor,
};

static uint64_t last_serial;		/* [list] */

/* Onto the list; a cache kept by destroy, back on it, keeps its serial. */
static void list_add_cache(struct kmem_cache *c)
{
	us_lock(&list_lock);
	if (!c->serial)
		c->serial = ++last_serial;
	us_list_add_tail(&c->link, &cache_list);
	us_unlock(&list_lock);
}

static inline struct kmem_cache *cache_of(struct us_list *l)
{
	return us_container_of(l, struct kmem_cache, link);
}

/*
 * Every CPU's slots, a CPU at a time across the caches, so that each CPU
 * is fenced once (us_mag_reap_cpu_begin()): those idle since before
 * `before` (the sweep), or all of them, as idle since now (shrinking).
 * list_lock held.
 */
static void reap_slots_locked(uint64_t now, uint64_t before, bool all)
{
	struct us_slot_reap r;

	for (unsigned int i = 0; i < us_nr_cpus; i++) {
		us_mag_reap_cpu_begin(&r, i, now, before);
		for (struct us_list *l = cache_list.next; l != &cache_list;
		     l = l->next) {
			if (all)
				us_mag_empty_cpu_slot(&r, cache_of(l));
			else
				us_mag_reap_cpu_slot(&r, cache_of(l));
		}
		us_mag_reap_cpu_end(&r);
	}
}

/*
 * The sweep of reclaim.c: give back what every cache and the large-block
 * cache have had idle for the decay period; no lock held.  The CPU slots
 * go first (reap_slots_locked()), then the depots and the slabs.
 */
static uint64_t sweep(uint64_t now)
{
	/* Idle since before this: given back. */
	uint64_t before = now >= us_decay_ms ? now - us_decay_ms + 1 : 0;
	uint64_t waiting = 0;			/* bytes still ageing */
	struct us_list *l;

	us_lock(&list_lock);
	reap_slots_locked(now, before, false);
	for (l = cache_list.next; l != &cache_list; l = l->next) {
		struct kmem_cache *c = cache_of(l);

		us_mag_reap(c, before);
		us_slab_reap(c, before, &waiting);
		waiting += us_mag_depot_bytes(c);
	}
	us_unlock(&list_lock);
	us_chunk_decommit(before, &waiting);
	us_chunk_large_reap(before, &waiting);
	return waiting;
}

/*
 * Objects of c out with its callers: those out of its slabs less those
 * its magazines and the thread caches hold.  Read without stopping the
 * CPUs, so a busy cache's figure is approximate; 0 for a cache whose
 * objects have all come back.
 */
static uint64_t objects_in_use(struct kmem_cache *c)
{
	struct us_slab_counts sc;
	uint64_t cached;

	us_slab_counts(c, &sc);
	cached = us_mag_cached(c);
	if (cached < sc.inuse && !us_mag_slots_live())
		cached += us_tcache_cached(c);
	return sc.inuse > cached ? sc.inuse - cached : 0;
}

/*
 * Room for c, about to grow (reclaim.h): every other cache of its slab
 * order whose objects have all come back to it, none in use, and whose
 * depot holds full magazines gives those back to its slabs, with the
 * magazines of its CPU slots and of the calling thread's cache (where
 * no rseq runs, the thread that freed them is most often the one that
 * grows), and the slabs that empties go to the page layer, where c's
 * next slab takes one without new pages.  So a program that works in
 * phases, one size at a time, reuses one phase's memory in the next
 * (bench/README.md, "Phases"): the slots' two magazines alone, the last
 * objects freed, would keep a slab or two of every finished phase.
 *
 * A cache with objects in use keeps everything: its objects come and
 * go, and it would refill from new slabs at once (larson, whose classes
 * all stay busy, lost 42% to a rule that flushed the depots least
 * recently used instead).  Nor does c take back room from the cache
 * that last took c's (room_taker): two classes used in turn, each freed
 * whole before the other grows, would otherwise trade the same slabs at
 * every turn, flushing and refilling where their magazines could stay
 * full (bench/README.md, "Phases"), to hold one class's memory instead
 * of two.  The slots go a CPU at a time across the caches chosen, as
 * the sweep's do, so that a call fences each other CPU at most once.  A
 * cache whose depot is empty is not chosen, so one emptied is not again
 * until its depot fills.  Called with no lock held.
 */
US_COLD static void make_room(struct kmem_cache *c)
{
	struct kmem_cache *give[US_REAP_BATCH];
	struct us_slot_reap r;
	unsigned int n = 0;

	us_lock(&list_lock);
	for (struct us_list *l = cache_list.next;
	     l != &cache_list && n < US_REAP_BATCH; l = l->next) {
		struct kmem_cache *o = cache_of(l);

		if (o == c || o->order != c->order ||
		    (o->flags & (US_CACHE_NOMAGAZINE | US_CACHE_DEBUG)) ||
		    o->serial == c->room_taker ||
		    us_mag_depot_bytes(o) == 0 ||
		    objects_in_use(o) != 0)
			continue;
		o->room_taker = c->serial;
		give[n++] = o;
	}
	/* Their CPU slots too, a CPU at a time: one fence a CPU. */
	for (unsigned int i = 0; n && i < us_nr_cpus; i++) {
		us_mag_reap_cpu_begin(&r, i, us_os_now_ms(), 0);
		for (unsigned int k = 0; k < n; k++)
			us_mag_empty_cpu_slot(&r, give[k]);
		us_mag_reap_cpu_end(&r);
	}
	for (unsigned int k = 0; k < n; k++) {
		us_tcache_flush_mine_of(give[k]);	/* no rseq: ours too */
		us_mag_reap(give[k], UINT64_MAX);	/* idle from now */
		/* Now, read after the flush stamped the slabs it emptied. */
		us_slab_reap(give[k], us_os_now_ms() + 1, NULL);
	}
	us_unlock(&list_lock);
}

/* A descriptor: the cache, its CPU slots, then its other nodes' pools. */
static size_t descriptor_size(unsigned int cpus)
{
	return sizeof(struct kmem_cache) +
	       (size_t)cpus * sizeof(struct us_cpu_slot) +
	       (size_t)(us_nr_nodes - 1) * sizeof(struct us_slab_pool);
}

unsigned int us_cache_max_cpu_slots(void)
{
	/* Every descriptor is one object of "kmem_cache", at most this. */
	return (unsigned int)((USLAB_MAX_OBJECT_SIZE - descriptor_size(0)) /
			      sizeof(struct us_cpu_slot));
}

void us_cache_init(void)
{
	size_t desc = descriptor_size(us_nr_cpus);

	us_mag_init();
	us_reclaim_init(sweep, us_chunk_mapped_bytes, make_room);
	strcpy(kmem_cache_boot.name, "kmem_cache");
	kmem_cache_boot.flags = US_CACHE_NOMAGAZINE | US_CACHE_STATIC;
	if (desc > USLAB_MAX_OBJECT_SIZE ||
	    us_slab_geometry(&kmem_cache_boot, (unsigned int)desc,
			     US_CACHE_LINE, 0, false) != 0)
		us_panic("cannot lay out cache descriptors for %u CPUs and %u nodes",
			 us_nr_cpus, us_nr_nodes);
	us_slab_pool_init(&kmem_cache_boot);
	list_add_cache(&kmem_cache_boot);
	for (unsigned int i = 0; us_mag_boot_cache(i); i++)
		list_add_cache(us_mag_boot_cache(i));
	us_tcache_init();
	list_add_cache(us_tcache_boot_cache());
}

/* What __kmem_cache_create_args() refuses in its arguments, or 0. */
static int args_invalid(unsigned int size, const struct kmem_cache_args *a,
			unsigned int flags)
{
	if (a->usersize && (a->useroffset > size ||
			    a->usersize > size - a->useroffset))
		return EINVAL;
	if (a->use_freeptr_offset &&
	    (!(flags & SLAB_TYPESAFE_BY_RCU) ||
	     a->freeptr_offset % sizeof(void *) != 0 ||
	     a->freeptr_offset >= size || size - a->freeptr_offset < sizeof(void *)))
		return EINVAL;
	return 0;
}

struct kmem_cache *us_cache_create_args(const char *name, unsigned int size,
					const struct kmem_cache_args *a,
					unsigned int flags)
{
	struct kmem_cache *c;
	size_t len;

	us_init();
	if (!name || size == 0 || size > USLAB_MAX_OBJECT_SIZE ||
	    (a->align && !US_IS_POWER_OF_2(a->align)) ||
	    a->align > US_SLAB_MAX_SIZE ||
	    (flags & ~(US_SLAB_FLAGS_VALID | US_CACHE_KMALLOC)) ||
	    args_invalid(size, a, flags)) {
		errno = EINVAL;
		return NULL;
	}
	if (!us_slab_alloc_batch(&kmem_cache_boot, (void **)&c, 1))
		return NULL;
	memset(c, 0, kmem_cache_boot.object_size);
	len = strnlen(name, USLAB_NAME_MAX);
	memcpy(c->name, name, len);
	c->name[len] = '\0';
	c->flags = us_debug_cache_flags(c->name, flags);
	c->ctor = a->ctor;
	c->useroffset = a->useroffset;
	c->usersize = a->usersize;
	c->freeptr_req = a->use_freeptr_offset ? a->freeptr_offset + 1 : 0;
	if (us_slab_geometry(c, size, a->align, c->flags, a->ctor != NULL) != 0) {
		void *obj = c;

		us_slab_free_batch(&kmem_cache_boot, &obj, 1);
		errno = EINVAL;
		return NULL;
	}
	us_slab_pool_init(c);
	us_mag_cache_init(c);
	us_tcache_cache_init(c);
	list_add_cache(c);
	return c;
}

struct kmem_cache *us_cache_create(const char *name, unsigned int size,
				   unsigned int align, unsigned int flags,
				   void (*ctor)(void *))
{
	struct kmem_cache_args a = { .align = align, .ctor = ctor };

	return us_cache_create_args(name, size, &a, flags);
}

/* SLAB_PANIC: say why creation failed, and abort. */
US_COLD US_NORETURN static void create_panic(const char *name,
					     unsigned int size,
					     const struct kmem_cache_args *a)
{
	us_panic("kmem_cache_create(%s) failed: %s", name ? name : "NULL",
		 errno == ENOMEM ? "out of memory"
		 : !name	 ? "no name"
		 : size == 0	 ? "size 0"
		 : size > USLAB_MAX_OBJECT_SIZE ? "size too large"
		 : (a->align & (a->align - 1)) || a->align > US_SLAB_MAX_SIZE
			 ? "alignment not a power of two up to 1 MiB"
		 : args_invalid(size, a, SLAB_TYPESAFE_BY_RCU)
			 ? "usercopy region or free pointer offset invalid"
			 : "invalid flags");
}

struct kmem_cache *__kmem_cache_create_args(const char *name,
					    unsigned int object_size,
					    struct kmem_cache_args *args,
					    slab_flags_t flags)
{
	static const struct kmem_cache_args defaults;
	const struct kmem_cache_args *a = args ? args : &defaults;
	struct kmem_cache *c = NULL;

	if (!(flags & ~US_SLAB_FLAGS_VALID))
		c = us_cache_create_args(name, object_size, a, flags);
	else
		errno = EINVAL;
	if (unlikely(!c && (flags & SLAB_PANIC)))
		create_panic(name, object_size, a);
	return c;
}

struct kmem_cache *(kmem_cache_create)(const char *name, unsigned int size,
				       unsigned int align, slab_flags_t flags,
				       void (*ctor)(void *))
{
	struct kmem_cache_args a = { .align = align, .ctor = ctor };

	return __kmem_cache_create_args(name, size, &a, flags);
}

struct kmem_cache *kmem_cache_create_usercopy(const char *name,
					      unsigned int size,
					      unsigned int align,
					      slab_flags_t flags,
					      unsigned int useroffset,
					      unsigned int usersize,
					      void (*ctor)(void *))
{
	struct kmem_cache_args a = {
		.align = align, .useroffset = useroffset,
		.usersize = usersize, .ctor = ctor,
	};

	return __kmem_cache_create_args(name, size, &a, flags);
}

void kmem_cache_destroy(struct kmem_cache *s)
{
	uint64_t live;
	void *obj = s;

	if (!s)
		return;
	if (s->flags & (US_CACHE_STATIC | US_CACHE_KMALLOC)) {
		us_report("kmem_cache_destroy %s: not a cache of the caller's; "
			  "ignored", s->name);
		return;
	}
	/*
	 * Off the list first.  The sweep and uslab_shrink_all() walk the
	 * list under list_lock and flush magazines they have detached from
	 * a cache after dropping its depot lock; once the cache is off the
	 * list, none of them is in flight, and its objects are all where
	 * the drain below can count them.
	 */
	us_lock(&list_lock);
	us_list_del(&s->link);
	us_unlock(&list_lock);
	us_tcache_cache_destroy(s);
	us_mag_drain(s);
	us_slab_check_debug(s);
	US_ASSERT(us_cache_validate(s) == 0);
	live = us_slab_release_all(s);
	if (live) {
		if (s->flags & US_CACHE_DEBUG)
			us_slab_report_leaks(s, live);
		us_report("kmem_cache_destroy %s: Slab cache still has objects "
			  "(%llu objects allocated); the cache is kept",
			  s->name, (unsigned long long)live);
		s->flags |= US_CACHE_DEAD;
		list_add_cache(s);
		return;
	}
	us_slab_free_batch(&kmem_cache_boot, &obj, 1);
	us_chunk_decommit(UINT64_MAX, NULL);
}

/*
 * One object of s on node, from the node's slabs: a CPU's magazines may
 * hold objects of any node.  NULL with errno ENOMEM.
 */
static void *alloc_on_node(struct kmem_cache *s, unsigned int node)
{
	void *obj;

	if (unlikely(s->flags & US_CACHE_DEBUG))
		return us_slab_alloc_debug(s, (int)node);
	if (!us_slab_alloc_batch_node(s, &obj, 1, node))
		return NULL;
	us_obj_handout(s, obj);
	return obj;
}

void *us_cache_alloc_node(struct kmem_cache *s, gfp_t flags, int node)
{
	bool strict = flags & __GFP_THISNODE;
	void *p;

	if (!s || (flags & ~US_GFP_VALID) ||
	    (strict && node != NUMA_NO_NODE && !us_node_valid(node))) {
		errno = EINVAL;
		return NULL;
	}
	/* __GFP_THISNODE with no node: the calling thread's. */
	if (node == NUMA_NO_NODE && strict)
		node = (int)us_node_current();
	if (unlikely(us_failslab_armed()) && us_failslab_should_fail(s, flags)) {
		errno = ENOMEM;
		return NULL;
	}
	/* An invalid node without __GFP_THISNODE: any, as the kernel. */
	if (!us_node_valid(node) || us_nr_nodes == 1)
		node = NUMA_NO_NODE;
	for (unsigned int attempt = 0;; attempt++) {
		if (node == NUMA_NO_NODE)
			p = us_mag_alloc(s);
		else if (!(p = alloc_on_node(s, (unsigned int)node)) && !strict)
			p = us_mag_alloc(s);	/* another node's, then */
		if (p || !(flags & __GFP_NOFAIL))
			break;
		us_cache_nofail_wait(attempt, s->object_size);
	}
	if (p && (flags & __GFP_ZERO))
		memset(p, 0, s->object_size);
	if (p && unlikely(us_tag_counting()))
		us_tag_slab_alloc(s, p);
	return p;
}

/*
 * Where kmem_cache_alloc() sends what its fast path does not take.  Plain
 * flags come here only while allocation profiling counts (us_gfp_slow):
 * they take the fast path's magazines, and are counted.
 */
void *us_cache_alloc_counted(struct kmem_cache *s)
{
	void *p = us_mag_alloc(s);

	if (p && us_tag_counting())
		return us_tag_slab_alloc(s, p);
	return p;
}

void us_cache_free_counted(struct kmem_cache *c, void *obj)
{
	us_tag_slab_free(c, obj);
	us_mag_free(c, obj);
}

US_COLD static void *cache_alloc_slow(struct kmem_cache *s, gfp_t flags)
{
	if (likely(s) && us_cache_counting_only(flags))
		return us_cache_alloc_counted(s);
	return us_cache_alloc_node(s, flags, NUMA_NO_NODE);
}

void *kmem_cache_alloc_node(struct kmem_cache *s, gfp_t flags, int node)
{
	if (likely(node == NUMA_NO_NODE || (node == 0 && us_nr_nodes == 1)) &&
	    likely(s && us_gfp_fast(flags)))
		return us_mag_alloc(s);
	return us_cache_alloc_node(s, flags, node);
}

US_FAST_ENTRY void *kmem_cache_alloc(struct kmem_cache *s, gfp_t flags)
{
	if (likely(s && us_gfp_fast(flags)))
		return us_mag_alloc(s);
	return cache_alloc_slow(s, flags);
}

void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t flags)
{
	return kmem_cache_alloc(s, flags | __GFP_ZERO);
}

US_NOPROF(kmem_cache_alloc);
US_NOPROF(kmem_cache_alloc_node);
US_NOPROF(kmem_cache_zalloc);

void *uslab_object_start(const void *p)
{
	struct us_page *pg = us_chunk_page(p);
	struct us_chunk *ch;

	if (pg) {
		struct kmem_cache *c =
			atomic_load_explicit(&pg->cache, memory_order_acquire);
		uintptr_t off = us_page_obj_offset(pg, p), in;

		/* Below the first object, off wrapped past span. */
		if (!c || off >= c->span)
			return NULL;
		in = off % c->size;
		return in < c->object_size ? (char *)(uintptr_t)p - in : NULL;
	}
	ch = us_chunk_large_holding(p);
	return ch ? us_chunk_large_object(ch) : NULL;
}

void us_cache_invalid_pointer(const char *who, const void *p, const char *why)
{
	us_bug_invalid_pointer(NULL, who, p, why);
	abort();
}

void us_cache_reject(struct us_chunk *ch, const void *p, const char *who)
{
	struct kmem_cache *c = NULL;

	if ((uintptr_t)p & US_CHUNK_MASK)
		c = atomic_load_explicit(&us_chunk_slab(ch, p)->cache,
					 memory_order_relaxed);
	if (!c)
		us_cache_invalid_pointer(who, p, "not in a slab in use");
	if (c->flags & US_CACHE_NOMAGAZINE)
		us_cache_invalid_pointer(who, p, "uslab's own object (a cache "
					 "descriptor or a magazine), not "
					 "kmalloc memory");
	us_cache_invalid_pointer(c->name, p, "not the start of an object");
}

/*
 * p, handed to s's free, is not an object of s: report it.  Returns only
 * if s is a debug cache in repair mode; p is then left alone.
 */
US_COLD static void wrong_cache(struct kmem_cache *s, struct us_chunk *ch,
				void *p)
{
	struct kmem_cache *c = NULL;

	if (ch->kind == US_CHUNK_SLAB && ((uintptr_t)p & US_CHUNK_MASK))
		c = atomic_load_explicit(&us_chunk_slab(ch, p)->cache,
					 memory_order_relaxed);
	if (!c)
		us_bug_invalid_pointer(s, s->name, p, ch->kind == US_CHUNK_LARGE
				? "a large kmalloc allocation, not a cache object"
				: "not in a slab in use");
	else
		us_bug_wrong_cache(s, c, p);
}

/*
 * What kmem_cache_free() does with anything but an object of s: NULL is
 * nothing, the rest is reported.  Returns only for a debug cache in
 * repair mode, leaving objp alone.
 */
US_COLD static void free_slow(struct kmem_cache *s, void *objp)
{
	struct us_chunk *ch;
	struct us_slab *slab;

	if (!objp)
		return;
	if (!s)
		us_cache_invalid_pointer("kmem_cache_free", objp,
					 "freed into a NULL cache");
	ch = us_chunk_lookup(objp);
	if (!ch) {
		us_bug_invalid_pointer(s, s->name, objp,
				       "not allocated by uslab");
		return;
	}
	slab = us_chunk_slab(ch, objp);
	if (ch->kind != US_CHUNK_SLAB ||
	    ((uintptr_t)objp & US_CHUNK_MASK) == 0 ||
	    atomic_load_explicit(&slab->cache, memory_order_relaxed) != s) {
		wrong_cache(s, ch, objp);
		return;
	}
	us_bug_invalid_pointer(s, s->name, objp, "not the start of an object");
}

US_FAST_ENTRY void kmem_cache_free(struct kmem_cache *s, void *objp)
{
	if (unlikely(!us_cache_free_of(s, objp)))
		free_slow(s, objp);
}

int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t flags, size_t size,
			  void **p)
{
	size_t done = 0;

	if (!s || !p || (flags & ~US_GFP_VALID) || size > INT32_MAX) {
		errno = EINVAL;
		return 0;
	}
	/* As the kernel: one failslab verdict for the whole call. */
	if (unlikely(us_failslab_armed()) && size &&
	    us_failslab_should_fail(s, flags)) {
		errno = ENOMEM;
		return 0;
	}
	while (done < size) {
		unsigned int n = (unsigned int)US_MIN(size - done,
						      (size_t)1 << 20);

		if (!us_mag_alloc_bulk(s, p + done, n)) {
			if ((flags & __GFP_NOFAIL)) {
				/* Per object, so the wait sees progress. */
				p[done] = cache_alloc_slow(s, flags & ~__GFP_ZERO);
				done++;
				continue;
			}
			for (size_t i = 0; i < done; i++)
				kmem_cache_free(s, p[i]);
			errno = ENOMEM;
			return 0;
		}
		if (unlikely(us_tag_counting()))
			for (size_t i = done; i < done + n; i++)
				us_tag_slab_alloc(s, p[i]);
		done += n;
	}
	if (flags & __GFP_ZERO)
		for (size_t i = 0; i < size; i++)
			memset(p[i], 0, s->object_size);
	return (int)size;
}

US_NOPROF(kmem_cache_alloc_bulk);

int kmem_cache_shrink(struct kmem_cache *s)
{
	if (!s)
		return -EINVAL;
	us_tcache_flush_mine_of(s);
	us_mag_drain(s);
	us_slab_check_debug(s);
	us_slab_reap(s, UINT64_MAX, NULL);
	/* And what its slabs left resident in the page layer. */
	us_chunk_decommit(UINT64_MAX, NULL);
	/* The assertion build checks every structure of the cache here. */
	US_ASSERT(us_cache_validate(s) == 0 && us_chunk_validate() == 0);
	return 0;
}

unsigned int kmem_cache_size(struct kmem_cache *s)
{
	return s ? s->object_size : 0;
}

/* Bytes in the slabs of every cache; list_lock held. */
static uint64_t slab_bytes_held(void)
{
	uint64_t bytes = 0;

	for (struct us_list *l = cache_list.next; l != &cache_list; l = l->next) {
		struct kmem_cache *c = cache_of(l);
		struct us_slab_counts sc;

		us_slab_counts(c, &sc);
		bytes += (uint64_t)(sc.partial + sc.full + sc.empty) *
			 c->slab_size;
	}
	return bytes;
}

/*
 * As kmem_cache_shrink() of every cache, but a CPU at a time across the
 * caches, so that each CPU is fenced once, as the sweep does; then the
 * depots and the slabs, and the bootstrap caches' slabs last, which the
 * others' magazines went back to.
 */
size_t uslab_shrink_all(void)
{
	uint64_t before, after;
	struct us_list *l;
	size_t released;

	us_tcache_flush_mine();
	us_init();
	us_lock(&list_lock);
	before = slab_bytes_held();
	reap_slots_locked(us_os_now_ms(), 0, true);
	for (l = cache_list.next; l != &cache_list; l = l->next) {
		if (!(cache_of(l)->flags & US_CACHE_NOMAGAZINE)) {
			us_mag_reap(cache_of(l), UINT64_MAX);
			us_slab_reap(cache_of(l), UINT64_MAX, NULL);
		}
	}
	for (l = cache_list.next; l != &cache_list; l = l->next) {
		if (cache_of(l)->flags & US_CACHE_NOMAGAZINE)
			us_slab_reap(cache_of(l), UINT64_MAX, NULL);
	}
	after = slab_bytes_held();
	us_unlock(&list_lock);
	released = before > after ? (size_t)(before - after) : 0;
	released += us_chunk_decommit(UINT64_MAX, NULL);
	return released + us_chunk_large_reap(UINT64_MAX, NULL);
}

void us_cache_nofail_wait(unsigned int attempt, size_t size)
{
	struct timespec ts = { 0, 1000000L << (attempt < 7 ? attempt : 7) };

	if (attempt >= NOFAIL_ATTEMPTS)
		us_panic("out of memory in a __GFP_NOFAIL allocation of %zu "
			 "bytes", size);
	uslab_shrink_all();
	nanosleep(&ts, NULL);
}

void us_cache_for_each(void (*fn)(struct kmem_cache *c, void *arg), void *arg)
{
	us_init();
	us_lock(&list_lock);
	for (struct us_list *l = cache_list.next; l != &cache_list; l = l->next)
		fn(us_container_of(l, struct kmem_cache, link), arg);
	us_unlock(&list_lock);
}

bool us_cache_visit_next(uint64_t *pos,
			 void (*fn)(struct kmem_cache *c, void *arg), void *arg)
{
	struct kmem_cache *next = NULL;

	us_init();
	us_lock(&list_lock);
	for (struct us_list *l = cache_list.next; l != &cache_list; l = l->next) {
		struct kmem_cache *c = us_container_of(l, struct kmem_cache, link);

		if (c->serial > *pos && (!next || c->serial < next->serial))
			next = c;
	}
	if (next) {
		*pos = next->serial;
		fn(next, arg);
	}
	us_unlock(&list_lock);
	return next != NULL;
}

unsigned int us_cache_validate(struct kmem_cache *c)
{
	return us_mag_validate(c) + us_slab_validate(c);
}

unsigned int us_cache_locks_held(void)
{
	unsigned int held = us_chunk_locks_held();

	if (us_lock_is_held(&list_lock))
		return held + 1;
	held += us_tcache_lock_is_held();
	for (struct us_list *l = cache_list.next; l != &cache_list; l = l->next) {
		struct kmem_cache *c = us_container_of(l, struct kmem_cache, link);

		for (unsigned int n = 0; n < us_slab_nr_pools(c); n++)
			held += us_lock_is_held(&us_slab_pool(c, n)->lock);
		if (c->flags & US_CACHE_NOMAGAZINE)
			continue;
		held += us_lock_is_held(&c->depot.lock);
		for (unsigned int i = 0; i < us_nr_cpus; i++)
			held += us_lock_is_held(&c->cpu[i].lock);
	}
	return held;
}

/*
 * fork: every lock, in the order of the design essay, phase by phase
 * across all caches, so that no phase takes a lock above one it holds.
 */
void us_cache_fork_prepare(void)
{
	struct us_list *l;

	us_lock(&list_lock);
	us_tcache_fork_prepare();
	for (l = cache_list.next; l != &cache_list; l = l->next)
		us_mag_fork_prepare_cpus(us_container_of(l, struct kmem_cache, link));
	if (us_rseq_enabled)
		us_rseq_fence(-1);	/* no fast path in flight anywhere */
	for (l = cache_list.next; l != &cache_list; l = l->next)
		us_mag_fork_prepare_depot(us_container_of(l, struct kmem_cache, link));
	for (l = cache_list.next; l != &cache_list; l = l->next)
		us_slab_fork_prepare(us_container_of(l, struct kmem_cache, link));
	us_chunk_fork_prepare();
}

static void fork_release(bool child)
{
	struct us_list *l;

	if (child)
		us_chunk_fork_child();
	else
		us_chunk_fork_parent();
	for (l = cache_list.next; l != &cache_list; l = l->next) {
		struct kmem_cache *c = us_container_of(l, struct kmem_cache, link);

		if (child)
			us_slab_fork_child(c);
		else
			us_slab_fork_parent(c);
		if (child)
			us_mag_fork_child(c);
		else
			us_mag_fork_parent(c);
	}
	if (child) {
		us_tcache_fork_child();
		us_lock_reset(&list_lock);
	} else {
		us_tcache_fork_parent();
		us_unlock(&list_lock);
	}
}

void us_cache_fork_parent(void)
{
	fork_release(false);
}

void us_cache_fork_child(void)
{
	fork_release(true);
}
