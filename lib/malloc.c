/* SPDX-License-Identifier: MIT */
/*
 * malloc.c - the C malloc family on uslab: libuslab-malloc.
 *
 * The top layer (design essay, 1).  It maps each function onto the
 * kmalloc layer and adds what C, POSIX and glibc promise beyond the
 * kernel's API:
 *
 *   - malloc(0) is a unique pointer (an 8-byte object), not ZERO_SIZE_PTR;
 *     so are calloc(0, n), aligned_alloc(a, 0) and the rest.
 *   - Sizes up to KMALLOC_MAX_CACHE_SIZE take the malloc classes
 *     (kmalloc.h): four per doubling, where kmalloc() keeps the kernel's
 *     powers of two; so a 4.2 KiB block takes 5 KiB, not 8.
 *   - Failure is NULL with errno ENOMEM and changes nothing; calloc()
 *     and reallocarray() check their multiplication; posix_memalign()
 *     returns its error and leaves errno and *memptr alone.
 *   - realloc(p, 0) frees p and returns NULL, as glibc does.  A block
 *     stays in place while its class holds the new size and it would not
 *     fit a class of half that; otherwise it moves to the new size's
 *     class.  Large blocks grow and shrink by remapping (krealloc()).
 *   - Alignment: the classes give 16 bytes from 16 bytes up and 8
 *     below, which is what malloc must; larger alignments take
 *     uslab_kmalloc_aligned(), which supports any power of two.
 *     aligned_alloc() and posix_memalign() refuse any other alignment
 *     with EINVAL, as C and glibc 2.38 do; memalign() rounds it up, as
 *     every glibc does.
 *   - free() and realloc() of a pointer uslab did not allocate are
 *     reported by kfree()/ksize() and abort.
 *
 * The fast paths of malloc() and free() are libuslab's own, inlined from
 * its headers (us_malloc_class(), us_mag_alloc(), us_cache_find(),
 * us_mag_free()), so that the common case makes no call into libuslab:
 * a size class, a table load and a restartable sequence.  The data they
 * read and the slow paths they call belong to libuslab, through its
 * private interface (internal.h, US_SHARED): one heap per process,
 * whichever library loads first.
 *
 * Start-up: uslab initialises itself on the first call from any entry
 * point, allocates nothing from libc while doing so, and keeps no
 * per-thread state, so these functions are safe from the dynamic loader,
 * before main, from dlsym(), during thread creation and exit, in atexit
 * handlers and thread-specific-data destructors, and after fork().
 *
 * Built with -fno-builtin, so that the compiler does not turn these
 * bodies into calls to themselves.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uslab.h>

#include "alloctag.h"
#include "cache.h"
#include "kmalloc.h"
#include "magazine.h"

#define MALLOC_EXPORT __attribute__((visibility("default")))
#define IS_POWER_OF_2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)

/* A request of 0 bytes still gets a block of its own. */
static inline size_t nonzero(size_t size)
{
	return size ? size : 1;
}

/*
 * libuslab-malloc's copies of libuslab's private variables (US_PRIV in
 * internal.h) and of its table of class caches: read without the GOT.
 * All are set once by libuslab and never change.  copy_privates(), after
 * us_malloc_init(), copies the variables, the rseq offset before the CPU
 * bound; copy_class(), after a class is made on its first malloc(), its
 * cache, released, so that a thread that finds a class finds the rest.
 * Until then the copies read 0 and NULL, and the calls take the slow
 * paths, which fill them.
 */
US_LOCAL ptrdiff_t us_rseq_offset_mc;
US_LOCAL uint32_t us_rseq_cpus_mc;
US_LOCAL bool us_rseq_enabled_mc;
US_LOCAL unsigned int us_nr_cpus_mc;
US_LOCAL bool us_mem_valgrind_mc;
static struct kmem_cache *classes[US_MALLOC_CLASSES];

/*
 * The small classes by size in 8-byte steps, for malloc()'s most common
 * sizes: small[(size + 7) / 8] is class_cache(size) for sizes 1 to
 * SMALL_MAX, one load and no class arithmetic.  small[0] stays NULL, so
 * malloc(0) takes the slow path, which gives it a block of its own.
 * Every class boundary is a multiple of 8 (kmalloc.h), so no step
 * straddles one.  To 1 KiB, as mimalloc's and tcmalloc's tables go: the
 * 129 pointers cost 1 KiB, and the arithmetic they spare costs 15
 * instructions a malloc() from 129 bytes up (make bench-callgrind).
 */
