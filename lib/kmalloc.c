/* SPDX-License-Identifier: MIT */
/*
 * kmalloc.c - the kmalloc layer.
 *
 * Owns the kmalloc-N caches and the large path.  The size classes are
 * the kernel's: powers of two from 8 to US_KMALLOC_MAX_CACHE_SIZE, plus
 * 96 and 192.  A power-of-two class is created aligned to its size, as
 * the kernel's are, so kmalloc(2^k) is 2^k-aligned with any debug layout
 * too (a red zone then takes a whole alignment unit, as in SLUB); 96 and
 * 192 are 32- and 64-aligned.
 *
 * Sizes up to 192 find their class in a table, larger ones by their
 * highest bit (the kernel's size_index and fls).  Above the largest class
 * every allocation is a large chunk of its own (chunk.c), which kfree()
 * and ksize() recognise from its header; krealloc() between two large
 * sizes remaps the pages instead of copying them.  An alignment above 16
 * is served by the power-of-two class that covers both size and
 * alignment, or by the large path, which takes any alignment.
 *
 * kmalloc_lock guards only the creation of the caches; after that the
 * table is read without a lock (release/acquire on each entry).
 */
#include "config.h"

#include <errno.h>
#include <link.h>
#include <string.h>

#include "alloctag.h"
#include "cache.h"
#include "callout.h"
#include "chunk.h"
#include "bug.h"
#include "kmalloc.h"
#include "magazine.h"
#include "memtool.h"
#include "node.h"
#include "os.h"
#include "reclaim.h"
#include "report.h"
#include "tcache.h"

#define NR_KMALLOC 16

/* Each kmalloc-N and malloc-N cache has a thread-cache slot (tcache.h). */
_Static_assert(1 + NR_KMALLOC + US_MALLOC_CLASSES <= US_TCACHE_FIRST_USER,
	       "the classes' thread-cache slots");

static const unsigned int kmalloc_sizes[NR_KMALLOC] = {
	8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096,
	8192, 16384, 32768, 65536,
};

/* Class of sizes 1..192, by (size - 1) / 8. */
static const uint8_t size_index[24] = {
	0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
	5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6,
};

static struct kmem_cache *_Atomic kmalloc_caches[NR_KMALLOC];
static struct us_lock kmalloc_lock US_FORK_STATE = US_LOCK_INIT;
static _Atomic bool kmalloc_ready;

struct kmem_cache *_Atomic us_malloc_caches[US_MALLOC_CLASSES];
static _Atomic bool malloc_ready;

/* The class of a size from 1 to US_KMALLOC_MAX_CACHE_SIZE. */
static inline unsigned int kmalloc_index(size_t size)
{
	if (size <= 192)
		return size_index[(size - 1) / 8];
	return us_ilog2(size - 1);	/* 256 -> 7, ... 65536 -> 15 */
}

/*
 * The kmalloc-N caches are made at start-up, as the kernel's are: a
 * slabinfo reader finds every one.  One that could not be made then is
 * made on its first use.
 */
static struct kmem_cache *kmalloc_class_locked(unsigned int i)
{
	struct kmem_cache *c;
	unsigned int size = kmalloc_sizes[i];
	unsigned int align = US_IS_POWER_OF_2(size) ? size
			     : (size & 63) == 0 ? 64u : 32u;
	char name[24];

	US_ASSERT_HELD(&kmalloc_lock);
	c = atomic_load_explicit(&kmalloc_caches[i], memory_order_relaxed);
	if (c)
		return c;
	us_format(name, sizeof(name), "kmalloc-%u", size);
	c = us_cache_create(name, size, align, US_CACHE_KMALLOC, NULL);
	if (c)
		atomic_store_explicit(&kmalloc_caches[i], c,
				      memory_order_release);
	return c;
}

/*
 * The cache *slot holds, made by make(i) under kmalloc_lock if it is not
 * yet; NULL with errno ENOMEM if it cannot be made now (a later call
 * tries again).  make() looks at *slot again under the lock.
 */
static struct kmem_cache *
class_made(struct kmem_cache *_Atomic *slot,
	   struct kmem_cache *(*make)(unsigned int), unsigned int i)
{
	struct kmem_cache *c = atomic_load_explicit(slot, memory_order_acquire);

