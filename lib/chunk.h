/* SPDX-License-Identifier: MIT */
/*
 * chunk.h - the page layer: chunks, slots, large mappings, the registry.
 */
#ifndef USLAB_CHUNK_H
#define USLAB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/*
 * One bit per chunk-sized region of the user address space: us_registry
 * for every chunk uslab owns, us_registry_slab for slab chunks alone.
 */
#define US_REGISTRY_WORDS \
	(((size_t)1 << (US_ADDRESS_BITS - US_CHUNK_SHIFT)) / 64)
extern _Atomic uint64_t us_registry[US_REGISTRY_WORDS];
extern US_SHARED _Atomic uint64_t us_registry_slab[US_REGISTRY_WORDS];

/* The chunk whose header governs p (see the design essay, 5). */
static inline struct us_chunk *us_chunk_of(const void *p)
{
	return (struct us_chunk *)(((uintptr_t)p - 1) & ~(uintptr_t)US_CHUNK_MASK);
}

/* The chunk governing p if uslab owns it, else NULL.  No lock. */
static inline struct us_chunk *us_chunk_lookup(const void *p)
{
	uintptr_t a = (uintptr_t)p - 1;
	size_t region = a >> US_CHUNK_SHIFT;

	if (unlikely(a >> US_ADDRESS_BITS))
		return NULL;
	if (!(atomic_load_explicit(&us_registry[region / 64],
				   memory_order_relaxed) &
	      ((uint64_t)1 << (region % 64))))
		return NULL;
	return (struct us_chunk *)(a & ~(uintptr_t)US_CHUNK_MASK);
}

/*
 * Does p lie in a slab chunk?  The registry's bit for its region: the
 * free path's first step.  No lock.
 */
static inline bool us_chunk_in_slab(const void *p)
{
	size_t region = (uintptr_t)p >> US_CHUNK_SHIFT;

	/*
	 * One bound check for the address space and the table: the word
	 * index is below US_REGISTRY_WORDS exactly when p is below
	 * 2^US_ADDRESS_BITS.
	 */
	if (unlikely(region / 64 >= US_REGISTRY_WORDS))
		return false;
	return atomic_load_explicit(&us_registry_slab[region / 64],
				    memory_order_relaxed) &
	       ((uint64_t)1 << (region % 64));
}

/*
 * The page entry of p, which lies in a slab chunk.  Its address depends
 * on p alone, so its load need not wait for the registry's.
 */
static inline struct us_page *us_chunk_page_of(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	/*
	 * The entry's offset in the table is the granule number times 16.
	 * The empty asm hides that its bits and the chunk's are disjoint:
	 * GCC would join the two with an OR and then add the table's offset
	 * in an instruction of its own, where an ADD lets one LEA do both.
	 */
	uintptr_t at = (a >> (US_GRANULE_SHIFT - 4)) &
		       ((US_CHUNK_PAGES - 1) << 4);

	__asm__("" : "+r"(at));
	return (struct us_page *)((a & ~(uintptr_t)US_CHUNK_MASK) +
				  offsetof(struct us_chunk, pages) + at);
}

/* The page entry of p if p lies in a slab chunk, else NULL.  No lock. */
static inline struct us_page *us_chunk_page(const void *p)
{
	return us_chunk_in_slab(p) ? us_chunk_page_of(p) : NULL;
}

/*
 * p's offset from the first object of the slab its page entry pg
 * describes; below that object it wraps to a huge number.
 */
static inline uintptr_t us_page_obj_offset(const struct us_page *pg,
					   const void *p)
{
	return (uintptr_t)p - pg->obj0;
}

/*
 * The cache a page entry names where no slab callers may free into lies:
 * the chunk's header, a free slot, a bootstrap cache's slab.  It is never
 * NULL there, so that the free paths test no pointer before they read the
 * cache: this one has no object and no extent (objects, free_gate and
 * span 0), so every verdict on it fails, and no caller's cache is it.
 */
extern struct kmem_cache us_chunk_no_cache;

/*
 * Point every page entry of slab's slot at cache (NULL: callers may not
 * free into it, us_chunk_no_cache), with its first object base_off into
 * the slot; cache is stored last, with release.  Clear with cache NULL.
 */
void us_chunk_slot_publish(struct us_slab *slab, struct kmem_cache *cache,
			   uint32_t base_off);

/* The slot descriptor of p in a slab chunk. */
static inline struct us_slab *us_chunk_slab(struct us_chunk *ch, const void *p)
{
	return &ch->slabs[((uintptr_t)p - (uintptr_t)ch) >> ch->slab_shift];
}

/* A large chunk's object: what kmalloc returned. */
static inline void *us_chunk_large_object(const struct us_chunk *ch)
{
	return (char *)ch + ch->obj_offset;
}

/* The first byte of a slab's slot. */
static inline char *us_chunk_slot_start(const struct us_slab *slab)
{
	struct us_chunk *ch = us_chunk_of(slab);

	return (char *)ch + ((size_t)(slab - ch->slabs) << ch->slab_shift);
}

