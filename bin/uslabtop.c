/* SPDX-License-Identifier: MIT */
/*
 * uslabtop - slabtop(1) for a running process that uses uslab.
 *
 *   uslabtop -p PID [-d DELAY] [-s KEY] [-o]
 *
 * Reads the target's caches from outside with process_vm_readv(2),
 * starting from the uslab_anchor object of its libuslab (lib/anchor.h):
 * the target is not stopped, not signalled and not asked to publish
 * anything.  uslabtop must use the same libuslab file as the target,
 * since it reads the target's structures with its own idea of their
 * layout; it says so when they differ.
 *
 * The display and the sort keys are slabtop's.  Values are a close
 * snapshot of a process that keeps running while they are read.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBDW
#include <elfutils/libdwfl.h>
#endif

#include "anchor.h"
#include "tcache.h"
#include "types.h"

/* Bounds on walks of lists the target may change while we read them. */
#define MAX_CACHES 100000
#define MAX_MAGS 100000
#define MAX_THREADS 1000000


struct row {
	char name[USLAB_NAME_MAX + 1];
	unsigned long objs, active, slabs, active_slabs;
	unsigned int obj_size, per_slab, slab_size;
	unsigned long cache_kib;
	unsigned long depot_bytes;	/* objects in full depot magazines */
};

/* The page layer's figures (uslab_memory_stats()), read from the target. */
struct memory {
	uint64_t mapped, returned, reused, resident_free, large_cached;
};

struct target {
	pid_t pid;
	uintptr_t anchor;
	struct us_anchor a;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Read len bytes at addr in the target; 0 or an errno value. */
static int rread(const struct target *t, uintptr_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)addr, len };
	ssize_t n = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	return n < 0 ? errno : EFAULT;
}

static bool alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/*
 * The target's anchor: at the same offset from the base of the same
 * library file as ours.  0 with a message on failure.
 */
static int find_anchor(struct target *t)
{
	Dl_info self;
	struct stat st;
	char path[64], line[4096];
	FILE *maps;
	uintptr_t base = 0;
	bool other_uslab = false;
	void *lib, *anchor = NULL;

	/*
	 * Our libuslab's own uslab_anchor: looked up in the library, since
	 * a reference from this program would be to a copy of it here.
	 */
	if (dladdr((void *)kmem_cache_size, &self) && self.dli_fname &&
	    (lib = dlopen(self.dli_fname, RTLD_LAZY | RTLD_NOLOAD)) != NULL)
		anchor = dlsym(lib, "uslab_anchor");
	if (!anchor || stat(self.dli_fname, &st) != 0) {
		fprintf(stderr, "uslabtop: cannot find its own libuslab\n");
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->pid);
	maps = fopen(path, "r");
	if (!maps) {
		fprintf(stderr, "uslabtop: process %d: %s\n", (int)t->pid,
			errno == ENOENT ? "no such process" : strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi, off, ino;
		char perms[8], dev[16], file[4096] = "";

		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %4095s", &lo, &hi,
			   perms, &off, dev, &ino, file) < 6)
			continue;
		if (ino == (unsigned long)st.st_ino && off == 0 && !base &&
		    strstr(file, "libuslab.so")) {
			base = lo;
		} else if (strstr(file, "/libuslab.so")) {
			other_uslab = true;
		}
	}
	fclose(maps);
	if (!base) {
		if (other_uslab)
			fprintf(stderr, "uslabtop: process %d uses another "
				"build of libuslab than uslabtop's (%s); use "
				"the uslabtop installed with it\n", (int)t->pid,
				self.dli_fname);
		else
			fprintf(stderr, "uslabtop: process %d does not use "
				"libuslab\n", (int)t->pid);
		return -1;
	}
	t->anchor = base + ((uintptr_t)anchor - (uintptr_t)self.dli_fbase);
	errno = rread(t, t->anchor, &t->a, sizeof(t->a));
	if (errno) {
		fprintf(stderr, "uslabtop: cannot read process %d: %s%s\n",
			(int)t->pid, strerror(errno),
			errno == EPERM ? " (see ptrace(2), Yama's ptrace_scope)"
				       : "");
		return -1;
	}
	if (t->a.magic != US_ANCHOR_MAGIC ||
	    t->a.cache_size != sizeof(struct kmem_cache) ||
	    t->a.slot_size != sizeof(struct us_cpu_slot)) {
		fprintf(stderr, "uslabtop: process %d: libuslab's layout is not "
			"uslabtop's\n", (int)t->pid);
		return -1;
	}
	return 0;
}