	if (likely(c))
		return c;
	us_init();
	us_lock(&kmalloc_lock);
	c = make(i);
	us_unlock(&kmalloc_lock);
	return c;
}

/* kmalloc class i's cache, as class_made(). */
static struct kmem_cache *kmalloc_class(unsigned int i)
{
	return class_made(&kmalloc_caches[i], kmalloc_class_locked, i);
}

void us_kmalloc_init(void)
{
	if (likely(atomic_load_explicit(&kmalloc_ready, memory_order_acquire)))
		return;
	us_init();
	us_lock(&kmalloc_lock);
	for (unsigned int i = 0; i < NR_KMALLOC; i++)
		if (!kmalloc_class_locked(i))
			break;	/* out of memory: made on first use */
	atomic_store_explicit(&kmalloc_ready, true, memory_order_release);
	us_unlock(&kmalloc_lock);
}

/*
 * Objects a callout takes: more than the largest magazine a thread keeps
 * of a small class, so that the callout empties the magazine it finds
 * loaded and runs the slow paths nested inside the one calling out.
 */
#define REENTER_OBJECTS 300
/* What a callout with no cache of its own asks for: a TLS vector's size. */
#define REENTER_SIZE 304

static __thread bool reentering __attribute__((tls_model("initial-exec")));

static void reenter_free(struct kmem_cache *own, void *p)
{
	if (own)
		kmem_cache_free(own, p);
	else
		kfree(p);
}

void us_kmalloc_reenter(enum us_callout where, struct kmem_cache *c)
{
	struct kmem_cache *own = NULL;
	void *p[REENTER_OBJECTS];
	unsigned int n = 0, half;

	(void)where;
	if (reentering)
		return;		/* the callouts of the callout's own paths */
	reentering = true;
	if (c && !(c->flags & (US_CACHE_NOMAGAZINE | US_CACHE_DEAD)))
		own = c;
	while (n < REENTER_OBJECTS &&
	       (p[n] = own ? kmem_cache_alloc(own, GFP_KERNEL)
			   : kmalloc(REENTER_SIZE, GFP_KERNEL)) != NULL)
		n++;
	/* Half in the order taken, half in reverse: both ends move. */
	half = n / 2;
	for (unsigned int i = 0; i < half; i++)
		reenter_free(own, p[i]);
	for (unsigned int i = n; i-- > half;)
		reenter_free(own, p[i]);
	reentering = false;
}

void us_malloc_init(void)
{
	if (likely(atomic_load_explicit(&malloc_ready, memory_order_acquire)))
		return;
	us_init();
	atomic_store_explicit(&malloc_ready, true, memory_order_release);
	/* uslab is the process's malloc: its helper may allocate. */
	us_reclaim_allow_helper(US_RECLAIM_IS_MALLOC);
}

/*
 * The malloc-N caches are made on first use, each under kmalloc_lock: a
 * process makes only the classes its sizes reach (a shell about 12 of
 * the 41), and a descriptor it does not make is neither faulted in at
 * start-up nor written by the fork handlers, in the parent and in the
 * child, at every fork().
 */
static struct kmem_cache *malloc_class_locked(unsigned int i)
{
	size_t size = us_malloc_class_size(i);
	unsigned int k = kmalloc_index(size);
	struct kmem_cache *c;
	char name[24];

	US_ASSERT_HELD(&kmalloc_lock);
	c = atomic_load_explicit(&us_malloc_caches[i], memory_order_relaxed);
	if (c)
		return c;
	if (kmalloc_sizes[k] == size) {
		c = kmalloc_class_locked(k);
	} else {
		us_format(name, sizeof(name), "malloc-%zu", size);
		c = us_cache_create(name, (unsigned int)size, 16,
				    US_CACHE_KMALLOC, NULL);
	}
	if (c)
		atomic_store_explicit(&us_malloc_caches[i], c,
				      memory_order_release);
	return c;
}

struct kmem_cache *us_malloc_class_cache(unsigned int i)
{
	return class_made(&us_malloc_caches[i], malloc_class_locked, i);
}

