/* SPDX-License-Identifier: MIT */
/*
 * debug.c - debug caches: USLAB_DEBUG, their layout, their checks; see
 * debug.h for what it owns and its locks.
 */
#include "config.h"

#include <string.h>

#include "bug.h"
#include "chunk.h"
#include "debug.h"
#include "memtool.h"
#include "options.h"
#include "os.h"
#include "report.h"
#include "slab.h"

#define DUMP_MAX 1024		/* bytes of an object in a hex dump */
#define TRACE_DUMP_MAX 64	/* ... and in a SLAB_TRACE line */

enum { TRACK_ALLOC, TRACK_FREE };

/* ------------------------------------------------------------ USLAB_DEBUG */

/* Shell-style match of * and ? (no classes): cache names only. */
static bool glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *retry = NULL;

	while (*s) {
		if (*pat == '*') {
			star = pat++;
			retry = s;
		} else if (*pat == '?' || *pat == *s) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++retry;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

/*
 * The flags of one block's letters.  Empty means full debugging (FZPU),
 * as a bare slab_debug does; '-' means none.  *bad gets the first letter
 * not understood, if any.
 */
static unsigned int letters_flags(const char *s, size_t n, char *bad)
{
	unsigned int f = 0;

	if (n == 0)
		return SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON |
		       SLAB_STORE_USER;
	for (size_t i = 0; i < n; i++) {
		switch (s[i] | 0x20) {	/* the kernel accepts either case */
		case 'f': f |= SLAB_CONSISTENCY_CHECKS; break;
		case 'z': f |= SLAB_RED_ZONE; break;
		case 'p': f |= SLAB_POISON; break;
		case 'u': f |= SLAB_STORE_USER; break;
		case 't': f |= SLAB_TRACE; break;
		case 'x': break;	/* global: abort after a report */
		case '-' | 0x20: return 0;
		default:
			if (!*bad)
				*bad = s[i];
			break;
		}
	}
	return f;
}

/*
 * Walk USLAB_DEBUG's ';'-separated blocks, "letters[,glob[,glob...]]".
 * A block without globs sets the flags of every cache; one with globs,
 * those of the caches it names, and wins over a block without.  Returns
 * the flags for name (or, for name NULL, parses only), and whether any
 * block named it or applied to all in *matched.
 */
static unsigned int spec_flags(const char *name, bool *matched, char *bad)
{
	const char *p = us_options.debug;
	unsigned int global = 0, named = 0;
	bool have_global = false, have_named = false;

	while (*p) {
		const char *end = strchr(p, ';'), *comma;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		unsigned int f;

		comma = memchr(p, ',', len);
		f = letters_flags(p, comma ? (size_t)(comma - p) : len, bad);
		if (!comma) {
			global = f;
			have_global = true;
		} else {
			const char *g = comma + 1, *stop = p + len;

			while (g < stop) {
				const char *ge = memchr(g, ',', (size_t)(stop - g));
				char pat[USLAB_NAME_MAX + 2];
				size_t gl = (ge ? ge : stop) - g;

				if (gl > USLAB_NAME_MAX + 1)
					gl = USLAB_NAME_MAX + 1;
				memcpy(pat, g, gl);
				pat[gl] = '\0';
				if (name && gl && glob_match(pat, name)) {
					named = f;
					have_named = true;
				}
				g = ge ? ge + 1 : stop;
			}
		}
		p += len;
		if (*p == ';')
			p++;
	}
	if (us_options.debug[0] == '\0') {	/* a bare USLAB_DEBUG */
		global = letters_flags("", 0, bad);
		have_global = true;
	}
	*matched = have_named || have_global;
	return have_named ? named : global;
}

void us_debug_init(void)
{
	char bad = 0;
	bool matched;

	if (!us_options.debug_set)
		return;
	us_bug_abort_always = strchr(us_options.debug, 'X') ||
			  strchr(us_options.debug, 'x');
	spec_flags(NULL, &matched, &bad);
	if (bad)
		us_report("USLAB_DEBUG: unknown option '%c' ignored; the "
			  "options are F Z P U T X and -", bad);
}

unsigned int us_debug_cache_flags(const char *name, unsigned int flags)
{
	char bad = 0;
	bool matched = false;
	unsigned int f;

	if (flags & (US_CACHE_NOMAGAZINE | US_CACHE_STATIC))
		return flags;
	if (us_options.debug_set) {
		f = spec_flags(name, &matched, &bad);
		/* Added to the cache's own, as the kernel's slab_debug. */
		if (matched)
			flags |= f;
	}
	if (flags & US_DEBUG_FLAGS)
		flags |= US_CACHE_DEBUG;
	return flags;
}

/* ----------------------------------------------------------------- layout */

void us_debug_layout(struct kmem_cache *c, bool has_ctor)
{
	size_t at = c->object_size, red_left = 0;

	/* A constructed or RCU-typesafe object must survive being free. */
	if (has_ctor || (c->flags & SLAB_TYPESAFE_BY_RCU))
		c->flags &= ~SLAB_POISON;
	if (c->flags & SLAB_RED_ZONE) {
		at = US_ALIGN_UP(at, sizeof(void *)) + sizeof(void *);
		red_left = US_ALIGN_UP((size_t)16, (size_t)c->align);
	}
	c->rz_end = (uint32_t)at;
	if (has_ctor || (c->flags & (SLAB_TYPESAFE_BY_RCU | SLAB_POISON |
				     SLAB_RED_ZONE))) {
		c->offset = (uint32_t)US_ALIGN_UP(at, sizeof(void *));
		at = c->offset + sizeof(void *);
	} else {
		c->offset = 0;
		at = US_MAX(US_ALIGN_UP(at, sizeof(void *)), sizeof(void *));
	}
	c->track_off = (uint32_t)at;
	if (c->flags & SLAB_STORE_USER)
		at += 2 * sizeof(struct us_track);
	c->meta_end = (uint32_t)at;
	c->red_left = (uint32_t)red_left;
	c->size = (uint32_t)US_ALIGN_UP(at + red_left, (size_t)c->align);
}

static inline unsigned char *bytes(void *p)
{
	return (unsigned char *)p;
}

static inline struct us_track *track_of(struct kmem_cache *c, void *obj,
					int which)
{
	return (struct us_track *)(void *)(bytes(obj) + c->track_off) + which;
}

/* The end of the padding: where the next object's left red zone starts. */
static inline uint32_t pad_end(const struct kmem_cache *c)
{
	return c->size - c->red_left;
}

/*
 * A debug object's metadata is hidden from the memory tools like the
 * rest of uslab's free memory, and opened around the checks.
 */
static void meta_open(struct kmem_cache *c, void *obj)
{
	if (c->red_left)
		us_mem_open(bytes(obj) - c->red_left, c->red_left);
	us_mem_open(bytes(obj) + c->object_size, pad_end(c) - c->object_size);
}

static void meta_close(struct kmem_cache *c, void *obj)
{
	if (!us_mem_tracked(c))
		return;
	if (c->red_left)
		us_mem_hide(bytes(obj) - c->red_left, c->red_left);
	us_mem_hide(bytes(obj) + c->object_size, pad_end(c) - c->object_size);
}

static void init_redzones(struct kmem_cache *c, void *obj, int val)
{
	if (!(c->flags & SLAB_RED_ZONE))
		return;
	memset(bytes(obj) - c->red_left, val, c->red_left);
	memset(bytes(obj) + c->object_size, val, c->rz_end - c->object_size);
}

static void poison_object(struct kmem_cache *c, void *obj)
{
	if (!(c->flags & SLAB_POISON))
		return;
	memset(obj, US_POISON_FREE, c->object_size - 1);
	bytes(obj)[c->object_size - 1] = US_POISON_END;
}

void us_debug_init_slab(struct kmem_cache *c, struct us_slab *slab)
{
	for (uint32_t i = 0; i < slab->objects; i++) {
		void *obj = us_slab_base(slab) + (size_t)i * c->size;

		init_redzones(c, obj, US_RED_INACTIVE);
		poison_object(c, obj);
		if (c->flags & SLAB_STORE_USER)
			memset(track_of(c, obj, 0), 0, 2 * sizeof(struct us_track));
		memset(bytes(obj) + c->meta_end, US_POISON_INUSE,
		       pad_end(c) - c->meta_end);
	}
}

/* SLUB's print_trailer(): what the object is, who had it, its bytes. */
static void print_trailer(struct kmem_cache *c, struct us_slab *slab,
			  void *obj)
{
	char *slot = us_chunk_slot_start(slab);
	void *fp = us_slab_fp_peek(c, obj);	/* the caller has it open */

	us_report_line("INFO: Slab %p objects=%u used=%u fp=%p flags=0x%x",
		       (void *)slot, slab->objects, slab->inuse, slab->freelist,
		       c->flags & US_DEBUG_FLAGS);
	us_report_line("INFO: Object %p @offset=%lu fp=%p", obj,
		       (unsigned long)(bytes(obj) - bytes(slot)), fp);
	if (c->flags & SLAB_STORE_USER) {
		uint64_t now = us_os_now_ms();

		us_bug_track("Allocated", track_of(c, obj, TRACK_ALLOC), now);
		us_bug_track("Freed", track_of(c, obj, TRACK_FREE), now);
	}
	us_report_line("%s", "");
	if (c->red_left)
		us_bug_hex("Redzone  ", bytes(obj) - c->red_left, c->red_left);
	us_bug_hex("Object   ", obj, US_MIN((size_t)c->object_size,
					  (size_t)DUMP_MAX));
	if (c->flags & SLAB_RED_ZONE)
		us_bug_hex("Redzone  ", bytes(obj) + c->object_size,
			 c->rz_end - c->object_size);
	if (pad_end(c) > c->meta_end)
		us_bug_hex("Padding  ", bytes(obj) + c->meta_end,
			 pad_end(c) - c->meta_end);
	us_report_line("%s", "");
}

/*
 * The kernel's memchr_inv(): the first of len bytes at start that is not
 * value, or NULL.  Every check of a debug object reads its poison and red
 * zones whole, on each allocation and free, so the bytes are compared
 * eight at a time between the aligned ends; the loads stay inside the
 * range, which is all that memcheck and the sanitizers allow.
 */
static unsigned char *first_not(unsigned char *start, int value, size_t len)
{
	const uint64_t pattern = 0x0101010101010101ull * (unsigned char)value;
	unsigned char *p = start, *end = start + len;

	while (p < end && ((uintptr_t)p & 7))
		if (*p++ != (unsigned char)value)
			return p - 1;
	for (; end - p >= 32; p += 32) {
		uint64_t w[4];

		memcpy(w, p, sizeof(w));
		if (((w[0] ^ pattern) | (w[1] ^ pattern) | (w[2] ^ pattern) |
		     (w[3] ^ pattern)) != 0)
			break;
	}
	for (; end - p >= 8; p += 8) {
		uint64_t w;

		memcpy(&w, p, sizeof(w));
		if (w != pattern)
			break;
	}
	for (; p < end; p++)
		if (*p != (unsigned char)value)
			return p;
	return NULL;
}

/*
 * SLUB's check_bytes_and_report(): are len bytes at start all value?  If
 * not, report the damaged range, restore it, and return false.
 */
static bool check_bytes(struct kmem_cache *c, struct us_slab *slab,
			void *obj, const char *what, unsigned char *start,
			int value, size_t len)
{
	unsigned char *fault = first_not(start, value, len), *end = start + len;
	char head[96];

	if (!fault)
		return true;
	while (end > fault && end[-1] == (unsigned char)value)
		end--;
	us_format(head, sizeof(head), "%s overwritten", what);
	us_bug_begin(c->name, head);
	us_report_line("INFO: %p-%p @offset=%lu. First byte 0x%x instead of "
		       "0x%x", (void *)fault, (void *)(end - 1),
		       (unsigned long)(fault - bytes(us_chunk_slot_start(slab))),
		       *fault, value);
	print_trailer(c, slab, obj);
	memset(fault, value, (size_t)(end - fault));
	us_format(head, sizeof(head), "Restoring %s %p-%p=0x%x", what,
		  (void *)fault, (void *)(end - 1), value);
	us_bug_end(c, head);
	return false;
}

/* SLUB's check_object(): val is the red zones' expected value. */
static bool check_object(struct kmem_cache *c, struct us_slab *slab,
			 void *obj, int val)
{
	bool ok = true;

	if (c->flags & SLAB_RED_ZONE) {
		ok &= check_bytes(c, slab, obj, "Left Redzone",
				  bytes(obj) - c->red_left, val, c->red_left);
		ok &= check_bytes(c, slab, obj, "Right Redzone",
				  bytes(obj) + c->object_size, val,
				  c->rz_end - c->object_size);
	}
	if ((c->flags & SLAB_POISON) && val == US_RED_INACTIVE) {
		ok &= check_bytes(c, slab, obj, "Poison", obj, US_POISON_FREE,
				  c->object_size - 1);
		ok &= check_bytes(c, slab, obj, "End Poison",
				  bytes(obj) + c->object_size - 1,
				  US_POISON_END, 1);
	}
	ok &= check_bytes(c, slab, obj, "Object padding",
			  bytes(obj) + c->meta_end, US_POISON_INUSE,
			  pad_end(c) - c->meta_end);
	return ok;
}

static void trace(struct kmem_cache *c, struct us_slab *slab, void *obj,
		  const char *op)
{
	us_bug_lock();
	us_report_line("TRACE %s %s %p inuse=%u fp=%p", c->name, op, obj,
		       slab->inuse, slab->freelist);
	if (op[0] == 'f')
		us_bug_hex("Object   ", obj, US_MIN((size_t)c->object_size,
						  (size_t)TRACE_DUMP_MAX));
	us_bug_unlock();
}

/* ------------------------------------------------------------ alloc, free */

void us_debug_alloc_checks(struct kmem_cache *c, struct us_slab *slab,
			   void *obj, const void *owner)
{
	meta_open(c, obj);
	us_mem_open(obj, c->object_size);
	check_object(c, slab, obj, US_RED_INACTIVE);
	if (c->flags & SLAB_STORE_USER)
		*track_of(c, obj, TRACK_ALLOC) = *(const struct us_track *)owner;
	init_redzones(c, obj, US_RED_ACTIVE);
	if (c->flags & SLAB_TRACE)
		trace(c, slab, obj, "alloc");
	meta_close(c, obj);
	if (us_mem_tracked(c))
		us_mem_hide(obj, c->object_size);
}

bool us_debug_free_checks(struct kmem_cache *c, struct us_slab *slab,
			  void *obj, const struct us_track *freer)
{
	meta_open(c, obj);
	us_mem_open(obj, c->object_size);
	if (!check_object(c, slab, obj, US_RED_ACTIVE)) {
		us_report_line("FIX %s: Object at %p not freed", c->name, obj);
		meta_close(c, obj);
		return false;
	}
	if (c->flags & SLAB_STORE_USER)
		*track_of(c, obj, TRACK_FREE) = *freer;
	if (c->flags & SLAB_TRACE)
		trace(c, slab, obj, "free");
	init_redzones(c, obj, US_RED_INACTIVE);
	poison_object(c, obj);
	meta_close(c, obj);
	if (us_mem_tracked(c))
		us_mem_hide(obj, c->object_size);
	return true;
}

void us_debug_already_free(struct kmem_cache *c, struct us_slab *slab,
			   void *obj)
{
	char head[96];

	us_bug_begin(c->name, "Object already free");
	meta_open(c, obj);
	us_mem_open(obj, c->object_size);
	print_trailer(c, slab, obj);
	meta_close(c, obj);
	if (us_mem_tracked(c))
		us_mem_hide(obj, c->object_size);
	us_format(head, sizeof(head), "Object at %p not freed", obj);
	us_bug_end(c, head);
}

/* ---------------------------------------------- objects of a cache walk */

void us_debug_check_one(struct kmem_cache *c, struct us_slab *slab,
			void *obj, bool is_free, void *damaged)
{
	meta_open(c, obj);
	if (is_free)
		us_mem_open(obj, c->object_size);
	if (!check_object(c, slab, obj,
			  is_free ? US_RED_INACTIVE : US_RED_ACTIVE))
		(*(unsigned int *)damaged)++;
	meta_close(c, obj);
	if (is_free && us_mem_tracked(c))
		us_mem_hide(obj, c->object_size);
}

void us_debug_leak_one(struct kmem_cache *c, struct us_slab *slab,
		       void *obj, bool is_free, void *arg)
{
	struct us_debug_leaks *l = arg;
	struct us_track *t;
	void *const *frames;
	void *ip;
	uint64_t age;
	unsigned int i;

	if (is_free)
		return;
	if (l->listed < 16) {
		us_report_line("INFO: Object %p @offset=%lu", obj,
			       (unsigned long)(bytes(obj) -
					       bytes(us_chunk_slot_start(slab))));
		l->listed++;
	}
	if (!(c->flags & SLAB_STORE_USER))
		return;
	us_mem_open(track_of(c, obj, TRACK_ALLOC), sizeof(*t));
	t = track_of(c, obj, TRACK_ALLOC);
	age = l->now - t->when;
	ip = us_bug_track_frames(t, &frames) ? frames[0] : NULL;
	for (i = 0; i < l->nsites; i++)
		if (l->site[i].ip == ip)
			break;
	if (i == l->nsites) {
		if (i == US_DEBUG_LEAK_SITES) {
			l->other++;
			goto out;
		}
		l->site[i].ip = ip;
		l->site[i].count = 0;
		l->site[i].min_age = age;
		l->site[i].max_age = age;
		l->nsites++;
	}
	l->site[i].count++;
	l->site[i].min_age = US_MIN(l->site[i].min_age, age);
	l->site[i].max_age = US_MAX(l->site[i].max_age, age);
out:
	if (us_mem_tracked(c))
		us_mem_hide(t, sizeof(*t));
}

void us_debug_leaks_begin(struct kmem_cache *c, struct us_debug_leaks *l)
{
	char head[96];

	memset(l, 0, sizeof(*l));
	l->now = us_os_now_ms();
	us_format(head, sizeof(head), "Objects remaining in %s on "
		  "kmem_cache_destroy()", c->name);
	us_bug_begin(c->name, head);
}

void us_debug_leaks_end(struct kmem_cache *c, struct us_debug_leaks *l,
			uint64_t live)
{
	if (l->listed < live)
		us_report_line("INFO: ... and %llu more",
			       (unsigned long long)(live - l->listed));
	for (unsigned int i = 0; i < l->nsites; i++) {
		char buf[256];

		if (l->site[i].ip)
			us_bug_format_frame(buf, sizeof(buf), l->site[i].ip);
		else
			us_format(buf, sizeof(buf), "an unknown caller");
		us_report_line("INFO: %llu objects allocated in %s age=%llu-%llu",
			       (unsigned long long)l->site[i].count, buf,
			       (unsigned long long)l->site[i].min_age,
			       (unsigned long long)l->site[i].max_age);
	}
	if (l->other)
		us_report_line("INFO: %llu objects allocated elsewhere",
			       (unsigned long long)l->other);
	us_report_line("%s", "");
	us_bug_unlock();
}

