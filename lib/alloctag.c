/* SPDX-License-Identifier: MIT */
/*
 * alloctag.c - memory allocation profiling; see alloctag.h.
 *
 * Four regions, each mapped whole the first time counting is turned on
 * and given pages by the kernel as they are touched:
 *
 *   sites     SITES_MAX records of SITE_BYTES: the tag and its text.
 *   counters  SITES_MAX {bytes, calls} pairs: the large blocks' figures,
 *             added to atomically (large blocks are never a fast path).
 *   vectors   VECTOR_BYTES, cut into power-of-two blocks from 64 bytes
 *             (anchor.h has their layout), a free list per size; a
 *             vector's handle is its offset / 8, so never 0 (the first
 *             block is not handed out).
 *   ra_sites  the malloc callers' return addresses, hashed to sites.
 *
 * Slab objects have no counters: a slab object's site number in its
 * slab's vector is the count.  Counting one is a store, and debiting it
 * a load and a store, with no atomic instruction, no shared line and no
 * chain of read-modify-writes between a pair's two ends (a per-CPU or
 * per-thread counter's adds, which cost 2 to 3 times the pair they
 * count, make bench-allocinfo).  A reading sums the vectors, which costs
 * time in proportion to the tagged slabs' objects (4 bytes each) and is
 * done rarely.
 *
 * Site 1 is "untagged"; site numbers are 32 bits in a vector, but at
 * most SITES_MAX - 1 sites are counted: the rest count to the last one,
 * "other sites", with one message.  Out of vector memory, an object goes
 * uncounted, also with one message.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uslab.h>

#include "alloctag.h"
#include "anchor.h"
#include "cache.h"
#include "callout.h"
#include "chunk.h"
#include "failslab.h"
#include "lock.h"
#include "options.h"
#include "os.h"
#include "report.h"
#include "slab.h"

#define SITES_MAX (1u << 16)
#define SITE_BYTES 256u
#define VECTOR_BYTES ((size_t)1 << 30)
#define VECTOR_MIN_SHIFT 6
#define VECTOR_CLASSES US_TAG_VECTOR_CLASSES
#define RA_SLOTS (SITES_MAX * 2)	/* open addressing, at most half full */

struct site {
	const struct alloc_tag *tag;	/* NULL for the sites uslab names */
	const void *ra;			/* a malloc caller's site: its address */
	char text[SITE_BYTES - 2 * sizeof(void *)]; /* "file:line func:name" */
};

/* A return address's site (ra_sites); ra is published last. */
struct ra_slot {
	_Atomic uintptr_t ra;
	_Atomic uint32_t id;
	uint32_t unused;
};

struct pair {
	_Atomic uint64_t bytes;		/* signed, wrapping */
	_Atomic uint64_t calls;
};

_Static_assert(US_TAG_VECTOR_MIN == 1u << VECTOR_MIN_SHIFT,
	       "anchor.h's smallest vector is this one");

/* What a reading sums (sums()), in memory mapped for it. */
struct sums {
	int64_t bytes[SITES_MAX];
	uint64_t calls[SITES_MAX];
};

/* Exported (the version script names it): the callers' macros set it. */
__thread struct alloc_tag *uslab_current_alloc_tag
	__attribute__((tls_model("initial-exec"), visibility("default")));

_Atomic uint32_t us_tag_state;

static struct us_lock tag_lock US_FORK_STATE = US_LOCK_INIT;
static _Atomic(struct site *) sites;		/* [tag_lock] to set */
static struct pair *counters;			/* [tag_lock] to set */
static struct ra_slot *ra_sites;		/* [tag_lock] to set, add */
char *us_tag_vectors;				/* [tag_lock] to set */
static _Atomic uint32_t nsites;			/* [tag_lock] to add */
static _Atomic size_t vectors_used;		/* [tag_lock] to add */
static uint32_t vector_free[VECTOR_CLASSES];	/* [tag_lock] handles */
static bool sites_full_said, vectors_full_said;	/* [tag_lock] */
static int report_fd = -1;			/* USLAB_ALLOCINFO=exit */

#define SITE_UNTAGGED 1u
#define SITE_OTHER (SITES_MAX - 1)

/* ---------------------------------------------------------- regions */

static struct site *site_at(struct site *base, uint32_t id)
{
	return &base[id];
}