static unsigned long mag_rounds(const struct target *t, uintptr_t m)
{
	struct us_mag mag;

	if (!m || rread(t, m, &mag, sizeof(mag)))
		return 0;
	return mag.rounds;
}

/*
 * The rounds of a slot's loaded magazine: while the slot is open (end
 * set), the sequences count them by its top, not the magazine's rounds
 * (types.h).
 */
static unsigned long loaded_rounds(const struct target *t,
				   const struct us_cpu_slot *slot)
{
	if (slot->end && slot->top >= slot->base && slot->top <= slot->end)
		return (unsigned long)(slot->top - slot->base);
	return mag_rounds(t, (uintptr_t)slot->loaded);
}

/*
 * Objects in every thread's slot `index` (tcache.h): the loaded
 * magazine's below top, and the previous one's, as their owner publishes
 * them; a list changing under the reader ends the walk.
 */
static unsigned long thread_cached(const struct target *t, uint32_t index)
{
	struct us_anchor_tcaches tc;
	struct us_list l;
	uintptr_t head;
	unsigned long n = 0;

	if (!index || index >= US_TCACHE_SLOTS || !t->a.tcaches ||
	    rread(t, (uintptr_t)t->a.tcaches, &tc, sizeof(tc)) ||
	    tc.tcache_size != sizeof(struct us_tcache) ||
	    tc.link_off != offsetof(struct us_tcache, link))
		return 0;
	head = (uintptr_t)tc.list;
	if (rread(t, head, &l, sizeof(l)))
		return 0;
	for (unsigned int k = 0; (uintptr_t)l.next != head && k < MAX_THREADS;
	     k++) {
		uintptr_t at = (uintptr_t)l.next - tc.link_off;
		struct us_tcache_slot s;

		if (rread(t, at + (uintptr_t)index * sizeof(s), &s,
			  sizeof(s)) ||
		    rread(t, (uintptr_t)l.next, &l, sizeof(l)))
			break;
		n += (unsigned long)us_tcache_slot_held(&s);
	}
	return n;
}

/*
 * Objects the cache at addr (already read into c) holds in magazines;
 * *in_depot gets those in its depot's full magazines.
 */
static unsigned long cached_objects(const struct target *t, uintptr_t addr,
				    const struct kmem_cache *c,
				    unsigned int nr_cpus,
				    unsigned long *in_depot)
{
	unsigned long n = 0, cpus;
	uintptr_t m = (uintptr_t)c->depot.full;

	*in_depot = 0;

	if (c->flags & (US_CACHE_NOMAGAZINE | US_CACHE_DEBUG))
		return 0;
	for (unsigned int i = 0; i < nr_cpus; i++) {
		struct us_cpu_slot slot;

		if (rread(t, addr + offsetof(struct kmem_cache, cpu) +
			     (uintptr_t)i * sizeof(slot), &slot, sizeof(slot)))
			break;
		n += loaded_rounds(t, &slot) +
		     mag_rounds(t, (uintptr_t)slot.prev);
	}
	n += thread_cached(t, c->tc_index);
	cpus = n;
	for (unsigned int k = 0; m && k < MAX_MAGS; k++) {
		struct us_mag mag;

		if (rread(t, m, &mag, sizeof(mag)))
			break;
		n += mag.rounds;
		m = (uintptr_t)mag.next;
	}
	*in_depot = n - cpus;
	return n;
}

