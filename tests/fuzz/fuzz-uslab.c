/* SPDX-License-Identifier: MIT */
/*
 * fuzz-uslab.c - libFuzzer harness: uslab against a shadow model.
 *
 * The input is a program: each operation is an opcode byte and a few
 * argument bytes.  It creates and destroys caches of random sizes,
 * alignments, flags and constructors; allocates and frees from them,
 * singly and in bulk; shrinks them; and exercises kmalloc, krealloc,
 * kfree, ksize, uslab_kmalloc_aligned and the malloc family (built from
 * lib/malloc.c under other names, so that AddressSanitizer keeps the
 * process's malloc).  The model remembers every live object: its range,
 * its promised alignment, its contents.  After every operation the
 * harness checks what uslab promises: objects distinct and not
 * overlapping, aligned as promised, contents intact, zeroed where zero
 * was asked for, constructed where the cache has a constructor.
 *
 * With -DFUZZ_THREADS the same program runs on two threads: the second
 * frees what the first hands it, so frees are remote.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uslab.h>

void *uslab_fuzz_malloc(size_t);
void uslab_fuzz_free(void *);
void *uslab_fuzz_calloc(size_t, size_t);
void *uslab_fuzz_realloc(void *, size_t);
int uslab_fuzz_posix_memalign(void **, size_t, size_t);

#define MAX_CACHES 8
#define MAX_LIVE 512
#define CTOR_BYTE 0xc7

enum kind { K_CACHE, K_KMALLOC, K_MALLOC };

struct live {
	unsigned char *p;
	size_t size;		/* bytes the caller may use and we check */
	size_t align;
	uint8_t kind;
	uint8_t cache;
	uint8_t seed;
};

struct cache {
	struct kmem_cache *c;
	unsigned int size;
	unsigned int align;	/* promised */
	int ctor;
	_Atomic int live;	/* the remote thread frees too */
};

static struct cache caches[MAX_CACHES];
static struct live objs[MAX_LIVE];
static unsigned int nlive;

/* Constructors get the object only; each cache's is one of these. */
#define CTOR(n, sz)                                                          \
	static void ctor_##n(void *p) { memset(p, CTOR_BYTE, sz); }
CTOR(8, 8)
CTOR(24, 24)
CTOR(100, 100)
CTOR(700, 700)
CTOR(3000, 3000)

static const struct {
	unsigned int size;
	void (*fn)(void *);
} ctors[] = {
	{ 8, ctor_8 }, { 24, ctor_24 }, { 100, ctor_100 }, { 700, ctor_700 },
	{ 3000, ctor_3000 },
};

static void fail(const char *what, const void *p)
{
	fprintf(stderr, "fuzz-uslab: %s (%p)\n", what, p);
	for (unsigned int i = 0; i < nlive; i++)
		fprintf(stderr, "  live %p size %zu align %zu kind %u cache %u\n",
			(void *)objs[i].p, objs[i].size, objs[i].align,
			objs[i].kind, objs[i].cache);
	abort();
}

static void fill(struct live *o)
{
	size_t n = o->size < 64 ? o->size : 64;

	for (size_t i = 0; i < n; i++)
		o->p[i] = (unsigned char)(o->seed + i);
	if (o->size >= 72)	/* a tail of its own, past the head */
		memset(o->p + o->size - 8, o->seed, 8);
}

static void check(const struct live *o)
{
	size_t n = o->size < 64 ? o->size : 64;

	for (size_t i = 0; i < n; i++)
		if (o->p[i] != (unsigned char)(o->seed + i))
			fail("contents changed", o->p);
	if (o->size >= 72)
		for (size_t i = o->size - 8; i < o->size; i++)
			if (o->p[i] != o->seed)
				fail("contents changed at the end", o->p);
}

