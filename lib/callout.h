/* SPDX-License-Identifier: MIT */
/*
 * callout.h - where uslab calls code that may call it back, and the test
 * mode that makes it do so (design essay, 12).
 *
 * A callout is a call out of uslab, from an allocation path, the helper
 * thread or a call such as uslab_slabinfo(), into code that may
 * allocate, free or run the program's code: pthread_create() callocs
 * the new thread's TLS vector, pthread_atfork() may grow its table, a
 * stdio stream may allocate its buffer.  Each one is made only where
 * uslab's state is whole: no magazine half installed, no object between
 * a slot and the depot, no uslab lock held that the callback could
 * need.  None is made from a free path: glibc frees under locks of its
 * own (the thread-stack cache's) that pthread_create() takes, so the
 * hook, like the calls it stands for, must never run inside a free.
 * us_callout() marks each such place.
 *
 * USLAB_REENTER=1 makes every marked place allocate and free at once, as
 * the callee might (kmalloc.c's hook): enough objects of the cache being
 * served to empty and refill its magazines, so that a callout made while
 * a slot or a thread cache is half updated overruns it at once instead
 * of once in a long while.  The hook is a pointer, set by the kmalloc
 * layer at start-up, so that the layers below call nothing above them.
 */
#ifndef USLAB_CALLOUT_H
#define USLAB_CALLOUT_H

#include "internal.h"

enum us_callout {
	US_CALLOUT_POKE,	/* an allocation's us_reclaim_poke(): may
				   pthread_create() */
	US_CALLOUT_ATFORK,	/* pthread_atfork() from us_init() */
	US_CALLOUT_STDIO,	/* uslab_slabinfo() writing the caller's FILE */
};

/* c: the cache the path serves, or NULL; it is live while the hook runs. */
typedef void (*us_callout_fn)(enum us_callout where, struct kmem_cache *c);

/* NULL unless USLAB_REENTER=1 (set once, before any callout can run). */
extern us_callout_fn us_callout_hook;

static inline void us_callout(enum us_callout where, struct kmem_cache *c)
{
	if (unlikely(us_callout_hook != NULL))
		us_callout_hook(where, c);
}

#endif /* USLAB_CALLOUT_H */
