/* SPDX-License-Identifier: MIT */
/*
 * chunk.c - the page layer.
 *
 * Owns every byte of memory uslab maps.  Two kinds of chunk:
 *
 *   slab chunk   CHUNK_SIZE bytes at a CHUNK_SIZE boundary, cut into
 *                slots of 2^order pages (order 0 to US_SLAB_MAX_ORDER;
 *                one order per chunk).  The header fills the first slots:
 *                the fixed fields, then one 64-byte struct us_slab per
 *                slot.  A bitmap records the free slots.
 *
 *                  +--------+-----------------+------+------+-- ... --+
 *                  | header | slabs[nslots]   | slot | slot |         |
 *                  +--------+-----------------+------+------+-- ... --+
 *                  ^ chunk   (first_slot slots)  ^ first_slot
 *
 *   large chunk  One allocation above the largest kmalloc class: a
 *                mapping whose header sits at a CHUNK_SIZE boundary and
 *                whose object starts max(page, align) bytes (at most
 *                CHUNK_SIZE) after it, so that us_chunk_of() of the
 *                object finds the header.  The mapping ends with the
 *                object; the rest of the chunk-sized region is not ours.
 *
 * The registry holds one bit per CHUNK_SIZE region of the 48-bit address
 * space (8 MiB of zero-initialised .bss, of which only the words for
 * regions in use are ever touched).  A bit is set before a chunk is
 * handed out and cleared before it is unmapped, with atomic bit
 * operations, so lookups need no lock.
 *
 * Locking: page_lock protects the per-order chunk lists, each chunk's
 * free map and nfree.  It is the innermost lock (design essay, 7).
 * Large allocations take no lock.
 *
 * Returning memory: a freed slot is decommitted at once (MADV_DONTNEED);
 * the slab layer above decides when a slab is worth freeing.  A chunk
 * with no slot in use is unmapped, except that one such chunk per order
 * is kept to absorb a grow/shrink cycle; it costs only its header pages.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "chunk.h"
#include "os.h"

_Atomic uint64_t us_registry[US_REGISTRY_WORDS];

struct order_pool {
	struct us_list chunks;		/* chunks with a free slot */
	struct us_chunk *idle;		/* a chunk with every slot free */
};

static struct us_lock page_lock = US_LOCK_INIT;
static struct order_pool pools[US_SLAB_MAX_ORDER + 1];
static bool pools_ready;		/* [page] */
static _Atomic size_t mapped_bytes;

static void registry_set(const void *chunk)
{
	size_t region = (uintptr_t)chunk >> US_CHUNK_SHIFT;

	atomic_fetch_or_explicit(&us_registry[region / 64],
				 (uint64_t)1 << (region % 64),
				 memory_order_release);
}

static void registry_clear(const void *chunk)
{
	size_t region = (uintptr_t)chunk >> US_CHUNK_SHIFT;

	atomic_fetch_and_explicit(&us_registry[region / 64],
				  ~((uint64_t)1 << (region % 64)),
				  memory_order_release);
}

static bool address_fits(const void *p, size_t len)
{
	return ((uintptr_t)p + len - 1) >> US_ADDRESS_BITS == 0;
}

static void pools_init_locked(void)
{
	for (unsigned int o = 0; o <= US_SLAB_MAX_ORDER; o++) {
		us_list_init(&pools[o].chunks);
		pools[o].idle = NULL;
	}
	pools_ready = true;
}

static struct us_chunk *chunk_from_link(struct us_list *l)
{
	return us_container_of(l, struct us_chunk, link);
}

/* Map and format a slab chunk of the given order; page_lock held. */
static struct us_chunk *chunk_create_locked(unsigned int order)
{
	unsigned int shift = us_page_shift + order;
	uint32_t nslots = (uint32_t)(US_CHUNK_SIZE >> shift);
	size_t header = offsetof(struct us_chunk, slabs) +
			nslots * sizeof(struct us_slab);
	struct us_chunk *ch;

	ch = us_os_map_aligned(US_CHUNK_SIZE, US_CHUNK_SIZE, 0);
	if (!ch)
		return NULL;
	if (!address_fits(ch, US_CHUNK_SIZE)) {
		us_os_unmap(ch, US_CHUNK_SIZE);
		errno = ENOMEM;
		return NULL;
	}
	ch->magic = US_CHUNK_MAGIC ^ (uintptr_t)ch;
	ch->kind = US_CHUNK_SLAB;
	ch->slab_shift = shift;
	ch->order = order;
	ch->nslots = nslots;
	ch->first_slot = (uint32_t)((header + ((size_t)1 << shift) - 1) >> shift);
	ch->nfree = nslots - ch->first_slot;
	for (uint32_t i = ch->first_slot; i < nslots; i++)
		ch->free_map[i / 64] |= (uint64_t)1 << (i % 64);
	us_list_init(&ch->link);
	atomic_fetch_add_explicit(&mapped_bytes, US_CHUNK_SIZE,
				  memory_order_relaxed);
	registry_set(ch);
	return ch;
}