/* The target's page-layer figures; zeros where they cannot be read. */
static void read_memory(const struct target *t, struct memory *mem)
{
	struct us_anchor_pages pages;
	uint64_t v[5];
	const void *at[5];

	memset(mem, 0, sizeof(*mem));
	if (!t->a.pages || rread(t, (uintptr_t)t->a.pages, &pages, sizeof(pages)))
		return;
	at[0] = pages.mapped;
	at[1] = pages.returned;
	at[2] = pages.resident_free;
	at[3] = pages.large_cached;
	at[4] = pages.large_reused;
	for (int i = 0; i < 5; i++)
		if (rread(t, (uintptr_t)at[i], &v[i], sizeof(v[i])))
			v[i] = 0;
	mem->mapped = v[0];
	mem->returned = v[1];
	mem->resident_free = v[2];
	mem->large_cached = v[3];
	mem->reused = v[4];
	if (!rread(t, (uintptr_t)pages.dirty_reused, &v[0], sizeof(v[0])))
		mem->reused += v[0];
}

/* Read every cache; the number of rows, or -1 if the target is gone. */
static long read_caches(const struct target *t, struct row **rows)
{
	uintptr_t head = (uintptr_t)t->a.cache_list;
	struct us_list l;
	unsigned int nr_cpus;
	size_t n = 0, cap = 0;

	if (rread(t, (uintptr_t)t->a.nr_cpus, &nr_cpus, sizeof(nr_cpus)) ||
	    rread(t, head, &l, sizeof(l)))
		return -1;
	for (unsigned int k = 0; (uintptr_t)l.next != head && k < MAX_CACHES;
	     k++) {
		uintptr_t addr = (uintptr_t)l.next -
				 offsetof(struct kmem_cache, link);
		struct kmem_cache c;
		struct row *r;
		unsigned long inuse, cached;

		if (rread(t, addr, &c, sizeof(c)))
			return alive(t->pid) ? (long)n : -1;
		l = c.link;
		if (n == cap) {
			struct row *more;

			cap = cap ? cap * 2 : 64;
			more = realloc(*rows, cap * sizeof(**rows));
			if (!more) {
				perror("uslabtop");
				exit(1);
			}
			*rows = more;
		}
		r = &(*rows)[n++];
		memset(r, 0, sizeof(*r));
		memcpy(r->name, c.name, sizeof(r->name));
		r->name[USLAB_NAME_MAX] = '\0';
		r->obj_size = c.size;
		r->per_slab = c.objects;
		r->slab_size = c.slab_size;
		r->slabs = c.slabs.nr_partial + c.slabs.nr_full + c.slabs.nr_empty;
		r->active_slabs = c.slabs.nr_partial + c.slabs.nr_full;
		r->objs = r->slabs * c.objects;
		inuse = c.slabs.inuse;
		cached = cached_objects(t, addr, &c, nr_cpus, &r->depot_bytes);
		r->depot_bytes *= c.size;
		r->active = inuse > cached ? inuse - cached : 0;
		if (r->active > r->objs)
			r->active = r->objs;	/* read mid-change */
		r->cache_kib = r->slabs * (unsigned long)c.slab_size / 1024;
	}
	return (long)n;
}

static char sort_key = 'o';

static unsigned int use_pct(const struct row *r)
{
	return r->objs ? (unsigned int)(r->active * 100 / r->objs) : 0;
}

static int compare(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	unsigned long x, y;

	switch (sort_key) {
	case 'a': x = a->active; y = b->active; break;
	case 'b': x = a->per_slab; y = b->per_slab; break;
	case 'c': x = a->cache_kib; y = b->cache_kib; break;
	case 'l': x = a->slabs; y = b->slabs; break;
	case 'v': x = a->active_slabs; y = b->active_slabs; break;
	case 'n': return strcmp(a->name, b->name);
	case 'p': x = a->slab_size; y = b->slab_size; break;
	case 's': x = a->obj_size; y = b->obj_size; break;
	case 'u': x = use_pct(a); y = use_pct(b); break;
	default: x = a->objs; y = b->objs; break;
	}
	if (x != y)
		return x < y ? 1 : -1;
	return strcmp(a->name, b->name);
}

