/* SPDX-License-Identifier: MIT */
/*
 * chunk.c - the page layer.
 *
 * Owns every byte of memory uslab maps.  Two kinds of chunk:
 *
 *   slab chunk   CHUNK_SIZE bytes at a CHUNK_SIZE boundary, cut into
 *                slots of 2^order pages (order 0 to US_SLAB_MAX_ORDER;
 *                one order per chunk).  The header fills the first slots:
 *                the fixed fields; the page table, one 16-byte struct
 *                us_page per 4 KiB granule of the chunk, which the free
 *                path reads (at a fixed offset, so found from an address
 *                alone); then one 64-byte struct us_slab per slot, which
 *                the slow paths use.  A bitmap records the free slots.
 *
 *                  +-------+---------------+---------------+------+-- ...
 *                  | fixed | pages[1024]   | slabs[nslots] | slot |
 *                  +-------+---------------+---------------+------+-- ...
 *                  ^ chunk   (first_slot slots in all)      ^ first_slot
 *
 *   large chunk  One allocation above the largest kmalloc class: a
 *                mapping whose header sits at a CHUNK_SIZE boundary and
 *                whose object starts max(page, align) bytes (at most
 *                CHUNK_SIZE) after it, so that us_chunk_of() of the
 *                object finds the header.  The mapping ends with the
 *                object; the rest of the chunk-sized region is not ours.
 *                It grows in place with mremap() where the address space
 *                after it is free, and otherwise moves its pages, without
 *                copying them, to a new aligned range (copying only if
 *                the kernel refuses).  It shrinks by cutting off what
 *                lies past the first chunk boundary after it, which is
 *                cached as a freed mapping (below); the pages short of
 *                that stay its room.
 *
 * Freed large chunks stay mapped for reuse, marked US_CHUNK_LARGE_FREE
 * (so that freeing one again is caught), until they have idled for the
 * decay period (us_decay_ms): every large free, and the sweep, unmaps
 * those, and nothing else unmaps a page that was in use more recently.
 * An aligned block is cached as a page-aligned one (its alignment gap
 * was never touched).  A request takes the smallest cached mapping that
 * holds it with at most twice the room it needs, else the largest that
 * is too small, which grows.  One with more than twice the room is cut
 * at the first chunk boundary past the request, and the rest goes back
 * on the list as a mapping of its own (large_split()): its pages stay
 * resident for the next request, as a page heap's spans would.  One that
 * cannot be cut so is left for a request its size, and a new mapping
 * serves this one.  A freed mapping joins the cached ones that end where
 * it starts or start where it ends (large_coalesce_locked()), as a page
 * heap's free spans do, so that the parts of a cut mapping serve a large
 * request again once all are freed.
 *
 * The registry holds one bit per CHUNK_SIZE region of the 48-bit address
 * space (8 MiB of zero-initialised .bss, of which only the words for
 * regions in use are ever touched), and a second one as large holds the
 * slab chunks alone, so that the free path tells a slab object with one
 * load.  A bit is set before a chunk is
 * handed out and cleared before its range is unmapped or moved away,
 * with atomic bit operations, so lookups need no lock.  (Cleared after,
 * another thread could map and register a chunk in the freed range and
 * lose its bit.)
 *
 * Locking: page_lock protects the per-order chunk lists, each chunk's
 * free map and nfree; large_lock the cache of freed large chunks.  They
 * are innermost (design essay, 7); only the fork handlers hold both,
 * page_lock first.  roots_lock, a leaf under either or neither, is held
 * around each call into LeakSanitizer (memtool.h), and only in a process
 * that has LSan: LSan's own mutex knows nothing of fork(), and a fork
 * while another thread held it left the child hung at its first new
 * mapping.  The fork handlers take roots_lock last, so no thread is in
 * LSan when the child is made.
 *
 * Returning memory: a freed slot stays resident ("dirty") for the next
 * slab of its order, whatever its cache, until it has idled for the decay
 * period (us_chunk_decommit()); the slab layer above decides when a slab
 * is worth freeing.  A chunk with no slot in use is unmapped, except that
 * one such chunk per order is kept to absorb a grow/shrink cycle; it
 * costs only its header pages.
 *
 * Populating ahead.  A slab of one page that a growing cache takes clean
 * has its page faulted in by its first object's write, and the next such
 * slab another: a trap a page.  So when the slab layer says its cache is
 * growing (us_chunk_slot_alloc()'s ahead), a clean slot of order 0 comes
 * with the clean free slots after it in its chunk, up to US_AHEAD_BYTES
 * in all: they are faulted in with one call (us_os_populate()), and the
 * others join the dirty slots, resident and free for the next slabs of
 * the order, whatever their cache.  They age from then as any dirty slot
 * does, so the sweep gives back those no slab takes within the decay
 * period.  While they are faulted in they are out of the free map, where
 * no one takes them, and page_lock is not held.  (A slab of several
 * pages is populated by the slab layer as it carves: slab.c.)
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "chunk.h"
#include "memtool.h"
#include "anchor.h"
#include "node.h"
#include "os.h"
#include "reclaim.h"

_Atomic uint64_t us_registry[US_REGISTRY_WORDS];
_Atomic uint64_t us_registry_slab[US_REGISTRY_WORDS];

struct kmem_cache us_chunk_no_cache = { .name = "(no cache)" };

struct order_pool {
	struct us_list chunks;		/* chunks with a free slot */
	struct us_list dirty;		/* chunks with a dirty free slot */
	struct us_chunk *idle;		/* every slot free and clean */
	uint64_t ndirty;		/* dirty free slots */
};

static struct us_lock page_lock US_FORK_STATE = US_LOCK_INIT;

/*
 * fork() and the windows.  Three paths hold memory outside every
 * structure with no lock held: us_chunk_decommit() keeps slots out of
 * the free map while their pages go, large_cache_trim() keeps freed
 * large chunks off the list while they are unmapped, and populating
 * ahead keeps slots out of the free map while they are faulted in.  A
 * child forked then would never have them again.  So each such window
 * is counted in `windows`; us_chunk_fork_wait(), which the fork handler
 * calls before it takes any lock, sets fork_pending and waits until none
 * is open, and none opens until us_chunk_fork_done().  Each side stores
 * its own flag and then reads the other's, sequentially consistent, so
 * one of them always sees the other (Dekker's pattern).  A window needs
 * only page_lock or large_lock, which the fork handler takes later, and
 * opens no other window (magazine.c's, for one) inside it.
 */
static _Atomic unsigned int windows US_FORK_STATE;
static _Atomic bool fork_pending US_FORK_STATE;

static void window_close(void)
{
	atomic_fetch_sub_explicit(&windows, 1, memory_order_release);
}

/* Open a window, unless a fork is pending: then false. */
static bool window_open(void)
{
	atomic_fetch_add(&windows, 1);
	if (likely(!atomic_load(&fork_pending)))
		return true;
	window_close();
	return false;
}

/* Per node, then per slot order. */
static struct order_pool pools[US_MAX_NODES][US_SLAB_MAX_ORDER + 1];

