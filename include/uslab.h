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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define USLAB_VERSION_MAJOR 0
#define USLAB_VERSION_MINOR 4
#define USLAB_VERSION_MICRO 0
#define USLAB_VERSION_STRING "0.4.0"

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
 * The kernel's "get free pages" flags, with the names, meanings and bit
 * values of Linux 6.12's <linux/gfp_types.h>, so that kernel code may mix
 * uslab's names with values of its own.  The kernel leaves four tail
 * bits to its configuration (__GFP_SKIP_ZERO and __GFP_SKIP_KASAN with
 * CONFIG_KASAN_HW_TAGS, __GFP_NOLOCKDEP with CONFIG_LOCKDEP,
 * __GFP_NO_OBJ_EXT with CONFIG_SLAB_OBJ_EXT); uslab gives each its bit,
 * as a kernel with all four does, so __GFP_BITS_SHIFT is 28.
 *
 * uslab 0.1 and 0.2 had values of their own for seven flags; programs
 * built against them keep working, through the versions of the symbols
 * they were linked with (uslab(7), VERSIONS).
 *
 * In userspace there is no page reclaim to wait for, no atomic context,
 * no DMA zone and no memory cgroup, so most flags ask nothing uslab does
 * not do anyway: they are accepted and change nothing (see kmalloc(3)
 * for each).  Those that act:
 *
 *   __GFP_ZERO      the memory is zeroed
 *   __GFP_NOFAIL    out of memory, return every cache's free memory to the
 *                   OS and retry for about a second, then report and abort:
 *                   never NULL; and never a failslab failure
 *   __GFP_THISNODE  with a _node() call, memory from that node or none
 *   __GFP_DIRECT_RECLAIM, __GFP_NOWARN
 *                   only for failslab (uslab(7), FAILSLAB): whether a
 *                   failure may be injected, and whether it is reported
 *
 * GFP_KERNEL, GFP_NOWAIT and GFP_ATOMIC behave alike: uslab's allocation
 * paths never sleep waiting for memory.  Unknown bits (0x200, the
 * kernel's unused bit, and those from __GFP_BITS_SHIFT up) make the
 * allocation fail with EINVAL.
 *
 * <uslab.h> takes the place of <linux/gfp_types.h>: it defines that
 * header's include guard, so the kernel's copy included after it changes
 * nothing, and including the kernel's copy first is an error.
 */
#ifdef __LINUX_GFP_TYPES_H
#error "the kernel's <linux/gfp_types.h> came before <uslab.h>: include \
<uslab.h> first, or uslab's compatibility headers (uslab(7))"
#endif
#define __LINUX_GFP_TYPES_H

/*
 * The kernel's own <linux/types.h> has the same typedef; the copy in its
 * tools/include (the tools/testing harnesses) makes gfp_t an enum of the
 * same width, which is taken as it is.
 */
#ifndef _TOOLS_LINUX_TYPES_H_
typedef unsigned int gfp_t;
#endif

/* The bit numbers, as <linux/gfp_types.h> has them. */
enum {
	___GFP_DMA_BIT,
	___GFP_HIGHMEM_BIT,
	___GFP_DMA32_BIT,
	___GFP_MOVABLE_BIT,
	___GFP_RECLAIMABLE_BIT,
	___GFP_HIGH_BIT,
	___GFP_IO_BIT,
	___GFP_FS_BIT,
	___GFP_ZERO_BIT,
	___GFP_UNUSED_BIT,	/* 0x200u unused */
	___GFP_DIRECT_RECLAIM_BIT,
	___GFP_KSWAPD_RECLAIM_BIT,
	___GFP_WRITE_BIT,
	___GFP_NOWARN_BIT,
	___GFP_RETRY_MAYFAIL_BIT,
	___GFP_NOFAIL_BIT,
	___GFP_NORETRY_BIT,
	___GFP_MEMALLOC_BIT,
	___GFP_COMP_BIT,
	___GFP_NOMEMALLOC_BIT,
	___GFP_HARDWALL_BIT,
	___GFP_THISNODE_BIT,
	___GFP_ACCOUNT_BIT,
	___GFP_ZEROTAGS_BIT,
	___GFP_SKIP_ZERO_BIT,
	___GFP_SKIP_KASAN_BIT,
	___GFP_NOLOCKDEP_BIT,
	___GFP_NO_OBJ_EXT_BIT,
	___GFP_LAST_BIT
};

#define ___GFP_DMA		0x00000001u
#define ___GFP_HIGHMEM		0x00000002u
#define ___GFP_DMA32		0x00000004u
#define ___GFP_MOVABLE		0x00000008u
#define ___GFP_RECLAIMABLE	0x00000010u
#define ___GFP_HIGH		0x00000020u
#define ___GFP_IO		0x00000040u
#define ___GFP_FS		0x00000080u
#define ___GFP_ZERO		0x00000100u
/* 0x200u unused */
#define ___GFP_DIRECT_RECLAIM	0x00000400u
#define ___GFP_KSWAPD_RECLAIM	0x00000800u
#define ___GFP_WRITE		0x00001000u
#define ___GFP_NOWARN		0x00002000u
#define ___GFP_RETRY_MAYFAIL	0x00004000u
#define ___GFP_NOFAIL		0x00008000u
#define ___GFP_NORETRY		0x00010000u
#define ___GFP_MEMALLOC		0x00020000u
#define ___GFP_COMP		0x00040000u
#define ___GFP_NOMEMALLOC	0x00080000u
#define ___GFP_HARDWALL		0x00100000u
#define ___GFP_THISNODE		0x00200000u
#define ___GFP_ACCOUNT		0x00400000u
#define ___GFP_ZEROTAGS		0x00800000u
#define ___GFP_SKIP_ZERO	0x01000000u
#define ___GFP_SKIP_KASAN	0x02000000u
#define ___GFP_NOLOCKDEP	0x04000000u
#define ___GFP_NO_OBJ_EXT	0x08000000u

#define __GFP_DMA		((gfp_t)___GFP_DMA) /* no-op: no DMA zone */
#define __GFP_HIGHMEM		((gfp_t)___GFP_HIGHMEM) /* no-op */
#define __GFP_DMA32		((gfp_t)___GFP_DMA32) /* no-op */
#define __GFP_MOVABLE		((gfp_t)___GFP_MOVABLE) /* no-op */
#define __GFP_RECLAIMABLE	((gfp_t)___GFP_RECLAIMABLE) /* no-op */
#define __GFP_HIGH		((gfp_t)___GFP_HIGH) /* no-op: no reserves */
#define __GFP_IO		((gfp_t)___GFP_IO) /* no-op: may start I/O */
#define __GFP_FS		((gfp_t)___GFP_FS) /* no-op: may call the FS */
#define __GFP_ZERO		((gfp_t)___GFP_ZERO) /* return zeroed memory */
#define __GFP_DIRECT_RECLAIM	((gfp_t)___GFP_DIRECT_RECLAIM) /* may sleep */
#define __GFP_KSWAPD_RECLAIM	((gfp_t)___GFP_KSWAPD_RECLAIM) /* no-op */
#define __GFP_WRITE		((gfp_t)___GFP_WRITE) /* no-op */
#define __GFP_NOWARN		((gfp_t)___GFP_NOWARN) /* no failslab report */
#define __GFP_RETRY_MAYFAIL	((gfp_t)___GFP_RETRY_MAYFAIL) /* no-op */
#define __GFP_NOFAIL		((gfp_t)___GFP_NOFAIL) /* abort, never NULL */
#define __GFP_NORETRY		((gfp_t)___GFP_NORETRY) /* no-op */
#define __GFP_MEMALLOC		((gfp_t)___GFP_MEMALLOC) /* no-op */
#define __GFP_COMP		((gfp_t)___GFP_COMP) /* no-op */
#define __GFP_NOMEMALLOC	((gfp_t)___GFP_NOMEMALLOC) /* no-op */
#define __GFP_HARDWALL		((gfp_t)___GFP_HARDWALL) /* no-op: no cpusets */
#define __GFP_THISNODE		((gfp_t)___GFP_THISNODE) /* that node or none */
#define __GFP_ACCOUNT		((gfp_t)___GFP_ACCOUNT) /* no-op: no memcg */
#define __GFP_ZEROTAGS		((gfp_t)___GFP_ZEROTAGS) /* no-op */
#define __GFP_SKIP_ZERO		((gfp_t)___GFP_SKIP_ZERO) /* no-op */
#define __GFP_SKIP_KASAN	((gfp_t)___GFP_SKIP_KASAN) /* no-op */
#define __GFP_NOLOCKDEP		((gfp_t)___GFP_NOLOCKDEP) /* no-op */
#define __GFP_NO_OBJ_EXT	((gfp_t)___GFP_NO_OBJ_EXT) /* no-op */

#define __GFP_RECLAIM		(__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)

#define GFP_ATOMIC		(__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL		(__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_KERNEL_ACCOUNT	(GFP_KERNEL | __GFP_ACCOUNT)
#define GFP_NOWAIT		(__GFP_KSWAPD_RECLAIM | __GFP_NOWARN)
#define GFP_NOIO		(__GFP_RECLAIM)
#define GFP_NOFS		(__GFP_RECLAIM | __GFP_IO)
#define GFP_USER		(__GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL)
#define GFP_DMA			(__GFP_DMA)
#define GFP_DMA32		(__GFP_DMA32)
#define GFP_HIGHUSER		(GFP_USER | __GFP_HIGHMEM)
#define GFP_HIGHUSER_MOVABLE	(GFP_HIGHUSER | __GFP_MOVABLE | __GFP_SKIP_KASAN)
#define GFP_TRANSHUGE_LIGHT	((GFP_HIGHUSER_MOVABLE | __GFP_COMP | \
				  __GFP_NOMEMALLOC | __GFP_NOWARN) & \
				 ~__GFP_RECLAIM)
