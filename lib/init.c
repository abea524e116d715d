/* SPDX-License-Identifier: MIT */
/*
 * init.c - start-up and fork, above every layer.
 *
 * us_init() brings the layers up to the cache layer in order (options,
 * OS, CPUs, caches) exactly once; us_kmalloc_init() then makes the
 * kmalloc caches through it.  It runs from the library's constructor, and
 * also lazily from any entry point that can be reached earlier: when
 * uslab is the malloc, the dynamic loader and other libraries'
 * constructors allocate before ours runs.  It allocates nothing from
 * libc, so it cannot recurse into itself.
 *
 * init_lock is the outermost lock, kmalloc's init lock the next (design
 * essay, 7); the fork handlers take them first, so a fork during another
 * thread's initialisation cannot leave the child with a half-built
 * library and a held lock.
 */
#include "config.h"

#include <pthread.h>

#include "alloctag.h"
#include "bug.h"
#include "callout.h"
#include "cache.h"
#include "chunk.h"
#include "cpu.h"
#include "debug.h"
#include "failslab.h"
#include "internal.h"
#include "kmalloc.h"
#include "magazine.h"
#include "node.h"
#include "options.h"
#include "os.h"
#include "reclaim.h"
#include "report.h"
#include "stats.h"

_Atomic bool us_initialized;
static struct us_lock init_lock US_FORK_STATE = US_LOCK_INIT;

static void fork_prepare(void)
{
	us_reclaim_fork_prepare();	/* outermost: stops the helper */
	us_mag_fork_wait();		/* no object in flight, before any lock */
	us_chunk_fork_wait();		/* no slot or mapping in flight either */
	us_lock(&init_lock);
	us_kmalloc_fork_prepare();
	us_cache_fork_prepare();
	us_bug_fork_prepare();	/* the report lock: a leaf, last */
	us_tag_fork_prepare();	/* tag_lock: a leaf */
}

static void fork_parent(void)
{
	us_tag_fork_parent();
	us_bug_fork_parent();
	us_cache_fork_parent();
	us_kmalloc_fork_parent();
	us_unlock(&init_lock);
	us_chunk_fork_done(false);
	us_mag_fork_done(false);
	us_reclaim_fork_parent();
}

static void fork_child(void)
{
	us_os_fork_child();
	us_tag_fork_child();
	us_bug_fork_child();
	us_cache_fork_child();
	us_kmalloc_fork_child();
	us_lock_reset(&init_lock);
	us_chunk_fork_done(true);
	us_mag_fork_done(true);
	us_reclaim_fork_child();
}

void us_init(void)
{
	if (likely(atomic_load_explicit(&us_initialized, memory_order_acquire)))
		return;
	us_lock(&init_lock);
	if (!atomic_load_explicit(&us_initialized, memory_order_relaxed)) {
		us_options_init();
		us_debug_init();
		us_failslab_init();
		us_os_init();
		us_node_init();	/* the nodes' pools share the descriptor */
		us_cpu_init(us_cache_max_cpu_slots());
		us_cache_init();
		us_stats_init();
		us_tag_init();	/* after the CPU count: a row per slot */
		if (us_options.reenter)
			us_callout_hook = us_kmalloc_reenter;
		/*
		 * Every layer is up: say so before calling out, for glibc's
		 * pthread_atfork() may allocate (past its first 48
		 * handlers), and that allocation must find uslab ready
		 * rather than wait for init_lock, which this thread holds.
		 */
		atomic_store_explicit(&us_initialized, true,
				      memory_order_release);
		us_callout(US_CALLOUT_ATFORK, NULL);
		if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0)
			us_report("pthread_atfork failed: fork() while other "
				  "threads allocate may hang the child");
	}
	us_unlock(&init_lock);
}

__attribute__((constructor)) static void uslab_constructor(void)
{
	us_kmalloc_init();
	us_reclaim_allow_helper(US_RECLAIM_CONSTRUCTED);
}

__attribute__((destructor)) static void uslab_destructor(void)
{
	us_stats_report();
	us_tag_report();
}