/* Name a site of uslab's own; tag_lock held, regions mapped. */
static void name_site(struct site *base, uint32_t id, const char *text)
{
	us_format(site_at(base, id)->text, sizeof(base->text), "%s", text);
}

/*
 * Map the three regions, once; tag_lock held.  Returns the sites, or
 * NULL (errno ENOMEM) if a region could not be mapped.
 */
static struct site *regions(void)
{
	struct site *base = atomic_load_explicit(&sites, memory_order_relaxed);

	if (base)
		return base;
	if (!counters)
		counters = us_os_map_aligned(SITES_MAX * sizeof(struct pair),
					     us_page_size, 0);
	if (!us_tag_vectors)
		us_tag_vectors = us_os_map_aligned(VECTOR_BYTES, us_page_size, 0);
	if (!ra_sites)
		ra_sites = us_os_map_aligned(RA_SLOTS * sizeof(struct ra_slot),
					     us_page_size, 0);
	if (!counters || !us_tag_vectors || !ra_sites)
		return NULL;
	base = us_os_map_aligned((size_t)SITES_MAX * SITE_BYTES, us_page_size,
				 0);
	if (!base)
		return NULL;
	atomic_store_explicit(&vectors_used, US_TAG_VECTOR_MIN,	/* handle 0 */
			      memory_order_relaxed);
	name_site(base, SITE_UNTAGGED, "untagged:0 func:untagged");
	name_site(base, SITE_OTHER, "other-sites:0 func:other_sites");
	atomic_store_explicit(&nsites, SITE_UNTAGGED, memory_order_relaxed);
	atomic_store_explicit(&sites, base, memory_order_release);
	return base;
}

/* ------------------------------------------------------------ sites */

/* The number of tag's site, registering it first; 0 if impossible. */
US_COLD static uint32_t site_register(struct alloc_tag *tag)
{
	uint32_t id;
	bool say = false;

	us_lock(&tag_lock);
	id = (uint32_t)atomic_load_explicit(
		(_Atomic unsigned long *)&tag->uslab_site, memory_order_relaxed);
	if (!id) {
		struct site *base = regions();
		uint32_t n = atomic_load_explicit(&nsites, memory_order_relaxed);

		if (!base) {
			us_unlock(&tag_lock);
			return 0;
		}
		if (n + 1 >= SITE_OTHER) {
			id = SITE_OTHER;
			say = !sites_full_said;
			sites_full_said = true;
		} else {
			const struct codetag *ct = &tag->ct;
			struct site *s = site_at(base, id = n + 1);

			s->tag = tag;
			if (ct->modname)
				us_format(s->text, sizeof(s->text),
					  "%s:%u [%s] func:%s", ct->filename,
					  ct->lineno, ct->modname,
					  ct->function);
			else
				us_format(s->text, sizeof(s->text),
					  "%s:%u func:%s", ct->filename,
					  ct->lineno, ct->function);
			atomic_store_explicit(&nsites, id,
					      memory_order_release);
		}
		atomic_store_explicit((_Atomic unsigned long *)&tag->uslab_site,
				      id, memory_order_release);
	}
	us_unlock(&tag_lock);
	if (say)
		us_report("allocinfo: %u allocation sites counted; the "
			  "others count as one", SITE_OTHER - 2);
	return id;
}

/* The site the calling thread's allocation counts to; 0: none. */
static inline uint32_t current_site(void)
{
	struct alloc_tag *tag = uslab_current_alloc_tag;
	uint32_t id;

	if (!tag)
		return SITE_UNTAGGED;	/* the regions are there: counting */
	if (tag == US_TAG_NONE)
		return 0;
	id = (uint32_t)atomic_load_explicit(
		(_Atomic unsigned long *)&tag->uslab_site, memory_order_acquire);
	return id ? id : site_register(tag);
}

/* --------------------------------------------------------- counters */

/* A large block's count. */
static void count(uint32_t id, int64_t bytes, int64_t calls)
{
	atomic_fetch_add_explicit(&counters[id].bytes, (uint64_t)bytes,
				  memory_order_relaxed);
	if (calls)
		atomic_fetch_add_explicit(&counters[id].calls, (uint64_t)calls,
					  memory_order_relaxed);
}

