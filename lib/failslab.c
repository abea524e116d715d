/* SPDX-License-Identifier: MIT */
/*
 * failslab.c - the kernel's slab fault injection (mm/failslab.c over
 * lib/fault-inject.c; Documentation/fault-injection/ of Linux 6.12).
 *
 * Owns one set of fault attributes for the process, as the kernel has one
 * failslab directory in debugfs:
 *
 *   probability      percent of the candidate allocations that fail (0:
 *                    none, and failslab is off)
 *   interval         only every interval'th candidate may fail
 *   times            failures left; -1 without limit
 *   space            bytes of candidates that pass before any may fail
 *   verbose          0 silent; 1 the kernel's two lines per failure; 2
 *                    those and the stack
 *   ignore-gfp-wait  Y: never fail an allocation that may block
 *                    (__GFP_DIRECT_RECLAIM, so GFP_KERNEL)
 *   cache-filter     Y: only caches made with SLAB_FAILSLAB
 *
 * They are set from USLAB_FAILSLAB at start-up and by uslab_failslab() at
 * any time, in one syntax: comma-separated name=value pairs with the
 * kernel's names, or the kernel's boot form "interval,probability,space,
 * times".  Defaults are the kernel's: probability 0, interval 1, times 1,
 * space 0, verbose 2, ignore-gfp-wait Y, cache-filter N.
 *
 * The fast paths: kmem_cache_alloc() and kmalloc() test the GFP flags
 * against us_gfp_slow, which is ~US_GFP_PLAIN while failslab is off and
 * every bit while it is armed.  So an armed failslab sends each slab
 * allocation to the slow path, where us_failslab_should_fail() decides;
 * off, it costs the fast paths two instructions (failslab.h).  Large kmalloc() blocks
 * are not slab allocations (the kernel's come from the page allocator,
 * whose fault injection is fail_page_alloc), so failslab leaves them be.
 *
 * Concurrency: the attributes are atomics, read relaxed; times and space
 * change by compare-and-swap so that exactly `times' allocations fail
 * however many threads race.  A set of attributes written by
 * uslab_failslab() while other threads allocate takes effect attribute by
 * attribute; the arming word is written last.  Allocates nothing.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bug.h"
#include "failslab.h"
#include "options.h"
#include "os.h"
#include "report.h"
#include "types.h"

gfp_t us_gfp_slow = ~(gfp_t)US_GFP_PLAIN;

struct fault_attrs {
	unsigned long probability;
	unsigned long interval;
	long times;
	long space;
	unsigned long verbose;
	bool ignore_gfp_wait;
	bool cache_filter;
};

static const struct fault_attrs defaults = {
	.interval = 1, .times = 1, .verbose = 2, .ignore_gfp_wait = true,
};

static struct {
	_Atomic unsigned long probability;
	_Atomic unsigned long interval;
	_Atomic long times;
	_Atomic long space;
	_Atomic unsigned long verbose;
	_Atomic bool ignore_gfp_wait;
	_Atomic bool cache_filter;
	_Atomic unsigned long count;	/* candidates seen, for interval */
} attr = {
	.interval = 1, .times = 1, .verbose = 2, .ignore_gfp_wait = true,
};

static bool parse_long(const char *s, size_t n, long min, long max, long *out)
{
	bool neg = n > 0 && *s == '-';
	unsigned long v = 0;

	if (neg) {
		s++;
		n--;
	}
	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > (unsigned long)LONG_MAX)
		return false;
	*out = neg ? -(long)v : (long)v;
	return *out >= min && *out <= max;
}

static bool parse_bool(const char *s, size_t n, bool *out)
{
	if (n != 1)
		return false;
	switch (*s) {
	case 'Y': case 'y': case '1':
		*out = true;
		return true;
	case 'N': case 'n': case '0':
		*out = false;
		return true;
	}
	return false;
}

/* The kernel's boot form: "interval,probability,space,times". */
static bool parse_boot_form(const char *spec, struct fault_attrs *a)
{
	long v[4];
	const char *p = spec;

	for (int i = 0; i < 4; i++) {
		size_t n = strcspn(p, ",");

		if (!parse_long(p, n, i == 3 ? -1 : 0,
				i == 1 ? 100 : INT_MAX, &v[i]) ||
		    (i < 3) != (p[n] == ','))
			return false;
		p += n + (i < 3);
	}
	if (v[0] < 1)
		return false;
	a->interval = (unsigned long)v[0];
	a->probability = (unsigned long)v[1];
	a->space = v[2];
	a->times = v[3];
	return true;
}