static inline struct order_pool *pool_of(const struct us_chunk *ch)
{
	return &pools[ch->node][ch->order];
}
static bool pools_ready;		/* [page] */
static _Atomic size_t mapped_bytes;
static _Atomic uint64_t returned_bytes;	/* unmapped or decommitted */
static _Atomic uint64_t reused_bytes;	/* large blocks served from cache */
static _Atomic size_t large_len_max;	/* the longest large mapping yet */
static _Atomic uint64_t dirty_reused;	/* [page] slot bytes taken dirty */
static _Atomic uint64_t resident_free;	/* [page] bytes of dirty free slots */

/* Around LSan's root-region calls; see "Locking" above. */
static struct us_lock roots_lock US_FORK_STATE = US_LOCK_INIT;

static void roots_add(const void *p, size_t len)
{
	if (!us_mem_have_roots())
		return;
	us_lock(&roots_lock);
	__lsan_register_root_region(p, len);
	us_unlock(&roots_lock);
}

static void roots_del(const void *p, size_t len)
{
	if (!us_mem_have_roots())
		return;
	us_lock(&roots_lock);
	__lsan_unregister_root_region(p, len);
	us_unlock(&roots_lock);
}

/* A mapping moved, grew or shrank: its old region for its new one. */
static void roots_move(const void *from, size_t from_len, const void *to,
		       size_t to_len)
{
	if (!us_mem_have_roots())
		return;
	us_lock(&roots_lock);
	__lsan_unregister_root_region(from, from_len);
	__lsan_register_root_region(to, to_len);
	us_unlock(&roots_lock);
}

static void count_returned(size_t len)
{
	atomic_fetch_add_explicit(&returned_bytes, len, memory_order_relaxed);
}

/* Freed large mappings kept for reuse, newest first. */
static struct us_lock large_lock US_FORK_STATE = US_LOCK_INIT;
static struct us_list large_free = { &large_free, &large_free }; /* [large] */
static size_t large_free_bytes;		/* [large] */
/*
 * Blocks in use whose room is more than twice their size, after a
 * shrink, newest first: their room beyond the size is given back once it
 * has idled for the decay period, as a freed block's pages are.  A block
 * is on the list while its roomy flag is set; large_lock guards both,
 * and the sweep unmaps a block's room holding it.  The owner takes its
 * block off (large_unroomy()) before it resizes or frees it, so no other
 * thread changes the mapping under it.
 */
static struct us_list large_roomy = { &large_roomy, &large_roomy }; /* [large] */
static size_t large_roomy_bytes;	/* [large] room past the blocks' sizes */

static void bitmap_set(_Atomic uint64_t *map, const void *chunk)
{
	size_t region = (uintptr_t)chunk >> US_CHUNK_SHIFT;

	atomic_fetch_or_explicit(&map[region / 64], (uint64_t)1 << (region % 64),
				 memory_order_release);
}

static void bitmap_clear(_Atomic uint64_t *map, const void *chunk)
{
	size_t region = (uintptr_t)chunk >> US_CHUNK_SHIFT;

	atomic_fetch_and_explicit(&map[region / 64],
				  ~((uint64_t)1 << (region % 64)),
				  memory_order_release);
}

static void registry_set(const void *chunk)
{
	bitmap_set(us_registry, chunk);
}

static void registry_clear(const void *chunk)
{
	bitmap_clear(us_registry, chunk);
}

static bool address_fits(const void *p, size_t len)
{
	return ((uintptr_t)p + len - 1) >> US_ADDRESS_BITS == 0;
}

