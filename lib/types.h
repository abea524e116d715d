/* SPDX-License-Identifier: MIT */
/*
 * types.h - uslab's core structures, in one place.
 *
 * Glossary
 *
 *   chunk      A CHUNK_SIZE region of address space, aligned to its size,
 *              that starts with a struct us_chunk header.  A slab chunk is
 *              cut into equal slots of one slab size; a large chunk holds
 *              one large allocation.  Chunks are the page layer's unit of
 *              mapping and the reason a pointer finds its metadata with
 *              one mask.
 *   slot       One slab-sized piece of a slab chunk.  The first slots of a
 *              chunk hold its header; the rest are free or hold one slab.
 *   slab       A slot owned by a cache: objects of one size laid out from
 *              base (the slot start plus base_off, the colour), described by a
 *              struct us_slab in the chunk header, never inside the slot.
 *   object     What kmem_cache_alloc() returns.  size bytes apart in its
 *              slab; object_size of them are the caller's.
 *   free pointer  The link of a slab's free list, stored in a free object
 *              at offset `offset` and encoded (see slab.c).
 *   carve      Hand out a never-used object of a slab by advancing its
 *              `carved` cursor; freed objects go on the free list instead.
 *   magazine   A stack of object pointers (struct us_mag) with a fixed
 *              capacity ("rounds" is Bonwick's word for the objects in
 *              it).
 *   loaded / previous   The two magazines of one CPU's slot.
 *   depot      A cache's locked lists of full and of empty magazines.
 *   sentinel   The shared empty magazine of capacity 0 that every slot
 *              starts with, so the fast paths never test for NULL.
 *   large      An allocation above the largest kmalloc class: its own
 *              chunk-aligned mapping, header and all.
 *   registry   One bit per CHUNK_SIZE of address space, set while uslab
 *              owns a chunk there: the O(1) answer to "is this ours?";
 *              and a second bitmap of the slab chunks alone.
 *   page entry What the free path reads for an address in a slab chunk
 *              (struct us_page): the cache of the slab on that granule and
 *              where the slab's first object is.  At a fixed place in
 *              the chunk header, so found from the address alone.
 *
 * Field comments name the lock that protects the field: [ro] is written
 * only before the structure is published, [cpu], [depot], [slab],
 * [page] and [large] are the locks of the design essay in internal.h.
 * A large chunk's fields belong to whoever owns the allocation.
 */
#ifndef USLAB_TYPES_H
#define USLAB_TYPES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uslab.h>

#include "lock.h"

#define US_CACHE_LINE 64
#define US_CHUNK_SHIFT 22
#define US_CHUNK_SIZE ((size_t)1 << US_CHUNK_SHIFT)
#define US_CHUNK_MASK (US_CHUNK_SIZE - 1)

/* Slabs are 1 to 2^US_SLAB_MAX_ORDER pages and at most US_SLAB_MAX_SIZE. */
#define US_SLAB_MAX_ORDER 8
#define US_SLAB_MAX_SIZE ((size_t)1 << 20)

/* The most slots a chunk can have: CHUNK_SIZE / smallest page. */
#define US_CHUNK_MAX_SLOTS 1024

/*
 * The page table of a slab chunk has one entry per granule of 4 KiB,
 * whatever the OS page size (a larger page is several granules), so that
 * the free path finds an address's entry with constants alone.
 */
#define US_GRANULE_SHIFT 12
#define US_CHUNK_PAGES (US_CHUNK_SIZE >> US_GRANULE_SHIFT)

/* Only user addresses below this are registered (x86-64, AArch64 48-bit). */
#define US_ADDRESS_BITS 48

/* A doubly linked list node; a list head is a node linked to itself. */
struct us_list {
	struct us_list *next;
	struct us_list *prev;
};

enum us_slab_list {
	US_SLAB_FREE_SLOT = 0,	/* the slot belongs to the page layer */
	US_SLAB_PARTIAL,
	US_SLAB_FULL,
	US_SLAB_EMPTY,
	US_SLAB_ORPHAN,		/* on no list: being built, or being freed */
};

/*
 * A slab descriptor: 64 bytes, one cache line, in the chunk header.
 * Protected by the owning cache's slab lock, except that `cache` is
 * written by the page and slab layers only while no object of the slab is
 * allocated, and read without a lock by the free path.
 */