void us_kmalloc_fork_prepare(void)
{
	us_lock(&kmalloc_lock);
}

void us_kmalloc_fork_parent(void)
{
	us_unlock(&kmalloc_lock);
}

void us_kmalloc_fork_child(void)
{
	us_lock_reset(&kmalloc_lock);
}

static void *large_alloc(size_t size, size_t align, gfp_t flags, int node)
{
	us_init();	/* the node count and the page layer, on a first call */
	if ((flags & __GFP_THISNODE) && node == NUMA_NO_NODE)
		node = (int)us_node_current();
	if (!us_node_valid(node) || us_nr_nodes == 1)
		node = -1;
	for (unsigned int attempt = 0;; attempt++) {
		void *p = us_chunk_large_alloc(size, align, flags & __GFP_ZERO,
					       node);

		if (p) {
			struct us_chunk *ch = us_chunk_lookup(p);

			us_mem_handout(p, ch->usable, flags & __GFP_ZERO);
			if (unlikely(us_tag_counting()))
				us_tag_large_alloc(ch);
			else
				ch->tag = 0;	/* a reused block's is stale */
			return p;
		}
		if (!(flags & __GFP_NOFAIL))
			return NULL;
		us_cache_nofail_wait(attempt, size);
	}
}

static void large_free(struct us_chunk *ch)
{
	us_tag_large_free(ch);
	us_mem_takeback(us_chunk_large_object(ch), ch->usable);
	us_chunk_large_free(ch);
}

US_COLD static void *kmalloc_slow(size_t size, gfp_t flags, int node)
{
	struct kmem_cache *c;

	/* As cache_alloc_slow(): counted, on the fast path's magazines. */
	if (size - 1 < US_KMALLOC_MAX_CACHE_SIZE && node == NUMA_NO_NODE &&
	    us_cache_counting_only(flags) &&
	    (c = atomic_load_explicit(&kmalloc_caches[kmalloc_index(size)],
				      memory_order_acquire)) != NULL)
		return us_cache_alloc_counted(c);

	us_init();	/* the node count, before it is relied on */
	if ((flags & ~US_GFP_VALID) ||
	    ((flags & __GFP_THISNODE) && node != NUMA_NO_NODE &&
	     !us_node_valid(node))) {
		errno = EINVAL;
		return NULL;
	}
	if (size == 0)
		return ZERO_SIZE_PTR;
	if (size > US_KMALLOC_MAX_CACHE_SIZE)
		return large_alloc(size, 0, flags, node);
	for (unsigned int attempt = 0;; attempt++) {
		c = kmalloc_class(kmalloc_index(size));
		if (c)
			return us_cache_alloc_node(c, flags, node);
		errno = ENOMEM;
		if (!(flags & __GFP_NOFAIL))
			return NULL;
		us_cache_nofail_wait(attempt, size);
	}
}

US_FAST_ENTRY void *kmalloc(size_t size, gfp_t flags)
{
	if (likely(size - 1 < US_KMALLOC_MAX_CACHE_SIZE &&
		   us_gfp_fast(flags))) {
		struct kmem_cache *c = atomic_load_explicit(
			&kmalloc_caches[kmalloc_index(size)],
			memory_order_acquire);

		if (likely(c))
			return us_mag_alloc(c);
	}
	return kmalloc_slow(size, flags, NUMA_NO_NODE);
}

void *kmalloc_node(size_t size, gfp_t flags, int node)
{
	/* One node, asked for by number or not at all: kmalloc()'s path. */
	if (node == NUMA_NO_NODE || (node == 0 && us_nr_nodes == 1))
		return kmalloc(size, flags);
	return kmalloc_slow(size, flags, node);
}

void *kzalloc_node(size_t size, gfp_t flags, int node)
{
	return kmalloc_node(size, flags | __GFP_ZERO, node);
}

void *kmalloc_array_node(size_t n, size_t size, gfp_t flags, int node)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return kmalloc_node(bytes, flags, node);
}

void *kcalloc_node(size_t n, size_t size, gfp_t flags, int node)
{
	return kmalloc_array_node(n, size, flags | __GFP_ZERO, node);
}