/*
 * Every site's figures, in memory mapped for them (us_os_unmap() them);
 * NULL with no memory.  Regions mapped.
 */
static struct sums *sums(void)
{
	struct sums *t = us_os_map_aligned(sizeof(*t), us_page_size, 0);
	uint32_t n = atomic_load_explicit(&nsites, memory_order_acquire);

	if (!t)
		return NULL;
	us_tag_vectors_sum(us_tag_vectors, atomic_load_explicit(&vectors_used,
							 memory_order_acquire),
			   t->bytes, t->calls, SITES_MAX);
	/* The large blocks' counters of the sites there are, and "other". */
	for (uint32_t id = 1; id <= n + 1; id++) {
		uint32_t at = id == n + 1 ? SITE_OTHER : id;

		t->bytes[at] += (int64_t)atomic_load_explicit(
			&counters[at].bytes, memory_order_relaxed);
		t->calls[at] += atomic_load_explicit(&counters[at].calls,
						     memory_order_relaxed);
	}
	return t;
}

/* ---------------------------------------------------------- vectors */

static unsigned int vector_class(uint32_t objects)
{
	size_t bytes = sizeof(struct us_tag_vector_head) +
		       (size_t)objects * sizeof(uint32_t);
	unsigned int k = 0;

	while (((size_t)1 << (VECTOR_MIN_SHIFT + k)) < bytes)
		k++;
	return k;
}

static inline struct us_tag_vector_head *vector_head(uint32_t handle)
{
	return (struct us_tag_vector_head *)(void *)(us_tag_vectors +
						     (size_t)handle * 8);
}


/*
 * A zeroed vector for a slab of `objects` of `size` bytes; 0 if none is
 * left.  A block carved is given its class before the bytes carved
 * include it, so that a reader walking the region finds it (anchor.h).
 */
static uint32_t vector_get(uint32_t objects, uint32_t size)
{
	unsigned int k = vector_class(objects);
	size_t bytes = (size_t)1 << (VECTOR_MIN_SHIFT + k);
	struct us_tag_vector_head *head;
	uint32_t h = 0;
	bool say = false;

	if (k >= VECTOR_CLASSES)
		return 0;
	us_lock(&tag_lock);
	if ((h = vector_free[k]) != 0) {
		vector_free[k] = vector_head(h)->next;
	} else {
		/* Blocks of one size are aligned to it: no straddling. */
		size_t at = (atomic_load_explicit(&vectors_used,
						  memory_order_relaxed) +
			     bytes - 1) & ~(bytes - 1);

		if (at + bytes <= VECTOR_BYTES) {
			h = (uint32_t)(at / 8);
			__atomic_store_n(&vector_head(h)->klass, k + 1,
					 __ATOMIC_RELAXED);
			atomic_store_explicit(&vectors_used, at + bytes,
					      memory_order_release);
		} else {
			say = !vectors_full_said;
			vectors_full_said = true;
		}
	}
	us_unlock(&tag_lock);
	if (!h) {
		if (say)
			us_report("allocinfo: %zu MiB of object tags in use: "
				  "objects of new slabs go uncounted",
				  VECTOR_BYTES >> 20);
		return 0;
	}
	head = vector_head(h);
	for (uint32_t i = 0; i < (bytes - sizeof(*head)) / sizeof(uint32_t); i++)
		us_tag_vector_set(h, i, 0);
	__atomic_store_n(&head->size, size, __ATOMIC_RELAXED);
	__atomic_store_n(&head->objects, objects, __ATOMIC_RELEASE);
	return h;
}

static void vector_put(uint32_t handle)
{
	struct us_tag_vector_head *head = vector_head(handle);

	__atomic_store_n(&head->objects, 0, __ATOMIC_RELAXED);
	us_lock(&tag_lock);
	head->next = vector_free[head->klass - 1];
	vector_free[head->klass - 1] = handle;
	us_unlock(&tag_lock);
}

/* A vector for slab, which has none; 0 if none could be made. */
US_COLD static uint32_t slab_vector_make(struct kmem_cache *c,
					 struct us_slab *slab)
{
	uint32_t h, none = 0;

