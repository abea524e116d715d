/* SPDX-License-Identifier: MIT */
/*
 * uslab.h - the Linux kernel's slab cache API in userspace.
 *
 * This is the whole public contract of libuslab.  Application code that
 * manages many objects of one type creates a typed cache and allocates
 * from it exactly as kernel code does:
 *
 *	struct kmem_cache *c = kmem_cache_create("conn", sizeof(struct conn),
 *						 0, SLAB_HWCACHE_ALIGN, conn_ctor);
 *	struct conn *x = kmem_cache_alloc(c, GFP_KERNEL);
 *	kmem_cache_free(c, x);
 *
 * and the kmalloc() family serves general allocations from a set of
 * power-of-two caches.  Names, signatures and semantics follow
 * include/linux/slab.h; where userspace differs (there is no page
 * allocator to sleep in, no RCU), the kernel-doc below says what uslab
 * does instead.  uslab's own additions start with uslab_ or USLAB_.
 *
 * Conventions: functions returning a pointer return NULL and set errno on
 * failure; functions returning int return 0 or a negative errno value;
 * every function that frees accepts NULL.  All functions are thread-safe
 * and none is async-signal-safe.  After fork() the child may call every
 * function, whatever the parent's other threads were doing.
 *
 * See uslab(7) for the design, and the man pages of each family.
 */
#ifndef USLAB_H
#define USLAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define USLAB_VERSION_MAJOR 0
#define USLAB_VERSION_MINOR 1
#define USLAB_VERSION_MICRO 0
#define USLAB_VERSION_STRING "0.1.0"

#if defined(USLAB_BUILDING_LIBRARY)
#define USLAB_EXPORT __attribute__((visibility("default")))
#else
#define USLAB_EXPORT
#endif

#if defined(__GNUC__)
#define USLAB_MALLOC_LIKE __attribute__((__malloc__, __warn_unused_result__))
#define USLAB_WARN_UNUSED __attribute__((__warn_unused_result__))
#else
#define USLAB_MALLOC_LIKE
#define USLAB_WARN_UNUSED
#endif

/**
 * typedef gfp_t - allocation flags.
 *
 * The kernel's "get free pages" flags.  In userspace there is no page
 * reclaim to wait for and no atomic context, so GFP_KERNEL, GFP_NOWAIT and
 * GFP_ATOMIC behave alike: uslab's allocation paths never sleep waiting
 * for memory.  The modifiers that change behaviour are __GFP_ZERO and
 * __GFP_NOFAIL.  Unknown bits make the allocation fail with EINVAL.
 */
typedef unsigned int gfp_t;

#define __GFP_ZERO	0x0100u	/* return zeroed memory */
#define __GFP_NOFAIL	0x0200u	/* retry; abort rather than return NULL */
#define __GFP_NOWARN	0x0400u	/* accepted; uslab never warns on failure */
#define __GFP_HIGH	0x0800u	/* accepted; no reserves in userspace */
#define __GFP_DIRECT_RECLAIM 0x1000u /* may wait for reclaim */

#define GFP_KERNEL	(__GFP_DIRECT_RECLAIM)
#define GFP_NOWAIT	0x0000u
#define GFP_ATOMIC	(__GFP_HIGH)

/**
 * typedef slab_flags_t - cache creation flags.
 *
 * SLAB_HWCACHE_ALIGN aligns objects to the cache line (or, for objects of
 * half a line or less, to the largest power-of-two fraction of it that
 * still holds them, as the kernel does).  SLAB_PANIC makes
 * kmem_cache_create() print the reason and abort instead of returning
 * NULL.  SLAB_TYPESAFE_BY_RCU keeps the cache's slab memory mapped and of
 * this type for as long as the cache exists, so a stale pointer to a
 * freed object still points at an object of the same type.
 * SLAB_NO_MERGE is accepted; uslab never merges caches.  The debugging
 * flags (SLAB_CONSISTENCY_CHECKS, SLAB_RED_ZONE, SLAB_POISON,
 * SLAB_STORE_USER) are accepted and recorded; see uslab(7) for which
 * checks are in force.  Unknown bits make creation fail with EINVAL.
 */