#define SMALL_MAX 1024
static struct kmem_cache *small[SMALL_MAX / 8 + 1];

static void copy_privates(void)
{
	us_mem_valgrind_mc = us_mem_valgrind;
	us_nr_cpus_mc = us_nr_cpus;
	us_rseq_enabled_mc = us_rseq_enabled;
	us_rseq_offset_mc = us_rseq_offset;
	__atomic_store_n(&us_rseq_cpus_mc, us_rseq_cpus, __ATOMIC_RELEASE);
}

/*
 * Class i's cache c, for the fast path, and for the sizes of small[] that
 * fall in it.  Not while malloc's call sites are counted
 * (USLAB_ALLOCINFO): with no class for the fast path, every call reaches
 * the slow path, which counts.
 */
static void copy_class(unsigned int i, struct kmem_cache *c)
{
	if (us_tag_malloc_on || __atomic_load_n(&classes[i], __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&classes[i], c, __ATOMIC_RELEASE);
	for (size_t j = 1; j <= SMALL_MAX / 8; j++)
		if (us_malloc_class(j * 8) == i)
			__atomic_store_n(&small[j], c, __ATOMIC_RELEASE);
}

/*
 * A cache pointer from classes[] or small[], acquiring (copy_privates()
 * releases them).  On x86-64 every load acquires, and GCC's atomic load
 * of an indexed address takes an instruction more than a plain load and
 * a compiler fence do.
 */
static inline struct kmem_cache *read_cache(struct kmem_cache **slot)
{
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
	struct kmem_cache *c = *(struct kmem_cache *volatile *)slot;

	__atomic_signal_fence(__ATOMIC_ACQUIRE);
	return c;
#else
	return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
#endif
}

/* The cache of a malloc class, or NULL before the classes are copied. */
static inline struct kmem_cache *class_cache(size_t size)
{
	return read_cache(&classes[us_malloc_class(size)]);
}

/* class_cache() of a size from 0 to SMALL_MAX, by the table; 0: NULL. */
static inline struct kmem_cache *small_cache(size_t size)
{
	return read_cache(&small[(size + 7) / 8]);
}

/*
 * libuslab's calls made for malloc(): while allocation profiling counts
 * (alloctag.h), they count to no call site, as the small sizes, which
 * never leave the fast paths here, do not either.
 */
#define UNCOUNTED(call)                                                     \
	({                                                                  \
		struct alloc_tag *saved_ = uslab_current_alloc_tag;         \
		__typeof__(call) r_;                                        \
		uslab_current_alloc_tag = US_TAG_NONE;                      \
		r_ = (call);                                                \
		uslab_current_alloc_tag = saved_;                           \
		r_;                                                         \
	})

/* The caller's return address, the site a call is counted to. */
#define CALLER __builtin_return_address(0)

/* Count p to the call site at ra, if malloc's call sites are counted. */
static inline void *counted(void *p, const void *ra)
{
	if (unlikely(us_tag_malloc_on))
		us_tag_malloc_count(p, ra);
	return p;
}

/*
 * malloc() of 0, of a large size, of a size whose class is not made or
 * copied yet, or of any size while malloc's call sites are counted: for
 * the call at ra.
 */
static __attribute__((noinline)) void *malloc_slow(size_t size, const void *ra)
{
	struct kmem_cache *c;
	unsigned int class;

	size = nonzero(size);
	if (size > KMALLOC_MAX_CACHE_SIZE)
		return counted(UNCOUNTED(kmalloc(size, GFP_KERNEL)), ra);
	us_malloc_init();
	copy_privates();
	class = (unsigned int)us_malloc_class(size);
	c = us_malloc_class_cache(class);
	if (c)
		copy_class(class, c);
	return counted(c ? us_mag_alloc(c) : UNCOUNTED(kmalloc(size, GFP_KERNEL)),
		       ra);
}

/* The cache whose magazines serve malloc(size), or NULL: the slow path. */
static inline __attribute__((always_inline)) struct kmem_cache *
fast_cache(size_t size)
{
	if (likely(size <= SMALL_MAX))
		return small_cache(size);
	if (likely(size <= KMALLOC_MAX_CACHE_SIZE))
		return class_cache(size);
	return NULL;
}

/* malloc(), for the call at ra. */
static inline __attribute__((always_inline)) void *malloc_at(size_t size,
							     const void *ra)
{
	struct kmem_cache *c = fast_cache(size);

	if (likely(c != NULL))
		return us_mag_alloc(c);
	return malloc_slow(size, ra);
}

/*
 * malloc_at() with its caller read on the slow path alone: passed in,
 * the return address is loaded before the fast path, an instruction for
 * every malloc() that only the slow path uses.
 */
MALLOC_EXPORT US_FAST_ENTRY void *malloc(size_t size)
{
	struct kmem_cache *c = fast_cache(size);

	if (likely(c != NULL))
		return us_mag_alloc(c);
	return malloc_slow(size, CALLER);
}

MALLOC_EXPORT US_FAST_ENTRY void free(void *p)
{
	if (unlikely(!us_cache_free_any(p)))
		kfree(p);	/* NULL, a large block, or a report */
}

MALLOC_EXPORT void *calloc(size_t n, size_t size)
{
	size_t bytes;
	void *p;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	/*
	 * A large block is zeroed only if it is reused (a new mapping is
	 * zero already).  A small one is zeroed here, request only: kzalloc()
	 * would clear its whole size class, which calloc() does not owe.
	 */
	if (bytes > KMALLOC_MAX_CACHE_SIZE)
		return counted(UNCOUNTED(kzalloc(bytes, GFP_KERNEL)), CALLER);
	p = malloc_at(bytes, CALLER);
	if (p)
		memset(p, 0, bytes);
	return p;
}

/*
 * realloc(), for the call at ra.  A block resized in place, or a large
 * one moved by its pages, keeps its site; one copied is counted anew.
 */
static void *realloc_at(void *p, size_t size, const void *ra)
{
	size_t have;
	void *n;

	if (!p)
		return malloc_at(size, ra);
	if (size == 0) {
		free(p);
		return NULL;
	}
	have = ksize(p);
	if (have > KMALLOC_MAX_CACHE_SIZE && size > KMALLOC_MAX_CACHE_SIZE)
		return UNCOUNTED(krealloc(p, size, GFP_KERNEL));
	/* In place while it fits and a class of half the size would not. */
	if (size <= have && (size > have / 2 || have <= 16))
		return p;
	n = malloc_at(size, ra);
	if (!n)
		return size <= have ? p : NULL;	/* a shrink still fits */
	memcpy(n, p, size < have ? size : have);
	free(p);
	return n;
}

MALLOC_EXPORT void *realloc(void *p, size_t size)
{
	return realloc_at(p, size, CALLER);
}

MALLOC_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc_at(p, bytes, CALLER);
}