	if (!(h = vector_get(slab->objects, c->size)))
		return 0;
	if (!atomic_compare_exchange_strong_explicit(&slab->tags, &none, h,
						     memory_order_acq_rel,
						     memory_order_acquire)) {
		vector_put(h);	/* another thread's won */
		return none;
	}
	if (atomic_load_explicit(&c->free_gate, memory_order_relaxed))
		atomic_store_explicit(&c->free_gate, 0, memory_order_relaxed);
	return h;
}

/* slab's vector, made if it has none; 0 if none could be. */
static inline uint32_t slab_vector(struct kmem_cache *c, struct us_slab *slab)
{
	uint32_t h = atomic_load_explicit(&slab->tags, memory_order_acquire);

	return likely(h) ? h : slab_vector_make(c, slab);
}

/* ------------------------------------------------------------ hooks */

/*
 * Count obj of c to site id: its number in its slab's vector, a plain
 * store (a reader on another thread reads it with a 32-bit load).
 */
static inline void slab_count(struct kmem_cache *c, void *obj, uint32_t id)
{
	struct us_slab *slab = us_chunk_slab(us_chunk_of(obj), obj);
	uint32_t h;

	if ((h = slab_vector(c, slab)) != 0)
		us_tag_vector_set(h, us_slab_obj_index(c, slab, obj), id);
}

/* us_tag_slab_alloc() for all but a registered tag and a slab with a vector. */
US_COLD static void *slab_alloc_slow(struct kmem_cache *c, void *obj)
{
	uint32_t id = current_site();

	if (id)
		slab_count(c, obj, id);
	return obj;
}

/*
 * A leaf on its common path (a tag with its number, a slab with its
 * vector): nothing to save, and everything else a tail call.
 */
void *us_tag_slab_alloc(struct kmem_cache *c, void *obj)
{
	struct alloc_tag *tag = uslab_current_alloc_tag;
	struct us_slab *slab;
	uint32_t id, h;

	if (unlikely((uintptr_t)tag <= (uintptr_t)US_TAG_NONE))
		return slab_alloc_slow(c, obj);
	id = (uint32_t)atomic_load_explicit(
		(_Atomic unsigned long *)&tag->uslab_site, memory_order_acquire);
	slab = us_chunk_slab(us_chunk_of(obj), obj);
	h = atomic_load_explicit(&slab->tags, memory_order_acquire);
	if (unlikely(!id || !h))
		return slab_alloc_slow(c, obj);
	us_tag_vector_set(h, us_slab_obj_index(c, slab, obj), id);
	return obj;
}

/* ---------------------------------------------- malloc's call sites */

bool us_tag_malloc_on;

static inline size_t ra_hash(uintptr_t ra)
{
	return (size_t)((ra * 0x9e3779b97f4a7c15ull) >> 32) % RA_SLOTS;
}

/* The site of return address ra, registered if new; 0 if impossible. */
static uint32_t ra_site(const void *ra)
{
	uintptr_t key = (uintptr_t)ra;
	size_t i = ra_hash(key);
	uint32_t id = 0;
	bool say = false;

	for (size_t n = 0; n < RA_SLOTS; n++, i = (i + 1) % RA_SLOTS) {
		uintptr_t k = atomic_load_explicit(&ra_sites[i].ra,
						   memory_order_acquire);

		if (k == key)
			return atomic_load_explicit(&ra_sites[i].id,
						    memory_order_relaxed);
		if (!k)
			break;
	}
	us_lock(&tag_lock);
	for (size_t n = 0; n < RA_SLOTS; n++, i = (i + 1) % RA_SLOTS) {
		uintptr_t k = atomic_load_explicit(&ra_sites[i].ra,
						   memory_order_relaxed);
		uint32_t last = atomic_load_explicit(&nsites,
						     memory_order_relaxed);
		struct site *base = atomic_load_explicit(&sites,
							 memory_order_relaxed);

		if (k == key) {
			id = atomic_load_explicit(&ra_sites[i].id,
						  memory_order_relaxed);
			break;
		}
		if (k)
			continue;
		if (last + 1 >= SITE_OTHER) {
			id = SITE_OTHER;	/* not kept: asked again */
			say = !sites_full_said;
			sites_full_said = true;
			break;
		}
		id = last + 1;
		site_at(base, id)->ra = ra;
		atomic_store_explicit(&nsites, id, memory_order_release);
		atomic_store_explicit(&ra_sites[i].id, id, memory_order_relaxed);
		atomic_store_explicit(&ra_sites[i].ra, key, memory_order_release);
		break;
	}
	us_unlock(&tag_lock);
	if (say)
		us_report("allocinfo: %u allocation sites counted; the "
			  "others count as one", SITE_OTHER - 2);
	return id;
}

