/* SPDX-License-Identifier: MIT */
/*
 * debug.c - the debug layer; see debug.h for what it owns and its locks.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <unwind.h>

#include "cache.h"
#include "chunk.h"
#include "cpu.h"
#include "debug.h"
#include "memtool.h"
#include "options.h"
#include "os.h"
#include "report.h"
#include "slab.h"

#define RULE_EQ "============================================================================="
#define RULE_DASH "-----------------------------------------------------------------------------"
#define DUMP_MAX 1024		/* bytes of an object in a hex dump */
#define TRACE_DUMP_MAX 64	/* ... and in a SLAB_TRACE line */
#define STACK_MAX 16		/* frames in a report's own stack trace */
#define LEAK_SITES 32		/* allocation sites a leak report groups */

enum { TRACK_ALLOC, TRACK_FREE };

static struct us_lock report_lock = US_LOCK_INIT;
static bool abort_on_report;	/* X in USLAB_DEBUG */

void us_debug_fork_prepare(void)
{
	us_lock(&report_lock);
}

void us_debug_fork_parent(void)
{
	us_unlock(&report_lock);
}

void us_debug_fork_child(void)
{
	us_lock_reset(&report_lock);
}

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
	abort_on_report = strchr(us_options.debug, 'X') ||
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

/* ----------------------------------------------------------------- stacks */

struct unwind_state {
	void **frames;
	unsigned int n, max, skip;
};

static _Unwind_Reason_Code unwind_one(struct _Unwind_Context *ctx, void *arg)
{
	struct unwind_state *st = arg;
	uintptr_t ip = _Unwind_GetIP(ctx);

	if (!ip)
		return _URC_END_OF_STACK;
	if (st->skip) {
		st->skip--;
		return _URC_NO_REASON;
	}
	st->frames[st->n++] = (void *)ip;
	return st->n < st->max ? _URC_NO_REASON : _URC_END_OF_STACK;
}

static unsigned int capture_stack(void **frames, unsigned int max,
				  unsigned int skip)
{
	struct unwind_state st = { frames, 0, max, skip };

	_Unwind_Backtrace(unwind_one, &st);
	return st.n;
}

static const char *const internal_prefixes[] = {
	"us_", "kmem_cache_", "kmalloc", "kzalloc", "kcalloc", "kfree",
	"krealloc", "kmemdup", "kstrdup", "kstrndup", "uslab_", "_Unwind",
	"malloc", "calloc", "realloc", "free", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc",
};

/*
 * uslab's code, found once: the text of libuslab and libuslab-malloc
 * when they are shared libraries, so that a frame is placed by two
 * compares.  Linked into the executable, uslab has no range of its own,
 * and frames are told by their symbols' names instead.
 */
struct text_range {
	uintptr_t lo, hi;
};

static struct text_range own_text[2];
static _Atomic int own_text_state;	/* 0 not yet, 1 finding, 2 found */

static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t self = (uintptr_t)arg;
	int slot = -1;

	(void)size;
	if (!info->dlpi_name || !info->dlpi_name[0])
		return 0;		/* the executable */
	if (strstr(info->dlpi_name, "libuslab-malloc"))
		slot = 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		if (slot < 0 && self >= lo && self < lo + ph->p_memsz)
			slot = 0;
		if (slot >= 0)
			own_text[slot] = (struct text_range){ lo, lo + ph->p_memsz };
	}
	return 0;
}

static void find_own_text(void)
{
	int expect = 0;

	if (atomic_load_explicit(&own_text_state, memory_order_acquire) == 2)
		return;
	if (!atomic_compare_exchange_strong(&own_text_state, &expect, 1))
		return;			/* another thread is at it */
	dl_iterate_phdr(find_text, (void *)(uintptr_t)&find_own_text);
	atomic_store_explicit(&own_text_state, 2, memory_order_release);
}