/*
 * A free slot of 2^order pages on node, its descriptor zeroed but for `list`
 * (US_SLAB_ORPHAN); one still resident from a slab given back first, so
 * its memory holds whatever it held, else zero, with US_SLAB_CLEAN in its
 * flags (not one of its pages resident).  With ahead (its cache is
 * growing), a clean slot of order 0 brings the clean slots after it in
 * with it, faulted in (chunk.c, "Populating ahead").  NULL with errno
 * ENOMEM.  Takes the page lock.
 */
struct us_slab *us_chunk_slot_alloc(unsigned int order, unsigned int node,
				    bool ahead);

/*
 * Give a slot back, dirty (see us_chunk_slots_free()).  Takes the page
 * lock.
 */
void us_chunk_slot_free(struct us_slab *slab);

/*
 * Give n slots back at once, in any order (sorted here).  With now, their
 * pages go back to the OS at once, adjacent ones with one call; else they
 * stay resident ("dirty") for the next slab of their order, whatever its
 * cache, until us_chunk_decommit() finds them idle for the decay period.
 * A chunk left with every slot free and clean is unmapped (one per order
 * is kept).  Takes the page lock.
 */
void us_chunk_slots_free(struct us_slab **slabs, unsigned int n, bool now);

/*
 * Decommit the dirty free slots given back before `before` (ms;
 * UINT64_MAX: all).  Returns the bytes decommitted; adds the bytes of
 * dirty slots kept to *waiting (if not NULL).  Takes the page lock.
 */
uint64_t us_chunk_decommit(uint64_t before, uint64_t *waiting);

/* Bytes of slots a new slab took while still resident (statistics). */
uint64_t us_chunk_dirty_reused_bytes(void);

/*
 * The cache of freed large chunks: kept for reuse for the decay period
 * (reclaim.c), however many bytes that is.  A request looks at the newest
 * US_LARGE_CACHE_SCAN and takes the one that fits best; one with more
 * than twice the room is cut at a chunk boundary, the rest staying
 * cached, or left for a request its size.
 */
#define US_LARGE_CACHE_SCAN 16

/*
 * A large allocation of at least size bytes aligned to align (0 or a
 * power of two), on node (or any, for a negative one): a mapping of its
 * own with a header, or a recently freed one (zeroed if zero is set; a
 * new mapping is zero anyway).  Returns
 * the object, or NULL with errno ENOMEM.
 */
void *us_chunk_large_alloc(size_t size, size_t align, bool zero, int node);

/*
 * The allocated large chunk whose block holds p, at its start or inside
 * it, or NULL.  For a live block: the walk back to its header reads
 * only the block's own mapping.  No lock.
 */
struct us_chunk *us_chunk_large_holding(const void *p);

/*
 * The freed large mapping, kept for reuse, that holds p past its header,
 * or NULL: for the report of a block freed twice whose mapping has since
 * joined the one below it (chunk.c), which leaves p no header of its
 * own.  No lock: it may read a header whose pages are going away, as the
 * walk above may for a pointer into no allocated block.
 */
struct us_chunk *us_chunk_large_freed_holding(const void *p);

/* Bytes of free slab slots kept resident for the next slab (no lock). */
uint64_t us_chunk_resident_free_bytes(void);

/* The page layer's figures, for uslabtop (anchor.h). */
extern const struct us_anchor_pages us_chunk_anchor;

/* Free a large allocation; ch is its us_chunk_lookup(). */
void us_chunk_large_free(struct us_chunk *ch);

/*
 * Resize a large allocation to hold new_size bytes, keeping its contents
 * and alignment: in place when it shrinks or the address space after it
 * is free, else by moving its pages.  Bytes it grows by read as zero.
 * Returns the object, which may have moved, or NULL with errno ENOMEM
 * and nothing changed.
 */
void *us_chunk_large_resize(struct us_chunk *ch, size_t new_size);

/*
 * Unmap cached free large chunks freed before `before` (ms; UINT64_MAX:
 * all).  Returns the bytes unmapped; adds the bytes kept to *waiting
 * (if not NULL).
 */
size_t us_chunk_large_reap(uint64_t before, uint64_t *waiting);

/* Bytes of large blocks served from the cache, not mapped afresh. */
uint64_t us_chunk_reused_bytes(void);

/* Bytes of freed large blocks kept in the cache now. */
size_t us_chunk_large_cached_bytes(void);

/* Bytes given back to the OS so far: unmapped, or decommitted slots. */
uint64_t us_chunk_returned_bytes(void);

/* Bytes of address space the page layer has mapped now. */
size_t us_chunk_mapped_bytes(void);

/* How many of the page layer's locks are held now (tests). */
unsigned int us_chunk_locks_held(void);

/* Number of problems found in the page layer's structures (tests). */
unsigned int us_chunk_validate(void);

/*
 * fork(): us_chunk_fork_wait(), before any lock is taken, waits until no
 * window of the page layer is open (memory held outside every structure
 * with no lock held: chunk.c) and keeps new ones from opening until
 * us_chunk_fork_done(), in the parent or the child.
 */
void us_chunk_fork_wait(void);
void us_chunk_fork_done(bool child);
void us_chunk_fork_prepare(void);
void us_chunk_fork_parent(void);
void us_chunk_fork_child(void);

#endif /* USLAB_CHUNK_H */
