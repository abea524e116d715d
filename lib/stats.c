/* SPDX-License-Identifier: MIT */
/*
 * stats.c - per-cache figures and the /proc/slabinfo table.
 *
 * Counters live with the structure whose lock guards them (per-CPU
 * counters in the CPU slots, depot counters in the depot, slab counters
 * in the slab pool) and are written with relaxed stores; this file only
 * reads and sums them.  Lists and object counts are read under their own
 * locks, one at a time, so a busy cache gives a close snapshot, not an
 * atomic one.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "magazine.h"
#include "os.h"
#include "report.h"
#include "slab.h"
#include "stats.h"

void us_stats_collect(struct kmem_cache *c, struct uslab_cache_stats *st)
{
	struct us_slab_counts sc;
	struct us_mag_counts mc;
	unsigned int version = st->version;

	memset(st, 0, sizeof(*st));
	st->version = version;
	memcpy(st->name, c->name, sizeof(st->name));
	st->object_size = c->object_size;
	st->size = c->size;
	st->align = c->align;
	st->objs_per_slab = c->objects;
	st->slab_size = c->slab_size;
	st->magazine_size = us_mag_capacity(c);

	us_mag_counts(c, &mc);
	st->cached_objs = us_mag_cached(c);
	us_slab_counts(c, &sc);
	st->slabs_partial = sc.partial;
	st->slabs_full = sc.full;
	st->slabs_empty = sc.empty;
	st->slabs = sc.partial + sc.full + sc.empty;
	st->num_objs = st->slabs * c->objects;
	st->active_objs = sc.inuse > st->cached_objs ? sc.inuse - st->cached_objs
						     : 0;
	st->alloc_fast = mc.alloc_fast;
	st->free_fast = mc.free_fast;
	st->allocs = mc.alloc_fast + mc.alloc_slow;
	st->frees = mc.free_fast + mc.free_slow;
	if (c->flags & US_CACHE_NOMAGAZINE) {
		/* Bootstrap caches go straight to their slabs. */
		st->allocs = us_stat_read(&c->slabs.refills);
		st->frees = us_stat_read(&c->slabs.flushes);
	}
	st->depot_full_taken = mc.depot_full_taken;
	st->depot_empty_taken = mc.depot_empty_taken;
	st->depot_contended = mc.depot_contended;
	st->slab_refills = us_stat_read(&c->slabs.refills);
	st->slab_flushes = us_stat_read(&c->slabs.flushes);
	st->slabs_grown = us_stat_read(&c->slabs.grown);
	st->slabs_reaped = us_stat_read(&c->slabs.reaped);
	st->alloc_failed = us_stat_read(&c->slabs.alloc_failed);
	st->bytes_mapped = st->slabs * c->slab_size;
	st->depot_reaped = mc.depot_reaped;
}

int uslab_cache_stats(struct kmem_cache *s, struct uslab_cache_stats *st)
{
	if (!s || !st || st->version != USLAB_CACHE_STATS_VERSION)
		return -EINVAL;
	us_stats_collect(s, st);
	return 0;
}

struct slabinfo_ctx {
	FILE *out;
	int err;
};

static void slabinfo_line(struct kmem_cache *c, void *arg)
{
	struct slabinfo_ctx *ctx = arg;
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	unsigned int limit;

	us_stats_collect(c, &st);
	limit = st.magazine_size;
	if (fprintf(ctx->out,
		    "%-17s %6llu %6llu %6u %4u %4u : tunables %4u %4u %4u : "
		    "slabdata %6llu %6llu %6u\n",
		    st.name, (unsigned long long)st.active_objs,
		    (unsigned long long)st.num_objs, st.size, st.objs_per_slab,
		    (unsigned int)(c->slab_size >> us_page_shift), limit,
		    limit / 2, 0u,
		    (unsigned long long)(st.slabs_partial + st.slabs_full),
		    (unsigned long long)st.slabs, 0u) < 0)
		ctx->err = -EIO;
}

int uslab_slabinfo(FILE *out)
{
	struct slabinfo_ctx ctx = { out, 0 };

	if (!out)
		return -EINVAL;
	if (fputs("slabinfo - version: 2.1\n"
		  "# name            <active_objs> <num_objs> <objsize> "
		  "<objperslab> <pagesperslab> : tunables <limit> <batchcount> "
		  "<sharedfactor> : slabdata <active_slabs> <num_slabs> "
		  "<sharedavail>\n",
		  out) < 0)
		return -EIO;
	us_cache_for_each(slabinfo_line, &ctx);
	if (fflush(out) != 0)
		ctx.err = -EIO;
	return ctx.err;
}