typedef unsigned int slab_flags_t;

#define SLAB_CONSISTENCY_CHECKS	0x00000100u
#define SLAB_RED_ZONE		0x00000400u
#define SLAB_POISON		0x00000800u
#define SLAB_HWCACHE_ALIGN	0x00002000u
#define SLAB_STORE_USER		0x00010000u
#define SLAB_PANIC		0x00040000u
#define SLAB_TYPESAFE_BY_RCU	0x00080000u
#define SLAB_TRACE		0x00200000u
#define SLAB_NO_MERGE		0x01000000u

/*
 * kmalloc(0) returns ZERO_SIZE_PTR: a non-NULL pointer that must not be
 * dereferenced, and that kfree() and ksize() accept.
 */
#define ZERO_SIZE_PTR ((void *)16)
#define ZERO_OR_NULL_PTR(x) \
	((unsigned long)(uintptr_t)(x) <= (unsigned long)(uintptr_t)ZERO_SIZE_PTR)

/* The largest size a kmalloc-N cache serves; above it, the large path. */
#define KMALLOC_MAX_CACHE_SIZE ((size_t)65536)

/* The largest object size kmem_cache_create() accepts. */
#define USLAB_MAX_OBJECT_SIZE (1u << 19)

/* Names longer than this are truncated in the cache's copy. */
#define USLAB_NAME_MAX 63

/**
 * struct kmem_cache - a cache of objects of one size.  Opaque.
 */
struct kmem_cache;

/**
 * KMEM_CACHE - create a cache for objects of a struct type.
 * @__struct: the struct name (without the "struct" keyword)
 * @__flags: slab_flags_t
 *
 * The cache is named after the struct and aligned as the struct requires.
 */
#define KMEM_CACHE(__struct, __flags)                                        \
	kmem_cache_create(#__struct, sizeof(struct __struct),                \
			  __alignof__(struct __struct), (__flags), NULL)

/**
 * kmem_cache_create - create a cache of same-size objects.
 * @name: a name for /proc/slabinfo-style reports; copied, at most
 *        USLAB_NAME_MAX bytes are kept.
 * @size: the size of each object, 1 to USLAB_MAX_OBJECT_SIZE.
 * @align: the required alignment, 0 or a power of two.  Objects are always
 *         at least 8-byte aligned.
 * @flags: SLAB_* flags.
 * @ctor: a constructor, or NULL.  It runs once on every object when the
 *        slab holding it is created, not on every allocation: objects
 *        leave kmem_cache_alloc() in their constructed state and must be
 *        freed in that state (Bonwick's object-caching contract).
 *
 * Context: any thread.  Takes the global cache-list lock.
 * Return: the new cache, or NULL with errno EINVAL (NULL @name, @size 0
 * or too large, @align not a power of two, unknown @flags) or ENOMEM.
 * With SLAB_PANIC a failure prints the reason and aborts instead.
 */
USLAB_EXPORT struct kmem_cache *kmem_cache_create(const char *name,
						  unsigned int size,
						  unsigned int align,
						  slab_flags_t flags,
						  void (*ctor)(void *));

/**
 * kmem_cache_destroy - destroy a cache and return its memory to the OS.
 * @s: the cache, or NULL (which does nothing).
 *
 * Every object should have been freed.  If some are still allocated, a
 * diagnostic naming the cache and the count ("Slab cache still has
 * objects") is written to stderr and the live objects stay valid memory;
 * the cache's descriptor then stays in place so that they can still be
 * freed.  No other thread may use @s during or after the call.
 *
 * Context: any thread.
 */
USLAB_EXPORT void kmem_cache_destroy(struct kmem_cache *s);

/**
 * kmem_cache_alloc - allocate an object from a cache.
 * @s: the cache.
 * @flags: GFP flags; __GFP_ZERO zeroes the object (and the constructor's
 *         work with it).
 *
 * Context: any thread.  The fast path takes only the current CPU's lock.
 * Return: a constructed object aligned as the cache promises, or NULL
 * with errno ENOMEM (out of memory) or EINVAL (@s NULL, unknown @flags).
 */