/* A new object: aligned, inside nobody else, then recorded and filled. */
static void adopt(void *p, size_t size, size_t align, uint8_t kind,
		  uint8_t cache, uint8_t seed)
{
	struct live *o;

	if ((uintptr_t)p % align)
		fail("misaligned", p);
	for (unsigned int i = 0; i < nlive; i++) {
		uintptr_t a = (uintptr_t)objs[i].p, b = (uintptr_t)p;

		if (b < a + (objs[i].size ? objs[i].size : 1) &&
		    a < b + (size ? size : 1))
			fail("overlaps a live object", p);
	}
	if (nlive == MAX_LIVE)
		fail("model full", p);
	o = &objs[nlive++];
	o->p = p;
	o->size = size;
	o->align = align;
	o->kind = kind;
	o->cache = cache;
	o->seed = seed;
	fill(o);
}

/* Forget object i, after checking it; returns its pointer. */
static struct live take(unsigned int i)
{
	struct live o = objs[i];

	check(&o);
	objs[i] = objs[--nlive];
	return o;
}

static void release(struct live o)
{
	if (o.kind == K_CACHE) {
		struct cache *c = &caches[o.cache];

		if (c->ctor)	/* freed in the constructed state */
			memset(o.p, CTOR_BYTE, c->size);
		kmem_cache_free(c->c, o.p);
		c->live--;
	} else if (o.kind == K_KMALLOC) {
		kfree(o.p);
	} else {
		uslab_fuzz_free(o.p);
	}
}

#ifdef FUZZ_THREADS
/* The second thread: frees what it is handed. */
static pthread_mutex_t hand_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hand_cond = PTHREAD_COND_INITIALIZER;
static struct live handed[64];
static unsigned int nhanded;
/* Handed over and not yet freed: an object the remote thread has taken
 * off handed[] is still its own until release() returns, so a drain
 * that waited for handed[] alone would destroy its cache under it. */
static unsigned int npending;
static int remote_started;

static void *remote_freer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&hand_lock);
	for (;;) {
		while (nhanded == 0)
			pthread_cond_wait(&hand_cond, &hand_lock);
		while (nhanded) {
			struct live o = handed[--nhanded];

			pthread_mutex_unlock(&hand_lock);
			release(o);
			pthread_mutex_lock(&hand_lock);
			npending--;
		}
		pthread_cond_broadcast(&hand_cond);
	}
	return NULL;
}

static void hand_over(struct live o)
{
	pthread_mutex_lock(&hand_lock);
	while (nhanded == 64)
		pthread_cond_wait(&hand_cond, &hand_lock);
	handed[nhanded++] = o;
	npending++;
	pthread_cond_broadcast(&hand_cond);
	pthread_mutex_unlock(&hand_lock);
}

/* Wait until the remote thread has freed everything handed over. */
static void remote_drain(void)
{
	pthread_mutex_lock(&hand_lock);
	while (npending)
		pthread_cond_wait(&hand_cond, &hand_lock);
	pthread_mutex_unlock(&hand_lock);
}
#else
static void hand_over(struct live o)
{
	release(o);
}

static void remote_drain(void)
{
}
#endif

struct input {
	const uint8_t *d;
	size_t n;
};

static unsigned int byte(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->d++;
}

static unsigned int u16(struct input *in)
{
	return byte(in) | byte(in) << 8;
}

static void op_create(struct input *in)
{
	unsigned int slot = byte(in) % MAX_CACHES, how = byte(in);
	struct cache *c = &caches[slot];
	unsigned int size, align = 0, hw;
	int ctor = -1;

	if (c->c)
		return;
	if (how & 1) {
		ctor = (int)(byte(in) % (sizeof(ctors) / sizeof(ctors[0])));
		size = ctors[ctor].size;
	} else {
		size = 1 + u16(in) % 8192;
	}
	if (how & 2)
		align = 1u << (byte(in) % 13);	/* up to 4 KiB */
	hw = how & 4 ? SLAB_HWCACHE_ALIGN : 0;
	/* Debug caches: their checks must never fire on correct use. */
	c->c = kmem_cache_create("fuzz", size, align,
				 hw | (how & 8 ? SLAB_TYPESAFE_BY_RCU : 0) |
				 (how & 16 ? SLAB_CONSISTENCY_CHECKS |
				  SLAB_RED_ZONE | SLAB_STORE_USER : 0) |
				 (how & 32 ? SLAB_POISON : 0),
				 ctor >= 0 ? ctors[ctor].fn : NULL);
	if (!c->c)
		fail("kmem_cache_create failed", NULL);
	c->size = size;
	c->ctor = ctor >= 0;
	c->align = align > 8 ? align : 8;
	if (hw) {
		unsigned int r = 64;

		while (size <= r / 2)
			r /= 2;
		if (r > c->align)
			c->align = r;
	}
	c->live = 0;
}