/* Is this frame uslab's own (to be skipped in "Allocated in")? */
static bool frame_is_internal(void *ip)
{
	Dl_info info;

	find_own_text();
	if (atomic_load_explicit(&own_text_state, memory_order_acquire) == 2) {
		for (int i = 0; i < 2; i++)
			if ((uintptr_t)ip > own_text[i].lo &&
			    (uintptr_t)ip <= own_text[i].hi)
				return true;
		if (own_text[0].hi)	/* shared: nothing else is ours */
			return false;
	}

	if (!dladdr((char *)ip - 1, &info))
		return false;
	if (info.dli_fname && strstr(info.dli_fname, "libuslab"))
		return true;
	if (!info.dli_sname)
		return false;
	for (size_t i = 0; i < US_ARRAY_SIZE(internal_prefixes); i++)
		if (strncmp(info.dli_sname, internal_prefixes[i],
			    strlen(internal_prefixes[i])) == 0)
			return true;
	return false;
}

/* "fn+0xoff/0xsize [module]" or the bare address. */
static void format_frame(char *buf, size_t size, void *ip)
{
	Dl_info info;
	const ElfW(Sym) *sym = NULL;

	if (dladdr1((char *)ip - 1, &info, (void **)&sym, RTLD_DL_SYMENT) &&
	    info.dli_sname) {
		const char *mod = info.dli_fname ? strrchr(info.dli_fname, '/')
						 : NULL;

		us_format(buf, size, "%s+0x%lx/0x%lx [%s]", info.dli_sname,
			  (unsigned long)((char *)ip - (char *)info.dli_saddr),
			  sym ? (unsigned long)sym->st_size : 0ul,
			  mod ? mod + 1 : info.dli_fname ? info.dli_fname : "?");
	} else if (info.dli_fname && info.dli_fname[0]) {
		const char *mod = strrchr(info.dli_fname, '/');

		us_format(buf, size, "%p [%s+0x%lx]", ip,
			  mod ? mod + 1 : info.dli_fname,
			  (unsigned long)((char *)ip - (char *)info.dli_fbase));
	} else {
		us_format(buf, size, "%p", ip);
	}
}

static unsigned int gettid_now(void)
{
	return (unsigned int)syscall(SYS_gettid);
}

/* Fill t with the caller's stack, thread, CPU and time; no lock held. */
static void capture_track(struct us_track *t)
{
	void *frames[US_TRACK_DEPTH + 8];
	unsigned int n, first = 0;

	n = capture_stack(frames, US_ARRAY_SIZE(frames), 1);
	/* Keep the caller's frames: drop ours, found cheaply by address. */
	while (first + 1 < n && first < 8 && frame_is_internal(frames[first]))
		first++;
	memset(t->frames, 0, sizeof(t->frames));
	for (unsigned int i = 0; i < US_TRACK_DEPTH && first + i < n; i++)
		t->frames[i] = frames[first + i];
	t->when = us_os_now_ms();
	t->cpu = us_cpu_id();
	t->tid = gettid_now();
}


/* ---------------------------------------------------------------- reports */

static void report_begin(const char *cache, const char *what)
{
	us_lock(&report_lock);
	us_report_line("%s", RULE_EQ);
	us_report_line("BUG %s: %s", cache, what);
	us_report_line("%s", RULE_DASH);
	us_report_line("%s", "");
}

