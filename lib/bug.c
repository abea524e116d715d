/* SPDX-License-Identifier: MIT */
/*
 * bug.c - kernel-format bug reports and their stacks; see bug.h.
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

#include "bug.h"
#include "cfi.h"
#include "chunk.h"
#include "cpu.h"
#include "depot.h"
#include "memtool.h"
#include "options.h"
#include "os.h"
#include "report.h"

#define RULE_EQ "============================================================================="
#define RULE_DASH "-----------------------------------------------------------------------------"
#define STACK_MAX 16		/* frames in a report's own stack trace */

static struct us_lock report_lock US_FORK_STATE = US_LOCK_INIT;
bool us_bug_abort_always;

/* The calling thread's id, once known (gettid_now()). */
static __thread unsigned int tid_cached
	__attribute__((tls_model("initial-exec")));

void us_bug_fork_prepare(void)
{
	us_depot_fork_prepare();
	us_lock(&report_lock);
}

void us_bug_fork_parent(void)
{
	us_unlock(&report_lock);
	us_depot_fork_parent();
}

void us_bug_fork_child(void)
{
	us_lock_reset(&report_lock);
	us_depot_fork_child();
	tid_cached = 0;
}

/* ----------------------------------------------------------------- stacks */

/*
 * Two unwinders: uslab's (cfi.h), which caches each return address's
 * rule and walks a known stack in tens of nanoseconds, for the tracks;
 * and libgcc's, for reports and for any stack uslab's cannot read.
 * libgcc's is linked into libuslab from its static archive
 * (-static-libgcc, Makefile.am), its names kept private by the version
 * script, so that no process loads libgcc_s for a fallback that most
 * never take: a library more at every start was about five page faults
 * and nine system calls.  The private copy finds code by its loaded
 * objects' .eh_frame, as libgcc_s does; frames that a JIT registers with
 * libgcc_s's __register_frame() are the one thing it does not see, and
 * a stack through such code ends there.
 */
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

/* The caller's stack, less skip frames of its own; libgcc's unwinder. */
__attribute__((noinline)) static unsigned int
capture_stack(void **frames, unsigned int max, unsigned int skip)
{
	struct unwind_state st = { frames, 0, max, skip };

	_Unwind_Backtrace(unwind_one, &st);
	return st.n;
}

unsigned int us_bug_stack(void **frames, unsigned int max)
{
	int n = -1;

	if (strcmp(us_options.unwind, "libgcc") != 0)
		n = us_unwind(frames, max);
	return n >= 0 ? (unsigned int)n : capture_stack(frames, max, 1);
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

void us_bug_format_frame(char *buf, size_t size, void *ip)
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

/*
 * The calling thread's id, asked of the kernel once per thread: the
 * system call was a tenth of U tracking's cost.  A child of fork() runs
 * on as the thread that forked, under a new id: us_bug_fork_child()
 * forgets the old one.
 */
static unsigned int gettid_now(void)
{
	if (unlikely(!tid_cached))
		tid_cached = (unsigned int)syscall(SYS_gettid);
	return tid_cached;
}

void us_bug_capture_track(struct us_track *t)
{
	void *frames[US_TRACK_DEPTH + 8];
	unsigned int n, first = 0;

	n = us_bug_stack(frames, US_ARRAY_SIZE(frames));
	/* Keep the caller's frames: drop ours, found cheaply by address. */
	while (first + 1 < n && first < 8 && frame_is_internal(frames[first]))
		first++;
	t->handle = us_depot_save(frames + first,
				  US_MIN(n - first, (unsigned int)US_TRACK_DEPTH));
	t->cpu = us_cpu_id();
	t->tid = gettid_now();
	t->when = us_os_now_ms();
}

unsigned int us_bug_track_frames(const struct us_track *t, void *const **frames)
{
	unsigned int n;

	*frames = us_depot_fetch(t->handle, &n);
	return n;
}

/* ---------------------------------------------------------------- reports */

void us_bug_lock(void)
{
	us_lock(&report_lock);
}

void us_bug_unlock(void)
{
	us_unlock(&report_lock);
}

void us_bug_begin(const char *cache, const char *what)
{
	us_lock(&report_lock);
	us_report_line("%s", RULE_EQ);
	us_report_line("BUG %s: %s", cache, what);
	us_report_line("%s", RULE_DASH);
	us_report_line("%s", "");
}

void us_bug_hex(const char *prefix, const void *p, size_t len)
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
		us_bug_format_frame(buf, sizeof(buf), frames[i]);
		us_report_line(" %s", buf);
	}
}

