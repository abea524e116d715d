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
 *
 * Lines are formatted with report.c's formatter, not stdio, so that the
 * USLAB_STATS report can run at exit, after stdio may be gone, and when
 * uslab is the process's malloc.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "callout.h"
#include "chunk.h"
#include "magazine.h"
#include "options.h"
#include "os.h"
#include "report.h"
#include "slab.h"
#include "stats.h"
#include "tcache.h"

/*
 * The event counters, in one list (as SLUB's enum stat_item): collect()
 * fills struct uslab_cache_stats from it, and the USLAB_STATS line
 * prints it.  X(field of struct uslab_cache_stats, label in the
 * USLAB_STATS line, value from mc, the magazine counts, sc, the slab
 * counts, and nomag, for the bootstrap caches, which have no magazines
 * and count at their slabs).  A new counter is a line here, a field in
 * <uslab.h>, and whatever counts it.
 */
#define US_COUNTERS(X)                                                      \
	X(allocs, "allocs", nomag ? sc.refills : mc.alloc_fast + mc.alloc_slow) \
	X(frees, "frees", nomag ? sc.flushes : mc.free_fast + mc.free_slow)   \
	X(alloc_fast, "alloc_fast", mc.alloc_fast)                            \
	X(free_fast, "free_fast", mc.free_fast)                               \
	X(depot_full_taken, "depot_full", mc.depot_full_taken)                \
	X(depot_empty_taken, "depot_empty", mc.depot_empty_taken)             \
	X(depot_contended, "depot_contended", mc.depot_contended)             \
	X(depot_reaped, "depot_reaped", mc.depot_reaped)                      \
	X(slab_refills, "refills", sc.refills)                                \
	X(slab_flushes, "flushes", sc.flushes)                                \
	X(slabs_grown, "grown", sc.grown)                                     \
	X(slabs_reaped, "reaped", sc.reaped)                                  \
	X(alloc_failed, "failed", sc.alloc_failed)

/*
 * Where the restartable sequences run, their pops count nowhere (rseq.h):
 * an allocation is derived as a free or an object still out with its
 * caller.  Slots without sequences keep the sentinel (debug caches) or
 * have none (the bootstrap caches), and count every call.
 */
static bool allocs_derived(const struct kmem_cache *c)
{
	return us_mag_slots_live() &&
	       !(c->flags & (US_CACHE_NOMAGAZINE | US_CACHE_DEBUG));
}

/*
 * The allocations served from a magazine: all of them, frees plus those
 * out, less the slow ones.  Read without stopping the CPUs, a busy
 * cache's sum can come out below the slow count for a moment.
 */
static uint64_t derive_alloc_fast(const struct us_mag_counts *mc,
				  uint64_t out)
{
	uint64_t allocs = mc->free_fast + mc->free_slow + out;

	return allocs > mc->alloc_slow ? allocs - mc->alloc_slow : 0;
}

/* Fill st (version already checked) from c's counters and lists. */
static void collect(struct kmem_cache *c, struct uslab_cache_stats *st)
{
	struct us_slab_counts sc;
	struct us_mag_counts mc;
	unsigned int version = st->version;
	bool nomag = c->flags & US_CACHE_NOMAGAZINE;

	memset(st, 0, sizeof(*st));
	st->version = version;
	memcpy(st->name, c->name, sizeof(st->name));
	st->object_size = c->object_size;
	st->size = c->size;
	st->align = c->align;
	st->objs_per_slab = c->objects;
	st->slab_size = c->slab_size;
	st->magazine_size = us_mag_capacity(c);

	us_tcache_count_mine(c);
	us_mag_counts(c, &mc);
	st->cached_objs = us_mag_cached(c) + us_tcache_cached(c);
	us_slab_counts(c, &sc);
	st->slabs_partial = sc.partial;
	st->slabs_full = sc.full;
	st->slabs_empty = sc.empty;
	st->slabs = sc.partial + sc.full + sc.empty;
	st->num_objs = st->slabs * c->objects;
	st->active_objs = sc.inuse > st->cached_objs ? sc.inuse - st->cached_objs
						     : 0;
	st->bytes_mapped = st->slabs * c->slab_size;
	if (allocs_derived(c))
		mc.alloc_fast = derive_alloc_fast(&mc, st->active_objs);
#define US_COUNTER_COLLECT(field, label, value) st->field = (value);
	US_COUNTERS(US_COUNTER_COLLECT)
#undef US_COUNTER_COLLECT
}

int uslab_cache_stats(struct kmem_cache *s, struct uslab_cache_stats *st)
{
	if (!s || !st || st->version != USLAB_CACHE_STATS_VERSION)
		return -EINVAL;
	collect(s, st);
	return 0;
}

static void add_depot_bytes(struct kmem_cache *c, void *arg)
{
	if (!(c->flags & US_CACHE_NOMAGAZINE))
		*(uint64_t *)arg += us_mag_depot_bytes(c);
}

int uslab_memory_stats(struct uslab_memory_stats *st)
{
	uint64_t depot = 0;

	if (!st || st->version != USLAB_MEMORY_STATS_VERSION)
		return -EINVAL;
	us_init();
	us_cache_for_each(add_depot_bytes, &depot);
	st->bytes_mapped = us_chunk_mapped_bytes();
	st->bytes_returned = us_chunk_returned_bytes();
	st->bytes_reused = us_chunk_reused_bytes() +
			   us_chunk_dirty_reused_bytes();
	st->faults_avoided = st->bytes_reused >> us_page_shift;
	st->resident_free_bytes = us_chunk_resident_free_bytes();
	st->large_cached_bytes = us_chunk_large_cached_bytes();
	st->depot_bytes = depot;
	return 0;
}