/* A large mapping of len bytes exists: us_chunk_large_holding() must look. */
static void note_large_len(size_t len)
{
	size_t max = atomic_load_explicit(&large_len_max, memory_order_relaxed);

	while (len > max &&
	       !atomic_compare_exchange_weak_explicit(&large_len_max, &max, len,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
}

static void large_unmap(struct us_chunk *ch)
{
	size_t len = ch->map_len;

	roots_del(ch->map_base, len);
	registry_clear(ch);
	atomic_fetch_sub_explicit(&mapped_bytes, len, memory_order_relaxed);
	count_returned(len);
	us_os_unmap(ch->map_base, len);
}

/*
 * The pools of the nodes there are (us_node_init() ran before any chunk
 * is made): every walk stops at us_nr_nodes, and the table's rows beyond
 * stay untouched, so a process's start faults in one page of it, not six.
 */
static void pools_init_locked(void)
{
	US_ASSERT_HELD(&page_lock);

	for (unsigned int n = 0; n < us_nr_nodes; n++) {
		for (unsigned int o = 0; o <= US_SLAB_MAX_ORDER; o++) {
			us_list_init(&pools[n][o].chunks);
			us_list_init(&pools[n][o].dirty);
			pools[n][o].idle = NULL;
			pools[n][o].ndirty = 0;
		}
	}
	pools_ready = true;
}

static struct us_chunk *chunk_from_link(struct us_list *l)
{
	return us_container_of(l, struct us_chunk, link);
}

/* Map and format a slab chunk of the given order on node; page_lock held. */
static struct us_chunk *chunk_create_locked(unsigned int order,
					    unsigned int node)
{
	unsigned int shift = us_page_shift + order;
	uint32_t nslots = (uint32_t)(US_CHUNK_SIZE >> shift);
	size_t header = offsetof(struct us_chunk, slabs) +
			nslots * sizeof(struct us_slab);
	struct us_chunk *ch;

	US_ASSERT_HELD(&page_lock);

	ch = us_os_map_aligned(US_CHUNK_SIZE, US_CHUNK_SIZE, 0);
	if (!ch)
		return NULL;
	if (!address_fits(ch, US_CHUNK_SIZE)) {
		us_os_unmap(ch, US_CHUNK_SIZE);
		errno = ENOMEM;
		return NULL;
	}
	/* Bound before any page is touched: the header's too. */
	us_node_bind(ch, US_CHUNK_SIZE, node);
	roots_add(ch, US_CHUNK_SIZE);
	ch->magic = US_CHUNK_MAGIC ^ (uintptr_t)ch;
	ch->kind = US_CHUNK_SLAB;
	ch->slab_shift = shift;
	ch->node = node;
	ch->order = order;
	ch->nslots = nslots;
	ch->first_slot = (uint32_t)((header + ((size_t)1 << shift) - 1) >> shift);
	for (size_t i = 0; i < US_CHUNK_PAGES; i++)
		atomic_store_explicit(&ch->pages[i].cache, &us_chunk_no_cache,
				      memory_order_relaxed);
	ch->nfree = nslots - ch->first_slot;
	for (uint32_t i = ch->first_slot; i < nslots; i++)
		ch->free_map[i / 64] |= (uint64_t)1 << (i % 64);
	us_list_init(&ch->link);
	us_list_init(&ch->dirty_link);
	atomic_fetch_add_explicit(&mapped_bytes, US_CHUNK_SIZE,
				  memory_order_relaxed);
	registry_set(ch);
	bitmap_set(us_registry_slab, ch);
	return ch;
}

static void chunk_destroy_locked(struct us_chunk *ch)
{
	US_ASSERT_HELD(&page_lock);

	bitmap_clear(us_registry_slab, ch);
	registry_clear(ch);
	atomic_fetch_sub_explicit(&mapped_bytes, US_CHUNK_SIZE,
				  memory_order_relaxed);
	roots_del(ch, US_CHUNK_SIZE);
	us_os_unmap(ch, US_CHUNK_SIZE);
}

/* Take slot i of ch, dirty or clean; page_lock held. */
static void slot_take_locked(struct order_pool *pool, struct us_chunk *ch,
			     uint32_t i)
{
	uint64_t bit = (uint64_t)1 << (i % 64);

	US_ASSERT_HELD(&page_lock);
	US_ASSERT(ch->free_map[i / 64] & bit);	/* a free slot */

	ch->free_map[i / 64] &= ~bit;
	if (ch->dirty_map[i / 64] & bit) {
		ch->dirty_map[i / 64] &= ~bit;
		pool->ndirty--;
		atomic_fetch_sub_explicit(&resident_free,
					  (uint64_t)1 << ch->slab_shift,
					  memory_order_relaxed);
		if (--ch->ndirty == 0)
			us_list_del(&ch->dirty_link);
	}
	if (--ch->nfree == 0)
		us_list_del(&ch->link);
}

/* How much a clean slot of order 0 brings in with it (above). */
#define US_AHEAD_BYTES ((size_t)64 << 10)

/*
 * Take the clean free slots of ch from slot `from` on, up to max of them
 * and no further than the first that is not; page_lock held.  Returns
 * how many.
 */
static uint32_t ahead_take_locked(struct order_pool *pool, struct us_chunk *ch,
				  uint32_t from, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t i = from; i < ch->nslots && n < max; i++, n++) {
		uint64_t bit = (uint64_t)1 << (i % 64);

		if (!(ch->free_map[i / 64] & bit) ||
		    (ch->dirty_map[i / 64] & bit))
			break;
		slot_take_locked(pool, ch, i);
	}
	return n;
}

/* Slot i of ch, resident, joins the dirty slots, idle since when. */
static void slot_put_dirty_locked(struct us_chunk *ch, uint32_t i,
				  uint64_t when)
{
	struct order_pool *pool = pool_of(ch);
	uint64_t bit = (uint64_t)1 << (i % 64);

	US_ASSERT_HELD(&page_lock);

	if (ch->slabs[i].empty_since > when)
		ch->slabs[i].empty_since = when;
	ch->free_map[i / 64] |= bit;
	ch->dirty_map[i / 64] |= bit;
	if (ch->nfree++ == 0)
		us_list_add(&ch->link, &pool->chunks);
	if (ch->ndirty++ == 0)
		us_list_add(&ch->dirty_link, &pool->dirty);
	pool->ndirty++;
	atomic_fetch_add_explicit(&resident_free, (uint64_t)1 << ch->slab_shift,
				  memory_order_relaxed);
}

/* The first set bit of a slot map, or UINT32_MAX. */
static uint32_t first_bit(const uint64_t *map)
{
	for (uint32_t w = 0; w < US_CHUNK_MAX_SLOTS / 64; w++)
		if (map[w])
			return w * 64 + (uint32_t)__builtin_ctzll(map[w]);
	return UINT32_MAX;
}

struct us_slab *us_chunk_slot_alloc(unsigned int order, unsigned int node,
				    bool ahead)
{
	struct order_pool *pool = &pools[node][order];
	struct us_chunk *ch;
	struct us_slab *slab;
	uint32_t slot, extra = 0;
	bool clean = false;

	US_ASSERT(node < us_nr_nodes);
	us_lock(&page_lock);
	if (unlikely(!pools_ready))
		pools_init_locked();
	/*
	 * A slot given back recently, whatever cache had it, first: its
	 * pages are resident, so the new slab costs no page fault.
	 */
	if (!us_list_is_empty(&pool->dirty)) {
		ch = us_container_of(pool->dirty.next, struct us_chunk,
				     dirty_link);
		slot = first_bit(ch->dirty_map);
		/* Populated ahead (above), not freed memory reused. */
		if (!(ch->slabs[slot].flags & US_SLAB_AHEAD))
			us_stat_add(&dirty_reused,
				    (uint64_t)1 << ch->slab_shift);
	} else {
		clean = true;
		if (!us_list_is_empty(&pool->chunks)) {
			ch = chunk_from_link(pool->chunks.next);
		} else if (pool->idle) {
			ch = pool->idle;
			pool->idle = NULL;
			us_list_add(&ch->link, &pool->chunks);
		} else {
			ch = chunk_create_locked(order, node);
			if (!ch) {
				us_unlock(&page_lock);
				return NULL;
			}
			us_list_add(&ch->link, &pool->chunks);
		}
		slot = first_bit(ch->free_map);
	}
	slot_take_locked(pool, ch, slot);
	/* The pool has no dirty slot: every free slot of ch is clean. */
	if (clean && ahead && order == 0 && window_open()) {
		extra = ahead_take_locked(pool, ch, slot + 1,
					  (uint32_t)(US_AHEAD_BYTES >>
						     ch->slab_shift) - 1);
		if (!extra)
			window_close();
	}
	us_unlock(&page_lock);

	if (extra) {
		uint64_t now = us_os_now_ms();

		us_os_populate(us_chunk_slot_start(&ch->slabs[slot]),
			       (size_t)(1 + extra) << ch->slab_shift);
		us_lock(&page_lock);
		for (uint32_t i = slot + 1; i <= slot + extra; i++) {
			ch->slabs[i].empty_since = UINT64_MAX;
			ch->slabs[i].flags = US_SLAB_AHEAD;
			slot_put_dirty_locked(ch, i, now);
		}
		us_unlock(&page_lock);
		window_close();
		us_reclaim_note((uint64_t)extra << ch->slab_shift);
		clean = false;		/* resident now */
	}

	slab = &ch->slabs[slot];
	memset(slab, 0, sizeof(*slab));
	slab->list = US_SLAB_ORPHAN;
	slab->flags = clean ? US_SLAB_CLEAN : 0;
	us_list_init(&slab->link);
	return slab;
}

void us_chunk_slot_publish(struct us_slab *slab, struct kmem_cache *cache,
			   uint32_t base_off)
{
	struct us_chunk *ch = us_chunk_of(slab);
	size_t start = (size_t)(slab - ch->slabs) << ch->slab_shift;
	size_t first = start >> US_GRANULE_SHIFT;
	size_t n = ((size_t)1 << ch->slab_shift) >> US_GRANULE_SHIFT;

	if (!cache)
		cache = &us_chunk_no_cache;
	for (size_t i = first; i < first + n; i++) {
		ch->pages[i].obj0 = (uintptr_t)ch + start + base_off;
		atomic_store_explicit(&ch->pages[i].cache, cache,
				      memory_order_release);
	}
}

/*
 * A chunk with every slot free and clean: keep one such per order, unmap
 * the others; page_lock held.
 */
static void chunk_maybe_idle_locked(struct us_chunk *ch)
{
	struct order_pool *pool = pool_of(ch);

	US_ASSERT_HELD(&page_lock);

	if (ch->nfree < ch->nslots - ch->first_slot || ch->ndirty)
		return;
	us_list_del(&ch->link);
	if (pool->idle)
		chunk_destroy_locked(pool->idle);
	pool->idle = ch;
}

static void slot_forget(struct us_slab *slab)
{
	atomic_store_explicit(&slab->cache, NULL, memory_order_relaxed);
	us_chunk_slot_publish(slab, NULL, 0);
	slab->list = US_SLAB_FREE_SLOT;
	us_mem_hide(us_chunk_slot_start(slab),
		    (size_t)1 << us_chunk_of(slab)->slab_shift);
}

/* Sort slot descriptors by address: a shell sort, no allocation. */
static void sort_slabs(struct us_slab **s, unsigned int n)
{
	for (unsigned int gap = n / 2; gap; gap /= 2)
		for (unsigned int i = gap; i < n; i++)
			for (unsigned int j = i; j >= gap && s[j - gap] > s[j];
			     j -= gap) {
				struct us_slab *t = s[j];

				s[j] = s[j - gap];
				s[j - gap] = t;
			}
}

/*
 * Decommit the pages of n slots, sorted by address, a run of adjacent
 * ones at a time, in batches (os.h); no lock held (the slots are no
 * one's).
 */
static void decommit_runs(struct us_slab **slabs, unsigned int n)
{
	struct us_os_batch batch = { 0 };

	for (unsigned int i = 0; i < n;) {
		struct us_chunk *ch = us_chunk_of(slabs[i]);
		size_t slot_len = (size_t)1 << ch->slab_shift;
		unsigned int j = i + 1;

		while (j < n && slabs[j] == slabs[j - 1] + 1 &&
		       us_chunk_of(slabs[j]) == ch)
			j++;
		us_os_decommit_add(&batch, us_chunk_slot_start(slabs[i]),
				   (size_t)(j - i) * slot_len);
		count_returned((size_t)(j - i) * slot_len);
		i = j;
	}
	us_os_decommit_flush(&batch);
}

/* Give decommitted slots back as free and clean; page_lock held. */
static void slots_clean_locked(struct us_slab **slabs, unsigned int n)
{
	US_ASSERT_HELD(&page_lock);

	for (unsigned int i = 0; i < n; i++) {
		struct us_chunk *ch = us_chunk_of(slabs[i]);
		uint32_t slot = (uint32_t)(slabs[i] - ch->slabs);

		ch->free_map[slot / 64] |= (uint64_t)1 << (slot % 64);
		if (ch->nfree++ == 0)
			us_list_add(&ch->link, &pool_of(ch)->chunks);
		chunk_maybe_idle_locked(ch);
	}
}

void us_chunk_slot_free(struct us_slab *slab)
{
	us_chunk_slots_free(&slab, 1, false);
}

void us_chunk_slots_free(struct us_slab **slabs, unsigned int n, bool now)
{
	uint64_t when = us_os_now_ms(), bytes = 0;

	sort_slabs(slabs, n);
	for (unsigned int i = 0; i < n; i++)
		slot_forget(slabs[i]);
	if (now) {
		decommit_runs(slabs, n);
		us_lock(&page_lock);
		slots_clean_locked(slabs, n);
		us_unlock(&page_lock);
		return;
	}
	/*
	 * Free but dirty: resident, for any cache's next slab of this order,
	 * until us_chunk_decommit() finds them idle for the decay period,
	 * counted from when the slab fell empty: one that aged in its cache
	 * first does not age again here.
	 */
	us_lock(&page_lock);
	for (unsigned int i = 0; i < n; i++) {
		struct us_chunk *ch = us_chunk_of(slabs[i]);

		bytes += (uint64_t)1 << ch->slab_shift;
		slot_put_dirty_locked(ch, (uint32_t)(slabs[i] - ch->slabs), when);
	}
	us_unlock(&page_lock);
	us_reclaim_note(bytes);
}

/*
 * Take the dirty slots of ch free since before `before` out of the free
 * map, into `taken` (a slot bitmap); page_lock held.  Returns how many.
 */
static unsigned int take_expired_locked(struct us_chunk *ch, uint64_t before,
					uint64_t *taken)
{
	struct order_pool *pool = pool_of(ch);
	unsigned int n = 0;

	US_ASSERT_HELD(&page_lock);

	for (uint32_t w = 0; w < US_CHUNK_MAX_SLOTS / 64; w++) {
		uint64_t bits = ch->dirty_map[w];

		taken[w] = 0;
		while (bits) {
			uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);

			bits &= bits - 1;
			if (ch->slabs[i].empty_since >= before)
				continue;
			slot_take_locked(pool, ch, i);
			taken[w] |= (uint64_t)1 << (i % 64);
			n++;
		}
	}
	return n;
}

