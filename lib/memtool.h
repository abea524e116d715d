/* SPDX-License-Identifier: MIT */
/*
 * memtool.h - telling valgrind's memcheck and AddressSanitizer which
 * bytes are the caller's.
 *
 * uslab's memory comes from mmap, so neither tool knows an object from a
 * free one unless told.  The allocator tells them at its boundary:
 *
 *   us_mem_handout()   an object goes to the caller: a heap block to
 *                      memcheck (undefined, or defined if constructed or
 *                      zeroed), addressable to ASan
 *   us_mem_takeback()  it comes back: freed to memcheck, poisoned to ASan
 *   us_mem_hide()      uslab's own free memory (a new slab, a free
 *                      object): no access at all
 *   us_mem_open() /    around uslab's own accesses to memory it hid: a
 *   us_mem_close()     free pointer, a poison or red-zone check, a
 *                      constructor
 *
 * Objects of SLAB_TYPESAFE_BY_RCU caches may be read after they are
 * freed, and the bootstrap caches' objects (uslab's descriptors and
 * magazines) never reach a caller: neither is described to the tools;
 * their memory stays open for as long as their slab lives.
 *
 * Valgrind's client requests are used only on the locked paths, which
 * are the fast paths under valgrind (it has no rseq), and only when the
 * process runs under valgrind (us_mem_valgrind, read at start-up): a
 * request costs a few instructions even natively.  The ASan calls exist
 * only in --enable-sanitizers=address builds.  Natively, every function
 * here is a test of one flag, or empty.
 */
#ifndef USLAB_MEMTOOL_H
#define USLAB_MEMTOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "internal.h"

#if defined(HAVE_VALGRIND_MEMCHECK_H) && !defined(USLAB_NO_VALGRIND)
#include <valgrind/memcheck.h>
#define US_VALGRIND 1
/*
 * Whether the process runs under valgrind, read once at start-up
 * (os.c): a client request costs a few instructions even natively, so
 * the locked paths test this flag instead.
 */
US_PRIV_DECLARE(bool, us_mem_valgrind);
#define US_VG unlikely(US_PRIV(us_mem_valgrind))
#else
#define US_VALGRIND 0
#define US_VG 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define US_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define US_ASAN 1
#endif
#endif
#ifndef US_ASAN
#define US_ASAN 0
#endif

#if US_ASAN
#include <sanitizer/asan_interface.h>
#endif

/*
 * LeakSanitizer finds a heap block reachable if a pointer to it lies in a
 * stack, a global, another reachable block or a registered root region.
 * uslab's mappings are none of these, so in a program built with
 * -fsanitize=address or =leak, a malloc() block that only a uslab object
 * points to (a kernel test's radix-tree node holding a buffer) was
 * reported as leaked.  The page layer therefore registers each of its
 * mappings as a root region while it is mapped (roots_add() and
 * roots_del() in chunk.c, with the same address and length).  The
 * references are weak and default-visible, so they resolve to the
 * program's LSan runtime whether or not uslab itself was built with a
 * sanitizer, and are NULL without one.  The cost: stale pointers in free
 * objects count as roots too, so a leak pointed to only by freed uslab
 * memory goes unreported, as it would in a kernel built with kmemleak's
 * scanning of slab pages.
 */
extern void __lsan_register_root_region(const void *p, size_t size)
	__attribute__((weak, visibility("default")));
extern void __lsan_unregister_root_region(const void *p, size_t size)
	__attribute__((weak, visibility("default")));

static inline bool us_mem_have_roots(void)
{
	return __lsan_register_root_region && __lsan_unregister_root_region;
}

/*
 * Tell memcheck that p's n bytes, a private copy of object memory about
 * to be shown in a report, may be read even if the caller never wrote
 * them.
 */
static inline void us_mem_defined(void *p, size_t n)
{
#if US_VALGRIND
	if (US_VG)
		VALGRIND_MAKE_MEM_DEFINED(p, n);
#else
	(void)p;
	(void)n;
#endif
}

/* Is the program running under valgrind now? */
static inline bool us_mem_on_valgrind(void)
{
#if US_VALGRIND
	return RUNNING_ON_VALGRIND != 0;
#else
	return false;
#endif
}

/* ASan's half only: for the rseq fast paths, which valgrind never runs. */
static inline void us_asan_handout(void *p, size_t n)
{
#if US_ASAN
	ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
	(void)p;
	(void)n;
#endif
}

static inline void us_asan_takeback(void *p, size_t n)
{
#if US_ASAN
	ASAN_POISON_MEMORY_REGION(p, n);
#else
	(void)p;
	(void)n;
#endif
}

static inline void us_mem_handout(void *p, size_t n, bool defined)
{
#if US_VALGRIND
	if (US_VG) {
		VALGRIND_MALLOCLIKE_BLOCK(p, n, 0, 0);
		if (defined)
			VALGRIND_MAKE_MEM_DEFINED(p, n);
	}
#else
	(void)defined;
#endif
	us_asan_handout(p, n);
}

static inline void us_mem_takeback(void *p, size_t n)
{
#if US_VALGRIND
	if (US_VG)
		VALGRIND_FREELIKE_BLOCK(p, 0);
#endif
	us_asan_takeback(p, n);
}

static inline void us_mem_hide(void *p, size_t n)
{
#if US_VALGRIND
	if (US_VG)
		VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
	us_asan_takeback(p, n);
}

static inline void us_mem_open(void *p, size_t n)
{
#if US_VALGRIND
	if (US_VG)
		VALGRIND_MAKE_MEM_DEFINED(p, n);
#endif
	us_asan_handout(p, n);
}

static inline void us_mem_close(void *p, size_t n)
{
	us_mem_hide(p, n);
}

/* Whether the cache's objects are described to the tools at all. */
static inline bool us_mem_tracked(const struct kmem_cache *c)
{
	return (US_VG || US_ASAN) &&
	       !(c->flags & (US_CACHE_NOMAGAZINE | SLAB_TYPESAFE_BY_RCU));
}

/* The object-level calls of the magazine layer: no-ops untracked. */
static inline void us_obj_handout(const struct kmem_cache *c, void *obj)
{
	if (us_mem_tracked(c))
		us_mem_handout(obj, c->object_size, c->ctor != NULL);
}

static inline void us_obj_takeback(const struct kmem_cache *c, void *obj)
{
	if (us_mem_tracked(c))
		us_mem_takeback(obj, c->object_size);
}

static inline void us_obj_asan_handout(const struct kmem_cache *c, void *obj)
{
	if (US_ASAN && us_mem_tracked(c))
		us_asan_handout(obj, c->object_size);
}

static inline void us_obj_asan_takeback(const struct kmem_cache *c, void *obj)
{
	if (US_ASAN && us_mem_tracked(c))
		us_asan_takeback(obj, c->object_size);
}

#endif /* USLAB_MEMTOOL_H */