#define GFP_TRANSHUGE		(GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM)

/*
 * What Linux 6.12's <linux/gfp_types.h> and <linux/gfp.h> give slab
 * users beside the flags: every flag lies in __GFP_BITS_MASK, so code
 * such as the XArray's keeps bits of its own above __GFP_BITS_SHIFT;
 * GFP_ZONEMASK names the zone flags.
 */
#define __GFP_BITS_SHIFT	___GFP_LAST_BIT
#define __GFP_BITS_MASK		((gfp_t)((1u << __GFP_BITS_SHIFT) - 1))
#define GFP_ZONEMASK		(__GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | \
				 __GFP_MOVABLE)

/**
 * gfpflags_allow_blocking - may the caller sleep for memory?
 * @gfp_flags: allocation flags.
 *
 * As in the kernel: true when the flags allow direct reclaim
 * (GFP_KERNEL, GFP_NOFS, GFP_NOIO), false for GFP_NOWAIT and GFP_ATOMIC.
 * uslab itself never sleeps waiting for memory; kernel code decides with
 * this whether it may drop a lock and allocate.
 *
 * Context: any; inline, no call into the library.
 * Return: whether @gfp_flags has __GFP_DIRECT_RECLAIM.
 */
static inline bool gfpflags_allow_blocking(const gfp_t gfp_flags)
{
	return (gfp_flags & __GFP_DIRECT_RECLAIM) != 0;
}

