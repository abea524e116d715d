/* SPDX-License-Identifier: MIT */
/*
 * depot.c - the stack depot; see depot.h.
 *
 * The region: BUCKETS chain heads (32-bit handles), then the records.  A
 * record's handle is its offset in the region in units of 8 bytes, so a
 * handle is never 0 (the table comes first) and 32 bits name 32 GiB,
 * more than US_DEPOT_BYTES.  The region is mapped whole and the kernel
 * gives it pages as records reach them: a program with a few hundred
 * allocation sites touches a few pages.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "depot.h"
#include "internal.h"
#include "lock.h"
#include "os.h"
#include "report.h"

#define BUCKETS (1u << 16)
#define TABLE_BYTES (BUCKETS * sizeof(uint32_t))
#define US_DEPOT_BYTES ((size_t)32 << 20)

struct record {
	uint32_t next;		/* the chain's next handle; 0 ends it */
	uint32_t hash;
	uint32_t n;		/* frames */
	uint32_t unused;
	void *frames[];
};

static struct us_lock depot_lock US_FORK_STATE = US_LOCK_INIT;
static _Atomic(char *) region;		/* [depot_lock] to set */
static _Atomic size_t used;		/* bytes; [depot_lock] to add */
static _Atomic uint64_t nstacks;	/* [depot_lock] to add */
static bool full_said;			/* [depot_lock] */

static uint32_t hash_frames(void *const *frames, unsigned int n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;

	for (unsigned int i = 0; i < n; i++) {
		h ^= (uint64_t)(uintptr_t)frames[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return (uint32_t)h;
}

static _Atomic uint32_t *heads(char *base)
{
	return (_Atomic uint32_t *)(void *)base;
}

static struct record *record_of(char *base, uint32_t handle)
{
	return (struct record *)(void *)(base + (size_t)handle * 8);
}

static uint32_t find(char *base, uint32_t hash, void *const *frames,
		     unsigned int n)
{
	uint32_t hd = atomic_load_explicit(&heads(base)[hash % BUCKETS],
					   memory_order_acquire);

	while (hd) {
		struct record *r = record_of(base, hd);

		if (r->hash == hash && r->n == n) {
			unsigned int i = 0;

			while (i < n && r->frames[i] == frames[i])
				i++;
			if (i == n)
				return hd;
		}
		hd = r->next;
	}
	return 0;
}

uint32_t us_depot_save(void *const *frames, unsigned int n)
{
	uint32_t hash, hd;
	size_t need;
	char *base;
	bool say = false;

	if (n == 0)
		return 0;
	if (n > US_DEPOT_MAX_FRAMES)
		n = US_DEPOT_MAX_FRAMES;
	hash = hash_frames(frames, n);
	base = atomic_load_explicit(&region, memory_order_acquire);
	if (base && (hd = find(base, hash, frames, n)) != 0)
		return hd;

	us_lock(&depot_lock);
	base = atomic_load_explicit(&region, memory_order_relaxed);
	if (!base) {
		base = us_os_map_aligned(US_DEPOT_BYTES, us_page_size, 0);
		if (!base) {
			us_unlock(&depot_lock);
			return 0;
		}
		atomic_store_explicit(&used, TABLE_BYTES, memory_order_relaxed);
		atomic_store_explicit(&region, base, memory_order_release);
	}
	hd = find(base, hash, frames, n);
	need = sizeof(struct record) + n * sizeof(void *);
	if (!hd && atomic_load_explicit(&used, memory_order_relaxed) + need <=
			   US_DEPOT_BYTES) {
		size_t at = atomic_load_explicit(&used, memory_order_relaxed);
		struct record *r = (struct record *)(void *)(base + at);
		_Atomic uint32_t *head = &heads(base)[hash % BUCKETS];

		r->next = atomic_load_explicit(head, memory_order_relaxed);
		r->hash = hash;
		r->n = n;
		memcpy(r->frames, frames, n * sizeof(void *));
		hd = (uint32_t)(at / 8);
		atomic_store_explicit(&used, at + need, memory_order_release);
		atomic_store_explicit(&nstacks,
				      atomic_load_explicit(&nstacks,
							   memory_order_relaxed) + 1,
				      memory_order_relaxed);
		atomic_store_explicit(head, hd, memory_order_release);
	} else if (!hd && !full_said) {
		full_said = say = true;
	}
	us_unlock(&depot_lock);
	if (say)
		us_report("stack depot full (%zu MiB): new call stacks of "
			  "SLAB_STORE_USER caches are not kept",
			  US_DEPOT_BYTES >> 20);
	return hd;
}

void *const *us_depot_fetch(uint32_t handle, unsigned int *n)
{
	char *base = atomic_load_explicit(&region, memory_order_acquire);
	size_t off = (size_t)handle * 8;

	*n = 0;
	if (!base || off < TABLE_BYTES ||
	    off >= atomic_load_explicit(&used, memory_order_acquire))
		return NULL;
	*n = record_of(base, handle)->n;
	return record_of(base, handle)->frames;
}

void us_depot_usage(uint64_t *stacks, uint64_t *bytes)
{
	size_t u = atomic_load_explicit(&used, memory_order_relaxed);

	*stacks = atomic_load_explicit(&nstacks, memory_order_relaxed);
	*bytes = u > TABLE_BYTES ? u - TABLE_BYTES : 0;
}

void us_depot_fork_prepare(void)
{
	us_lock(&depot_lock);
}

void us_depot_fork_parent(void)
{
	us_unlock(&depot_lock);
}

void us_depot_fork_child(void)
{
	us_lock_reset(&depot_lock);
}