static const char slabinfo_header[] =
	"slabinfo - version: 2.1\n"
	"# name            <active_objs> <num_objs> <objsize> <objperslab> "
	"<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : "
	"slabdata <active_slabs> <num_slabs> <sharedavail>\n";

/* A cache's /proc/slabinfo line, with no stdio. */
static void format_slabinfo(char *buf, size_t size, struct kmem_cache *c,
			    const struct uslab_cache_stats *st)
{
	char name[USLAB_NAME_MAX + 2];
	size_t n;

	/* "%-17s" by hand: the formatter pads numbers only. */
	n = us_format(name, sizeof(name), "%s", st->name);
	for (; n < 17; n++)
		name[n] = ' ';
	name[n < sizeof(name) ? n : sizeof(name) - 1] = '\0';
	us_format(buf, size,
		  "%s %6llu %6llu %6u %4u %4u : tunables %4u %4u %4u : "
		  "slabdata %6llu %6llu %6u\n",
		  name, (unsigned long long)st->active_objs,
		  (unsigned long long)st->num_objs, st->size, st->objs_per_slab,
		  (unsigned int)(c->slab_size >> us_page_shift),
		  st->magazine_size, st->magazine_size / 2, 0u,
		  (unsigned long long)(st->slabs_partial + st->slabs_full),
		  (unsigned long long)st->slabs, 0u);
}

/* Format a cache's line into arg, a char[SLABINFO_LINE]; list lock held. */
#define SLABINFO_LINE 256

static void slabinfo_line(struct kmem_cache *c, void *arg)
{
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };

	collect(c, &st);
	format_slabinfo(arg, SLABINFO_LINE, c, &st);
}

int uslab_slabinfo(FILE *out)
{
	char line[SLABINFO_LINE];
	uint64_t pos = 0;
	int err = 0;

	if (!out)
		return -EINVAL;
	/*
	 * The stream is the caller's: writing may allocate (a buffer, an
	 * open_memstream()) or run the caller's code (fopencookie()), so
	 * each line is formatted under the list lock and written without
	 * it (callout.h).
	 */
	us_callout(US_CALLOUT_STDIO, NULL);
	if (fputs(slabinfo_header, out) < 0)
		return -EIO;
	while (us_cache_visit_next(&pos, slabinfo_line, line)) {
		us_callout(US_CALLOUT_STDIO, NULL);
		if (fputs(line, out) < 0)
			err = -EIO;
	}
	if (fflush(out) != 0)
		err = -EIO;
	return err;
}

/* ------------------------------------------------------ USLAB_STATS */


static void report_slabinfo(struct kmem_cache *c, void *arg)
{
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	char line[256];

	collect(c, &st);
	format_slabinfo(line, sizeof(line), c, &st);
	us_write_all(*(int *)arg, line);
}

static void report_counters(struct kmem_cache *c, void *arg)
{
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	char line[512];
	size_t n;

	collect(c, &st);
	if (st.allocs == 0 && st.slabs_grown == 0)
		return;
	n = us_format(line, sizeof(line), "%s", st.name);
	/* us_format() counts what did not fit: stop appending there. */
#define US_COUNTER_FORMAT(field, label, value)                              \
	if (n < sizeof(line))                                                \
		n += us_format(line + n, sizeof(line) - n, " " label "=%llu", \
			       (unsigned long long)st.field);
	US_COUNTERS(US_COUNTER_FORMAT)
#undef US_COUNTER_FORMAT
	if (n < sizeof(line))
		us_format(line + n, sizeof(line) - n,
			  " bytes=%llu returned=%llu\n",
			  (unsigned long long)st.bytes_mapped,
			  (unsigned long long)st.slabs_reaped * st.slab_size);
	us_write_all(*(int *)arg, line);
}


/* A private copy of stderr, taken at start-up: programs close fd 2. */
static int report_fd = -1;

void us_stats_init(void)
{
	if (strcmp(us_options.stats, "1") == 0)
		report_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 10);
}

void us_stats_report(void)
{
	struct uslab_memory_stats mem = { .version = USLAB_MEMORY_STATS_VERSION };
	const char *where = us_options.stats;
	char line[384];
	int fd = report_fd;

	if (!where[0] || !atomic_load(&us_initialized) ||
	    !us_report_has_place(where, fd))
		return;
	if ((fd = us_report_open("USLAB_STATS", where, fd)) < 0)
		return;
	us_format(line, sizeof(line), "# uslab statistics of process %d\n",
		  (int)getpid());
	us_write_all(fd, line);
	us_write_all(fd, slabinfo_header);
	us_cache_for_each(report_slabinfo, &fd);
	us_write_all(fd, "# counters\n");
	us_cache_for_each(report_counters, &fd);
	if (uslab_memory_stats(&mem) == 0) {
		us_format(line, sizeof(line),
			  "# mapped bytes %llu\n# returned bytes %llu\n"
			  "# reused bytes %llu (page faults avoided %llu)\n"
			  "# held: resident free slots %llu, large-block cache "
			  "%llu, depots %llu bytes\n",
			  (unsigned long long)mem.bytes_mapped,
			  (unsigned long long)mem.bytes_returned,
			  (unsigned long long)mem.bytes_reused,
			  (unsigned long long)mem.faults_avoided,
			  (unsigned long long)mem.resident_free_bytes,
			  (unsigned long long)mem.large_cached_bytes,
			  (unsigned long long)mem.depot_bytes);
		us_write_all(fd, line);
	}
	close(fd);
}