void us_tag_malloc_count(void *p, const void *ra)
{
	struct kmem_cache *c;
	struct us_chunk *ch;
	uint32_t id;

	if (!p || p == ZERO_SIZE_PTR || !us_tag_counting() ||
	    !(id = ra_site(ra)))
		return;
	if ((c = us_cache_find(p)) != NULL) {
		slab_count(c, p, id);
	} else if ((ch = us_chunk_lookup(p)) != NULL &&
		   ch->kind == US_CHUNK_LARGE) {
		ch->tag = id;
		count(id, (int64_t)ch->usable, 1);
	}
}

/*
 * A return address's site text, made when read, with no lock held: the
 * dynamic loader's lock, which dladdr() takes, may be held by a thread
 * that is allocating.  "object+0xOFFSET:0 func:symbol+0xOFFSET", the
 * object's offset for addr2line(1).
 */
static void ra_text(const void *ra, char *out, size_t size)
{
	Dl_info info;
	const char *obj;

	if (!dladdr(ra, &info) || !info.dli_fname) {
		us_format(out, size, "%p:0 func:unknown", ra);
		return;
	}
	obj = strrchr(info.dli_fname, '/');
	obj = obj ? obj + 1 : info.dli_fname;
	if (info.dli_sname && info.dli_saddr)
		us_format(out, size, "%s+0x%lx:0 func:%s+0x%lx",
			  *obj ? obj : "main",
			  (unsigned long)((uintptr_t)ra -
					  (uintptr_t)info.dli_fbase),
			  info.dli_sname,
			  (unsigned long)((uintptr_t)ra -
					  (uintptr_t)info.dli_saddr));
	else
		us_format(out, size, "%s+0x%lx:0 func:unknown",
			  *obj ? obj : "main",
			  (unsigned long)((uintptr_t)ra -
					  (uintptr_t)info.dli_fbase));
}

void us_tag_large_alloc(struct us_chunk *ch)
{
	uint32_t id = current_site();

	ch->tag = id;
	if (id)
		count(id, (int64_t)ch->usable, 1);
}

void us_tag_large_free(struct us_chunk *ch)
{
	if (ch->tag) {
		count(ch->tag, -(int64_t)ch->usable, -1);
		ch->tag = 0;
	}
}

void us_tag_large_moved(uint32_t site, size_t usable, struct us_chunk *to)
{
	to->tag = site;
	if (site)
		count(site, (int64_t)to->usable - (int64_t)usable, 0);
}

void us_tag_slab_release(struct us_slab *slab)
{
	uint32_t h = atomic_load_explicit(&slab->tags, memory_order_relaxed);

	if (h) {
		atomic_store_explicit(&slab->tags, 0, memory_order_relaxed);
		vector_put(h);
	}
}

/* For uslabtop -a, through uslab_anchor. */
const struct us_anchor_tags us_tag_anchor = {
	.sites = &sites,
	.nsites = &nsites,
	.counters = &counters,
	.vectors = &us_tag_vectors,
	.vectors_used = &vectors_used,
	.site_size = sizeof(struct site),
	.text_off = offsetof(struct site, text),
	.ra_off = offsetof(struct site, ra),
	.other = SITE_OTHER,
};

/* ---------------------------------------------------------- control */

/* Start or stop counting: the tables first; -ENOMEM without them. */
static int set_counting(bool on)
{
	if (on) {
		struct site *base;

		us_lock(&tag_lock);
		base = regions();
		us_unlock(&tag_lock);
		if (!base)
			return -ENOMEM;
		atomic_fetch_or_explicit(&us_tag_state, US_TAG_COUNTING,
					 memory_order_release);
	} else {
		atomic_fetch_and_explicit(&us_tag_state, ~US_TAG_COUNTING,
					  memory_order_relaxed);
	}
	us_failslab_route(US_FAILSLAB_ROUTE_TAGS, on);
	return 0;
}