static void *aligned(size_t align, size_t size, const void *ra)
{
	if (!IS_POWER_OF_2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return counted(UNCOUNTED(uslab_kmalloc_aligned(nonzero(size), align,
						       GFP_KERNEL)),
		       ra);
}

MALLOC_EXPORT int posix_memalign(void **memptr, size_t align, size_t size)
{
	int saved = errno, err = 0;
	void *p;

	if (!IS_POWER_OF_2(align) || align % sizeof(void *) != 0)
		return EINVAL;
	p = aligned(align, size, CALLER);
	if (p)
		*memptr = p;
	else
		err = errno;
	errno = saved;
	return err;
}

MALLOC_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	return aligned(align, size, CALLER);
}

/*
 * memalign() is older than the rules of aligned_alloc() and lenient, as
 * glibc's: an alignment that is not a power of two is rounded up to one
 * (0 and 1 mean none), and programs rely on that.
 */
MALLOC_EXPORT void *memalign(size_t align, size_t size)
{
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	while (!IS_POWER_OF_2(align))
		align = align ? (align | (align - 1)) + 1 : 1;
	return aligned(align, size, CALLER);
}

MALLOC_EXPORT void *valloc(size_t size)
{
	return aligned((size_t)sysconf(_SC_PAGESIZE), size, CALLER);
}

MALLOC_EXPORT void *pvalloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (size > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned(page, (nonzero(size) + page - 1) & ~(page - 1), CALLER);
}

MALLOC_EXPORT size_t malloc_usable_size(void *p)
{
	return p ? ksize(p) : 0;
}

MALLOC_EXPORT int malloc_trim(size_t pad)
{
	(void)pad;
	return uslab_shrink_all() > 0;
}
