/* SPDX-License-Identifier: MIT */
/*
 * failslab.h - the kernel's slab fault injection: allocations that fail
 * on purpose, for testing how a caller handles NULL (failslab.c).
 */
#ifndef USLAB_FAILSLAB_H
#define USLAB_FAILSLAB_H

#include <stdatomic.h>
#include <stdbool.h>

#include "internal.h"

/* GFP flags that need no work beyond the fast path: the no-ops. */
#define US_GFP_PLAIN                                                        \
	(__GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE |          \
	 __GFP_RECLAIMABLE | __GFP_HIGH | __GFP_IO | __GFP_FS |             \
	 __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM | __GFP_WRITE |        \
	 __GFP_NOWARN | __GFP_RETRY_MAYFAIL | __GFP_NORETRY |               \
	 __GFP_MEMALLOC | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_HARDWALL |  \
	 __GFP_ACCOUNT | __GFP_ZEROTAGS | __GFP_SKIP_ZERO |                 \
	 __GFP_SKIP_KASAN | __GFP_NOLOCKDEP | __GFP_NO_OBJ_EXT)
#define US_GFP_VALID (US_GFP_PLAIN | __GFP_ZERO | __GFP_NOFAIL | __GFP_THISNODE)

/*
 * The GFP bits that send a slab allocation off its fast path: those
 * outside US_GFP_PLAIN, or all of them while failslab is armed, so that
 * every slab allocation reaches us_failslab_should_fail().  A plain word
 * read and written with __atomic builtins, and hidden (US_LOCAL), so
 * that the fast path reads it in one instruction.
 */
extern US_LOCAL gfp_t us_gfp_slow;

/*
 * May this slab allocation take the fast path?  Two instructions more
 * than testing US_GFP_PLAIN (make bench-callgrind): __GFP_DMA, a plain
 * bit, is or-ed in so that flags of 0 leave the fast path too while
 * failslab is armed.
 */
static inline bool us_gfp_fast(gfp_t flags)
{
	return !((flags | __GFP_DMA) &
		 __atomic_load_n(&us_gfp_slow, __ATOMIC_RELAXED));
}

/*
 * Send every slab allocation to the slow path while `who` asks (on), or
 * no longer (off): failslab while armed, allocation profiling while it
 * counts.  Concurrent callers settle on what the last one saw.
 */
#define US_FAILSLAB_ROUTE_ARMED 1u
#define US_FAILSLAB_ROUTE_TAGS 2u
void us_failslab_route(unsigned int who, bool on);

/* Read USLAB_FAILSLAB (us_options.failslab); from us_init(). */
void us_failslab_init(void);

/* Is failslab armed (a probability above 0)? */
static inline bool us_failslab_armed(void)
{
	return __atomic_load_n(&us_gfp_slow, __ATOMIC_RELAXED) == ~(gfp_t)0;
}

/*
 * Should this allocation of one object of s fail?  The kernel's
 * should_failslab(): never for __GFP_NOFAIL; with ignore-gfp-wait, never
 * where __GFP_DIRECT_RECLAIM allows blocking; with cache-filter, only in
 * caches made with SLAB_FAILSLAB; then the fault attributes decide.  A
 * failure is reported unless verbose is 0 or __GFP_NOWARN is given.
 * Call only when us_failslab_armed().
 */
bool us_failslab_should_fail(const struct kmem_cache *s, gfp_t flags);

#endif /* USLAB_FAILSLAB_H */