/* Decommit the slots of ch in `taken`, the runs as a batch; no lock. */
static uint64_t decommit_taken(struct us_chunk *ch, const uint64_t *taken)
{
	size_t slot_len = (size_t)1 << ch->slab_shift;
	struct us_os_batch batch = { 0 };
	uint64_t bytes = 0;
	uint32_t i = 0;

	while (i < ch->nslots) {
		uint32_t j;

		if (!(taken[i / 64] >> (i % 64) & 1)) {
			i++;
			continue;
		}
		for (j = i + 1; j < ch->nslots && (taken[j / 64] >> (j % 64) & 1); j++)
			;
		us_os_decommit_add(&batch, us_chunk_slot_start(&ch->slabs[i]),
				   (size_t)(j - i) * slot_len);
		bytes += (size_t)(j - i) * slot_len;
		i = j;
	}
	us_os_decommit_flush(&batch);
	count_returned(bytes);
	return bytes;
}

uint64_t us_chunk_decommit(uint64_t before, uint64_t *waiting)
{
	uint64_t taken[US_CHUNK_MAX_SLOTS / 64];
	uint64_t released = 0, kept = 0;

	for (;;) {
		struct us_chunk *found = NULL;
		unsigned int n = 0;

		/* A fork is pending: the rest waits for the next sweep. */
		if (!window_open())
			break;
		/* A chunk with expired dirty slots: take them all. */
		us_lock(&page_lock);
		if (unlikely(!pools_ready))
			pools_init_locked();
		for (unsigned int k = 0; k < us_nr_nodes * (US_SLAB_MAX_ORDER + 1) &&
					 !found; k++) {
			struct us_list *head = &pools[k / (US_SLAB_MAX_ORDER + 1)]
						    [k % (US_SLAB_MAX_ORDER + 1)].dirty;

			for (struct us_list *l = head->next; l != head; l = l->next) {
				struct us_chunk *ch = us_container_of(
					l, struct us_chunk, dirty_link);

				if ((n = take_expired_locked(ch, before, taken))) {
					found = ch;
					break;
				}
			}
		}
		if (!found) {
			for (unsigned int nd = 0; nd < us_nr_nodes; nd++)
				for (unsigned int o = 0; o <= US_SLAB_MAX_ORDER; o++)
					kept += pools[nd][o].ndirty << (us_page_shift + o);
			us_unlock(&page_lock);
			window_close();
			break;
		}
		/*
		 * Every slot free and none young, and the pool keeps an idle
		 * chunk already: the whole chunk goes, in one munmap(), not a
		 * madvise() for each run of slots.
		 */
		if (!found->ndirty && pool_of(found)->idle &&
		    found->nfree + n == found->nslots - found->first_slot) {
			size_t bytes = (size_t)n << found->slab_shift;

			if (found->nfree)
				us_list_del(&found->link);
			chunk_destroy_locked(found);
			us_unlock(&page_lock);
			window_close();
			count_returned(bytes);
			released += bytes;
			continue;
		}
		us_unlock(&page_lock);
		/* Out of the free map while their pages go: no one takes them. */
		released += decommit_taken(found, taken);
		us_lock(&page_lock);
		for (uint32_t i = 0; i < found->nslots; i++) {
			if (!(taken[i / 64] >> (i % 64) & 1))
				continue;
			found->free_map[i / 64] |= (uint64_t)1 << (i % 64);
			if (found->nfree++ == 0)
				us_list_add(&found->link, &pool_of(found)->chunks);
		}
		chunk_maybe_idle_locked(found);
		us_unlock(&page_lock);
		window_close();
	}
	if (waiting)
		*waiting += kept;
	return released;
}

