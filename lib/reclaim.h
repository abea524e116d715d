/* SPDX-License-Identifier: MIT */
/*
 * reclaim.h - the memory policy: free memory ages, and what has gone
 * cold goes back to the OS.  See reclaim.c.
 */
#ifndef USLAB_RECLAIM_H
#define USLAB_RECLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kmem_cache;

/*
 * The decay period in milliseconds (USLAB_DECAY_MS): free memory not
 * reused for this long goes back to the OS; memory reused within it
 * never does.  0 returns memory as soon as it is free.
 */
extern uint64_t us_decay_ms;

/* The default period, chosen by measurement (bench/README.md). */
#define US_DECAY_MS_DEFAULT 500

/*
 * The sweep: give back whatever has aged past the decay period at time
 * now (ms), in every cache and the page layer.  Returns the bytes of free
 * memory still waiting to age out.  Set by the cache layer; run with no
 * lock held.
 */
typedef uint64_t (*us_reclaim_sweep_fn)(uint64_t now);

/* The bytes uslab holds from the OS (the helper starts past a size). */
typedef size_t (*us_reclaim_held_fn)(void);

/*
 * Make room for c, whose slabs are about to grow: the magazines of other
 * caches with no object in use (their depots, CPU slots and the calling
 * thread's cache) go back to their slabs, whose emptied slots any cache
 * of the same slab order can take.  Set by the cache layer, which alone
 * sees every cache; the magazine layer calls it through
 * us_reclaim_make_room(), with no lock held, so that lib/ has no call
 * cycle.
 */
typedef void (*us_reclaim_room_fn)(struct kmem_cache *c);

/* Read the options and register the sweep; once, from us_init(). */
void us_reclaim_init(us_reclaim_sweep_fn sweep, us_reclaim_held_fn held,
		     us_reclaim_room_fn room);

/* Make room for c (us_reclaim_room_fn): from a refill, no lock held. */
void us_reclaim_make_room(struct kmem_cache *c);

/*
 * bytes started to age (a slab became empty, a magazine entered a
 * depot, a large block was kept): the sweep has work.  Any context, any
 * lock held: a relaxed add to an estimate the next sweep replaces.
 */
void us_reclaim_note(uint64_t bytes);

/* Which slow path pokes: only an allocation's may start the helper. */
enum us_reclaim_path {
	US_RECLAIM_ALLOC,
	US_RECLAIM_FREE,
};

/*
 * From the slow paths, holding no lock, with the cache c (NULL for the
 * large path) whole: run the sweep if it is due; wake the helper if
 * memory waits; from an allocation, start the helper once uslab holds
 * enough for it to matter.  A free never starts a thread (reclaim.c says
 * why).  Starting one allocates on the calling thread, from any cache,
 * c's too: an allocation's poke is a callout (callout.h).
 */
void us_reclaim_poke(enum us_reclaim_path path, struct kmem_cache *c);

/*
 * The helper thread may start once both have been said: libuslab's
 * constructor has run, and uslab is the process's malloc (reclaim.c).
 */
enum us_reclaim_allow {
	US_RECLAIM_CONSTRUCTED = 1,
	US_RECLAIM_IS_MALLOC = 2,
	US_RECLAIM_ALLOWED = 3,
};
void us_reclaim_allow_helper(enum us_reclaim_allow why);

/* Run the sweep now, whatever the time; bytes still waiting (tests). */
uint64_t us_reclaim_sweep_now(void);

/* Is the helper thread running, and is it asleep with no timeout? (tests) */
bool us_reclaim_helper_running(void);
bool us_reclaim_helper_asleep(void);

/* fork: the helper is stopped before, and not restarted after. */
void us_reclaim_fork_prepare(void);
void us_reclaim_fork_parent(void);
void us_reclaim_fork_child(void);

#endif /* USLAB_RECLAIM_H */