static void op_destroy(struct input *in)
{
	struct cache *c = &caches[byte(in) % MAX_CACHES];

	remote_drain();
	if (!c->c || c->live)
		return;
	kmem_cache_destroy(c->c);
	c->c = NULL;
}

static void cache_alloc(unsigned int slot, int zero, uint8_t seed)
{
	struct cache *c = &caches[slot];
	unsigned char *p;

	if (!c->c || nlive == MAX_LIVE)
		return;
	p = zero ? kmem_cache_zalloc(c->c, GFP_KERNEL)
		 : kmem_cache_alloc(c->c, GFP_KERNEL);
	if (!p)
		fail("kmem_cache_alloc failed", NULL);
	for (unsigned int i = 0; i < c->size; i++)
		if (p[i] != (zero ? 0 : c->ctor ? CTOR_BYTE : p[i]))
			fail(zero ? "not zeroed" : "not constructed", p);
	c->live++;
	adopt(p, c->size, c->align, K_CACHE, (uint8_t)slot, seed);
}

static void op_alloc(struct input *in)
{
	unsigned int slot = byte(in) % MAX_CACHES, f = byte(in);

	cache_alloc(slot, f & 1, (uint8_t)f);
}

static void op_free(struct input *in)
{
	unsigned int i = u16(in), remote = byte(in) & 1;
	struct live o;

	if (!nlive)
		return;
	o = take(i % nlive);
	if (remote)
		hand_over(o);
	else
		release(o);
}

static void op_bulk(struct input *in)
{
	unsigned int slot = byte(in) % MAX_CACHES, n = 1 + byte(in) % 64;
	struct cache *c = &caches[slot];
	void *p[64];

	if (!c->c || nlive + n > MAX_LIVE)
		return;
	if (kmem_cache_alloc_bulk(c->c, GFP_KERNEL, n, p) != (int)n)
		fail("kmem_cache_alloc_bulk failed", NULL);
	for (unsigned int i = 0; i < n; i++) {
		if (c->ctor && ((unsigned char *)p[i])[c->size - 1] != CTOR_BYTE)
			fail("bulk object not constructed", p[i]);
		c->live++;
		adopt(p[i], c->size, c->align, K_CACHE, (uint8_t)slot,
		      (uint8_t)(n + i));
	}
	/* And free a bulk of what this cache has live. */
	n = 0;
	for (unsigned int i = 0; i < nlive && n < 32;) {
		if (objs[i].kind == K_CACHE && objs[i].cache == slot) {
			struct live o = take(i);

			if (c->ctor)
				memset(o.p, CTOR_BYTE, c->size);
			p[n++] = o.p;
			c->live--;
		} else {
			i++;
		}
	}
	kmem_cache_free_bulk(c->c, n, p);
}

static void op_shrink(struct input *in)
{
	struct cache *c = &caches[byte(in) % MAX_CACHES];

	if (c->c && kmem_cache_shrink(c->c) != 0)
		fail("kmem_cache_shrink failed", NULL);
}

static size_t pick_size(struct input *in)
{
	unsigned int b = byte(in);

	if (b < 200)
		return 1 + u16(in) % 1024;
	if (b < 250)
		return 1 + (u16(in) | byte(in) << 16) % 70000;
	return 1 + (u16(in) | byte(in) << 16) % (3u << 20);
}