static void hex_dump(const char *prefix, const void *p, size_t len)
{
	for (size_t off = 0; off < len; off += 16) {
		char line[128];
		size_t n = us_format(line, sizeof(line), "%s%016lx: ", prefix,
				     (unsigned long)((uintptr_t)p + off));
		size_t row = US_MIN(len - off, (size_t)16);
		unsigned char b[16];

		/* A copy: the caller's bytes may be ones it never wrote. */
		memcpy(b, (const unsigned char *)p + off, row);
		us_mem_defined(b, row);

		for (size_t i = 0; i < 16; i++)
			n += i < row ? us_format(line + n, sizeof(line) - n,
						 "%02x ", b[i])
				     : us_format(line + n, sizeof(line) - n,
						 "   ");
		line[n++] = ' ';
		for (size_t i = 0; i < row && n < sizeof(line) - 1; i++)
			line[n++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '.';
		line[n] = '\0';
		us_report_line("%s", line);
	}
}

static void print_stack(void)
{
	void *frames[STACK_MAX];
	unsigned int n = capture_stack(frames, STACK_MAX, 2);

	us_report_line("CPU: %u PID: %u Comm: %s", us_cpu_id(),
		       gettid_now(), program_invocation_short_name);
	us_report_line("Call Trace:");
	for (unsigned int i = 0; i < n; i++) {
		char buf[256];

		if (frame_is_internal(frames[i]) && i + 1 < n)
			continue;	/* uslab's own frames */
		format_frame(buf, sizeof(buf), frames[i]);
		us_report_line(" %s", buf);
	}
}

static bool must_abort(const struct kmem_cache *c)
{
	return abort_on_report || !c || !(c->flags & US_CACHE_DEBUG);
}

/* The stack, the FIX line, and an abort if this report calls for one. */
static void report_end(const struct kmem_cache *c, const char *fix)
{
	print_stack();
	if (must_abort(c)) {
		us_report_line("FIX %s: none; aborting",
			       c ? c->name : "uslab");
		us_unlock(&report_lock);
		abort();
	}
	us_report_line("FIX %s: %s", c->name, fix);
	us_report_line("%s", "");
	us_unlock(&report_lock);
}

static void print_track(const char *verb, const struct us_track *t,
			uint64_t now)
{
	char buf[256];

	if (!t->frames[0])
		return;
	format_frame(buf, sizeof(buf), t->frames[0]);
	us_report_line("INFO: %s in %s age=%llu cpu=%u pid=%u", verb, buf,
		       (unsigned long long)(now - t->when), t->cpu, t->tid);
	for (unsigned int i = 1; i < US_TRACK_DEPTH && t->frames[i]; i++) {
		format_frame(buf, sizeof(buf), t->frames[i]);
		us_report_line(" %s", buf);
	}
}

/* SLUB's print_trailer(): what the object is, who had it, its bytes. */
static void print_trailer(struct kmem_cache *c, struct us_slab *slab,
			  void *obj)
{
	char *slot = us_chunk_slot_start(slab);
	void *fp = us_slab_fp_peek(c, obj);

	/* The peek closes the word behind it; the caller has it open. */
	us_mem_open(bytes(obj) + c->offset, sizeof(void *));
	us_report_line("INFO: Slab %p objects=%u used=%u fp=%p flags=0x%x",
		       (void *)slot, slab->objects, slab->inuse, slab->freelist,
		       c->flags & US_DEBUG_FLAGS);
	us_report_line("INFO: Object %p @offset=%lu fp=%p", obj,
		       (unsigned long)(bytes(obj) - bytes(slot)), fp);
	if (c->flags & SLAB_STORE_USER) {
		uint64_t now = us_os_now_ms();

		print_track("Allocated", track_of(c, obj, TRACK_ALLOC), now);
		print_track("Freed", track_of(c, obj, TRACK_FREE), now);
	}
	us_report_line("%s", "");
	if (c->red_left)
		hex_dump("Redzone  ", bytes(obj) - c->red_left, c->red_left);
	hex_dump("Object   ", obj, US_MIN((size_t)c->object_size,
					  (size_t)DUMP_MAX));
	if (c->flags & SLAB_RED_ZONE)
		hex_dump("Redzone  ", bytes(obj) + c->object_size,
			 c->rz_end - c->object_size);
	if (pad_end(c) > c->meta_end)
		hex_dump("Padding  ", bytes(obj) + c->meta_end,
			 pad_end(c) - c->meta_end);
	us_report_line("%s", "");
}

/*
 * SLUB's check_bytes_and_report(): are len bytes at start all value?  If
 * not, report the damaged range, restore it, and return false.
 */
static bool check_bytes(struct kmem_cache *c, struct us_slab *slab,
			void *obj, const char *what, unsigned char *start,
			int value, size_t len)
{
	unsigned char *fault = NULL, *end = start + len;
	char head[96];

	for (size_t i = 0; i < len; i++)
		if (start[i] != (unsigned char)value) {
			fault = start + i;
			break;
		}
	if (!fault)
		return true;
	while (end > fault && end[-1] == (unsigned char)value)
		end--;
	us_format(head, sizeof(head), "%s overwritten", what);
	report_begin(c->name, head);
	us_report_line("INFO: %p-%p @offset=%lu. First byte 0x%x instead of "
		       "0x%x", (void *)fault, (void *)(end - 1),
		       (unsigned long)(fault - bytes(us_chunk_slot_start(slab))),
		       *fault, value);
	print_trailer(c, slab, obj);
	memset(fault, value, (size_t)(end - fault));
	us_format(head, sizeof(head), "Restoring %s %p-%p=0x%x", what,
		  (void *)fault, (void *)(end - 1), value);
	report_end(c, head);
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
	us_lock(&report_lock);
	us_report_line("TRACE %s %s %p inuse=%u fp=%p", c->name, op, obj,
		       slab->inuse, slab->freelist);
	if (op[0] == 'f')
		hex_dump("Object   ", obj, US_MIN((size_t)c->object_size,
						  (size_t)TRACE_DUMP_MAX));
	us_unlock(&report_lock);
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

void *us_debug_alloc(struct kmem_cache *c, int node)
{
	struct us_track t = { 0 };
	void *obj;

	/* Unwound before the slab lock is taken: see internal.h, 7. */
	if (c->flags & SLAB_STORE_USER)
		capture_track(&t);
	obj = us_slab_alloc_debug(c, &t, node);
	if (obj)
		us_obj_handout(c, obj);
	return obj;
}

void us_debug_free(struct kmem_cache *c, void *obj)
{
	struct us_track t = { 0 };

	/* Unwound before the slab lock is taken: see internal.h, 7. */
	if (c->flags & SLAB_STORE_USER)
		capture_track(&t);
	us_obj_takeback(c, obj);
	us_slab_free_debug(c, obj, &t);
}

bool us_debug_free_checks(struct kmem_cache *c, struct us_slab *slab,
			  void *obj, const struct us_track *freer)
{
	bool ok;

	if (us_slab_obj_is_free(c, slab, obj)) {
		us_bug_already_free(c, obj);
		return false;
	}
	meta_open(c, obj);
	us_mem_open(obj, c->object_size);
	ok = check_object(c, slab, obj, US_RED_ACTIVE);
	if (!ok) {
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

/* ------------------------------------------------------ whole-cache walks */

static void validate_one(struct kmem_cache *c, struct us_slab *slab,
			 void *obj, bool is_free, void *arg)
{
	unsigned int *damaged = arg;

	meta_open(c, obj);
	if (is_free)
		us_mem_open(obj, c->object_size);
	if (!check_object(c, slab, obj,
			  is_free ? US_RED_INACTIVE : US_RED_ACTIVE))
		(*damaged)++;
	meta_close(c, obj);
	if (is_free && us_mem_tracked(c))
		us_mem_hide(obj, c->object_size);
}

unsigned int us_debug_validate(struct kmem_cache *c)
{
	unsigned int damaged = 0;

	if (!(c->flags & US_CACHE_DEBUG))
		return 0;
	us_slab_for_each_object(c, validate_one, &damaged);
	return damaged;
}

struct leak_site {
	void *ip;
	uint64_t count, min_age, max_age;
};

struct leaks {
	struct leak_site site[LEAK_SITES];
	unsigned int nsites, listed;
	uint64_t other, now;
};

static void leak_one(struct kmem_cache *c, struct us_slab *slab, void *obj,
		     bool is_free, void *arg)
{
	struct leaks *l = arg;
	struct us_track *t;
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
	for (i = 0; i < l->nsites; i++)
		if (l->site[i].ip == t->frames[0])
			break;
	if (i == l->nsites) {
		if (i == LEAK_SITES) {
			l->other++;
			goto out;
		}
		l->site[i] = (struct leak_site){ t->frames[0], 0, age, age };
		l->nsites++;
	}
	l->site[i].count++;
	l->site[i].min_age = US_MIN(l->site[i].min_age, age);
	l->site[i].max_age = US_MAX(l->site[i].max_age, age);
out:
	if (us_mem_tracked(c))
		us_mem_hide(t, sizeof(*t));
}

void us_debug_report_leaks(struct kmem_cache *c, uint64_t live)
{
	struct leaks l;
	char head[96];

	memset(&l, 0, sizeof(l));
	l.now = us_os_now_ms();
	us_format(head, sizeof(head), "Objects remaining in %s on "
		  "kmem_cache_destroy()", c->name);
	report_begin(c->name, head);
	us_slab_for_each_object(c, leak_one, &l);
	if (l.listed < live)
		us_report_line("INFO: ... and %llu more",
			       (unsigned long long)(live - l.listed));
	for (unsigned int i = 0; i < l.nsites; i++) {
		char buf[256];

		if (l.site[i].ip)
			format_frame(buf, sizeof(buf), l.site[i].ip);
		else
			us_format(buf, sizeof(buf), "an unknown caller");
		us_report_line("INFO: %llu objects allocated in %s age=%llu-%llu",
			       (unsigned long long)l.site[i].count, buf,
			       (unsigned long long)l.site[i].min_age,
			       (unsigned long long)l.site[i].max_age);
	}
	if (l.other)
		us_report_line("INFO: %llu objects allocated elsewhere",
			       (unsigned long long)l.other);
	us_report_line("%s", "");
	us_unlock(&report_lock);
}

/* ---------------------------------------------------- the cheap checks */

void us_bug_invalid_pointer(struct kmem_cache *c, const char *who,
			    const void *p, const char *why)
{
	char head[128];

	us_format(head, sizeof(head), "Invalid object pointer %p", p);
	report_begin(c ? c->name : who, head);
	us_report_line("INFO: %p: %s", p, why);
	us_report_line("%s", "");
	us_format(head, sizeof(head), "Object at %p not freed", p);
	report_end(c, head);
}

void us_bug_wrong_cache(struct kmem_cache *c, struct kmem_cache *owner,
			const void *p)
{
	char head[USLAB_NAME_MAX * 2 + 64];

	us_format(head, sizeof(head), "Wrong slab cache. %s but object is "
		  "from %s", c->name, owner->name);
	report_begin(c->name, head);
	us_report_line("INFO: Object %p", p);
	us_report_line("%s", "");
	us_format(head, sizeof(head), "Object at %p not freed", p);
	report_end(c, head);
}

void us_bug_already_free(struct kmem_cache *c, const void *p)
{
	char head[96];

	report_begin(c->name, "Object already free");
	if (c->flags & US_CACHE_DEBUG) {
		struct us_chunk *ch = us_chunk_of(p);

		meta_open(c, (void *)p);
		us_mem_open((void *)p, c->object_size);
		print_trailer(c, us_chunk_slab(ch, p), (void *)p);
		meta_close(c, (void *)p);
		if (us_mem_tracked(c))
			us_mem_hide((void *)p, c->object_size);
	} else {
		us_report_line("INFO: Object %p", p);
		us_report_line("%s", "");
	}
	us_format(head, sizeof(head), "Object at %p not freed", p);
	report_end(c, head);
}

void us_bug_large_already_free(const void *p, size_t room)
{
	char head[96];

	report_begin("kmalloc-large", "Object already free");
	us_report_line("INFO: Object %p: a large block of %zu bytes, freed and "
		       "kept for reuse", p, room);
	us_report_line("%s", "");
	us_format(head, sizeof(head), "Object at %p not freed", p);
	report_end(NULL, head);
	abort();	/* report_end() aborts for no cache: for the compiler */
}

void us_bug_freepointer(struct kmem_cache *c, struct us_slab *slab,
			void *obj, void *bad)
{
	report_begin(c->name, "Freepointer corrupt");
	us_report_line("INFO: Object %p in slab %p holds free pointer %p, "
		       "which is not an object of its slab", obj,
		       (void *)us_chunk_slot_start(slab), bad);
	us_report_line("%s", "");
	print_stack();
	us_report_line("FIX %s: none; aborting", c->name);
	us_unlock(&report_lock);
	abort();
}