static double pct(unsigned long part, unsigned long whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static double mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

static void show(struct row *rows, size_t n, size_t max_rows,
		 const struct memory *mem)
{
	unsigned long objs = 0, active = 0, slabs = 0, aslabs = 0, caches = 0;
	unsigned long depot = 0;
	double size = 0, asize = 0, min = 0, max = 0;

	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		double k = r->obj_size / 1024.0;

		objs += r->objs;
		active += r->active;
		slabs += r->slabs;
		aslabs += r->active_slabs;
		caches += r->active != 0;
		depot += r->depot_bytes;
		size += (double)r->objs * k;
		asize += (double)r->active * k;
		if (i == 0 || k < min)
			min = k;
		if (k > max)
			max = k;
	}
	printf(" Active / Total Objects (%% used)    : %lu / %lu (%.1f%%)\n",
	       active, objs, pct(active, objs));
	printf(" Active / Total Slabs (%% used)      : %lu / %lu (%.1f%%)\n",
	       aslabs, slabs, pct(aslabs, slabs));
	printf(" Active / Total Caches (%% used)     : %lu / %zu (%.1f%%)\n",
	       caches, n, pct(caches, n));
	printf(" Active / Total Size (%% used)       : %.2fK / %.2fK (%.1f%%)\n",
	       asize, size, size > 0 ? 100.0 * asize / size : 0.0);
	printf(" Minimum / Average / Maximum Object : %.2fK / %.2fK / %.2fK\n",
	       min, objs ? size / (double)objs : 0.0, max);
	printf(" Mapped / Returned / Reused (faults avoided) : %.1fM / %.1fM / "
	       "%.1fM (%llu)\n", mib(mem->mapped), mib(mem->returned),
	       mib(mem->reused), (unsigned long long)(mem->reused / 4096));
	printf(" Held free: slots / large blocks / depots    : %.1fM / %.1fM / "
	       "%.1fM\n\n", mib(mem->resident_free), mib(mem->large_cached),
	       mib(depot));
	printf("  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME\n");
	qsort(rows, n, sizeof(*rows), compare);
	for (size_t i = 0; i < n && i < max_rows; i++) {
		const struct row *r = &rows[i];

		printf("%6lu %6lu %3u%% %7.2fK %6lu %8u %9luK %s\n", r->objs,
		       r->active, use_pct(r), r->obj_size / 1024.0, r->slabs,
		       r->per_slab, r->cache_kib, r->name);
	}
}

/* ------------------------------------------- the allocinfo view (-a) */

struct site_row {
	long long bytes;
	unsigned long long calls;
	char name[256];
};

/* The target's mappings, to name a malloc caller's return address. */
struct mapping {
	uintptr_t lo, hi, off;
	char object[128];
};

static size_t read_mappings(pid_t pid, struct mapping *m, size_t max)
{
	char path[64], line[4096];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off, ino;
		char perms[8], dev[16], file[4096] = "", *base;

		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %4095s", &lo, &hi,
			   perms, &off, dev, &ino, file) < 7 || perms[2] != 'x')
			continue;
		base = strrchr(file, '/');
		m[n].lo = lo;
		m[n].hi = hi;
		m[n].off = off;
		snprintf(m[n].object, sizeof(m[n].object), "%s",
			 base ? base + 1 : file);
		n++;
	}
	fclose(f);
	return n;
}

/* "object+0xOFFSET", the object's file offset (for addr2line(1)). */
static void name_ra(uintptr_t ra, const struct mapping *m, size_t n,
		    char *out, size_t size)
{
	for (size_t i = 0; i < n; i++) {
		if (ra >= m[i].lo && ra < m[i].hi) {
			snprintf(out, size, "%s+0x%lx:0 func:unknown", m[i].object,
				 (unsigned long)(ra - m[i].lo + m[i].off));
			return;
		}
	}
	snprintf(out, size, "0x%lx:0 func:unknown", (unsigned long)ra);
}

#ifdef HAVE_LIBDW
/*
 * The target's modules, with their debug information where it can be
 * found (in the object, or beside it by build ID as Debian's -dbgsym
 * packages install it); NULL if the process cannot be read so.
 */