/*
 * The kvmalloc family.  The kernel falls back on vmalloc() where
 * kmalloc() cannot serve a size; uslab's kmalloc() maps large sizes by
 * the page already, so these are kmalloc()'s, and kvfree() is kfree()
 * with its own name in reports.
 */
void *kvmalloc_node(size_t size, gfp_t flags, int node)
{
	return kmalloc_node(size, flags, node);
}

void *kvmalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags);
}

void *kvzalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}

void *kvmalloc_array(size_t n, size_t size, gfp_t flags)
{
	return kmalloc_array(n, size, flags);
}

void *kvcalloc(size_t n, size_t size, gfp_t flags)
{
	return kmalloc_array(n, size, flags | __GFP_ZERO);
}

void *kvrealloc(const void *p, size_t size, gfp_t flags)
{
	return krealloc(p, size, flags);
}

void *kzalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}

void *kmalloc_array(size_t n, size_t size, gfp_t flags)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return kmalloc(bytes, flags);
}

void *kcalloc(size_t n, size_t size, gfp_t flags)
{
	return kmalloc_array(n, size, flags | __GFP_ZERO);
}

/* A large allocation's header, checked; anything else is reported. */
static struct us_chunk *large_of(struct us_chunk *ch, const void *p,
				 const char *who)
{
	if (unlikely(ch->magic != (US_CHUNK_MAGIC ^ (uintptr_t)ch) ||
		     us_chunk_large_object(ch) != p))
		us_cache_invalid_pointer(who, p,
					 "not the start of a kmalloc allocation");
	if (unlikely(ch->kind != US_CHUNK_LARGE))
		us_bug_large_already_free(p, ch->map_len - ch->obj_offset);
	return ch;
}

/*
 * The large block p, or a report of why p is nothing kfree() and ksize()
 * accept; NULL and ZERO_SIZE_PTR are the caller's to handle first.
 */
US_COLD static struct us_chunk *large_or_reject(const void *p, const char *who)
{
	struct us_chunk *ch = us_chunk_lookup(p);

	if (!ch) {
		/* A large block freed, whose mapping has joined another. */
		if (((uintptr_t)p & (us_page_size - 1)) == 0 &&
		    (ch = us_chunk_large_freed_holding(p)) != NULL)
			us_bug_large_already_free(p, (size_t)((char *)
				ch->map_base + ch->map_len - (const char *)p));
		us_cache_invalid_pointer(who, p, "not allocated by uslab");
	}
	if (ch->kind == US_CHUNK_SLAB)
		us_cache_reject(ch, p, who);
	return large_of(ch, p, who);
}

US_COLD static void kfree_slow(const void *p, const char *who)
{
	if (ZERO_OR_NULL_PTR(p))
		return;
	large_free(large_or_reject(p, who));
}

/* kfree() and kvfree(): @who names the call in a report. */
static inline void kfree_as(const void *p, const char *who)
{
	if (unlikely(!us_cache_free_any((void *)(uintptr_t)p)))
		kfree_slow(p, who);
}

US_FAST_ENTRY void kfree(const void *objp)
{
	kfree_as(objp, "kfree");
}

/*
 * Here, not in cache.c: with no cache, each object goes back as kfree()
 * sends it, a large block included (the kernel's kfree_bulk()).
 */
void kmem_cache_free_bulk(struct kmem_cache *s, size_t size, void **p)
{
	if (!p)
		return;
	/* No cache: each object's own, as the kernel's kfree_bulk(). */
	for (size_t i = 0; i < size; i++) {
		if (s)
			kmem_cache_free(s, p[i]);
		else
			kfree(p[i]);
	}
}

void kvfree(const void *addr)
{
	kfree_as(addr, "kvfree");
}

void kvfree_sensitive(const void *addr, size_t len)
{
	if (ZERO_OR_NULL_PTR(addr))
		return;
	explicit_bzero((void *)(uintptr_t)addr, len);
	kvfree(addr);
}

size_t ksize(const void *objp)
{
	struct kmem_cache *c = us_cache_find(objp);

	if (likely(c))
		return c->object_size;
	if (ZERO_OR_NULL_PTR(objp))
		return 0;
	return large_or_reject(objp, "ksize")->usable;
}