USLAB_EXPORT void *kmem_cache_alloc(struct kmem_cache *s, gfp_t flags)
	USLAB_MALLOC_LIKE;

/**
 * kmem_cache_zalloc - allocate a zeroed object from a cache.
 * @s: the cache.
 * @flags: GFP flags.
 *
 * Context: any thread.
 * Return: as kmem_cache_alloc() with __GFP_ZERO.
 */
USLAB_EXPORT void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t flags)
	USLAB_MALLOC_LIKE;

/**
 * kmem_cache_free - return an object to its cache.
 * @s: the cache the object was allocated from.
 * @objp: the object, or NULL (which does nothing).
 *
 * A pointer uslab did not allocate, an object of another cache and an
 * object freed twice in a row are reported on stderr, naming the cache
 * and the object, and the process aborts: they are never freed into a
 * cache.
 *
 * Context: any thread; any thread may free what another allocated.
 */
USLAB_EXPORT void kmem_cache_free(struct kmem_cache *s, void *objp);

/**
 * kmem_cache_alloc_bulk - allocate several objects at once.
 * @s: the cache.
 * @flags: GFP flags.
 * @size: the number of objects wanted.
 * @p: an array of at least @size pointers to fill.
 *
 * All or nothing: on failure every object already taken is given back.
 *
 * Context: any thread.
 * Return: @size, or 0 with errno set (ENOMEM, or EINVAL for a NULL @s or
 * @p).
 */
USLAB_EXPORT int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t flags,
				       size_t size, void **p);

/**
 * kmem_cache_free_bulk - free several objects of one cache.
 * @s: the cache; NULL to free each object into its own cache, as kfree()
 *     does (then @p may mix caches and kmalloc() memory).
 * @size: the number of pointers in @p.
 * @p: the objects; NULL entries are skipped.
 *
 * Context: any thread.
 */
USLAB_EXPORT void kmem_cache_free_bulk(struct kmem_cache *s, size_t size,
				       void **p);

/**
 * kmem_cache_shrink - return a cache's free memory to the OS.
 * @s: the cache.
 *
 * Objects cached in the per-CPU and depot magazines go back to their
 * slabs, and every empty slab goes back to the page layer, which returns
 * its pages to the OS.  Caches also do this on their own over time.
 *
 * Context: any thread.
 * Return: 0, or -EINVAL for a NULL @s.
 */
USLAB_EXPORT int kmem_cache_shrink(struct kmem_cache *s);

/**
 * kmem_cache_size - the object size of a cache.
 * @s: the cache.
 *
 * Context: any thread.
 * Return: the size given to kmem_cache_create(), or 0 for NULL.
 */
USLAB_EXPORT unsigned int kmem_cache_size(struct kmem_cache *s);

/**
 * kmalloc - allocate memory.
 * @size: bytes wanted.
 * @flags: GFP flags.
 *
 * Sizes up to the largest kmalloc cache (see uslab(7)) come from the
 * kmalloc-N caches; power-of-two sizes are aligned to their size (the
 * kernel promises it up to the page size; uslab up to
 * KMALLOC_MAX_CACHE_SIZE, with or without debugging), and every object
 * is at least 8-byte aligned (16 for 16 bytes or more).  Larger sizes
 * get page-aligned mappings of their own.
 *
 * Context: any thread.
 * Return: the memory; ZERO_SIZE_PTR for @size 0; NULL with errno ENOMEM
 * when memory or the address space is exhausted or @size is impossible,
 * EINVAL for unknown @flags.
 */
USLAB_EXPORT void *kmalloc(size_t size, gfp_t flags) USLAB_MALLOC_LIKE;

/**
 * kzalloc - allocate zeroed memory.
 * @size: bytes wanted.
 * @flags: GFP flags.
 *
 * Context: any thread.
 * Return: as kmalloc().
 */
