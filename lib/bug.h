/* SPDX-License-Identifier: MIT */
/*
 * bug.h - kernel-format bug reports, and the call stacks they show.
 *
 * What it owns: the frame of every SLUB-format report (a rule, "BUG
 * <cache>: what", INFO lines, hex dumps, the stack, "FIX <cache>:
 * action"), stack capture and symbolisation, the owner tracks of
 * SLAB_STORE_USER, and the reports of misuse that the cheap checks catch
 * in any cache (a foreign pointer, the wrong cache, a double free, a
 * corrupt free pointer).  debug.c adds what only debug caches can show
 * (the object's layout around the damage).
 *
 * It is a leaf beside report.c: any layer may call it, and it calls only
 * report.c, os.c, cpu.h and the two leaves below it that keep stacks:
 * cfi.c, which reads them, and depot.c, which stores them.  Like
 * report.c it never allocates: lines are formatted on the stack and
 * written with write(2).
 *
 * Whether a report aborts: always for a cache without debugging, for no
 * cache, and with X in USLAB_DEBUG (us_bug_abort_always); otherwise the
 * caller repairs the damage or leaves the object alone, and goes on, as
 * SLUB does.
 *
 * Locking: the report lock keeps one report's lines together.  It is a
 * leaf below every other lock (internal.h, 7), taken by us_bug_begin()
 * or us_bug_lock() and dropped by us_bug_end() or us_bug_unlock().  The
 * stack is never unwound under another uslab lock: the unwinder may take
 * the dynamic loader's locks, whose holders may allocate.
 */
#ifndef USLAB_BUG_H
#define USLAB_BUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Stack frames kept per track. */
#define US_TRACK_DEPTH 6

/*
 * The last allocation or free of an object (SLAB_STORE_USER), as SLUB's
 * struct track: the stack is in the depot (depot.h), named by handle.
 */
struct us_track {
	uint32_t handle;		/* the stack; 0: none */
	uint32_t cpu;
	uint32_t tid;
	uint32_t unused;
	uint64_t when;			/* ms, us_os_now_ms() */
};

/* X in USLAB_DEBUG: every report aborts (set once, at start-up). */
extern bool us_bug_abort_always;

/*
 * Fill t with the caller's stack (uslab's own frames dropped), thread,
 * CPU and time.  Call with no uslab lock held.
 */
void us_bug_capture_track(struct us_track *t);

/* t's frames, innermost first, in *frames; how many (0: none kept). */
unsigned int us_bug_track_frames(const struct us_track *t,
				 void *const **frames);

/*
 * The caller's stack in frames[0..max), innermost first, with uslab's
 * unwinder (cfi.h) where it reads every frame, else libgcc's; the
 * number of frames.  For us_bug_capture_track() and tests.
 */
unsigned int us_bug_stack(void **frames, unsigned int max);

/* "fn+0xoff/0xsize [module]", or the bare address. */
void us_bug_format_frame(char *buf, size_t size, void *ip);

/* A report's first lines, under the report lock: "BUG cache: what". */
void us_bug_begin(const char *cache, const char *what);

/*
 * A report's last lines: the stack, then "FIX <c>: fix" and the lock
 * dropped; or, where the report must abort (see above), "none;
 * aborting" and abort().
 */
void us_bug_end(const struct kmem_cache *c, const char *fix);

/* The report lock alone, for lines that are not a BUG (SLAB_TRACE). */
void us_bug_lock(void);
void us_bug_unlock(void);

/* len bytes at p as "prefix" lines of 16, hex and ASCII. */
void us_bug_hex(const char *prefix, const void *p, size_t len);

/* "INFO: <verb> in <frame> age=... cpu=... pid=...", then the frames. */
void us_bug_track(const char *verb, const struct us_track *t, uint64_t now);

/*
 * The cheap checks' reports.  They return only for a debug cache in
 * repair mode; the caller then leaves the object alone ("not freed").
 */
void us_bug_invalid_pointer(struct kmem_cache *c, const char *who,
			    const void *p, const char *why);
void us_bug_wrong_cache(struct kmem_cache *c, struct kmem_cache *owner,
			const void *p);
/* A double free in a cache without debugging (debug.c has its own). */
US_NORETURN void us_bug_already_free(struct kmem_cache *c, const void *p);
/* The same for a large block freed twice ("kmalloc-large"). */
US_NORETURN void us_bug_large_already_free(const void *p, size_t room);
US_NORETURN void us_bug_freepointer(struct kmem_cache *c,
				    struct us_slab *slab, void *obj,
				    void *bad);

/* fork: the report lock, taken after every other lock. */
void us_bug_fork_prepare(void);
void us_bug_fork_parent(void);
void us_bug_fork_child(void);

#endif /* USLAB_BUG_H */