static Dwfl *dwarf_open(pid_t pid)
{
	static char *debuginfo_path;
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &debuginfo_path,
	};
	Dwfl *d = dwfl_begin(&callbacks);

	if (d && (dwfl_linux_proc_report(d, pid) != 0 ||
		  dwfl_report_end(d, NULL, NULL) != 0)) {
		dwfl_end(d);
		d = NULL;
	}
	return d;
}

/*
 * Name return address ra "file:line func:name" from the debug
 * information, or "object+0xOFFSET:0 func:symbol+0xOFFSET" from the
 * symbol table; false if neither knows it.  The line is the call's:
 * that of ra - 1, the call instruction's last byte.
 */
static bool name_ra_dwarf(Dwfl *d, uintptr_t ra, char *out, size_t size)
{
	Dwarf_Addr pc = (Dwarf_Addr)ra - 1, base = 0;
	Dwfl_Module *m = d ? dwfl_addrmodule(d, pc) : NULL;
	const char *file, *fn, *object, *slash;
	GElf_Off sym_off = 0;
	GElf_Sym sym;
	Dwfl_Line *l;
	int line = 0;

	if (!m)
		return false;
	fn = dwfl_module_addrinfo(m, pc, &sym_off, &sym, NULL, NULL, NULL);
	if ((l = dwfl_module_getsrc(m, pc)) != NULL &&
	    (file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL)) != NULL &&
	    line > 0) {
		snprintf(out, size, "%s:%d func:%s", file, line,
			 fn ? fn : "unknown");
		return true;
	}
	if (!fn)
		return false;
	object = dwfl_module_info(m, NULL, &base, NULL, NULL, NULL, NULL,
				  NULL);
	slash = object ? strrchr(object, '/') : NULL;
	snprintf(out, size, "%s+0x%lx:0 func:%s+0x%lx",
		 slash ? slash + 1 : object ? object : "unknown",
		 (unsigned long)(ra - base), fn, (unsigned long)sym_off + 1);
	return true;
}
#endif

/*
 * The figures of every site of the target below tg->other + 1 (anchor.h):
 * its large blocks' pairs, and the objects its vectors count.  0, or -1
 * if they cannot be read or held.
 */
static int read_figures(const struct target *t, const struct us_anchor_tags *tg,
			int64_t *bytes, uint64_t *calls)
{
	uintptr_t counters = 0, vectors = 0;
	size_t used = 0, n = (size_t)tg->other + 1;
	uint64_t (*pairs)[2];
	char *region;
	int err;

	if (rread(t, (uintptr_t)tg->counters, &counters, sizeof(counters)) ||
	    rread(t, (uintptr_t)tg->vectors, &vectors, sizeof(vectors)) ||
	    rread(t, (uintptr_t)tg->vectors_used, &used, sizeof(used)) ||
	    !(pairs = malloc(n * sizeof(*pairs))))
		return -1;
	err = rread(t, counters, pairs, n * sizeof(*pairs));
	for (size_t id = 0; !err && id < n; id++) {
		bytes[id] = (int64_t)pairs[id][0];
		calls[id] = pairs[id][1];
	}
	free(pairs);
	if (err || !(region = malloc(used ? used : 1)))
		return -1;
	/* The region as it is now: the tail carved since is not summed. */
	err = rread(t, vectors, region, used);
	if (!err)
		us_tag_vectors_sum(region, used, bytes, calls, (uint32_t)n);
	free(region);
	return err ? -1 : 0;
}

/*
 * The target's allocation sites with their figures (anchor.h); their
 * number, 0 while the target does not count, -1 if it cannot be read.
 */