/**
 * gfp_has_io_fs - may the allocation start I/O and call into filesystems?
 * @gfp: allocation flags.
 *
 * Context: any; inline, no call into the library.
 * Return: whether @gfp has both __GFP_IO and __GFP_FS, as in the kernel.
 */
static inline bool gfp_has_io_fs(gfp_t gfp)
{
	return (gfp & (__GFP_IO | __GFP_FS)) == (__GFP_IO | __GFP_FS);
}

/**
 * gfp_nested_mask - flags for an allocation made inside another one.
 * @flags: the outer allocation's flags.
 *
 * As in the kernel: the outer call's context (GFP_KERNEL, GFP_ATOMIC and
 * __GFP_NOLOCKDEP bits) kept, the zone bits dropped, and the nested call
 * told to fail fast and quietly.
 *
 * Context: any; inline, no call into the library.
 * Return: the nested allocation's flags.
 */
static inline gfp_t gfp_nested_mask(gfp_t flags)
{
	return (flags & (GFP_KERNEL | GFP_ATOMIC | __GFP_NOLOCKDEP)) |
	       (__GFP_NORETRY | __GFP_NOMEMALLOC | __GFP_NOWARN);
}

/**
 * typedef slab_flags_t - cache creation flags.
 *
 * The names and meanings of Linux 6.12's <linux/slab.h> (the bit values
 * are uslab's own).  SLAB_HWCACHE_ALIGN aligns objects to the cache line
 * (or, for objects of half a line or less, to the largest power-of-two
 * fraction of it that still holds them, as the kernel does).  SLAB_PANIC
 * makes kmem_cache_create() print the reason and abort instead of
 * returning NULL.  SLAB_TYPESAFE_BY_RCU keeps the cache's slab memory
 * mapped and of this type for as long as the cache exists, so a stale
 * pointer to a freed object still points at an object of the same type
 * (see kfree_rcu(3)).  The debugging flags (SLAB_CONSISTENCY_CHECKS,
 * SLAB_RED_ZONE, SLAB_POISON, SLAB_STORE_USER, SLAB_TRACE) switch on the
 * slab_debug checks for the cache (uslab(7)).  SLAB_FAILSLAB puts the
 * cache under failslab's cache-filter (uslab_failslab()).  The rest have
 * nothing to
 * act on in userspace and are accepted as no-ops: SLAB_ACCOUNT and
 * SLAB_RECLAIM_ACCOUNT (no memory cgroup, no reclaim), SLAB_CACHE_DMA and
 * SLAB_CACHE_DMA32, SLAB_NO_MERGE (uslab never merges caches),
 * SLAB_NO_USER_FLAGS, SLAB_NOLEAKTRACE, SLAB_KASAN,
 * SLAB_SKIP_KFENCE, SLAB_DEBUG_OBJECTS, SLAB_MEM_SPREAD.  Unknown bits
 * make creation fail with EINVAL.
 */
typedef unsigned int slab_flags_t;

#define SLAB_CONSISTENCY_CHECKS	0x00000100u
#define SLAB_RED_ZONE		0x00000400u
#define SLAB_POISON		0x00000800u
#define SLAB_HWCACHE_ALIGN	0x00002000u
#define SLAB_CACHE_DMA		0x00004000u /* no-op */
#define SLAB_CACHE_DMA32	0x00008000u /* no-op */
#define SLAB_STORE_USER		0x00010000u
#define SLAB_RECLAIM_ACCOUNT	0x00020000u /* no-op */
#define SLAB_PANIC		0x00040000u
#define SLAB_TYPESAFE_BY_RCU	0x00080000u
#define SLAB_MEM_SPREAD		0x00100000u /* no-op */
#define SLAB_TRACE		0x00200000u
#define SLAB_DEBUG_OBJECTS	0x00400000u /* no-op */
#define SLAB_NOLEAKTRACE	0x00800000u /* no-op */
#define SLAB_NO_MERGE		0x01000000u /* no-op */
#define SLAB_FAILSLAB		0x02000000u /* failslab's cache-filter */
#define SLAB_ACCOUNT		0x04000000u /* no-op */
#define SLAB_NO_USER_FLAGS	0x00000001u /* no-op */
#define SLAB_KASAN		0x00000002u /* no-op */
#define SLAB_SKIP_KFENCE	0x00000004u /* no-op */

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
 * struct kmem_cache_args - the arguments of a cache, in Linux 6.12's form.
 * @align: as kmem_cache_create()'s @align; 0 for the default.
 * @useroffset: the start of the region of each object that may be copied
 *              to or from user space (hardened usercopy in the kernel):
 *              checked and recorded; uslab has no user space to guard.
 * @usersize: its size; 0 for none.  The region must lie in the object.
 * @freeptr_offset: with @use_freeptr_offset and SLAB_TYPESAFE_BY_RCU,
 *                  where in a free object uslab keeps its free-list link,
 *                  a multiple of sizeof(void *) inside the object, so that
 *                  the rest of a free object keeps its contents for RCU
 *                  readers with no room added after it.
 * @use_freeptr_offset: whether @freeptr_offset is given.
 * @ctor: as kmem_cache_create()'s @ctor.
 *
 * A zeroed struct asks for the defaults.
 */
struct kmem_cache_args {
	unsigned int align;
	unsigned int useroffset;
	unsigned int usersize;
	unsigned int freeptr_offset;
	bool use_freeptr_offset;
	void (*ctor)(void *);
};

