/* SPDX-License-Identifier: MIT */
/*
 * depot.h - call stacks stored once, each named by a 32-bit handle: the
 * kernel's stack depot (lib/stackdepot.c), which SLUB's SLAB_STORE_USER
 * uses for the same reason.
 *
 * What it owns: one region of address space, mapped at the first save
 * and never unmapped, holding a table of hash chains and, after it, the
 * stack records, bump-allocated and never freed.  A cache that stores
 * its users keeps two 24-byte tracks per object, each holding a handle,
 * where it kept two 64-byte copies of the frames: the stacks a program
 * allocates from are few, its objects many.
 *
 * Invariants: handle 0 names no stack.  A record is written whole before
 * it is linked (a release store of its handle into the chain head), and
 * never changes after; so lookups and us_depot_fetch() take no lock and
 * see either the old chain or the new one, each whole.
 *
 * Locking: depot_lock serialises insertions: a leaf, below every other
 * lock, taken by us_depot_save() only, which allocates nothing, takes
 * no other lock and calls nothing but mmap(2) under it (internal.h, 7).
 * fork: us_depot_fork_*(), from bug.c's handlers.
 *
 * Full (US_DEPOT_BYTES of records), or with the mapping refused, a save
 * returns 0 and the track shows no stack; the first time, a line says
 * so.
 */
#ifndef USLAB_DEPOT_H
#define USLAB_DEPOT_H

#include <stdint.h>

/* The most frames a record keeps. */
#define US_DEPOT_MAX_FRAMES 16

/*
 * The handle of the stack frames[0..n), saved if it is new; 0 if n is 0
 * or the depot cannot take it.  Any context but a signal handler
 * interrupting a save; no uslab lock need be held or not.
 */
uint32_t us_depot_save(void *const *frames, unsigned int n);

/*
 * The frames of a stack: *n of them, innermost first.  NULL (and *n 0)
 * for handle 0 or one the depot never gave.
 */
void *const *us_depot_fetch(uint32_t handle, unsigned int *n);

/* Distinct stacks saved, and the bytes their records take (statistics). */
void us_depot_usage(uint64_t *stacks, uint64_t *bytes);

void us_depot_fork_prepare(void);
void us_depot_fork_parent(void);
void us_depot_fork_child(void);

#endif /* USLAB_DEPOT_H */
