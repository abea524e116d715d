/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * compat.c - the GFP bit values of uslab 0.1 and 0.2, for programs built
 * against them.
 *
 * Until 0.3, <uslab.h> gave seven GFP flags values of its own; since, it
 * has the kernel's (Linux 6.12's <linux/gfp_types.h>).  A program carries
 * the values it was compiled with, so every exported call that takes
 * flags has two versions of its symbol:
 *
 *   name@@USLAB_0.3            the kernel's values: what the library
 *                              implements, and what programs built from
 *                              now on bind to (uslab.sym.in)
 *   name@USLAB_0.1 or @USLAB_0.2
 *                              this file: the old values translated,
 *                              then the call above; programs built
 *                              against 0.1 or 0.2 bound to these
 *
 * Each old symbol keeps the version its function first appeared in,
 * since that is what the dynamic linker looks for.  The translation is a
 * pure function of the flags, so an old program gets exactly the
 * behaviour it had: the same flags act, the same unknown bits (0x20, an
 * unused bit then) fail with EINVAL.
 *
 * This file is built into libuslab alone (not the convenience library the
 * white-box tests and fuzzers link): its symbol versions mean something
 * only in a shared object with uslab.sym.  It calls nothing but the
 * public interface and sits above every other file of lib/.
 */
#include "internal.h"

/* The seven flags whose bits moved, as 0.1 and 0.2 numbered them. */
#define V02_NOFAIL		0x00000200u
#define V02_NOWARN		0x00000400u
#define V02_HIGH		0x00000800u
#define V02_DIRECT_RECLAIM	0x00001000u
#define V02_KSWAPD_RECLAIM	0x00002000u
#define V02_WRITE		0x00004000u
#define V02_RETRY_MAYFAIL	0x00008000u
#define V02_UNUSED		0x00000020u	/* the kernel's __GFP_HIGH */
#define V02_MOVED							\
	(V02_NOFAIL | V02_NOWARN | V02_HIGH | V02_DIRECT_RECLAIM |	\
	 V02_KSWAPD_RECLAIM | V02_WRITE | V02_RETRY_MAYFAIL | V02_UNUSED)

/* The bit the kernel leaves unused: invalid to uslab now as 0x20 was. */
#define GFP_UNUSED_NOW		(1u << ___GFP_UNUSED_BIT)

_Static_assert((V02_MOVED & 0xffff01dfu) == 0,
	       "only bits 5 and 9 to 15 moved between 0.2 and 0.3");

/**
 * us_gfp_from_v02 - flags of uslab 0.1 and 0.2 in today's bit values.
 * @old: flags as a program built against 0.1 or 0.2 passes them.
 *
 * Return: the same flags by name; 0.2's unused 0x20 becomes today's
 * unused bit, so it still fails with EINVAL.
 */
static gfp_t us_gfp_from_v02(gfp_t old)
{
	gfp_t now = old & ~V02_MOVED;

	if (old & V02_NOFAIL)
		now |= __GFP_NOFAIL;
	if (old & V02_NOWARN)
		now |= __GFP_NOWARN;
	if (old & V02_HIGH)
		now |= __GFP_HIGH;
	if (old & V02_DIRECT_RECLAIM)
		now |= __GFP_DIRECT_RECLAIM;
	if (old & V02_KSWAPD_RECLAIM)
		now |= __GFP_KSWAPD_RECLAIM;
	if (old & V02_WRITE)
		now |= __GFP_WRITE;
	if (old & V02_RETRY_MAYFAIL)
		now |= __GFP_RETRY_MAYFAIL;
	if (old & V02_UNUSED)
		now |= GFP_UNUSED_NOW;
	return now;
}

/*
 * COMPAT(version, ret, name, (params), (args)): name@version, taking the
 * old flags as `flags' and calling today's name with them translated.
 */