/**
 * __kmem_cache_create_args - create a cache from struct kmem_cache_args.
 * @name: as kmem_cache_create().
 * @object_size: as kmem_cache_create()'s @size.
 * @args: the arguments; NULL for the defaults.
 * @flags: SLAB_* flags.
 *
 * What kmem_cache_create(name, size, &args, flags), the kernel's 6.12
 * form, calls: in C the kmem_cache_create() macro chooses between the two
 * forms by the type of its third argument (_Generic, C11); in C++ an
 * overload does.  Call it by that name, as kernel code does.
 *
 * Context: any thread.
 * Return: the cache, or NULL with errno EINVAL (as kmem_cache_create(),
 * and a usercopy region outside the object, or a @freeptr_offset that is
 * not aligned, not inside the object or without SLAB_TYPESAFE_BY_RCU) or
 * ENOMEM; with SLAB_PANIC a failure aborts.
 */
USLAB_EXPORT struct kmem_cache *
__kmem_cache_create_args(const char *name, unsigned int object_size,
			 struct kmem_cache_args *args, slab_flags_t flags);

/**
 * kmem_cache_create_usercopy - create a cache with a usercopy region.
 * @name: as kmem_cache_create().
 * @size: as kmem_cache_create().
 * @align: as kmem_cache_create().
 * @flags: as kmem_cache_create().
 * @useroffset: see struct kmem_cache_args.
 * @usersize: see struct kmem_cache_args.
 * @ctor: as kmem_cache_create().
 *
 * Context: any thread.
 * Return: as __kmem_cache_create_args().
 */
USLAB_EXPORT struct kmem_cache *
kmem_cache_create_usercopy(const char *name, unsigned int size,
			   unsigned int align, slab_flags_t flags,
			   unsigned int useroffset, unsigned int usersize,
			   void (*ctor)(void *));

/**
 * KMEM_CACHE_USERCOPY - KMEM_CACHE() with one field as usercopy region.
 * @__struct: the struct name (without the "struct" keyword)
 * @__flags: slab_flags_t
 * @__field: the field of the struct that may be copied to user space
 */
#define KMEM_CACHE_USERCOPY(__struct, __flags, __field)                     \
	kmem_cache_create_usercopy(#__struct, sizeof(struct __struct),       \
				   __alignof__(struct __struct), (__flags),  \
				   offsetof(struct __struct, __field),       \
				   sizeof(((struct __struct *)0)->__field),  \
				   NULL)