static void chunk_destroy_locked(struct us_chunk *ch)
{
	registry_clear(ch);
	atomic_fetch_sub_explicit(&mapped_bytes, US_CHUNK_SIZE,
				  memory_order_relaxed);
	us_os_unmap(ch, US_CHUNK_SIZE);
}

struct us_slab *us_chunk_slot_alloc(unsigned int order)
{
	struct order_pool *pool = &pools[order];
	struct us_chunk *ch;
	struct us_slab *slab;
	uint32_t slot = 0;

	us_lock(&page_lock);
	if (unlikely(!pools_ready))
		pools_init_locked();
	if (!us_list_is_empty(&pool->chunks)) {
		ch = chunk_from_link(pool->chunks.next);
	} else if (pool->idle) {
		ch = pool->idle;
		pool->idle = NULL;
		us_list_add(&ch->link, &pool->chunks);
	} else {
		ch = chunk_create_locked(order);
		if (!ch) {
			us_unlock(&page_lock);
			return NULL;
		}
		us_list_add(&ch->link, &pool->chunks);
	}
	for (uint32_t w = 0; w < US_ARRAY_SIZE(ch->free_map); w++) {
		if (ch->free_map[w]) {
			slot = w * 64 + (uint32_t)__builtin_ctzll(ch->free_map[w]);
			ch->free_map[w] &= ch->free_map[w] - 1;
			break;
		}
	}
	if (--ch->nfree == 0)
		us_list_del(&ch->link);
	us_unlock(&page_lock);

	slab = &ch->slabs[slot];
	memset(slab, 0, sizeof(*slab));
	slab->list = US_SLAB_ORPHAN;
	us_list_init(&slab->link);
	return slab;
}

void us_chunk_slot_free(struct us_slab *slab)
{
	struct us_chunk *ch = us_chunk_of(slab);
	struct order_pool *pool = &pools[ch->order];
	uint32_t slot = (uint32_t)(slab - ch->slabs);

	atomic_store_explicit(&slab->cache, NULL, memory_order_relaxed);
	slab->list = US_SLAB_FREE_SLOT;
	us_os_decommit(us_chunk_slot_start(slab), (size_t)1 << ch->slab_shift);

	us_lock(&page_lock);
	ch->free_map[slot / 64] |= (uint64_t)1 << (slot % 64);
	if (ch->nfree++ == 0)
		us_list_add(&ch->link, &pool->chunks);
	if (ch->nfree == ch->nslots - ch->first_slot) {
		us_list_del(&ch->link);
		if (pool->idle)
			chunk_destroy_locked(pool->idle);
		pool->idle = ch;
	}
	us_unlock(&page_lock);
}

void *us_chunk_large_alloc(size_t size, size_t align)
{
	size_t offset, len;
	char *map;
	struct us_chunk *ch;

	if (align < us_page_size)
		align = us_page_size;
	offset = align < US_CHUNK_SIZE ? align : US_CHUNK_SIZE;
	if (size > ((size_t)1 << (US_ADDRESS_BITS - 1)) ||
	    align > ((size_t)1 << (US_ADDRESS_BITS - 2))) {
		errno = ENOMEM;
		return NULL;
	}
	len = offset + US_ALIGN_UP(size, us_page_size);
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
	ch->magic = US_CHUNK_MAGIC ^ (uintptr_t)ch;
	ch->kind = US_CHUNK_LARGE;
	ch->map_base = map;
	ch->map_len = len;
	ch->usable = len - offset;
	ch->object = map + offset;
	atomic_fetch_add_explicit(&mapped_bytes, len, memory_order_relaxed);
	registry_set(ch);
	return ch->object;
}

void us_chunk_large_free(struct us_chunk *ch)
{
	size_t len = ch->map_len;

	registry_clear(ch);
	atomic_fetch_sub_explicit(&mapped_bytes, len, memory_order_relaxed);
	us_os_unmap(ch->map_base, len);
}

size_t us_chunk_mapped_bytes(void)
{
	return atomic_load_explicit(&mapped_bytes, memory_order_relaxed);
}

unsigned int us_chunk_validate(void)
{
	unsigned int problems = 0;

	us_lock(&page_lock);
	if (!pools_ready)
		goto out;
	for (unsigned int o = 0; o <= US_SLAB_MAX_ORDER; o++) {
		struct us_list *l;

		for (l = pools[o].chunks.next; l != &pools[o].chunks; l = l->next) {
			struct us_chunk *ch = chunk_from_link(l);
			uint32_t bits = 0;

			if (ch->magic != (US_CHUNK_MAGIC ^ (uintptr_t)ch) ||
			    ch->kind != US_CHUNK_SLAB || ch->order != o)
				problems++;
			if (!us_chunk_lookup((char *)ch + 1))
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

void us_chunk_fork_prepare(void)
{
	us_lock(&page_lock);
}

void us_chunk_fork_parent(void)
{
	us_unlock(&page_lock);
}

void us_chunk_fork_child(void)
{
	us_lock_reset(&page_lock);
}