struct us_slab {
	struct us_list link;		/* [slab] in a slab list */
	struct kmem_cache *_Atomic cache; /* owner; NULL while a free slot */
	void *freelist;			/* [slab] first free object */
	/*
	 * [slab] Where the first object starts in the slot (colour and a
	 * debug cache's left red zone): an offset, not a pointer, so that
	 * no pointer to an allocated object survives in uslab's own
	 * memory, where memcheck's leak check would find it.
	 */
	uint32_t base_off;
	uint32_t inuse;			/* [slab] objects out of the slab */
	uint32_t carved;		/* [slab] objects ever handed out */
	uint32_t objects;		/* [slab] objects in the slab */
	uint8_t list;			/* [slab] enum us_slab_list */
	uint8_t flags;			/* [slab] US_SLAB_* below */
	/*
	 * [slab] Objects of the slab still to come in the batch being
	 * freed (us_slab_free_batch()); 0 outside one.
	 */
	uint16_t returning;
	/*
	 * The slab's tag vector (alloctag.h): 0, or set once by CAS while
	 * an object of the slab is allocated; cleared by the slab layer
	 * when the slab goes back to the page layer.
	 */
	_Atomic uint32_t tags;
	uint64_t empty_since;		/* [slab] when it became empty, ms */
};

/*
 * The slot's pages were untouched when the slab took it (never used, or
 * decommitted): carving faults them in (slab.c, "Populating").
 */
#define US_SLAB_CLEAN 0x1
/*
 * A free slot the page layer faulted in ahead of any slab (chunk.c,
 * "Populating ahead"): resident, but no freed memory.
 */
#define US_SLAB_AHEAD 0x2

/* The chunk header's slab array is indexed by shifting: one line each. */
_Static_assert(sizeof(struct us_slab) == 64, "a slab descriptor is 64 bytes");

/*
 * A page entry: one per US_GRANULE of a slab chunk, the same in every
 * granule of a slab.  `cache` is the cache a caller may free the slab's
 * objects into: the slab's own, or us_chunk_no_cache (chunk.h), never
 * NULL, in the chunk's header, while the slot is free or where it holds
 * a slab of uslab's own caches (descriptors, magazines), which callers
 * never free.  Written by the slab layer before the slab's first object
 * is handed out (cache last, with release) and cleared after its last
 * one came back; read with no lock by the free paths.
 */
struct us_page {
	struct kmem_cache *_Atomic cache;
	uintptr_t obj0;			/* the slab's first object's address */
};

_Static_assert(sizeof(struct us_page) == 16, "a page entry is 16 bytes");

enum us_chunk_kind {
	US_CHUNK_SLAB = 0x51ab,
	US_CHUNK_LARGE = 0x1a46e,
	US_CHUNK_LARGE_FREE = 0xf1a46e,	/* freed, kept for reuse */
};

#define US_CHUNK_MAGIC 0x75736c6162636b21ull	/* "uslabck!" */

/*
 * A chunk header.  [ro] fields are set when the chunk is mapped; the slot
 * map and list links belong to the page layer's lock.
 */
struct us_chunk {
	uint64_t magic;			/* [ro] US_CHUNK_MAGIC ^ address */
	uint32_t kind;			/* [ro] enum us_chunk_kind */
	uint32_t slab_shift;		/* [ro] log2 of the slot size */
	uint32_t node;			/* [ro] NUMA node (node.c) */
	/* A large allocation's site id (alloctag.h), 0: not counted */
	uint32_t tag;
	union {
		struct {		/* US_CHUNK_SLAB */
			struct us_list link;	/* [page] chunks of an order */
			/* [page] in its order's list of chunks with dirty slots */
			struct us_list dirty_link;
			uint32_t nslots;	/* [ro] slots in the chunk */
			uint32_t first_slot;	/* [ro] first after header */
			uint32_t nfree;		/* [page] free slots */
			uint32_t order;		/* [ro] slot order */
			uint32_t ndirty;	/* [page] free slots not decommitted */
			uint32_t pad2;
			uint64_t free_map[US_CHUNK_MAX_SLOTS / 64]; /* [page] */
			/* [page] free slots whose pages are still resident */
			uint64_t dirty_map[US_CHUNK_MAX_SLOTS / 64];
		};
		struct {		/* US_CHUNK_LARGE(_FREE) */
			void *map_base;		/* the whole mapping */
			size_t map_len;
			/*
			 * Bytes from the object that are the caller's: its
			 * size rounded up to the page.  A reused mapping may
			 * have room beyond it, up to map_len.
			 */
			size_t usable;
			/*
			 * Where the object (what kmalloc returned) starts,
			 * from the header: an offset, so that memcheck's
			 * leak check finds no pointer to it here.
			 */
			size_t obj_offset;
			size_t align;		/* as asked, at least a page */
			/*
			 * [large] on large_free while free; on large_roomy
			 * while in use with room to give back once aged.
			 */
			struct us_list free_link;
			uint64_t freed_at;	/* [large] ms, since then */
			_Atomic uint32_t roomy;	/* on large_roomy (chunk.c) */
		};
	};
	/* Slab chunks only from here: a large chunk's object may start. */
	struct us_page pages[US_CHUNK_PAGES] __attribute__((aligned(64)));
	struct us_slab slabs[];		/* by slot */
};