/*
 * Parse spec over *a (which holds the values it starts from).  False,
 * with *bad pointing at the offending pair, on any error; *a is then
 * partly written.
 */
static bool parse_spec(const char *spec, struct fault_attrs *a,
		       const char **bad)
{
	const char *p = spec;

	if (*spec >= '0' && *spec <= '9') {
		*bad = spec;
		return parse_boot_form(spec, a);
	}
	if (*spec && spec[strlen(spec) - 1] == ',')
		return false;
	while (*p) {
		size_t n = strcspn(p, ","), k = strcspn(p, "=");
		const char *val = p + k + 1;
		size_t vn = n - k - 1;
		long v;
		bool ok;

		*bad = p;
		if (k >= n)
			return false;
#define IS(name) (k == sizeof(name) - 1 && strncmp(p, name, k) == 0)
		if (IS("probability") && (ok = parse_long(val, vn, 0, 100, &v)))
			a->probability = (unsigned long)v;
		else if (IS("interval") &&
			 (ok = parse_long(val, vn, 1, LONG_MAX, &v)))
			a->interval = (unsigned long)v;
		else if (IS("times") && (ok = parse_long(val, vn, -1, INT_MAX, &v)))
			a->times = v;
		else if (IS("space") && (ok = parse_long(val, vn, 0, INT_MAX, &v)))
			a->space = v;
		else if (IS("verbose") && (ok = parse_long(val, vn, 0, 2, &v)))
			a->verbose = (unsigned long)v;
		else if (IS("ignore-gfp-wait"))
			ok = parse_bool(val, vn, &a->ignore_gfp_wait);
		else if (IS("cache-filter"))
			ok = parse_bool(val, vn, &a->cache_filter);
		else
			ok = false;
#undef IS
		if (!ok)
			return false;
		p += n + (p[n] == ',');
	}
	return true;
}

static void current_attrs(struct fault_attrs *a)
{
	a->probability = atomic_load_explicit(&attr.probability,
					      memory_order_relaxed);
	a->interval = atomic_load_explicit(&attr.interval, memory_order_relaxed);
	a->times = atomic_load_explicit(&attr.times, memory_order_relaxed);
	a->space = atomic_load_explicit(&attr.space, memory_order_relaxed);
	a->verbose = atomic_load_explicit(&attr.verbose, memory_order_relaxed);
	a->ignore_gfp_wait = atomic_load_explicit(&attr.ignore_gfp_wait,
						  memory_order_relaxed);
	a->cache_filter = atomic_load_explicit(&attr.cache_filter,
					       memory_order_relaxed);
}

static void install(const struct fault_attrs *a)
{
	atomic_store_explicit(&attr.interval, a->interval, memory_order_relaxed);
	atomic_store_explicit(&attr.times, a->times, memory_order_relaxed);
	atomic_store_explicit(&attr.space, a->space, memory_order_relaxed);
	atomic_store_explicit(&attr.verbose, a->verbose, memory_order_relaxed);
	atomic_store_explicit(&attr.ignore_gfp_wait, a->ignore_gfp_wait,
			      memory_order_relaxed);
	atomic_store_explicit(&attr.cache_filter, a->cache_filter,
			      memory_order_relaxed);
	atomic_store_explicit(&attr.count, 0, memory_order_relaxed);
	atomic_store_explicit(&attr.probability, a->probability,
			      memory_order_relaxed);
	us_failslab_route(US_FAILSLAB_ROUTE_ARMED, a->probability != 0);
}

/*
 * Who wants every slab allocation on the slow path (US_FAILSLAB_ROUTE_*
 * bits), and us_gfp_slow made from them: all bits while failslab is
 * armed, which us_failslab_armed() reads; __GFP_DMA, which the fast
 * paths always or in, while only allocation profiling asks.
 */
static _Atomic unsigned int routes;

void us_failslab_route(unsigned int who, bool on)
{
	unsigned int r;

	if (on)
		atomic_fetch_or(&routes, who);
	else
		atomic_fetch_and(&routes, ~who);
	/* Until the word stored is made from the bits as they are now. */
	do {
		gfp_t slow = ~(gfp_t)US_GFP_PLAIN;

		r = atomic_load(&routes);
		if (r & US_FAILSLAB_ROUTE_ARMED)
			slow = ~(gfp_t)0;
		else if (r)
			slow |= __GFP_DMA;
		__atomic_store_n(&us_gfp_slow, slow, __ATOMIC_RELEASE);
	} while (atomic_load(&routes) != r);
}