#if defined(__cplusplus)
} /* extern "C" */
/* The 6.12 form, as an overload; NULL @args asks for the defaults. */
static inline struct kmem_cache *
kmem_cache_create(const char *name, unsigned int object_size,
		  struct kmem_cache_args *args, slab_flags_t flags)
{
	return __kmem_cache_create_args(name, object_size, args, flags);
}
extern "C" {
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
/* The 6.12 form with NULL: the defaults. */
static inline struct kmem_cache *
__kmem_cache_default_args(const char *name, unsigned int object_size,
			  void *args, slab_flags_t flags)
{
	(void)args;
	return __kmem_cache_create_args(name, object_size,
					(struct kmem_cache_args *)0, flags);
}

/*
 * kmem_cache_create(name, size, align, flags, ctor), the classic form, or
 * kmem_cache_create(name, size, args, flags), the kernel's 6.12 form,
 * told apart as the kernel does: by the type of the third argument.
 */
#define kmem_cache_create(__name, __object_size, __args, ...)              \
	_Generic((__args),                                                   \
		struct kmem_cache_args *: __kmem_cache_create_args,          \
		void *: __kmem_cache_default_args,                           \
		default: kmem_cache_create)(__name, __object_size, __args,    \
					    __VA_ARGS__)
#endif

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
 * Context: any thread.  The fast path takes no lock where the thread has
 * an rseq area (a restartable sequence on the current CPU's magazine),
 * and only that CPU's lock where it has none.
 * Return: a constructed object aligned as the cache promises, or NULL
 * with errno ENOMEM (out of memory) or EINVAL (@s NULL, unknown @flags).
 */
USLAB_EXPORT void *kmem_cache_alloc(struct kmem_cache *s, gfp_t flags)
	USLAB_MALLOC_LIKE;

/**
 * kmem_cache_alloc_node - allocate an object from a cache, on a node.
 * @s: the cache.
 * @flags: GFP flags; with __GFP_THISNODE, an object from @node or none.
 * @node: a node, or NUMA_NO_NODE for kmem_cache_alloc().
 *
 * The object lies in memory of @node (see kmalloc_node()); it comes from
 * the node's slabs, not from a CPU's magazine, whose objects may be of
 * any node.  Without __GFP_THISNODE an invalid or exhausted @node gives
 * an object of another node.
 *
 * Context: any thread.
 * Return: as kmem_cache_alloc(); NULL with errno EINVAL for an invalid
 * @node with __GFP_THISNODE, ENOMEM if @node has no memory with it.
 */
USLAB_EXPORT void *kmem_cache_alloc_node(struct kmem_cache *s, gfp_t flags,
					  int node) USLAB_MALLOC_LIKE;

/*
 * kmem_cache_alloc_lru - kmem_cache_alloc() for an object that will go
 * on @lru: the kernel charges the list_lru's memory cgroup, which
 * userspace has not; @lru is not looked at.
 */
#define kmem_cache_alloc_lru(s, lru, flags)                                 \
	((void)(lru), kmem_cache_alloc((s), (flags)))

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
 * kmemdup_nul - copy bytes into a new string.
 * @s: the bytes (need not end with a NUL).
 * @len: how many to copy.
 * @gfp: GFP flags.
 *
 * Context: any thread.
 * Return: @len bytes of @s and a NUL; NULL if @s is NULL, or with errno
 * ENOMEM.
 */
USLAB_EXPORT char *kmemdup_nul(const char *s, size_t len, gfp_t gfp)
	USLAB_MALLOC_LIKE;

/**
 * kmemdup_array - copy an array into new kmalloc() memory.
 * @src: the array.
 * @count: its elements.
 * @element_size: the size of each.
 * @gfp: GFP flags.
 *
 * Context: any thread.
 * Return: the copy, or NULL with errno ENOMEM (also if @count *
 * @element_size overflows).
 */
USLAB_EXPORT void *kmemdup_array(const void *src, size_t count,
				 size_t element_size, gfp_t gfp)
	USLAB_MALLOC_LIKE;

/**
 * kstrdup_const - copy a string unless it is read-only data.
 * @s: the string.
 * @gfp: GFP flags.
 *
 * A string in the read-only data of the program or of a library it has
 * loaded (a string literal) is returned as it is: it outlives any user.
 * Any other is copied, as kstrdup().  Free the result with kfree_const().
 *
 * Context: any thread.
 * Return: @s or its copy; NULL if @s is NULL, or with errno ENOMEM.
 */
USLAB_EXPORT const char *kstrdup_const(const char *s, gfp_t gfp);

/**
 * kfree_const - free what kstrdup_const() returned.
 * @x: its result: read-only data is left alone, anything else kfree()d.
 *
 * Context: any thread.
 */
USLAB_EXPORT void kfree_const(const void *x);

/* "No node in particular", for the _node() functions. */
#define NUMA_NO_NODE (-1)

/**
 * kmalloc_node - kmalloc() on a NUMA node.
 * @size: bytes wanted.
 * @flags: GFP flags; with __GFP_THISNODE, memory from @node or none.
 * @node: a node from 0 to the highest the machine has, or NUMA_NO_NODE.
 *
 * The memory is on @node: bound there with mbind(2), where the machine
 * has several nodes (uslab(7) tells how USLAB_NR_NODES simulates them).
 * Where @node has no memory left, or is not one of the machine's, the
 * call takes memory from another node, as the kernel's does, unless
 * __GFP_THISNODE forbids it.
 *
 * Context: any thread.
 * Return: as kmalloc(); NULL with errno EINVAL for an invalid @node with
 * __GFP_THISNODE, ENOMEM if @node has no memory with it.
 */
USLAB_EXPORT void *kmalloc_node(size_t size, gfp_t flags, int node)
	USLAB_MALLOC_LIKE;

/*
 * kmalloc_track_caller, kmalloc_node_track_caller - kmalloc() and
 * kmalloc_node() for wrappers, which the kernel records under their
 * caller's address.  uslab's records (SLAB_STORE_USER) hold a whole
 * stack, the wrapper's caller included: these are the plain calls.
 */
#define kmalloc_track_caller(size, flags) kmalloc((size), (flags))
#define kmalloc_node_track_caller(size, flags, node)                        \
	kmalloc_node((size), (flags), (node))

/* kzalloc() on a node: kmalloc_node() with __GFP_ZERO. */
USLAB_EXPORT void *kzalloc_node(size_t size, gfp_t flags, int node)
	USLAB_MALLOC_LIKE;

/* kmalloc_array() on a node; an overflowing product fails with ENOMEM. */
USLAB_EXPORT void *kmalloc_array_node(size_t n, size_t size, gfp_t flags,
				      int node) USLAB_MALLOC_LIKE;

/* kcalloc() on a node; an overflowing product fails with ENOMEM. */
USLAB_EXPORT void *kcalloc_node(size_t n, size_t size, gfp_t flags, int node)
	USLAB_MALLOC_LIKE;

/**
 * kvmalloc - allocate memory, by the page if it is large.
 * @size: bytes wanted.
 * @flags: GFP flags.
 *
 * The kernel falls back on vmalloc() for sizes kmalloc() cannot serve;
 * uslab's kmalloc() already maps large sizes page by page, so this is
 * kmalloc(), and kvfree() and kfree() take either.
 *
 * Context: any thread.
 * Return: as kmalloc().
 */
USLAB_EXPORT void *kvmalloc(size_t size, gfp_t flags) USLAB_MALLOC_LIKE;

/* kvmalloc() on a node, as kmalloc_node(). */
USLAB_EXPORT void *kvmalloc_node(size_t size, gfp_t flags, int node)
	USLAB_MALLOC_LIKE;

/* kvmalloc() with __GFP_ZERO. */
USLAB_EXPORT void *kvzalloc(size_t size, gfp_t flags) USLAB_MALLOC_LIKE;

/* kvmalloc() of an array; an overflowing product fails with ENOMEM. */
USLAB_EXPORT void *kvmalloc_array(size_t n, size_t size, gfp_t flags)
	USLAB_MALLOC_LIKE;

/* kvmalloc_array() with __GFP_ZERO. */
USLAB_EXPORT void *kvcalloc(size_t n, size_t size, gfp_t flags)
	USLAB_MALLOC_LIKE;

/* The array forms on a node: kmalloc_array_node() and kcalloc_node(). */
#define kvmalloc_array_node(n, size, flags, node)                           \
	kmalloc_array_node((n), (size), (flags), (node))
#define kvcalloc_node(n, size, flags, node)                                 \
	kcalloc_node((n), (size), (flags), (node))

/**
 * kvrealloc - resize kvmalloc() memory (Linux 6.12's signature).
 * @p: the memory, or NULL.
 * @size: the new size.
 * @flags: GFP flags.
 *
 * As krealloc().
 *
 * Context: any thread.
 * Return: as krealloc().
 */
USLAB_EXPORT void *kvrealloc(const void *p, size_t size, gfp_t flags)
	USLAB_WARN_UNUSED;

/**
 * kvfree - free kvmalloc() or kmalloc() memory.
 * @addr: the memory; NULL and ZERO_SIZE_PTR do nothing.
 *
 * A pointer uslab did not allocate is reported as kfree() reports it.
 *
 * Context: any thread.
 */
USLAB_EXPORT void kvfree(const void *addr);

/**
 * kvfree_sensitive - clear memory, then kvfree() it.
 * @addr: the memory.
 * @len: how many of its bytes to clear, in a way the compiler cannot
 *       remove.
 *
 * Context: any thread.
 */
USLAB_EXPORT void kvfree_sensitive(const void *addr, size_t len);

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
 * uslab_failslab - set the kernel's slab fault injection attributes.
 * @spec: comma-separated name=value pairs with the names of the files of
 *	the kernel's /sys/kernel/debug/failslab/: probability (percent,
 *	0 to 100), interval (1 and up), times (-1 for no limit), space
 *	(bytes), verbose (0, 1 or 2), ignore-gfp-wait (Y or N) and
 *	cache-filter (Y or N); or the kernel's boot form
 *	"interval,probability,space,times"; or "" for the kernel's
 *	defaults (probability 0: off).
 *
 * Attributes @spec does not name keep their values, as files not written
 * to do.  The environment variable USLAB_FAILSLAB takes the same @spec
 * at start-up.  While probability is above 0, slab allocations (the
 * kmem_cache_alloc, kmalloc and kvmalloc families, bulk and krealloc;
 * not the large blocks above KMALLOC_MAX_CACHE_SIZE, nor malloc()) fail
 * as the kernel's should_failslab() decides: never with __GFP_NOFAIL;
 * with ignore-gfp-wait (the default), never when __GFP_DIRECT_RECLAIM
 * is set (GFP_KERNEL); with cache-filter, only in caches made with
 * SLAB_FAILSLAB; then space, interval, probability and times, in that
 * order.  A failure returns NULL (0 from kmem_cache_alloc_bulk()) with
 * errno ENOMEM, and, unless verbose is 0 or the call passed
 * __GFP_NOWARN, writes the kernel's two lines to standard error
 * ("FAULT_INJECTION: forcing a failure." and the attributes), with the
 * stack when verbose is 2.  uslab(7), FAILSLAB, has the details.
 *
 * Context: any thread; allocates nothing.
 * Return: 0, or -EINVAL (errno EINVAL) for a NULL or malformed @spec,
 * which changes nothing.
 */
USLAB_EXPORT int uslab_failslab(const char *spec);

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
 * Counters are summed over CPUs without stopping them: a busy cache's
 * are a close snapshot.  The state figures (active_objs, num_objs,
 * cached_objs, the slab counts, bytes_mapped) are exact when the cache
 * is quiet.  Where restartable sequences run, the fast path counts
 * frees only, and allocs is derived as frees plus active_objs (so
 * alloc_fast as allocs less the slow ones); frees and free_fast, and
 * with them allocs, may count a free twice: a thread preempted or
 * signalled between the fast path's count and its commit runs the
 * sequence again (rare: 0 to 4 extra in 80 million calls from 8 threads
 * on 2 CPUs).
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

#define USLAB_MEMORY_STATS_VERSION 1

/**
 * struct uslab_memory_stats - where the process's uslab memory is, and
 * what the memory policy has done with it (uslab(7), "Returning memory").
 * @version: set by the caller to USLAB_MEMORY_STATS_VERSION.
 * @bytes_mapped: bytes uslab holds from the OS now: slab chunks and large
 *                blocks, free ones kept for reuse included.
 * @bytes_returned: bytes given back to the OS since start-up (unmapped,
 *                  or decommitted with madvise()).
 * @bytes_reused: freed memory served again from pages still resident:
 *                slab slots another slab took, large blocks reused.
 * @faults_avoided: @bytes_reused in pages: the page faults that fresh
 *                  memory would have cost.
 * @resident_free_bytes: free slab slots kept resident for the next slab
 *                       of their size, until they have idled for the
 *                       decay period.
 * @large_cached_bytes: freed large blocks kept for reuse.
 * @depot_bytes: objects in the full magazines of every cache's depot.
 *
 * Figures are read without stopping other threads: a close snapshot.
 */
struct uslab_memory_stats {
	unsigned int version;
	uint64_t bytes_mapped;
	uint64_t bytes_returned;
	uint64_t bytes_reused;
	uint64_t faults_avoided;
	uint64_t resident_free_bytes;
	uint64_t large_cached_bytes;
	uint64_t depot_bytes;
};

/**
 * uslab_memory_stats - read the process's memory figures.
 * @st: filled in; its @version must be USLAB_MEMORY_STATS_VERSION.
 *
 * Context: any thread.
 * Return: 0, or -EINVAL for NULL or an unknown version.
 */
USLAB_EXPORT int uslab_memory_stats(struct uslab_memory_stats *st);

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
 * and caches named malloc-N between them, each made on the first malloc()
 * of its sizes.  This names the one that serves @size, for
 * uslab_cache_stats(), and makes it if no malloc() has reached it yet.
 *
 * Context: any thread.
 * Return: the cache; NULL with errno EINVAL if @size is 0 or is served
 * by the large path, with errno ENOENT if no malloc() has run on uslab
 * yet, or with errno ENOMEM if the cache cannot be made now.
 */
USLAB_EXPORT struct kmem_cache *uslab_malloc_cache(size_t size);

/**
 * uslab_object_start - the start of the object an address lies in.
 * @p: an address inside an object, or at its start.
 *
 * The kernel's nearest_obj() for any memory uslab hands out: an object
 * of a cache (kmem_cache_alloc(), kmalloc() up to
 * KMALLOC_MAX_CACHE_SIZE, malloc() under libuslab-malloc) or a large
 * block.  kvfree_rcu() (<uslab-rcu.h>) finds the object to free from
 * its rcu_head with it.  @p must lie in the caller's bytes of an object
 * that is allocated: for a free object, or an address in padding or a
 * red zone, the result is NULL or an object that is not the caller's.
 *
 * Context: any thread; no lock.
 * Return: the object's first byte, or NULL if @p is in no object.
 */
USLAB_EXPORT void *uslab_object_start(const void *p);

/*
 * Memory allocation profiling: the kernel's allocation tags
 * (CONFIG_MEM_ALLOC_PROFILING) and its /proc/allocinfo table.  See
 * uslab_allocinfo(3).
 *
 * Each allocating call of this header is a macro around its _noprof()
 * function, as in the kernel: alloc_hooks() gives the call site a static
 * struct alloc_tag (file, line, function) and makes it the thread's
 * current tag for the length of the call.  While profiling is on
 * (USLAB_ALLOCINFO, uslab_allocinfo_enable()), each object is counted to
 * the current tag's site until it is freed; a call with no current tag
 * (a program built against uslab 0.2, or with USLAB_NO_ALLOC_TAGS
 * defined) counts to one "untagged" site.  With profiling off a call
 * costs two thread-local stores more than its _noprof() form.
 */
struct codetag {
	unsigned int flags;
	unsigned int lineno;
	const char *modname;	/* NULL, or USLAB_ALLOC_TAG_MODNAME */
	const char *function;
	const char *filename;
} __attribute__((__aligned__(8)));

struct alloc_tag {
	struct codetag ct;
	/* uslab's: the site's number once counted; 0 before. */
	unsigned long uslab_site;
} __attribute__((__aligned__(8)));

/* The calling thread's current tag: alloc_hooks() sets it. */
extern __thread struct alloc_tag *uslab_current_alloc_tag
	__attribute__((__tls_model__("initial-exec")));

USLAB_EXPORT void *kmem_cache_alloc_noprof(struct kmem_cache *s, gfp_t flags)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kmem_cache_alloc_node_noprof(struct kmem_cache *s,
						gfp_t flags, int node)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kmem_cache_zalloc_noprof(struct kmem_cache *s, gfp_t flags)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT int kmem_cache_alloc_bulk_noprof(struct kmem_cache *s,
					      gfp_t flags, size_t size,
					      void **p) USLAB_WARN_UNUSED;
USLAB_EXPORT void *kmalloc_noprof(size_t size, gfp_t flags) USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kzalloc_noprof(size_t size, gfp_t flags) USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kmalloc_array_noprof(size_t n, size_t size, gfp_t flags)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kcalloc_noprof(size_t n, size_t size, gfp_t flags)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *krealloc_noprof(const void *p, size_t new_size, gfp_t flags)
	USLAB_WARN_UNUSED;
USLAB_EXPORT void *krealloc_array_noprof(void *p, size_t new_n,
					 size_t new_size, gfp_t flags)
	USLAB_WARN_UNUSED;
USLAB_EXPORT void *kmalloc_node_noprof(size_t size, gfp_t flags, int node)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kzalloc_node_noprof(size_t size, gfp_t flags, int node)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kmalloc_array_node_noprof(size_t n, size_t size,
					     gfp_t flags, int node)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kcalloc_node_noprof(size_t n, size_t size, gfp_t flags,
				       int node) USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kvmalloc_noprof(size_t size, gfp_t flags) USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kvmalloc_node_noprof(size_t size, gfp_t flags, int node)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kvzalloc_noprof(size_t size, gfp_t flags) USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kvmalloc_array_noprof(size_t n, size_t size, gfp_t flags)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kvcalloc_noprof(size_t n, size_t size, gfp_t flags)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kvrealloc_noprof(const void *p, size_t size, gfp_t flags)
	USLAB_WARN_UNUSED;
USLAB_EXPORT char *kstrdup_noprof(const char *s, gfp_t gfp) USLAB_MALLOC_LIKE;
USLAB_EXPORT char *kstrndup_noprof(const char *s, size_t max, gfp_t gfp)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kmemdup_noprof(const void *src, size_t len, gfp_t gfp)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT char *kmemdup_nul_noprof(const char *s, size_t len, gfp_t gfp)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT void *kmemdup_array_noprof(const void *src, size_t count,
					size_t element_size, gfp_t gfp)
	USLAB_MALLOC_LIKE;
USLAB_EXPORT const char *kstrdup_const_noprof(const char *s, gfp_t gfp);
USLAB_EXPORT void *uslab_kmalloc_aligned_noprof(size_t size, size_t align,
						gfp_t flags) USLAB_MALLOC_LIKE;

/**
 * uslab_allocinfo - write the allocation profile, as /proc/allocinfo.
 * @out: an open stream.
 *
 * The kernel's format, version 1.0: a header of two lines, then a line
 * per call site counted so far, in the order each was first counted:
 * bytes held, live allocations, and "file:line func:name".
 *
 * Context: any thread; counting goes on while the table is written.
 * Return: 0; -EINVAL for a NULL @out; -EIO if writing failed.
 */
USLAB_EXPORT int uslab_allocinfo(FILE *out);

/**
 * uslab_allocinfo_enable - turn allocation profiling on or off.
 * @on: count allocations from now on, or stop counting them.
 *
 * What USLAB_ALLOCINFO=1 turns on at start-up, as the kernel's
 * vm.mem_profiling sysctl.  Objects counted while it was on are debited
 * when freed, after it is turned off too.
 *
 * Context: any thread.
 * Return: 0; -ENOMEM if the tables could not be mapped.
 */
USLAB_EXPORT int uslab_allocinfo_enable(bool on);

/* Is allocation profiling counting? */
USLAB_EXPORT bool uslab_allocinfo_enabled(void);

#if !defined(USLAB_BUILDING_LIBRARY) && !defined(USLAB_BUILDING_MALLOC) && \
	!defined(USLAB_NO_ALLOC_TAGS) && defined(__GNUC__)

#ifndef USLAB_ALLOC_TAG_MODNAME
#define USLAB_ALLOC_TAG_MODNAME ((const char *)0)
#endif

#define CODE_TAG_INIT                                                       \
	{ 0, __LINE__, USLAB_ALLOC_TAG_MODNAME, __func__, __FILE__ }

/* A call site's tag, in section alloc_tags as the kernel's. */
#define DEFINE_ALLOC_TAG(_alloc_tag)                                        \
	static struct alloc_tag _alloc_tag                                  \
		__attribute__((__used__, __section__("alloc_tags"))) =      \
			{ CODE_TAG_INIT, 0 }

static inline struct alloc_tag *alloc_tag_save(struct alloc_tag *tag)
{
	struct alloc_tag *old = uslab_current_alloc_tag;

	uslab_current_alloc_tag = tag;
	return old;
}

static inline void alloc_tag_restore(struct alloc_tag *tag,
				     struct alloc_tag *old)
{
	(void)tag;
	uslab_current_alloc_tag = old;
}

#define alloc_hooks_tag(_tag, _do_alloc)                                    \
	__extension__ ({                                                    \
		struct alloc_tag *_old = alloc_tag_save(_tag);              \
		__typeof__(_do_alloc) _res = _do_alloc;                     \
		alloc_tag_restore(_tag, _old);                              \
		_res;                                                       \
	})

#define alloc_hooks(_do_alloc)                                              \
	__extension__ ({                                                    \
		DEFINE_ALLOC_TAG(_alloc_tag);                               \
		alloc_hooks_tag(&_alloc_tag, _do_alloc);                    \
	})

#define kmem_cache_alloc(...) alloc_hooks(kmem_cache_alloc_noprof(__VA_ARGS__))
#define kmem_cache_alloc_node(...)                                          \
	alloc_hooks(kmem_cache_alloc_node_noprof(__VA_ARGS__))
#define kmem_cache_zalloc(...) alloc_hooks(kmem_cache_zalloc_noprof(__VA_ARGS__))
#define kmem_cache_alloc_bulk(...)                                          \
	alloc_hooks(kmem_cache_alloc_bulk_noprof(__VA_ARGS__))
#define kmalloc(...) alloc_hooks(kmalloc_noprof(__VA_ARGS__))
#define kzalloc(...) alloc_hooks(kzalloc_noprof(__VA_ARGS__))
#define kmalloc_array(...) alloc_hooks(kmalloc_array_noprof(__VA_ARGS__))
#define kcalloc(...) alloc_hooks(kcalloc_noprof(__VA_ARGS__))
#define krealloc(...) alloc_hooks(krealloc_noprof(__VA_ARGS__))
#define krealloc_array(...) alloc_hooks(krealloc_array_noprof(__VA_ARGS__))
#define kmalloc_node(...) alloc_hooks(kmalloc_node_noprof(__VA_ARGS__))
#define kzalloc_node(...) alloc_hooks(kzalloc_node_noprof(__VA_ARGS__))
#define kmalloc_array_node(...)                                             \
	alloc_hooks(kmalloc_array_node_noprof(__VA_ARGS__))
#define kcalloc_node(...) alloc_hooks(kcalloc_node_noprof(__VA_ARGS__))
#define kvmalloc(...) alloc_hooks(kvmalloc_noprof(__VA_ARGS__))
#define kvmalloc_node(...) alloc_hooks(kvmalloc_node_noprof(__VA_ARGS__))
#define kvzalloc(...) alloc_hooks(kvzalloc_noprof(__VA_ARGS__))
#define kvmalloc_array(...) alloc_hooks(kvmalloc_array_noprof(__VA_ARGS__))
#define kvcalloc(...) alloc_hooks(kvcalloc_noprof(__VA_ARGS__))
#define kvrealloc(...) alloc_hooks(kvrealloc_noprof(__VA_ARGS__))
#define kstrdup(...) alloc_hooks(kstrdup_noprof(__VA_ARGS__))
#define kstrndup(...) alloc_hooks(kstrndup_noprof(__VA_ARGS__))
#define kmemdup(...) alloc_hooks(kmemdup_noprof(__VA_ARGS__))
#define kmemdup_nul(...) alloc_hooks(kmemdup_nul_noprof(__VA_ARGS__))
#define kmemdup_array(...) alloc_hooks(kmemdup_array_noprof(__VA_ARGS__))
#define kstrdup_const(...) alloc_hooks(kstrdup_const_noprof(__VA_ARGS__))
#define uslab_kmalloc_aligned(...)                                          \
	alloc_hooks(uslab_kmalloc_aligned_noprof(__VA_ARGS__))

#endif /* tagged calls */

#ifdef __cplusplus
}
#endif

#endif /* USLAB_H */