USLAB_EXPORT void *kzalloc(size_t size, gfp_t flags) USLAB_MALLOC_LIKE;

/**
 * kmalloc_array - allocate memory for an array.
 * @n: number of elements.
 * @size: element size.
 * @flags: GFP flags.
 *
 * Context: any thread.
 * Return: as kmalloc(); NULL with errno ENOMEM if @n * @size overflows.
 */
USLAB_EXPORT void *kmalloc_array(size_t n, size_t size, gfp_t flags)
	USLAB_MALLOC_LIKE;

/**
 * kcalloc - allocate zeroed memory for an array.
 * @n: number of elements.
 * @size: element size.
 * @flags: GFP flags.
 *
 * Context: any thread.
 * Return: as kmalloc_array(), zeroed.
 */
USLAB_EXPORT void *kcalloc(size_t n, size_t size, gfp_t flags)
	USLAB_MALLOC_LIKE;

/**
 * krealloc - resize memory, keeping its contents.
 * @p: memory from kmalloc(), NULL or ZERO_SIZE_PTR.
 * @new_size: the new size; 0 frees @p and returns ZERO_SIZE_PTR.
 * @flags: GFP flags; with __GFP_ZERO the added bytes are zero.
 *
 * The memory stays in place when ksize(@p) already holds @new_size.
 * krealloc(NULL, n, f) is kmalloc(n, f).
 *
 * Context: any thread.
 * Return: the memory, which may have moved; NULL with errno ENOMEM on
 * failure, in which case @p is untouched and still allocated.
 */
USLAB_EXPORT void *krealloc(const void *p, size_t new_size, gfp_t flags)
	USLAB_WARN_UNUSED;

/**
 * krealloc_array - resize memory for an array.
 * @p: memory from kmalloc(), or NULL.
 * @new_n: new number of elements.
 * @new_size: element size.
 * @flags: GFP flags.
 *
 * Context: any thread.
 * Return: as krealloc(); NULL with errno ENOMEM if @new_n * @new_size
 * overflows, leaving @p untouched.
 */
USLAB_EXPORT void *krealloc_array(void *p, size_t new_n, size_t new_size,
				  gfp_t flags)
	USLAB_WARN_UNUSED;

/**
 * kfree - free memory from kmalloc() and its family.
 * @objp: the memory; NULL and ZERO_SIZE_PTR do nothing.
 *
 * Also accepts objects of any cache (kmem_cache_alloc()), as the kernel
 * does.  A pointer uslab did not allocate, or one that is not the start
 * of an object, is reported on stderr and the process aborts.
 *
 * Context: any thread.
 */
USLAB_EXPORT void kfree(const void *objp);

/**
 * kfree_bulk - free several blocks from kmalloc() or any cache.
 * @size: the number of pointers in @p.
 * @p: the blocks; NULL entries are skipped.
 *
 * kmem_cache_free_bulk() with no cache: each block goes to its own.
 *
 * Context: any thread.
 */
static inline void kfree_bulk(size_t size, void **p)
{
	kmem_cache_free_bulk((struct kmem_cache *)0, size, p);
}

/**
 * kfree_sensitive - clear memory, then free it.
 * @objp: the memory, or NULL.
 *
 * All ksize(@objp) bytes are zeroed in a way the compiler cannot elide.
 *
 * Context: any thread.
 */
USLAB_EXPORT void kfree_sensitive(const void *objp);

/**
 * ksize - the usable size of an allocation.
 * @objp: memory from kmalloc() or kmem_cache_alloc().
 *
 * Every one of the returned bytes may be used.
 *
 * Context: any thread.
 * Return: the size, at least what was asked for; 0 for NULL or
 * ZERO_SIZE_PTR.  A foreign pointer is reported as by kfree().
 */
USLAB_EXPORT size_t ksize(const void *objp);

/**
 * kmalloc_size_roundup - the size kmalloc() would really allocate.
 * @size: a request.
 *
 * Context: any thread.
 * Return: the usable size kmalloc(@size) gives: its size class, or the
 * page-rounded size for large requests; @size itself when it is 0 or
 * impossible.
 */