uint64_t us_chunk_dirty_reused_bytes(void)
{
	return us_stat_read(&dirty_reused);
}

/* large_split() cuts nothing shorter. */
#define US_LARGE_SPLIT_MIN ((size_t)1 << 20)

/*
 * Where large_split() cuts ch for want bytes: the length it keeps, from
 * the mapping's start to the first chunk boundary past want; 0 if it
 * would cut nothing (an aligned block, or a part shorter than
 * US_LARGE_SPLIT_MIN).
 */
static size_t large_cut(const struct us_chunk *ch, size_t want)
{
	uintptr_t base = (uintptr_t)ch->map_base;
	size_t keep = US_ALIGN_UP(base + ch->obj_offset + want,
				  US_CHUNK_SIZE) - base;

	if (ch->align != us_page_size || keep >= ch->map_len ||
	    ch->map_len - keep < US_LARGE_SPLIT_MIN)
		return 0;
	return keep;
}

/*
 * The room a cached mapping has for want bytes: all of it if that is at
 * most twice want (the block keeps its room whole, so that the mapping
 * comes back whole when it is freed), else what large_reuse() leaves it
 * once large_split() has cut it.
 */
static size_t large_room_for(const struct us_chunk *ch, size_t want)
{
	size_t room = ch->map_len - ch->obj_offset, keep;

	if (room / 2 > want && (keep = large_cut(ch, want)) != 0)
		room = keep - ch->obj_offset;
	return room;
}

/*
 * Take the cached mapping that serves size best; large_lock held.  The
 * smallest with room for it, once cut (large_split()), if that room is
 * at most twice what it needs; else the largest without room enough
 * (which the caller grows: its pages are resident, a new mapping's are
 * not); else NULL.  A mapping with far more room is left for a request
 * its size: shrunk to fit, its tail's pages would go back to the system
 * within the decay period of their last use, and the block would hold
 * them resident for nothing if kept whole.
 */
static struct us_chunk *large_cache_take_locked(size_t size, int node)
{
	struct us_chunk *fit = NULL, *grow = NULL;
	size_t want = US_ALIGN_UP(size, us_page_size), fit_room = 0;
	unsigned int looked = 0;

	US_ASSERT_HELD(&large_lock);

	for (struct us_list *l = large_free.next; l != &large_free &&
	     looked < US_LARGE_CACHE_SCAN; l = l->next, looked++) {
		struct us_chunk *ch = us_container_of(l, struct us_chunk,
						      free_link);
		size_t room = ch->map_len - ch->obj_offset;

		if (node >= 0 && ch->node != (unsigned int)node)
			continue;
		if (room >= want) {
			if ((!fit || room < fit_room) &&
			    large_room_for(ch, want) / 2 <= want) {
				fit = ch;
				fit_room = room;
			}
		} else if (!grow || room > grow->map_len - grow->obj_offset) {
			grow = ch;
		}
	}
	if (!fit)
		fit = grow;
	if (fit) {
		us_list_del(&fit->free_link);
		large_free_bytes -= fit->map_len;
		fit->kind = US_CHUNK_LARGE;
	}
	return fit;
}

/*
 * Join ch, just put at the head of large_free, with the cached mappings
 * that lie right before and after it, which cuts (large_split()) made
 * neighbours: so that a mapping cut for a small request comes back
 * whole for a large one.  The joined mapping takes the lower one's
 * header, is as newly freed as ch (which only keeps the older part's
 * pages longer than the decay period asks) and goes back at the head.
 * The upper one's header page becomes room and its registry bit goes,
 * so a stale pointer to its old object is foreign from then on.  Two
 * mappings made apart may lie side by side too, and join; where the
 * kernel keeps them as two areas (one moved beside the other), growing
 * the joined one in place, or moving it, fails, and the resize copies,
 * as wherever the kernel refuses (us_chunk_large_resize()).  large_lock
 * held.
 */
static void large_coalesce_locked(struct us_chunk *ch)
{
	bool joined;

	US_ASSERT_HELD(&large_lock);
	do {
		joined = false;
		for (struct us_list *l = large_free.next; l != &large_free;
		     l = l->next) {
			struct us_chunk *o = us_container_of(l, struct us_chunk,
							     free_link);
			struct us_chunk *lo, *hi;

			if (o == ch || o->node != ch->node)
				continue;
			if ((char *)o->map_base + o->map_len ==
			    (char *)ch->map_base)
				lo = o, hi = ch;
			else if ((char *)ch->map_base + ch->map_len ==
				 (char *)o->map_base)
				lo = ch, hi = o;
			else
				continue;
			us_list_del(&hi->free_link);
			us_list_del(&lo->free_link);
			registry_clear(hi);
			roots_del(hi->map_base, hi->map_len);
			roots_move(lo->map_base, lo->map_len, lo->map_base,
				   lo->map_len + hi->map_len);
			lo->map_len += hi->map_len;
			lo->usable = lo->map_len - lo->obj_offset;
			lo->freed_at = US_MAX(lo->freed_at, hi->freed_at);
			note_large_len(lo->map_len);
			us_list_add(&lo->free_link, &large_free);
			ch = lo;
			joined = true;
			break;
		}
	} while (joined);
}

/* The room of a block in use past its size. */
static size_t large_excess(const struct us_chunk *ch)
{
	return ch->map_len - ch->obj_offset - ch->usable;
}

/*
 * Unmap the room of a roomy block past its size, and take it off
 * large_roomy; large_lock held, which its owner waits for before it
 * resizes or frees the block.  Returns the bytes unmapped.
 */