void kfree_sensitive(const void *objp)
{
	size_t ks = ksize(objp);

	if (ks) {
		explicit_bzero((void *)(uintptr_t)objp, ks);
		kfree(objp);
	}
}

/*
 * krealloc() promises that with __GFP_ZERO the bytes it adds are zero.
 * As in the kernel, that holds across calls only if every shrink also
 * zeroes what it cuts off, [new_size, what the block then holds), since
 * a later growth in place hands those bytes back: every path below does.
 */
static void zero_cut_off(void *p, size_t new_size, size_t holds, gfp_t flags)
{
	if ((flags & __GFP_ZERO) && new_size < holds)
		memset((char *)p + new_size, 0, holds - new_size);
}

/* Resize a large block in place or by moving its pages; never copied. */
static void *large_resize(const void *p, size_t ks, size_t new_size,
			  gfp_t flags)
{
	struct us_chunk *ch = us_chunk_lookup(p);
	uint32_t site = ch->tag;
	size_t usable = ch->usable;
	void *n;

	if (flags & ~US_GFP_VALID) {
		errno = EINVAL;
		return NULL;
	}
	/*
	 * To the memory tools, the block is freed and the same bytes,
	 * perhaps elsewhere, allocated again.  Freed first: once moved, the
	 * old range may be another thread's.
	 */
	us_mem_takeback((void *)(uintptr_t)p, ks);
	n = us_chunk_large_resize(ch, new_size);
	if (!n) {
		us_mem_handout((void *)(uintptr_t)p, ks, true);
		return NULL;
	}
	ch = us_chunk_lookup(n);
	us_tag_large_moved(site, usable, ch);
	us_mem_handout(n, ch->usable, true);
	/* Grown, the bytes past the old block are new pages, zero already. */
	zero_cut_off(n, new_size, US_MIN(ks, ch->usable), flags);
	return n;
}

void *krealloc(const void *p, size_t new_size, gfp_t flags)
{
	size_t ks;
	void *n;

	if (ZERO_OR_NULL_PTR(p))
		return kmalloc(new_size, flags);
	ks = ksize(p);
	if (new_size == 0) {
		kfree(p);
		return ZERO_SIZE_PTR;
	}
	/*
	 * A large block stays large, whatever the new size: shrinking it in
	 * place gives its tail pages back without a copy.
	 */
	if (ks > US_KMALLOC_MAX_CACHE_SIZE)
		return large_resize(p, ks, new_size, flags);
	if (new_size <= ks) {
		zero_cut_off((void *)(uintptr_t)p, new_size, ks, flags);
		return (void *)(uintptr_t)p;
	}
	n = kmalloc(new_size, flags);
	if (!n)
		return NULL;
	memcpy(n, p, ks);
	kfree(p);
	return n;
}