static void op_kmalloc(struct input *in)
{
	size_t size = pick_size(in);
	unsigned int f = byte(in);
	unsigned char *p;

	if (nlive == MAX_LIVE)
		return;
	p = kmalloc(size, f & 1 ? GFP_KERNEL | __GFP_ZERO : GFP_KERNEL);
	if (!p)
		fail("kmalloc failed", NULL);
	if (ksize(p) < size)
		fail("ksize below the request", p);
	if (f & 1)
		for (size_t i = 0; i < size; i++)
			if (p[i])
				fail("kzalloc not zeroed", p);
	adopt(p, size, size >= 16 ? 16 : 8, K_KMALLOC, 0, (uint8_t)f);
}

static void op_krealloc(struct input *in)
{
	unsigned int i = u16(in);
	size_t size = pick_size(in), keep;
	struct live o;
	unsigned char *p;

	if (!nlive)
		return;
	i %= nlive;
	if (objs[i].kind == K_CACHE)
		return;
	o = take(i);
	keep = o.size < size ? o.size : size;
	if (o.kind == K_KMALLOC)
		p = krealloc(o.p, size, GFP_KERNEL);
	else
		p = uslab_fuzz_realloc(o.p, size);
	if (!p)
		fail("realloc failed", o.p);
	/* The kept prefix of the pattern survived the move. */
	for (size_t k = 0; k < keep && k < 64; k++)
		if (p[k] != (unsigned char)(o.seed + k))
			fail("realloc lost contents", p);
	adopt(p, size, size >= 16 ? 16 : 8, o.kind, 0, (uint8_t)(o.seed + 1));
}

static void op_aligned(struct input *in)
{
	size_t size = pick_size(in), align = (size_t)1 << (byte(in) % 24);
	unsigned int f = byte(in);
	void *p;

	if (nlive == MAX_LIVE)
		return;
	if (f & 1) {
		if (align < sizeof(void *))
			align = sizeof(void *);
		if (uslab_fuzz_posix_memalign(&p, align, size) != 0)
			fail("posix_memalign failed", NULL);
		adopt(p, size, align, K_MALLOC, 0, (uint8_t)f);
	} else {
		p = uslab_kmalloc_aligned(size, align, GFP_KERNEL);
		if (!p)
			fail("uslab_kmalloc_aligned failed", NULL);
		adopt(p, size, align, K_KMALLOC, 0, (uint8_t)f);
	}
}

static void op_malloc(struct input *in)
{
	size_t size = pick_size(in);
	unsigned int f = byte(in);
	unsigned char *p;

	if (nlive == MAX_LIVE)
		return;
	p = f & 1 ? uslab_fuzz_calloc(1, size) : uslab_fuzz_malloc(size);
	if (!p)
		fail("malloc failed", NULL);
	if (f & 1)
		for (size_t i = 0; i < size; i++)
			if (p[i])
				fail("calloc not zeroed", p);
	adopt(p, size, size >= 16 ? 16 : 8, K_MALLOC, 0, (uint8_t)f);
}

static void op_check_all(struct input *in)
{
	(void)in;
	for (unsigned int i = 0; i < nlive; i++) {
		check(&objs[i]);
		if (objs[i].kind != K_CACHE && ksize(objs[i].p) < objs[i].size)
			fail("ksize below the request", objs[i].p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const ops[])(struct input *) = {
		op_create, op_destroy, op_alloc, op_alloc, op_alloc, op_free,
		op_free, op_free, op_bulk, op_shrink, op_kmalloc, op_kmalloc,
		op_krealloc, op_aligned, op_malloc, op_check_all,
	};
	struct input in = { data, size };

#ifdef FUZZ_THREADS
	if (!remote_started) {
		pthread_t t;

		pthread_create(&t, NULL, remote_freer, NULL);
		remote_started = 1;
	}
#endif
	while (in.n)
		ops[byte(&in) % (sizeof(ops) / sizeof(ops[0]))](&in);

	/* Everything back; every cache destroyed, quietly. */
	while (nlive)
		release(take(nlive - 1));
	remote_drain();
	for (unsigned int i = 0; i < MAX_CACHES; i++) {
		if (caches[i].c) {
			kmem_cache_destroy(caches[i].c);
			caches[i].c = NULL;
		}
	}
	return 0;
}