static size_t large_room_give_back_locked(struct us_chunk *ch)
{
	size_t excess = large_excess(ch), len = ch->map_len - excess;

	US_ASSERT_HELD(&large_lock);

	us_list_del(&ch->free_link);
	large_roomy_bytes -= excess;
	roots_move(ch->map_base, ch->map_len, ch->map_base, len);
	us_os_unmap((char *)ch->map_base + len, excess);
	atomic_fetch_sub_explicit(&mapped_bytes, excess, memory_order_relaxed);
	count_returned(excess);
	ch->map_len = len;
	atomic_store_explicit(&ch->roomy, 0, memory_order_release);
	return excess;
}

/* After a shrink: room more than the size waits on large_roomy to age. */
static void large_note_room(struct us_chunk *ch)
{
	size_t excess = large_excess(ch);

	if (excess <= ch->usable)
		return;
	us_lock(&large_lock);
	ch->freed_at = us_os_now_ms();
	us_list_add(&ch->free_link, &large_roomy);
	large_roomy_bytes += excess;
	atomic_store_explicit(&ch->roomy, 1, memory_order_relaxed);
	us_unlock(&large_lock);
	us_reclaim_note(excess);
}

/*
 * Before its owner resizes or frees a block: off large_roomy, if it is
 * there, so that the sweep no longer touches it.  The acquire pairs with
 * the release of large_room_give_back_locked(): a block the sweep has
 * trimmed is seen with its new length.
 */
static void large_unroomy(struct us_chunk *ch)
{
	if (likely(!atomic_load_explicit(&ch->roomy, memory_order_acquire)))
		return;
	us_lock(&large_lock);
	if (atomic_load_explicit(&ch->roomy, memory_order_relaxed)) {
		us_list_del(&ch->free_link);
		large_roomy_bytes -= large_excess(ch);
		atomic_store_explicit(&ch->roomy, 0, memory_order_relaxed);
	}
	us_unlock(&large_lock);
}

/*
 * The oldest chunk of a newest-first free_link list (large_free or
 * large_roomy) if it went idle before `before`, else NULL; large_lock
 * held.
 */
static struct us_chunk *large_oldest_idle(struct us_list *list,
					  uint64_t before)
{
	struct us_chunk *oldest;

	US_ASSERT_HELD(&large_lock);

	if (us_list_is_empty(list))
		return NULL;
	oldest = us_container_of(list->prev, struct us_chunk, free_link);
	return oldest->freed_at < before ? oldest : NULL;
}

/*
 * Unmap cached mappings freed before `before` (UINT64_MAX: all).  Adds
 * what it unmapped to *released and what it kept to *waiting, either
 * NULL.  There is no cap on what the cache keeps: each mapping in it was
 * in use less than a decay period ago, and the age rule gives no page
 * back sooner.  An earlier cap (as many bytes as the large blocks in use,
 * 64 to 256 MiB) unmapped 77 MB of just-freed blocks in one 0.3 s run of
 * uslab-bench's mixed heap, which then faulted them in again.
 */
static void large_cache_trim(uint64_t before, uint64_t *released,
			     uint64_t *waiting)
{
	struct us_list doomed;
	struct us_chunk *oldest;
	uint64_t given = 0;

	us_list_init(&doomed);
	if (!window_open())
		return;			/* a fork is pending: later */
	us_lock(&large_lock);
	while ((oldest = large_oldest_idle(&large_free, before))) {
		us_list_del(&oldest->free_link);
		large_free_bytes -= oldest->map_len;
		us_list_add(&oldest->free_link, &doomed);
	}
	while ((oldest = large_oldest_idle(&large_roomy, before)))
		given += large_room_give_back_locked(oldest);
	if (waiting)
		*waiting += large_free_bytes + large_roomy_bytes;
	us_unlock(&large_lock);
	while (!us_list_is_empty(&doomed)) {
		struct us_chunk *ch = us_container_of(doomed.next,
						      struct us_chunk, free_link);

		us_list_del(&ch->free_link);
		given += ch->map_len;
		large_unmap(ch);
	}
	window_close();
	if (released)
		*released += given;
}

/* Map a fresh large chunk; no lock. */
static void *large_map(size_t size, size_t align, int node)
{
	size_t offset = align < US_CHUNK_SIZE ? align : US_CHUNK_SIZE;
	size_t len = offset + US_ALIGN_UP(size, us_page_size);
	struct us_chunk *ch;
	char *map;

	if (align <= US_CHUNK_SIZE)
		map = us_os_map_aligned(len, US_CHUNK_SIZE, 0);
	else
		map = us_os_map_aligned(len, align, US_CHUNK_SIZE);
	if (!map)
		return NULL;
	if (!address_fits(map, len)) {
		us_os_unmap(map, len);
		errno = ENOMEM;
		return NULL;
	}
	ch = (struct us_chunk *)map;
	if (node >= 0)
		us_node_bind(map, len, (unsigned int)node);
	ch->magic = US_CHUNK_MAGIC ^ (uintptr_t)ch;
	ch->kind = US_CHUNK_LARGE;
	ch->node = node >= 0 ? (unsigned int)node : 0;
	ch->map_base = map;
	ch->map_len = len;
	ch->usable = len - offset;
	ch->obj_offset = offset;
	ch->align = align;
	atomic_store_explicit(&ch->roomy, 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&mapped_bytes, len, memory_order_relaxed);
	note_large_len(len);
	roots_add(map, len);
	registry_set(ch);
	return us_chunk_large_object(ch);
}

/*
 * Cut a block's mapping (a cached one just taken off the list, or a live
 * one being shrunk) that has more room than want: the part from the
 * first chunk boundary past what want needs goes on the list as a freed
 * mapping of its own, with a header on its first page, so that its
 * resident pages serve the next request, or age out with the decay
 * period, instead of being unmapped at once and faulted in again.
 * Nothing is cut if that part would be small (US_LARGE_SPLIT_MIN).  No
 * lock held; only the block's owner is looking at it.
 */
static void large_split(struct us_chunk *ch, size_t want)
{
	char *base = ch->map_base, *cut;
	size_t keep = large_cut(ch, want), tail_len;
	struct us_chunk *tail;

	if (!keep)
		return;
	cut = base + keep;
	tail = (struct us_chunk *)cut;
	tail_len = ch->map_len - keep;
	us_mem_open(tail, us_page_size);
	tail->magic = US_CHUNK_MAGIC ^ (uintptr_t)tail;
	tail->kind = US_CHUNK_LARGE_FREE;
	tail->node = ch->node;
	tail->map_base = cut;
	tail->map_len = tail_len;
	tail->usable = tail_len - us_page_size;
	tail->obj_offset = us_page_size;
	tail->align = us_page_size;
	atomic_store_explicit(&tail->roomy, 0, memory_order_relaxed);
	roots_move(base, ch->map_len, base, keep);
	ch->map_len = keep;
	roots_add(tail, tail_len);
	registry_set(tail);
	us_lock(&large_lock);
	tail->freed_at = us_os_now_ms();
	us_list_add(&tail->free_link, &large_free);
	large_free_bytes += tail_len;
	large_coalesce_locked(tail);
	us_unlock(&large_lock);
}