static bool must_abort(const struct kmem_cache *c)
{
	return us_bug_abort_always || !c || !(c->flags & US_CACHE_DEBUG);
}

void us_bug_end(const struct kmem_cache *c, const char *fix)
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

void us_bug_track(const char *verb, const struct us_track *t, uint64_t now)
{
	void *const *frames;
	unsigned int n = us_bug_track_frames(t, &frames);
	char buf[256];

	if (n == 0)
		return;
	us_bug_format_frame(buf, sizeof(buf), frames[0]);
	us_report_line("INFO: %s in %s age=%llu cpu=%u pid=%u", verb, buf,
		       (unsigned long long)(now - t->when), t->cpu, t->tid);
	for (unsigned int i = 1; i < n; i++) {
		us_bug_format_frame(buf, sizeof(buf), frames[i]);
		us_report_line(" %s", buf);
	}
}

/* ------------------------------------------------------ the cheap checks */

void us_bug_invalid_pointer(struct kmem_cache *c, const char *who,
			    const void *p, const char *why)
{
	char head[128];

	us_format(head, sizeof(head), "Invalid object pointer %p", p);
	us_bug_begin(c ? c->name : who, head);
	us_report_line("INFO: %p: %s", p, why);
	us_report_line("%s", "");
	us_format(head, sizeof(head), "Object at %p not freed", p);
	us_bug_end(c, head);
}

void us_bug_wrong_cache(struct kmem_cache *c, struct kmem_cache *owner,
			const void *p)
{
	char head[USLAB_NAME_MAX * 2 + 64];

	us_format(head, sizeof(head), "Wrong slab cache. %s but object is "
		  "from %s", c->name, owner->name);
	us_bug_begin(c->name, head);
	us_report_line("INFO: Object %p", p);
	us_report_line("%s", "");
	us_format(head, sizeof(head), "Object at %p not freed", p);
	us_bug_end(c, head);
}

void us_bug_already_free(struct kmem_cache *c, const void *p)
{
	char head[96];

	us_bug_begin(c->name, "Object already free");
	us_report_line("INFO: Object %p", p);
	us_report_line("%s", "");
	us_format(head, sizeof(head), "Object at %p not freed", p);
	us_bug_end(NULL, head);
	abort();	/* us_bug_end() aborts for no cache: for the compiler */
}

void us_bug_large_already_free(const void *p, size_t room)
{
	char head[96];

	us_bug_begin("kmalloc-large", "Object already free");
	us_report_line("INFO: Object %p: a large block of %zu bytes, freed and "
		       "kept for reuse", p, room);
	us_report_line("%s", "");
	us_format(head, sizeof(head), "Object at %p not freed", p);
	us_bug_end(NULL, head);
	abort();
}

void us_bug_freepointer(struct kmem_cache *c, struct us_slab *slab,
			void *obj, void *bad)
{
	us_bug_begin(c->name, "Freepointer corrupt");
	us_report_line("INFO: Object %p in slab %p holds free pointer %p, "
		       "which is not an object of its slab", obj,
		       (void *)us_chunk_slot_start(slab), bad);
	us_report_line("%s", "");
	print_stack();
	us_report_line("FIX %s: none; aborting", c->name);
	us_unlock(&report_lock);
	abort();
}