void *krealloc_array(void *p, size_t new_n, size_t new_size, gfp_t flags)
{
	size_t bytes;

	if (__builtin_mul_overflow(new_n, new_size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return krealloc(p, bytes, flags);
}

size_t kmalloc_size_roundup(size_t size)
{
	if (size == 0)
		return 0;
	if (size <= US_KMALLOC_MAX_CACHE_SIZE)
		return kmalloc_sizes[kmalloc_index(size)];
	if (size > SIZE_MAX - us_page_size)
		return size;
	return US_ALIGN_UP(size, us_page_size);
}

char *kstrdup(const char *s, gfp_t gfp)
{
	return s ? kmemdup(s, strlen(s) + 1, gfp) : NULL;
}

char *kstrndup(const char *s, size_t max, gfp_t gfp)
{
	size_t len;
	char *d;

	if (!s)
		return NULL;
	len = strnlen(s, max);
	d = kmalloc(len + 1, gfp);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

void *kmemdup(const void *src, size_t len, gfp_t gfp)
{
	void *p = kmalloc(len, gfp);

	if (p && len)
		memcpy(p, src, len);
	return p;
}

char *kmemdup_nul(const char *s, size_t len, gfp_t gfp)
{
	char *d;

	if (!s)
		return NULL;
	if (len == SIZE_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	d = kmalloc(len + 1, gfp);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

void *kmemdup_array(const void *src, size_t count, size_t element_size,
		    gfp_t gfp)
{
	size_t bytes;

	if (__builtin_mul_overflow(count, element_size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return kmemdup(src, bytes, gfp);
}

/* Is p in a segment of a loaded object that is read-only (see below)? */
struct rodata_query {
	uintptr_t addr;
	bool found;
};

static int rodata_segment(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rodata_query *q = arg;

	(void)size;
	for (unsigned int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && !(ph->p_flags & PF_W) &&
		    q->addr >= start && q->addr - start < ph->p_memsz) {
			q->found = true;
			return 1;
		}
	}
	return 0;
}

/*
 * The kernel's is_kernel_rodata(): here, is p in a read-only loadable
 * segment of the program or a library it has loaded (where string
 * literals live)?  dl_iterate_phdr() takes the dynamic loader's lock and
 * allocates nothing.
 */
static bool is_rodata(const void *p)
{
	struct rodata_query q = { (uintptr_t)p, false };

	if (us_chunk_lookup(p))
		return false;	/* ours: the quick answer */
	dl_iterate_phdr(rodata_segment, &q);
	return q.found;
}

const char *kstrdup_const(const char *s, gfp_t gfp)
{
	if (s && is_rodata(s))
		return s;
	return kstrdup(s, gfp);
}

void kfree_const(const void *x)
{
	if (!x || is_rodata(x))
		return;
	kfree(x);
}

void *uslab_kmalloc_aligned(size_t size, size_t align, gfp_t flags)
{
	size_t class;

	if (!US_IS_POWER_OF_2(align) || (flags & ~US_GFP_VALID)) {
		errno = EINVAL;
		return NULL;
	}
	if (size == 0)
		return ZERO_SIZE_PTR;
	/* Classes of 16 bytes and more are 16-aligned, smaller ones 8. */
	if (align <= 16)
		return kmalloc(US_MAX(size, align), flags);
	/*
	 * The power-of-two class that holds both, if its objects keep the
	 * alignment (a cache's align is what every object of it has, in any
	 * layout); else the large path, which takes any alignment.
	 */
	class = US_MAX(size, align);
	if (class <= US_KMALLOC_MAX_CACHE_SIZE) {
		struct kmem_cache *c;

		class = (size_t)1 << (us_ilog2(class - 1) + 1);
		c = kmalloc_class(kmalloc_index(class));
		if (c && c->align >= align)
			return kmalloc(class, flags);
	}
	return large_alloc(size, align, flags, NUMA_NO_NODE);
}

struct kmem_cache *uslab_malloc_cache(size_t size)
{
	if (size == 0 || size > US_KMALLOC_MAX_CACHE_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	if (!atomic_load_explicit(&malloc_ready, memory_order_acquire)) {
		errno = ENOENT;
		return NULL;
	}
	return us_malloc_class_cache((unsigned int)us_malloc_class(size));
}

struct kmem_cache *uslab_kmalloc_cache(size_t size)
{
	if (size == 0 || size > US_KMALLOC_MAX_CACHE_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	return kmalloc_class(kmalloc_index(size));
}

/* The names the tagging macros of <uslab.h> call. */
US_NOPROF(kmalloc);
US_NOPROF(kzalloc);
US_NOPROF(kmalloc_array);
US_NOPROF(kcalloc);
US_NOPROF(krealloc);
US_NOPROF(krealloc_array);
US_NOPROF(kmalloc_node);
US_NOPROF(kzalloc_node);
US_NOPROF(kmalloc_array_node);
US_NOPROF(kcalloc_node);
US_NOPROF(kvmalloc);
US_NOPROF(kvmalloc_node);
US_NOPROF(kvzalloc);
US_NOPROF(kvmalloc_array);
US_NOPROF(kvcalloc);
US_NOPROF(kvrealloc);
US_NOPROF(kstrdup);
US_NOPROF(kstrndup);
US_NOPROF(kmemdup);
US_NOPROF(kmemdup_nul);
US_NOPROF(kmemdup_array);
US_NOPROF(kstrdup_const);
US_NOPROF(uslab_kmalloc_aligned);