/*
 * A cached mapping, taken for a request of size bytes: cut to fit if it
 * has far more room (the rest kept, large_split()), grown if it has too
 * little (no copy either way).  Returns the object; NULL, with the
 * mapping gone, if it cannot grow.
 */
static void *large_reuse(struct us_chunk *ch, size_t size, bool zero)
{
	size_t room = ch->map_len - ch->obj_offset;
	size_t want = US_ALIGN_UP(size, us_page_size);
	size_t dirty;
	char *obj;

	if (room / 2 > want) {
		large_split(ch, want);
		room = ch->map_len - ch->obj_offset;
	}
	dirty = room;
	/* Every byte of its room held a freed block's data. */
	ch->usable = room;
	if (room < want) {
		obj = us_chunk_large_resize(ch, size);
		if (!obj) {
			large_unmap(ch);
			return NULL;
		}
		ch = us_chunk_lookup(obj);
	}
	/*
	 * What ksize() says is what a new mapping would hold,
	 * kmalloc_size_roundup(size), whatever room this one has.
	 */
	ch->usable = want;
	atomic_fetch_add_explicit(&reused_bytes, want, memory_order_relaxed);
	obj = us_chunk_large_object(ch);
	if (zero) {
		us_mem_open(obj, US_MIN(dirty, want));
		memset(obj, 0, US_MIN(dirty, want));
	}
	return obj;
}

void *us_chunk_large_alloc(size_t size, size_t align, bool zero, int node)
{
	struct us_chunk *ch = NULL;
	void *obj;

	if (align < us_page_size)
		align = us_page_size;
	if (size > ((size_t)1 << (US_ADDRESS_BITS - 1)) ||
	    align > ((size_t)1 << (US_ADDRESS_BITS - 2))) {
		errno = ENOMEM;
		return NULL;
	}
	if (align == us_page_size) {
		us_lock(&large_lock);
		ch = large_cache_take_locked(size, node);
		us_unlock(&large_lock);
	}
	if (ch && (obj = large_reuse(ch, size, zero)) != NULL)
		return obj;
	obj = large_map(size, align, node);
	us_reclaim_poke(US_RECLAIM_ALLOC, NULL);
	return obj;
}

void us_chunk_large_free(struct us_chunk *ch)
{
	uint64_t now = us_os_now_ms();
	size_t len;

	large_unroomy(ch);
	len = ch->map_len;

	/*
	 * An aligned block is kept as a page-aligned one: its header stays
	 * on the mapping's first page and its room starts on the second.
	 * The pages of the alignment gap were never handed out, so never
	 * touched: they cost nothing resident, and a reuse that must zero
	 * its room zeroes them too.  Unmapped now, the block's pages would
	 * go back within the decay period of their last use.
	 */
	if (ch->align != us_page_size) {
		ch->align = us_page_size;
		ch->obj_offset = us_page_size;
		ch->usable = len - us_page_size;
	}
	/*
	 * Kept for reuse until it has idled for the decay period.  Once it
	 * is on the list and the lock is dropped, another thread may take
	 * it, move it or unmap it: ch is not touched again.
	 */
	us_lock(&large_lock);
	ch->kind = US_CHUNK_LARGE_FREE;
	ch->freed_at = now;
	us_list_add(&ch->free_link, &large_free);
	large_free_bytes += len;
	large_coalesce_locked(ch);
	us_unlock(&large_lock);
	us_reclaim_note(len);
	large_cache_trim(now >= us_decay_ms ? now - us_decay_ms + 1 : 0, NULL,
			 NULL);
	us_reclaim_poke(US_RECLAIM_FREE, NULL);
}

size_t us_chunk_large_reap(uint64_t before, uint64_t *waiting)
{
	uint64_t released = 0;

	large_cache_trim(before, &released, waiting);
	return released;
}

uint64_t us_chunk_reused_bytes(void)
{
	return atomic_load_explicit(&reused_bytes, memory_order_relaxed);
}

size_t us_chunk_large_cached_bytes(void)
{
	size_t bytes;

	us_lock(&large_lock);
	bytes = large_free_bytes;
	us_unlock(&large_lock);
	return bytes;
}

uint64_t us_chunk_resident_free_bytes(void)
{
	return atomic_load_explicit(&resident_free, memory_order_relaxed);
}

/* For uslabtop, through uslab_anchor: where the page layer's figures are. */
const struct us_anchor_pages us_chunk_anchor = {
	.mapped = &mapped_bytes,
	.returned = &returned_bytes,
	.large_reused = &reused_bytes,
	.dirty_reused = &dirty_reused,
	.resident_free = &resident_free,
	.large_cached = &large_free_bytes,
};

void *us_chunk_large_resize(struct us_chunk *ch, size_t new_size)
{
	size_t offset = ch->obj_offset;
	size_t new_len, old_len;
	char *old_base = ch->map_base;
	struct us_chunk *moved;
	char *to;

	if (new_size > ((size_t)1 << (US_ADDRESS_BITS - 1))) {
		errno = ENOMEM;
		return NULL;
	}
	large_unroomy(ch);
	old_len = ch->map_len;
	new_len = offset + US_ALIGN_UP(new_size, us_page_size);
	if (new_len - offset > ch->usable && old_len - offset > ch->usable) {
		/*
		 * Growing over the room a reused mapping has beyond the
		 * caller's bytes: zero it, as the new pages past it will be.
		 */
		char *obj = us_chunk_large_object(ch);
		size_t upto = US_MIN(old_len, new_len) - offset;

		us_mem_open(obj + ch->usable, upto - ch->usable);
		memset(obj + ch->usable, 0, upto - ch->usable);
	}
	if (new_len <= old_len) {
		/*
		 * Within the mapping (a reused one may hold more than it
		 * was asked for).  A shrink gives no page back now, for they
		 * were in use a moment ago: what lies past the first chunk
		 * boundary after the block is cut off as a freed mapping of
		 * its own (large_split()), which ages in the cache as any
		 * other; the pages short of it stay the block's room, given
		 * back once they have idled for the decay period if they are
		 * more than the block holds (large_note_room()).
		 */
		ch->usable = new_len - offset;
		if (new_len < old_len) {
			large_split(ch, ch->usable);
			large_note_room(ch);
		}
		return us_chunk_large_object(ch);
	}
	if (us_os_grow_in_place(ch->map_base, old_len, new_len)) {
		roots_move(ch->map_base, old_len, ch->map_base, new_len);
		atomic_fetch_add_explicit(&mapped_bytes, new_len - old_len,
					  memory_order_relaxed);
		ch->map_len = new_len;
		ch->usable = new_len - offset;
		note_large_len(new_len);
		return us_chunk_large_object(ch);
	}
	/*
	 * Elsewhere: reserve an aligned range, then move the old pages onto
	 * it and grow them there in one mremap(), which keeps the mapping
	 * one area, so later growth can again happen in place.
	 */
	if (ch->align <= US_CHUNK_SIZE)
		to = us_os_map_aligned(new_len, US_CHUNK_SIZE, 0);
	else
		to = us_os_map_aligned(new_len, ch->align, US_CHUNK_SIZE);
	if (!to)
		return NULL;
	/*
	 * The move unmaps the old range, which another thread may then map
	 * for a chunk of its own and register: so the old region's bit goes
	 * first, as when a chunk is unmapped, and comes back if the move
	 * fails.  Only this thread can be looking the block up meanwhile.
	 */
	registry_clear(ch);
	if (!address_fits(to, new_len) ||
	    !us_os_move(ch->map_base, old_len, new_len, to)) {
		char *copy;

		registry_set(ch);
		/* The kernel would not: copy, as a last resort. */
		us_os_unmap(to, new_len);
		copy = large_map(new_size, ch->align, (int)ch->node);
		if (copy) {
			us_mem_open(us_chunk_large_object(ch), ch->usable);
			memcpy(copy, us_chunk_large_object(ch), ch->usable);
			large_unmap(ch);
		}
		return copy;
	}
	/* ch's pages are gone from under it: the old range from the local. */
	roots_move(old_base, old_len, to, new_len);
	moved = (struct us_chunk *)to;	/* the header came with the pages */
	moved->magic = US_CHUNK_MAGIC ^ (uintptr_t)moved;
	moved->map_base = to;
	moved->map_len = new_len;
	moved->usable = new_len - offset;

	atomic_fetch_add_explicit(&mapped_bytes, new_len - old_len,
				  memory_order_relaxed);
	note_large_len(new_len);
	registry_set(moved);
	return us_chunk_large_object(moved);
}