void us_failslab_init(void)
{
	struct fault_attrs a = defaults;
	const char *bad;

	if (!us_options.failslab[0])
		return;
	if (!parse_spec(us_options.failslab, &a, &bad)) {
		us_report("USLAB_FAILSLAB=%s ignored at \"%s\": expected "
			  "name=value pairs (probability, interval, times, "
			  "space, verbose, ignore-gfp-wait, cache-filter) or "
			  "interval,probability,space,times",
			  us_options.failslab, bad);
		return;
	}
	install(&a);
}

int uslab_failslab(const char *spec)
{
	struct fault_attrs a;
	const char *bad;

	if (!spec) {
		errno = EINVAL;
		return -EINVAL;
	}
	us_init();
	current_attrs(&a);
	if (!*spec)
		a = defaults;		/* "": back to the kernel's defaults */
	else if (!parse_spec(spec, &a, &bad)) {
		errno = EINVAL;
		return -EINVAL;
	}
	install(&a);
	return 0;
}

/* Take size from space, or false once space would not cover it. */
static bool take_space(long size)
{
	long sp = atomic_load_explicit(&attr.space, memory_order_relaxed);

	while (sp > size)
		if (atomic_compare_exchange_weak_explicit(
			    &attr.space, &sp, sp - size, memory_order_relaxed,
			    memory_order_relaxed))
			return true;
	return false;
}

/*
 * Take one of times, or false when none is left; *was is what times
 * said before, as the kernel's report prints it.
 */
static bool take_time(long *was)
{
	long t = atomic_load_explicit(&attr.times, memory_order_relaxed);

	while (t != 0) {
		*was = t;
		if (t == -1)
			return true;
		if (atomic_compare_exchange_weak_explicit(
			    &attr.times, &t, t - 1, memory_order_relaxed,
			    memory_order_relaxed))
			return true;
	}
	return false;
}

/* The kernel's fail_dump(), in its words. */
static void report_failure(long times)
{
	unsigned long verbose = atomic_load_explicit(&attr.verbose,
						     memory_order_relaxed);
	struct us_track t;
	void *const *frames = NULL;
	unsigned int n = 0;
	char frame[160];

	if (verbose == 0)
		return;
	if (verbose > 1) {
		us_bug_capture_track(&t);
		n = us_bug_track_frames(&t, &frames);
	}
	us_bug_lock();
	us_report_line("FAULT_INJECTION: forcing a failure.");
	us_report_line("name failslab, interval %lu, probability %lu, "
		       "space %d, times %d",
		       atomic_load_explicit(&attr.interval,
					    memory_order_relaxed),
		       atomic_load_explicit(&attr.probability,
					    memory_order_relaxed),
		       (int)atomic_load_explicit(&attr.space,
						 memory_order_relaxed),
		       (int)times);
	if (verbose > 1) {
		us_report_line("Call Trace:");
		for (unsigned int i = 0; i < n; i++) {
			us_bug_format_frame(frame, sizeof(frame), frames[i]);
			us_report_line(" %s", frame);
		}
	}
	us_bug_unlock();
}

bool us_failslab_should_fail(const struct kmem_cache *s, gfp_t flags)
{
	unsigned long probability, interval;
	long times;

	if (flags & __GFP_NOFAIL)
		return false;
	if ((flags & __GFP_DIRECT_RECLAIM) &&
	    atomic_load_explicit(&attr.ignore_gfp_wait, memory_order_relaxed))
		return false;
	if (!(s->flags & SLAB_FAILSLAB) &&
	    atomic_load_explicit(&attr.cache_filter, memory_order_relaxed))
		return false;
	/* lib/fault-inject.c's should_fail_ex(), in its order. */
	probability = atomic_load_explicit(&attr.probability,
					   memory_order_relaxed);
	if (probability == 0 ||
	    atomic_load_explicit(&attr.times, memory_order_relaxed) == 0)
		return false;
	if (take_space((long)s->object_size))
		return false;
	interval = atomic_load_explicit(&attr.interval, memory_order_relaxed);
	if (interval > 1 &&
	    (atomic_fetch_add_explicit(&attr.count, 1, memory_order_relaxed) +
	     1) % interval != 0)
		return false;
	if (probability < 100 && us_os_random() % 100 >= probability)
		return false;
	if (!take_time(&times))
		return false;
	if (!(flags & __GFP_NOWARN))
		report_failure(times);
	return true;
}