static long read_sites(const struct target *t, struct site_row **out)
{
	static struct mapping maps[4096];
	struct us_anchor_tags tg;
	uintptr_t sites = 0;
	uint32_t last = 0;
	size_t nmaps, cap = 0;
	int64_t *bytes = NULL;
	uint64_t *calls = NULL;
	long n = 0;
	char *rec = NULL;
#ifdef HAVE_LIBDW
	Dwfl *dw = NULL;
#endif

	if (!t->a.tags || rread(t, (uintptr_t)t->a.tags, &tg, sizeof(tg)) ||
	    rread(t, (uintptr_t)tg.sites, &sites, sizeof(sites)))
		return -1;
	if (!sites)
		return 0;
	if (rread(t, (uintptr_t)tg.nsites, &last, sizeof(last)) ||
	    tg.text_off >= tg.site_size || !(rec = malloc(tg.site_size)) ||
	    !(bytes = calloc((size_t)tg.other + 1, sizeof(*bytes))) ||
	    !(calls = calloc((size_t)tg.other + 1, sizeof(*calls))) ||
	    read_figures(t, &tg, bytes, calls)) {
		n = -1;
		goto out;
	}
	nmaps = read_mappings(t->pid, maps, sizeof(maps) / sizeof(maps[0]));
#ifdef HAVE_LIBDW
	dw = dwarf_open(t->pid);
#endif
	for (uint32_t id = 1; id <= last + 1 && id < tg.other + 1; id++) {
		uint32_t at = id == last + 1 ? tg.other : id;
		struct site_row *r;
		uintptr_t ra;

		if ((size_t)n == cap) {
			struct site_row *more;

			cap = cap ? 2 * cap : 256;
			if (!(more = realloc(*out, cap * sizeof(*more)))) {
				n = -1;
				goto out;
			}
			*out = more;
		}
		r = &(*out)[n];
		r->bytes = bytes[at];
		r->calls = calls[at];
		if (at == tg.other && !r->bytes && !r->calls)
			break;
		if (rread(t, sites + (uintptr_t)at * tg.site_size, rec,
			  tg.site_size))
			continue;
		rec[tg.site_size - 1] = '\0';
		memcpy(&ra, rec + tg.ra_off, sizeof(ra));
		if (ra) {
#ifdef HAVE_LIBDW
			if (!name_ra_dwarf(dw, ra, r->name, sizeof(r->name)))
#endif
				name_ra(ra, maps, nmaps, r->name,
					sizeof(r->name));
		} else
			snprintf(r->name, sizeof(r->name), "%s", rec + tg.text_off);
		n++;
	}
out:
#ifdef HAVE_LIBDW
	if (dw)
		dwfl_end(dw);
#endif
	free(rec);
	free(bytes);
	free(calls);
	return n;
}

static int by_bytes(const void *pa, const void *pb)
{
	const struct site_row *a = pa, *b = pb;

	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	return a->calls < b->calls ? 1 : a->calls > b->calls ? -1 : 0;
}

static void show_sites(pid_t pid, struct site_row *r, size_t n,
		       size_t max_rows)
{
	long long bytes = 0;
	unsigned long long calls = 0;

	for (size_t i = 0; i < n; i++) {
		bytes += r[i].bytes;
		calls += r[i].calls;
	}
	printf(" Allocation sites of process %d     : %zu\n", (int)pid, n);
	printf(" Bytes held / live allocations      : %.2fK / %llu\n\n",
	       (double)bytes / 1024.0, calls);
	printf("      <size>  <calls> <tag info>\n");
	qsort(r, n, sizeof(*r), by_bytes);
	for (size_t i = 0; i < n && i < max_rows; i++)
		printf("%12lld %8llu %s\n", r[i].bytes, r[i].calls, r[i].name);
}

/*
 * The log of -l: appended to, with a header line when it is new; each
 * refresh adds a line per site, "SECONDS\tBYTES\tCALLS\tSITE", SECONDS
 * of the clock (CLOCK_REALTIME), so that the logs of several runs
 * append in order.
 */