#define COMPAT(ver, ret, name, params, args)				\
	USLAB_EXPORT ret us_compat_##name params;				\
	__asm__(".symver us_compat_" #name ", " #name "@" #ver);	\
	ret us_compat_##name params					\
	{								\
		flags = us_gfp_from_v02(flags);				\
		return name args;					\
	}

/* Added in 0.1. */
COMPAT(USLAB_0.1, void *, kmem_cache_alloc,
       (struct kmem_cache *s, gfp_t flags), (s, flags))
COMPAT(USLAB_0.1, void *, kmem_cache_zalloc,
       (struct kmem_cache *s, gfp_t flags), (s, flags))
COMPAT(USLAB_0.1, int, kmem_cache_alloc_bulk,
       (struct kmem_cache *s, gfp_t flags, size_t size, void **p),
       (s, flags, size, p))
COMPAT(USLAB_0.1, void *, kmalloc, (size_t size, gfp_t flags), (size, flags))
COMPAT(USLAB_0.1, void *, kzalloc, (size_t size, gfp_t flags), (size, flags))
COMPAT(USLAB_0.1, void *, kmalloc_array,
       (size_t n, size_t size, gfp_t flags), (n, size, flags))
COMPAT(USLAB_0.1, void *, kcalloc,
       (size_t n, size_t size, gfp_t flags), (n, size, flags))
COMPAT(USLAB_0.1, void *, krealloc,
       (const void *p, size_t new_size, gfp_t flags), (p, new_size, flags))
COMPAT(USLAB_0.1, void *, krealloc_array,
       (void *p, size_t new_n, size_t new_size, gfp_t flags),
       (p, new_n, new_size, flags))
COMPAT(USLAB_0.1, char *, kstrdup, (const char *s, gfp_t flags), (s, flags))
COMPAT(USLAB_0.1, char *, kstrndup,
       (const char *s, size_t max, gfp_t flags), (s, max, flags))
COMPAT(USLAB_0.1, void *, kmemdup,
       (const void *src, size_t len, gfp_t flags), (src, len, flags))
COMPAT(USLAB_0.1, void *, uslab_kmalloc_aligned,
       (size_t size, size_t align, gfp_t flags), (size, align, flags))

/* Added in 0.2. */
COMPAT(USLAB_0.2, void *, kmem_cache_alloc_node,
       (struct kmem_cache *s, gfp_t flags, int node), (s, flags, node))
COMPAT(USLAB_0.2, char *, kmemdup_nul,
       (const char *s, size_t len, gfp_t flags), (s, len, flags))
COMPAT(USLAB_0.2, void *, kmemdup_array,
       (const void *src, size_t count, size_t element_size, gfp_t flags),
       (src, count, element_size, flags))
COMPAT(USLAB_0.2, const char *, kstrdup_const,
       (const char *s, gfp_t flags), (s, flags))
COMPAT(USLAB_0.2, void *, kmalloc_node,
       (size_t size, gfp_t flags, int node), (size, flags, node))
COMPAT(USLAB_0.2, void *, kzalloc_node,
       (size_t size, gfp_t flags, int node), (size, flags, node))
COMPAT(USLAB_0.2, void *, kmalloc_array_node,
       (size_t n, size_t size, gfp_t flags, int node), (n, size, flags, node))
COMPAT(USLAB_0.2, void *, kcalloc_node,
       (size_t n, size_t size, gfp_t flags, int node), (n, size, flags, node))
COMPAT(USLAB_0.2, void *, kvmalloc, (size_t size, gfp_t flags), (size, flags))
COMPAT(USLAB_0.2, void *, kvmalloc_node,
       (size_t size, gfp_t flags, int node), (size, flags, node))
COMPAT(USLAB_0.2, void *, kvzalloc, (size_t size, gfp_t flags), (size, flags))
COMPAT(USLAB_0.2, void *, kvmalloc_array,
       (size_t n, size_t size, gfp_t flags), (n, size, flags))
COMPAT(USLAB_0.2, void *, kvcalloc,
       (size_t n, size_t size, gfp_t flags), (n, size, flags))
COMPAT(USLAB_0.2, void *, kvrealloc,
       (const void *p, size_t size, gfp_t flags), (p, size, flags))