USLAB_EXPORT size_t kmalloc_size_roundup(size_t size);

/**
 * kstrdup - copy a string into kmalloc() memory.
 * @s: the string, or NULL.
 * @gfp: GFP flags.
 *
 * Context: any thread.
 * Return: the copy; NULL for a NULL @s or with errno ENOMEM.
 */
USLAB_EXPORT char *kstrdup(const char *s, gfp_t gfp) USLAB_MALLOC_LIKE;

/**
 * kstrndup - copy at most @max bytes of a string into kmalloc() memory.
 * @s: the string, or NULL.
 * @max: the most bytes to copy; the copy is always terminated.
 * @gfp: GFP flags.
 *
 * Context: any thread.
 * Return: the copy; NULL for a NULL @s or with errno ENOMEM.
 */
USLAB_EXPORT char *kstrndup(const char *s, size_t max, gfp_t gfp)
	USLAB_MALLOC_LIKE;

/**
 * kmemdup - copy memory into a new kmalloc() allocation.
 * @src: the bytes.
 * @len: their number.
 * @gfp: GFP flags.
 *
 * Context: any thread.
 * Return: the copy, or NULL with errno ENOMEM.
 */
USLAB_EXPORT void *kmemdup(const void *src, size_t len, gfp_t gfp)
	USLAB_MALLOC_LIKE;

/**
 * uslab_kmalloc_aligned - kmalloc() with an alignment.
 * @size: bytes wanted.
 * @align: a power of two; any size, page and chunk sizes and beyond
 *         included.
 * @flags: GFP flags.
 *
 * The memory is freed with kfree() and measured with ksize(), like any
 * kmalloc() memory.  Alignments up to 16 cost nothing; larger ones up to
 * KMALLOC_MAX_CACHE_SIZE are served from the power-of-two class of at
 * least max(@size, @align), which is aligned to its size in every debug
 * layout; the rest take the large path.
 *
 * Context: any thread.
 * Return: the memory; ZERO_SIZE_PTR for @size 0; NULL with errno EINVAL
 * if @align is not a power of two or @flags unknown, ENOMEM if memory is
 * short or the request impossible.
 */
USLAB_EXPORT void *uslab_kmalloc_aligned(size_t size, size_t align,
					 gfp_t flags) USLAB_MALLOC_LIKE;

/**
 * uslab_shrink_all - return all free memory of every cache to the OS.
 *
 * kmem_cache_shrink() on every cache, the kmalloc-N caches included, and
 * the large allocations kept for reuse unmapped.  uslab does this by
 * itself over time; this does it now (malloc_trim() calls it).
 *
 * Context: any thread.
 * Return: the number of bytes given back to the OS.
 */
USLAB_EXPORT size_t uslab_shrink_all(void);

/**
 * uslab_slabinfo - write every cache in /proc/slabinfo format.
 * @out: the stream to write to.
 *
 * Writes "slabinfo - version: 2.1", the column header, and one line per
 * cache, the kmalloc-N caches included, with the kernel's columns:
 * name, active_objs, num_objs, objsize, objperslab, pagesperslab, the
 * tunables (limit: magazine size; batchcount: half of it; sharedfactor
 * 0) and the slabdata (active_slabs, num_slabs, sharedavail 0).
 * Objects held in magazines count as free.  The figures are a snapshot
 * taken one cache at a time.
 *
 * Context: any thread, not from a signal handler (uses stdio).
 * Return: 0, -EINVAL for a NULL @out, or -EIO if writing failed.
 */
USLAB_EXPORT int uslab_slabinfo(FILE *out);

#define USLAB_CACHE_STATS_VERSION 1