/* A large chunk's header must fit before its object, a page in. */
_Static_assert(offsetof(struct us_chunk, pages) <= 1024,
	       "the fixed chunk header is small");

/* Magazines are 64 to 2048 bytes: up to 252 rounds. */
#define US_MAG_MAX_ROUNDS 252

/*
 * A magazine: capacity object pointers, the first `rounds` of them full.
 * A magazine belongs to one owner at a time (a CPU slot, the depot, or a
 * thread between them), which protects it.
 */
struct us_mag {
	struct us_mag *next;		/* in a depot list */
	uint32_t rounds;
	uint32_t capacity;
	uint64_t stamp;			/* when it entered the depot, ms */
	/*
	 * Always NULL: objs[-1], so that "is obj on top?" (the double-free
	 * check of the push) needs no test for an empty magazine first.
	 */
	void *guard;
	void *objs[];
};

/* The push reads objs[rounds - 1] with rounds 0 as the guard word. */
_Static_assert(offsetof(struct us_mag, guard) + sizeof(void *) ==
		       offsetof(struct us_mag, objs),
	       "a magazine's guard word is objs[-1]");

/*
 * One CPU's view of a cache: two cache lines, the first all that the
 * restartable sequences (rseq.h) touch.  Counters are written with
 * relaxed atomic stores under the slot lock or by the sequences, so that
 * statistics may read them without it.
 *
 * The sequences work on `loaded` through top, base and end: while the
 * slot is open (unlocked), top is &loaded->objs[rounds], base
 * loaded->objs and end &loaded->objs[capacity], and top, not the
 * magazine's `rounds`, is the truth.  Locking closes the slot (base the
 * highest address, end NULL: both sequences take the slow path) and then
 * writes the count back into loaded->rounds; unlocking opens it again
 * from loaded (magazine.h).  So the code that holds the lock sees plain
 * magazines, and the sequences test no lock and load the magazine's
 * objects straight from the slot's line.
 */
struct us_cpu_slot {
	struct us_lock lock;
	uint32_t pad;
	void **top;			/* [cpu] open: the next free round */
	void **base;			/* [cpu] open: loaded->objs */
	void **end;			/* [cpu] open: past the last round */
	_Atomic uint64_t alloc_fast;	/* [cpu] not by the sequences */
	_Atomic uint64_t free_fast;	/* [cpu] */
	struct us_mag *loaded;		/* [cpu] */
	struct us_mag *prev;		/* [cpu] */
	/* The slow paths' line. */
	_Atomic uint64_t alloc_slow __attribute__((aligned(US_CACHE_LINE)));
	_Atomic uint64_t free_slow;	/* [cpu] */
	/* The sweep's view of the slot's use (us_mag_reap_slots()). */
	uint64_t idle_ops;		/* [sweep] the counters' sum, as seen */
	void **idle_top;		/* [sweep] top, as seen */
	uint64_t idle_since;		/* [sweep] ms: when it last changed */
	bool idle_drained;		/* [sweep] drained since it changed */
} __attribute__((aligned(US_CACHE_LINE)));

/* Two CPUs' fast paths never share a line. */
_Static_assert(sizeof(struct us_cpu_slot) == 2 * US_CACHE_LINE,
	       "a CPU slot is two cache lines");
_Static_assert(offsetof(struct us_cpu_slot, prev) + sizeof(void *) <=
		       US_CACHE_LINE,
	       "the fast paths' fields share one line");