static FILE *open_log(const char *path)
{
	FILE *f = fopen(path, "a");

	if (!f) {
		fprintf(stderr, "uslabtop: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (ftell(f) == 0)
		fprintf(f, "# uslabtop -a log: seconds\tbytes\tcalls\tsite\n");
	return f;
}

/* One refresh's sites to the log; 0, or -1 with errno. */
static int log_sites(FILE *f, const struct site_row *r, size_t n)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%lld.%03ld\t%lld\t%llu\t%s\n", (long long)now.tv_sec,
			now.tv_nsec / 1000000, r[i].bytes, r[i].calls,
			r[i].name);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: uslabtop -p PID [-d DELAY] [-s KEY] [-a [-l LOG]] [-o]\n"
		"  -p, --pid PID      the process to watch\n"
		"  -d, --delay SECS   seconds between refreshes (default 3)\n"
		"  -s, --sort KEY     a active objects, b objects per slab,\n"
		"                     c cache size, l slabs, v active slabs,\n"
		"                     n name, o objects (default), p slab size,\n"
		"                     s object size, u use\n"
		"  -a, --allocinfo    the allocation sites by bytes held\n"
		"                     (USLAB_ALLOCINFO), not the caches\n"
		"  -l, --log LOG      with -a, append each refresh's sites to\n"
		"                     LOG, for uslab-allocplot(1)\n"
		"  -o, --once         print once and exit\n"
		"  -h, --help         this text\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "delay", required_argument, NULL, 'd' },
		{ "sort", required_argument, NULL, 's' },
		{ "once", no_argument, NULL, 'o' },
		{ "allocinfo", no_argument, NULL, 'a' },
		{ "log", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct target t = { 0 };
	struct row *rows = NULL;
	struct site_row *sites = NULL;
	double delay = 3;
	bool once = false, allocinfo = false;
	const char *log_path = NULL;
	FILE *log = NULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "p:d:s:oal:h", longopts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'p':
			t.pid = (pid_t)strtol(optarg, &end, 10);
			if (*end || t.pid <= 0) {
				fprintf(stderr, "uslabtop: bad PID '%s'\n", optarg);
				return 2;
			}
			break;
		case 'd':
			delay = strtod(optarg, &end);
			if (*end || !(delay > 0) || delay > 86400) {
				fprintf(stderr, "uslabtop: bad delay '%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (strlen(optarg) != 1 || !strchr("abclvnpsuo", optarg[0])) {
				fprintf(stderr, "uslabtop: bad sort key '%s'\n",
					optarg);
				usage(stderr);
				return 2;
			}
			sort_key = optarg[0];
			break;
		case 'o':
			once = true;
			break;
		case 'a':
			allocinfo = true;
			break;
		case 'l':
			log_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!t.pid || optind < argc || (log_path && !allocinfo)) {
		usage(stderr);
		return 2;
	}
	if (find_anchor(&t) != 0)
		return 1;
	if (log_path && !(log = open_log(log_path)))
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (;;) {
		long n = read_caches(&t, &rows);
		struct memory mem;
		size_t max_rows = (size_t)-1;
		struct winsize ws;
		struct timespec ts;

		if (n < 0) {
			printf("uslabtop: process %d has exited\n", (int)t.pid);
			break;
		}
		if (!once && isatty(STDOUT_FILENO) &&
		    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 11)
			max_rows = ws.ws_row - 10u;
		if (!once)
			printf("\033[H\033[2J");
		if (allocinfo) {
			long ns = read_sites(&t, &sites);

			if (ns < 0) {
				printf("uslabtop: process %d has exited\n",
				       (int)t.pid);
				break;
			}
			if (ns == 0)
				printf("uslabtop: process %d counts no "
				       "allocation sites (USLAB_ALLOCINFO, "
				       "uslab_allocinfo_enable())\n",
				       (int)t.pid);
			else
				show_sites(t.pid, sites, (size_t)ns, max_rows);
			if (log && ns > 0 && log_sites(log, sites, (size_t)ns)) {
				fprintf(stderr, "uslabtop: %s: %s\n", log_path,
					strerror(errno));
				return 1;
			}
		} else {
			read_memory(&t, &mem);
			show(rows, (size_t)n, max_rows, &mem);
		}
		fflush(stdout);
		if (once || stop)
			break;
		ts.tv_sec = (time_t)delay;
		ts.tv_nsec = (long)((delay - (double)ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) != 0 && !stop)
			;
		if (stop)
			break;
	}
	free(rows);
	free(sites);
	return 0;
}