/**
 * struct uslab_cache_stats - counters of one cache.
 * @version: set by the caller to USLAB_CACHE_STATS_VERSION.
 * @name: the cache's name.
 * @object_size: the size given at creation.
 * @size: the distance between objects (object size plus alignment).
 * @align: the alignment of every object.
 * @objs_per_slab: objects in one slab.
 * @slab_size: bytes in one slab.
 * @magazine_size: objects a magazine of this cache holds now.
 * @active_objs: objects allocated and not freed.
 * @num_objs: objects in all of the cache's slabs.
 * @cached_objs: free objects held in magazines (per-CPU and depot).
 * @slabs: slabs the cache holds.
 * @slabs_partial: of those, slabs with some objects free.
 * @slabs_full: slabs with no object free.
 * @slabs_empty: slabs with every object free, kept for reuse.
 * @allocs: successful allocations.
 * @frees: frees.
 * @alloc_fast: allocations served from a per-CPU magazine.
 * @free_fast: frees that went into a per-CPU magazine.
 * @depot_full_taken: full magazines taken from the depot.
 * @depot_empty_taken: empty magazines taken from the depot.
 * @depot_contended: depot lock acquisitions that had to wait.
 * @slab_refills: magazines filled from the slab layer.
 * @slab_flushes: magazines emptied into the slab layer.
 * @slabs_grown: slabs created.
 * @slabs_reaped: empty slabs returned to the page layer.
 * @alloc_failed: allocations that failed for lack of memory.
 * @bytes_mapped: bytes of slab memory the cache holds.
 * @depot_reaped: full magazines sent back to the slabs after idling in
 *                the depot (or by kmem_cache_shrink()).
 *
 * Counters are summed over CPUs without stopping them: each is exact
 * when the cache is quiet, and otherwise a close snapshot.
 */
struct uslab_cache_stats {
	unsigned int version;
	char name[USLAB_NAME_MAX + 1];
	unsigned int object_size;
	unsigned int size;
	unsigned int align;
	unsigned int objs_per_slab;
	unsigned int slab_size;
	unsigned int magazine_size;
	uint64_t active_objs;
	uint64_t num_objs;
	uint64_t cached_objs;
	uint64_t slabs;
	uint64_t slabs_partial;
	uint64_t slabs_full;
	uint64_t slabs_empty;
	uint64_t allocs;
	uint64_t frees;
	uint64_t alloc_fast;
	uint64_t free_fast;
	uint64_t depot_full_taken;
	uint64_t depot_empty_taken;
	uint64_t depot_contended;
	uint64_t slab_refills;
	uint64_t slab_flushes;
	uint64_t slabs_grown;
	uint64_t slabs_reaped;
	uint64_t alloc_failed;
	uint64_t bytes_mapped;
	uint64_t depot_reaped;
};

/**
 * uslab_cache_stats - read a cache's counters.
 * @s: the cache.
 * @st: filled in; its @version must be USLAB_CACHE_STATS_VERSION.
 *
 * Context: any thread.
 * Return: 0, or -EINVAL for a NULL argument or an unknown version.
 */
USLAB_EXPORT int uslab_cache_stats(struct kmem_cache *s,
				   struct uslab_cache_stats *st);

/**
 * uslab_kmalloc_cache - the kmalloc cache that serves a size.
 * @size: a request size.
 *
 * Lets a program read the counters of the kmalloc-N caches with
 * uslab_cache_stats().
 *
 * Context: any thread.
 * Return: the cache, or NULL with errno EINVAL if @size is 0 or is
 * served by the large path.
 */
USLAB_EXPORT struct kmem_cache *uslab_kmalloc_cache(size_t size);

/**
 * uslab_malloc_cache - the cache that serves malloc() of a size.
 * @size: a request size.
 *
 * libuslab-malloc serves malloc() from finer classes than kmalloc()'s
 * (see uslab-malloc(7)): the kmalloc-N caches where the sizes agree,
 * and caches named malloc-N between them, made on its first call.  This
 * names the one that serves @size, for uslab_cache_stats().
 *
 * Context: any thread.
 * Return: the cache; NULL with errno EINVAL if @size is 0 or is served
 * by the large path, or with errno ENOENT if no malloc() has run on
 * uslab yet.
 */
USLAB_EXPORT struct kmem_cache *uslab_malloc_cache(size_t size);

#ifdef __cplusplus
}
#endif

#endif /* USLAB_H */