int uslab_allocinfo_enable(bool on)
{
	us_init();
	return set_counting(on);
}

bool uslab_allocinfo_enabled(void)
{
	us_init();	/* USLAB_ALLOCINFO is read there */
	return us_tag_counting();
}

void us_tag_init(void)
{
	const char *v = us_options.allocinfo;

	if (!v[0])		/* unset, or 0 (options.c) */
		return;
	if (strcmp(v, "exit") == 0)
		report_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 10);
	if (set_counting(true) != 0)
		us_report("USLAB_ALLOCINFO: no memory for the tables; "
			  "allocation profiling is off");
	else
		us_tag_malloc_on = true;	/* before any malloc() asks */
}

void us_tag_fork_prepare(void)
{
	us_lock(&tag_lock);
}

void us_tag_fork_parent(void)
{
	us_unlock(&tag_lock);
}

void us_tag_fork_child(void)
{
	us_lock_reset(&tag_lock);
}

/* ---------------------------------------------------------- reading */

static const char allocinfo_header[] =
	"allocinfo - version: 1.0\n"
	"#     <size>  <calls> <tag info>\n";

/*
 * The line of the site after *pos (from 0), as /proc/allocinfo has it,
 * with the kernel's trailing space: sites in the order first counted,
 * then "other sites" if any count there, with the figures of t.  False
 * after the last.
 */
static bool site_line(const struct sums *t, uint32_t *pos, char *line,
		      size_t size)
{
	struct site *base = atomic_load_explicit(&sites, memory_order_acquire);
	uint32_t n = atomic_load_explicit(&nsites, memory_order_acquire);
	uint32_t id = ++*pos;
	int64_t bytes;
	uint64_t calls;

	if (!base || id > n + 1)
		return false;
	if (id == n + 1)
		id = SITE_OTHER;
	bytes = t->bytes[id];
	calls = t->calls[id];
	if (id == SITE_OTHER && !bytes && !calls)
		return false;
	if (site_at(base, id)->ra) {
		char text[SITE_BYTES];

		ra_text(site_at(base, id)->ra, text, sizeof(text));
		us_format(line, size, "%12lld %8llu %s \n", (long long)bytes,
			  (unsigned long long)calls, text);
	} else {
		us_format(line, size, "%12lld %8llu %s \n", (long long)bytes,
			  (unsigned long long)calls, site_at(base, id)->text);
	}
	return true;
}

int uslab_allocinfo(FILE *out)
{
	char line[SITE_BYTES + 64];
	struct sums *t = NULL;
	int err = 0;

	if (!out)
		return -EINVAL;
	us_init();
	if (atomic_load_explicit(&sites, memory_order_acquire) &&
	    !(t = sums()))
		return -ENOMEM;
	/* The stream is the caller's: each line written with no lock. */
	us_callout(US_CALLOUT_STDIO, NULL);
	if (fputs(allocinfo_header, out) < 0)
		err = -EIO;
	for (uint32_t pos = 0; t && site_line(t, &pos, line, sizeof(line));) {
		us_callout(US_CALLOUT_STDIO, NULL);
		if (fputs(line, out) < 0)
			err = -EIO;
	}
	if (fflush(out) != 0)
		err = -EIO;
	if (t)
		us_os_unmap(t, sizeof(*t));
	return err;
}

void us_tag_report(void)
{
	const char *where = us_options.allocinfo;
	char line[SITE_BYTES + 64];
	int fd = report_fd;
	struct sums *t;

	/*
	 * Nowhere to write (USLAB_ALLOCINFO unset, 0 or 1): return before
	 * reading the sites, a page that a process which never counted has
	 * not touched, and would take a fault for at exit.
	 */
	if (!us_report_has_place(where, report_fd))
		return;
	if (!atomic_load_explicit(&sites, memory_order_acquire) ||
	    (fd = us_report_open("USLAB_ALLOCINFO", where, report_fd)) < 0)
		return;
	us_write_all(fd, allocinfo_header);
	if (!(t = sums()))
		us_write_all(fd, "# no memory to sum the sites\n");
	for (uint32_t pos = 0; t && site_line(t, &pos, line, sizeof(line));)
		us_write_all(fd, line);
	if (t)
		us_os_unmap(t, sizeof(*t));
	if (fd != report_fd)
		close(fd);
}