struct us_depot {
	struct us_lock lock;
	uint32_t capacity;		/* [depot] rounds of new magazines */
	struct us_mag *full;		/* [depot] */
	struct us_mag *empty;		/* [depot] */
	uint32_t nfull;			/* [depot] */
	uint32_t nempty;		/* [depot] */
	uint32_t max_full;		/* [depot] beyond it, flush to slabs */
	uint32_t window_contended;	/* [depot] waits in this window */
	bool made_first;		/* [depot] its first magazine made */
	uint64_t window_start;		/* [depot] ms */
	_Atomic uint64_t full_taken;	/* [depot] */
	_Atomic uint64_t empty_taken;	/* [depot] */
	_Atomic uint64_t contended;	/* [depot] */
	_Atomic uint64_t reaped;	/* [depot] idle magazines flushed */
} __attribute__((aligned(US_CACHE_LINE)));

struct us_slab_pool {
	struct us_lock lock;
	uint32_t colour_next;		/* [slab] */
	struct us_list partial;		/* [slab] */
	struct us_list full;		/* [slab] */
	struct us_list empty;		/* [slab] oldest at the tail */
	uint64_t nr_partial;		/* [slab] */
	uint64_t nr_full;		/* [slab] */
	uint64_t nr_empty;		/* [slab] */
	uint64_t inuse;			/* [slab] objects out of slabs */
	_Atomic uint64_t refills;	/* [slab] */
	_Atomic uint64_t flushes;	/* [slab] */
	_Atomic uint64_t grown;		/* [slab] */
	_Atomic uint64_t reaped;	/* [slab] */
	_Atomic uint64_t reused;	/* [slab] empty slabs taken again */
	_Atomic uint64_t alloc_failed;	/* any thread */
} __attribute__((aligned(US_CACHE_LINE)));

/* Cache flags of uslab's own, above the public SLAB_* bits. */
#define US_CACHE_NOMAGAZINE 0x80000000u	/* bootstrap: slabs only */
#define US_CACHE_STATIC	    0x40000000u	/* descriptor is not allocated */
#define US_CACHE_DEAD	    0x20000000u	/* destroyed with live objects */
#define US_CACHE_KMALLOC    0x10000000u	/* a kmalloc-N cache */
#define US_CACHE_DEBUG	    0x08000000u	/* debug.h: no magazines */

struct kmem_cache {
	/* Read by the fast paths; [ro]. */
	uint32_t size;			/* stride between objects */
	uint32_t object_size;		/* the caller's size */
	uint32_t align;
	uint32_t offset;		/* free pointer offset in an object */
	uint32_t flags;			/* SLAB_* and US_CACHE_* */
	uint32_t objects;		/* per slab */
	uint32_t span;			/* objects * size: the objects' extent */
	uint32_t size_shift;		/* size is odd << size_shift, and */
	uint64_t size_inverse;		/* odd * size_inverse == 1 mod 2^64 */
	uint64_t reciprocal;		/* ceil(2^40 / size): index by multiply */
	uint32_t tc_index;		/* thread-cache slot (tcache.c); 0: none */
	uint32_t rand_step;		/* carving order: 0 in address order, */
	uint32_t rand_inverse;		/* else a stride and its inverse mod */
					/* objects (USLAB_RANDOM_FREELIST) */
	/* The count the free paths' verdict compares an object's index
	 * with (cache.h): objects, until an object of the cache is
	 * counted to an allocation site; then 0, for good, so that every
	 * free falls to the path that looks up the object's tag
	 * (alloctag.h) with no test of its own on the fast path. */
	_Atomic uint32_t free_gate;
	uintptr_t secret;		/* free pointer hardening */
	void (*ctor)(void *);
	uint32_t order;			/* slab is 2^order pages */
	uint32_t slab_size;
	uint32_t colour_step;
	uint32_t colour_count;
	uint32_t red_left;		/* debug layout (debug.h): left red */
	uint32_t rz_end;		/* zone, end of the right one, */
	uint32_t track_off;		/* the tracks, and the end of the */
	uint32_t meta_end;		/* metadata; 0 without debugging */
	uint32_t freeptr_req;		/* kmem_cache_args: freeptr_offset + 1 */
	uint32_t useroffset;		/* kmem_cache_args: usercopy region */
	uint32_t usersize;
	char name[USLAB_NAME_MAX + 1];
	struct us_list link;		/* [list] every cache */
	uint64_t serial;		/* [list] 1, 2, ... in order made */
	uint64_t room_taker;		/* [list] serial of the cache that last
					 * took room from this one (cache.c) */

	struct us_depot depot;
	struct us_slab_pool slabs;
	struct us_cpu_slot cpu[];	/* us_nr_cpus of them */
};

#endif /* USLAB_TYPES_H */