/*
 * Reads headers with no lock, as every lookup from a pointer does, and
 * that is safe for every pointer a caller may pass.  A chunk is unmapped
 * only once nothing in it is allocated (a slab chunk with every slot
 * free, a large block freed), and its registry bit is cleared before
 * that.  If p lies in an allocated large block, the first registered
 * region at or below it is its block's own header (the block's mapping
 * covers every region between, so no other chunk can be there), which
 * stays mapped while the block is allocated: uslab_object_start() and
 * kvfree_rcu() ask only about such pointers.  Only a pointer into no
 * allocated object (a foreign pointer, a block already freed) can meet
 * another block's header whose bit is cleared and whose pages go away
 * between the test and the read, a window of a few instructions; the
 * caller was then on its way to reporting that pointer and aborting, and
 * dies of SIGSEGV instead, without the report.  Making the read fault-
 * proof (a system call per lookup, or a lock that every unmap and every
 * lookup take) would cost the correct calls for that.
 *
 * large_reaching() finds the registered large chunk of the given kind
 * whose mapping may reach p, or NULL; its callers check the bounds.
 */
static struct us_chunk *large_reaching(const void *p, enum us_chunk_kind kind)
{
	size_t max = atomic_load_explicit(&large_len_max, memory_order_relaxed);
	uintptr_t a = (uintptr_t)p;

	/*
	 * Only a large chunk's first region is registered: walk back over
	 * regions as far as the longest large mapping could reach.
	 */
	for (size_t back = 0; back <= max >> US_CHUNK_SHIFT &&
			      back <= a >> US_CHUNK_SHIFT;
	     back++) {
		const char *q = (const char *)(a - (back << US_CHUNK_SHIFT));
		struct us_chunk *ch = us_chunk_lookup(q + 1);

		if (!ch)
			continue;
		if (ch->magic != (US_CHUNK_MAGIC ^ (uintptr_t)ch) ||
		    ch->kind != kind)
			return NULL;
		return ch;
	}
	return NULL;
}

struct us_chunk *us_chunk_large_holding(const void *p)
{
	struct us_chunk *ch = large_reaching(p, US_CHUNK_LARGE);
	uintptr_t obj;

	if (!ch)
		return NULL;
	obj = (uintptr_t)us_chunk_large_object(ch);
	return (uintptr_t)p >= obj && (uintptr_t)p - obj < ch->usable ? ch
								       : NULL;
}

struct us_chunk *us_chunk_large_freed_holding(const void *p)
{
	struct us_chunk *ch = large_reaching(p, US_CHUNK_LARGE_FREE);
	uintptr_t a = (uintptr_t)p, base;

	if (!ch)
		return NULL;
	base = (uintptr_t)ch->map_base;
	return a >= (uintptr_t)us_chunk_large_object(ch) &&
		       a - base < ch->map_len ? ch : NULL;
}

uint64_t us_chunk_returned_bytes(void)
{
	return atomic_load_explicit(&returned_bytes, memory_order_relaxed);
}

size_t us_chunk_mapped_bytes(void)
{
	return atomic_load_explicit(&mapped_bytes, memory_order_relaxed);
}

unsigned int us_chunk_locks_held(void)
{
	return us_lock_is_held(&page_lock) + us_lock_is_held(&large_lock);
}

unsigned int us_chunk_validate(void)
{
	unsigned int problems = 0;

	us_lock(&page_lock);
	if (!pools_ready)
		goto out;
	for (unsigned int k = 0; k < us_nr_nodes * (US_SLAB_MAX_ORDER + 1); k++) {
		unsigned int o = k % (US_SLAB_MAX_ORDER + 1);
		struct us_list *l, *head = &pools[k / (US_SLAB_MAX_ORDER + 1)][o].chunks;

		for (l = head->next; l != head; l = l->next) {
			struct us_chunk *ch = chunk_from_link(l);
			uint32_t bits = 0;

			if (ch->magic != (US_CHUNK_MAGIC ^ (uintptr_t)ch) ||
			    ch->kind != US_CHUNK_SLAB || ch->order != o ||
			    ch->node != k / (US_SLAB_MAX_ORDER + 1))
				problems++;
			if (!us_chunk_lookup((char *)ch + 1) ||
			    !us_chunk_page((char *)ch +
					   ((size_t)ch->first_slot << ch->slab_shift)))
				problems++;
			for (uint32_t w = 0; w < US_ARRAY_SIZE(ch->free_map); w++)
				bits += (uint32_t)__builtin_popcountll(ch->free_map[w]);
			if (bits != ch->nfree || ch->nfree == 0)
				problems++;
			for (uint32_t i = 0; i < ch->first_slot; i++)
				if (ch->free_map[i / 64] & ((uint64_t)1 << (i % 64)))
					problems++;
		}
	}
out:
	us_unlock(&page_lock);
	return problems;
}

void us_chunk_fork_wait(void)
{
	atomic_store(&fork_pending, true);
	while (atomic_load(&windows))
		us_os_yield();
}

void us_chunk_fork_done(bool child)
{
	if (child)
		atomic_store_explicit(&windows, 0, memory_order_relaxed);
	atomic_store_explicit(&fork_pending, false, memory_order_release);
}

void us_chunk_fork_prepare(void)
{
	us_lock(&page_lock);
	us_lock(&large_lock);
	us_lock(&roots_lock);
}

void us_chunk_fork_parent(void)
{
	us_unlock(&roots_lock);
	us_unlock(&large_lock);
	us_unlock(&page_lock);
}

void us_chunk_fork_child(void)
{
	us_lock_reset(&roots_lock);
	us_lock_reset(&large_lock);
	us_lock_reset(&page_lock);
}
