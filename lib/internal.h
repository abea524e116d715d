/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the design of uslab, and helpers every module uses.
 *
 * ======================================================================
 * The design of uslab
 * ======================================================================
 *
 * 1. Layers.  Each is one file (or two) and calls only the layers below
 *    it; report.c, bug.c, options.c, os.c and lock.c are leaves any layer
 *    may call (report.c writes a line without allocating; bug.c, on top
 *    of it, frames SLUB-format BUG reports and captures and names call
 *    stacks).  init.c sits above every layer: it brings them up in order
 *    and holds the fork handlers; the entry points (cache.c, kmalloc.c,
 *    stats.c, alloctag.c) call its us_init() first, the one call
 *    upwards, so that the library comes up on first use.
 *
 *      malloc.c     the C malloc family (libuslab-malloc only)
 *      compat.c     the 0.1 and 0.2 versions of the calls that take GFP
 *                   flags: old bit values translated (libuslab only)
 *      kmalloc.c    kmalloc-N size classes, the large path, the kvmalloc
 *                   family and the string helpers
 *      cache.c      kmem_cache_* entry points, the list of caches
 *      magazine.c   per-CPU loaded/previous magazines and the depot
 *      tcache.c     per-thread magazines, where rseq cannot run
 *      rseq.c       the lock-free fast paths (rseq.h), the rseq
 *                   registration
 *      cpu.c        which CPU we are on, how many there can be
 *      slab.c       a cache's slabs (per NUMA node), free lists; a debug
 *                   cache's allocations, frees and walks, which bypass
 *                   the magazines (a debug cache has none)
 *      debug.c      debug caches: USLAB_DEBUG, layouts, checks, with
 *                   what slab.c hands it (it calls no layer above)
 *      chunk.c      chunks, slots, large mappings, the registry
 *      node.c       NUMA nodes: how many, which is ours, mbind
 *      os.c, lock.c mmap, munmap, madvise and process_madvise,
 *                   clocks, randomness; futex locks
 *
 *    bug.c's stacks come from two leaves below it: cfi.c, an unwinder
 *    that reads the call-frame information of each return address once
 *    and caches its rule (libgcc's, which rereads it on every call, is
 *    kept for reports and for the frames cfi.c does not read), and
 *    depot.c, the stack depot, which stores each distinct stack once and
 *    names it by a 32-bit handle, as the kernel's does for SLUB.
 *
 *    alloctag.c (allocation profiling: the kernel's allocation tags and
 *    /proc/allocinfo) is a service beside failslab.c: the entry points
 *    count what they hand out to the caller's call site on their slow
 *    paths, where us_gfp_slow sends every allocation while it counts,
 *    and debit it on the free paths, each a store in the slab's vector
 *    of sites; slab.c gives it back a released slab's vector.  It calls
 *    only leaves and chunk.h's lookups.
 *
 *    failslab.c (the kernel's slab fault injection) is a leaf the slow
 *    paths of cache.c ask whether an allocation should fail; the fast
 *    paths reach it through us_gfp_slow, which sends every allocation
 *    to the slow path while it is armed.
 *
 *    reclaim.c (the memory policy: when idle memory goes back, and the
 *    helper thread) is a service the slow paths call; the sweep it runs
 *    is cache.c's, handed to it at start-up.  stats.c reads what the
 *    cache, magazine and slab layers count, for uslab_cache_stats(),
 *    the slabinfo table and USLAB_STATS: a reader beside the stack,
 *    called by none of its layers.  <uslab-rcu.h> (kfree_rcu over liburcu)
 *    is a header only, on top of the public interface.
 *
 * 2. Object states.  An object is, at any moment, exactly one of:
 *    allocated (the caller's); in a magazine (free, constructed, its
 *    bytes untouched by uslab); on its slab's free list (free,
 *    constructed; the free pointer lives in the object unless the cache
 *    has a constructor, in which case it sits just past the object so the
 *    constructed state survives); or not yet carved (never handed out;
 *    constructed already if the cache has a constructor).  The
 *    constructor runs once per object, when its slab is created.
 *
 * 3. Per-CPU magazines (Bonwick & Adams 2001).  Each cache has one slot
 *    per possible CPU, two cache lines each, holding a loaded and a
 *    previous magazine under the slot's own lock.  Allocation pops the loaded
 *    magazine; free pushes it.  When the loaded one is empty (alloc) or
 *    full (free) it is swapped with the previous one if that helps; only
 *    when neither can serve does the slow path visit the depot, and only
 *    when the depot cannot does it visit the slab layer.  Two magazines
 *    give hysteresis: a thread that alternates alloc and free at a
 *    magazine boundary never reaches the depot.
 *
 *    The CPU comes from the rseq area glibc registers for every thread
 *    (__rseq_offset), else sched_getcpu().  Where it can (rseq.h), the
 *    pop and the push are restartable sequences: no lock, no atomic
 *    instruction, restarted by the kernel if the thread is preempted,
 *    migrated or signalled, committed by one store.  They work on the
 *    loaded magazine through the slot's own top, base and end pointers,
 *    in the slot's first line, so a pop is two dependent loads from the
 *    slot (top, then the round below it) where a magazine reached by
 *    pointer costs four (slot, magazine, count, round), and tests no
 *    lock.  A pop writes the slot only at its commit; a push writes its
 *    round, a count of the free and its commit (allocations are
 *    derived: rseq.h).
 *    Everything else that touches a slot takes its lock and
 *    closes the slot (base and end set so that both sequences fall to
 *    the slow path), restarts the slot's CPU with a membarrier fence if
 *    it runs elsewhere, and then finds the count written back into the
 *    magazine; unlocking opens the slot on the loaded magazine again,
 *    top first, and the sequences load base or end before top, so that
 *    one that finds the slot open finds its top too.
 *    Without rseq caches are served from each thread's own pair of
 *    magazines (tcache.c), popped and pushed inline at the thread's
 *    slot's top as a CPU slot's are by the sequences; debug caches, and
 *    a program's caches beyond the thread caches' slots, take the CPU
 *    slot's lock for their pop and push.  A thread can migrate between
 *    reading its CPU and taking the lock, or while holding it, which the
 *    lock makes harmless, only slower.
 *    Slot locks are futex locks that spin briefly and then sleep, since
 *    a holder can be preempted.
 *
 *    The slow path never holds a slot lock across work that can take
 *    long (mapping memory, running constructors, flushing a magazine into
 *    slabs): it detaches what it needs, unlocks, works, and relocks the
 *    slot of whatever CPU it is then on, rechecking what it finds.
 *
 * 4. The depot.  Full and empty magazines under one lock per cache: the
 *    cache's working set.  A magazine that sits in the depot unused for
 *    the decay period goes back to the slabs (Bonwick's working-set
 *    reap; see 11).  A depot keeps at most US_DEPOT_MAX_BYTES in full
 *    magazines, which bounds what they can hide from the OS between
 *    sweeps.  Magazines are sized in bytes (US_MAG_START_BYTES of
 *    objects), so a 64 KiB class does not pin what 1,000 objects of a
 *    64-byte class would; when its lock is contended often within a
 *    second, the depot raises the capacity of the magazines it makes
 *    (Bonwick's magazine resizing), up to US_MAG_GROW_BYTES.  A cache's
 *    first magazine is smaller (US_MAG_FIRST_ROUNDS), since most caches
 *    of a short process never need more, and its second has the full
 *    capacity: in a process that lives a few milliseconds, the pages
 *    its magazines are written on are a cost of their own.
 *
 * 5. Slabs and how a pointer finds its slab.  Chunks are CHUNK_SIZE
 *    aligned, so chunk = (p - 1) & ~CHUNK_MASK.  (Minus one, so that a
 *    large allocation aligned to CHUNK_SIZE or more, whose object sits at
 *    a chunk boundary, finds the header one chunk below it; no slab
 *    object is ever at a chunk boundary, since every slab chunk starts
 *    with its header.)  The free paths read the chunk's page table
 *    entry of p's 4 KiB granule, at an address computed from p alone:
 *    it names the cache a caller may free the slab's objects into and
 *    where its first object is, so one multiplication tells an object's
 *    start from an interior pointer.  Beside it they test the registry
 *    bit of slab chunks, so a foreign pointer is reported instead of
 *    followed.  The slow paths use the slab descriptor,
 *    chunk->slabs[(p - chunk) >> slab_shift].  An empty slab goes back
 *    to the page layer once it has been empty for the decay period (11),
 *    which gives its pages back with MADV_DONTNEED and unmaps a chunk
 *    whose slots are all free.
 *
 * 6. Size classes (kmalloc.c).  8, 16, 32, 64, 96, 128, 192, 256, ...
 *    65536 bytes, as the kernel's kmalloc-N caches; above, the large
 *    path, sized by the page and reused from a bounded cache of freed
 *    blocks.  malloc() has finer classes (kmalloc.h): 16-byte steps to
 *    128, then four per doubling, eight from 1 KiB to 8 KiB, where
 *    programs' sizes crowd.
 *
 *    NUMA nodes (node.c).  Each cache has a pool of slabs per node (node
 *    0's in the descriptor, the others after its CPU slots), and chunks
 *    are kept per node and bound to it with mbind(2); a refill takes from
 *    the calling CPU's node.  The _node() calls take objects straight
 *    from the node's slabs, past the magazines, whose objects may be of
 *    any node.  One node, the common case, costs nothing.
 *
 * 7. Lock order.  A thread holding a lock may take only locks below it:
 *
 *      0. helper_lock (reclaim.c): starting and stopping the helper
 *         thread; nothing else is held while it is taken
 *      1. init_lock (init.c), then kmalloc_lock (kmalloc.c): start-up;
 *         key_lock (tcache.c): making the thread-cache key, once;
 *         then list_lock (cache.c): the list of caches;
 *         then tc_lock (tcache.c): every thread's cache, and the slots
 *         of programs' caches in them
 *      2. cpu slot locks             (magazine.c) one per CPU per cache;
 *                                    at most one held at a time, except
 *                                    by the fork handler, which takes all,
 *                                    and the sweep, which holds one CPU's
 *                                    of many caches under list_lock
 *      3. depot locks                (magazine.c)
 *      4. slab locks                 (slab.c) of a cache; the bootstrap
 *                                    magazine caches' slab locks are
 *                                    taken under any depot lock
 *      5. page_lock, large_lock      (chunk.c) slots and chunks; the
 *                                    cache of freed large blocks.  Only
 *                                    the fork handler holds both, page
 *                                    lock first
 *      6. report_lock                (bug.c) keeps a report's lines
 *                                    together; nothing is taken under it
 *         depot_lock                 (depot.c) adds a stack to the
 *                                    depot; taken with no other lock
 *                                    held, nothing taken under it
 *         tag_lock                   (alloctag.c) registers a call
 *                                    site, hands out and takes back
 *                                    tag vectors; taken with no other
 *                                    lock held, nothing taken under it
 *
 *    No lock is held while calling a constructor or a user callback, or
 *    while unwinding the stack for SLAB_STORE_USER (libgcc's unwinder,
 *    uslab's fallback, may take the dynamic loader's locks, whose
 *    holders may allocate).
 *
 * 8. fork.  pthread_atfork handlers take every lock in the order above
 *    before fork() and release them after it in the parent; in the child,
 *    where only the forking thread exists, they reset them.  So the child
 *    never inherits a lock held by a thread that no longer exists.  Nor
 *    objects that such a thread held between two locks: before taking
 *    any lock, the handler waits until no slow path has objects in
 *    flight outside every structure (magazine.c), and no slots or
 *    mappings are being decommitted, unmapped or faulted in outside the
 *    page layer's structures (chunk.c), and keeps new ones from
 *    starting until the fork is done.
 *
 *    What fork() costs is the pages the handlers write after it: each
 *    is copied with a fault, in the parent and in the child, at every
 *    fork() of a shell or a make.  So they write as few as they can:
 *    the slots open again on the tops they kept, writing no magazine
 *    (magazine.h); the global state they write sits in one section
 *    (US_FORK_STATE); a malloc class exists only once a malloc() has
 *    reached it (kmalloc.c).  What is left is a line or three of each
 *    cache's descriptor (its locks), and bench/fork-bench measures it.
 *
 * 9. Bootstrap.  Cache descriptors and magazines are objects of uslab's
 *    own caches ("kmem_cache", "uslab-mag-N"), which are static, have no
 *    magazines (US_CACHE_NOMAGAZINE) and go straight to their slabs.
 *    Nothing calls malloc; initialisation allocates nothing from libc
 *    and is safe from the first allocation of a process.
 *
 * 10. libuslab-malloc.  Its malloc() and free() inline libuslab's fast
 *    paths from these headers; the data they read and the slow paths
 *    they call are libuslab's private interface (US_SHARED), exported in
 *    a version node named after the exact version.  All state stays in
 *    libuslab, so a process has one heap whichever library loads first;
 *    libuslab-malloc keeps read-only copies of the few values that never
 *    change after start-up (the rseq offset and CPU bound, the class
 *    caches: US_PRIV), filled by its slow path, so that its fast paths
 *    make no GOT load for them.
 *
 * 11. Memory policy (reclaim.c).  Free memory ages: an empty slab, a full
 *    magazine idle in a depot and a freed large block each carry the time
 *    they went idle, and go back to the OS once idle for the decay period
 *    (USLAB_DECAY_MS), never sooner.  Memory reused within the period is
 *    never decommitted and faulted in again; memory idle for longer goes
 *    back without a call.  The sweep runs from the slow paths every
 *    quarter period, and, where uslab is the process's malloc, from a
 *    helper thread while memory waits, which fork() stops.  The helper
 *    is started only from an allocation: glibc calls free() holding
 *    locks that pthread_create() takes.  A CPU slot whose use has
 *    stopped for the period gives its magazines back too; the sweep
 *    closes one CPU's idle slots across every cache and fences that CPU
 *    once for them all (magazine.c, "Reaping slots").  A thread's own
 *    magazines, where no rseq runs, are out of the sweep's reach: the
 *    thread trims them itself, from its slow paths, giving back those
 *    of the caches it has not used for a period (tcache.c).  Free memory
 *    also moves between caches before it ages out: a cache about to grow
 *    first sends the magazines of the caches of its slab order that have
 *    no object in use (their depots, CPU slots and the growing thread's
 *    own) back to their slabs, and takes the slots those empty, still
 *    resident (cache.c, make_room()).  Fresh memory is
 *    faulted in by the slab layer, not the program, where that is
 *    cheaper and wastes nothing: a cache that has filled a slab faults
 *    in the pages of what it carves from a clean one in one call
 *    (slab.c, "Populating"), and its clean slab of one page brings in
 *    the free slots after it, which age as freed ones do (chunk.c,
 *    "Populating ahead").
 *
 * 12. Callouts (callout.h).  uslab calls out of itself in a few places,
 *    into code that may allocate, free or run the program's code; each
 *    is made only where uslab's state is whole and no uslab lock that
 *    the callee could need is held:
 *
 *      - starting the helper (reclaim.c, from us_reclaim_poke()):
 *        pthread_create() callocs on the calling thread, from any cache.
 *        The slow paths poke only once their slot or thread cache is
 *        whole again: after the pop or the push, never between
 *        installing a magazine and using it;
 *      - pthread_atfork() in us_init() (glibc allocates past its first
 *        48 handlers): made once us_initialized says every layer is up,
 *        so that an allocation from it does not wait for init_lock;
 *      - not pthread_setspecific() of the thread-cache key, which glibc
 *        makes allocate only for keys from 32 up, which tcache.c does
 *        not use (and the thread is marked as making its cache, so an
 *        allocation there would take the per-CPU paths);
 *      - uslab_slabinfo() writing to the caller's stream: each line is
 *        formatted under list_lock and written without it;
 *      - the helper's exit: the last thread to leave runs exit(), the
 *        program's atexit() handlers and destructors; the helper leaves
 *        as a program thread would (reclaim.c);
 *      - reports: written with write(2), never stdio.  A report on a
 *        fast-path misuse (a double free caught by a magazine, a foreign
 *        pointer) drops every lock before abort() raises SIGABRT, whose
 *        handler is the program's.  One on a debug cache's slab, or on a
 *        corrupt free pointer met by a refill, aborts holding that
 *        cache's slab lock, as glibc's malloc_printerr() aborts holding
 *        its arena's: a SIGABRT handler that allocates from that very
 *        cache would wait, one that allocates from any other works.
 *
 *    What is not a callout: the system calls (mmap, munmap, madvise,
 *    process_madvise, mremap, mbind, futex, membarrier, rseq, getcpu)
 *    go through libc's thin wrappers, which neither allocate nor run
 *    program code, so uslab may hold its locks across them (a chunk is
 *    mapped under page_lock).  The unwinder, dl_iterate_phdr() and dladdr()
 *    allocate nothing but take the dynamic loader's lock, whose holder
 *    (a thread in dlopen()) may allocate: SLAB_STORE_USER's stacks are
 *    captured and kstrdup_const() asks the loader with no uslab lock
 *    held (7); only a report symbolises under a lock, on its way to
 *    ending the process.  USLAB_REENTER=1 allocates at every callout,
 *    and test-malloc runs its workload so in each rseq mode.
 *
 * 13. Checklist for a risky change: Does a new lock fit the order above,
 *    and do the fork handlers take it?  Can the path run before
 *    initialisation, or in a forked child?  Does it call out (12), and
 *    is the state whole there?  Can a free path call into
 *    libc beyond system calls (glibc frees under its own locks)?  Does
 *    it touch memory of a free object that a constructor relies on?  Does the fast path gain
 *    a branch or a store?  Is it tested with more threads than CPUs and
 *    under ThreadSanitizer?
 */
#ifndef USLAB_INTERNAL_H
#define USLAB_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Internal assertions, in the build of ./configure --enable-debug (as
 * the kernel's CONFIG_DEBUG_VM and lockdep, jemalloc's --enable-debug,
 * mimalloc's MI_DEBUG): a broken invariant is reported, with where, and
 * the process aborts.  In the default build an assertion is nothing: its
 * condition is not evaluated.
 */
#ifdef USLAB_ASSERTS
#define US_ASSERTS 1
__attribute__((noreturn, cold)) void us_assert_fail(const char *cond, const char *file,
				     int line);
#define US_ASSERT(cond)                                                     \
	((void)(__builtin_expect(!!(cond), 1) ||                             \
		(us_assert_fail(#cond, __FILE__, __LINE__), 0)))
#else
#define US_ASSERTS 0
#define US_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

/*
 * At the top of a function named _locked, or documented "lock held":
 * the lock is taken (by someone: lock.h's locks have no owner).
 */
#define US_ASSERT_HELD(l) US_ASSERT(us_lock_is_held(l))
#define US_NOINLINE __attribute__((noinline))

/*
 * On the entry points whose fast paths are a pair's whole cost
 * (kmem_cache_alloc() and _free(), kmalloc(), kfree(), malloc(),
 * free()): start on a cache line.  At 16 bytes, as -O2 aligns a
 * function, where one starts moved with every change to the code before
 * it, and with it the pair's time, by up to 8%: a kmem_cache pair took
 * 4.45 ns or 4.08 as the line fell (bench/README.md).
 */
#define US_FAST_ENTRY __attribute__((aligned(64)))

/*
 * On a variable the fork handlers write after fork() (the locks they
 * take, the windows' counts): a line of its own, in one section with
 * every other such variable.  The first write to a page after fork()
 * copies it, in the parent and in the child, so state spread over each
 * module's data cost a page fault per module on each side of every
 * fork(); gathered, it costs one or two.  Only for global state that is
 * not hot for reading beside what a fork writes.
 */
#define US_FORK_STATE __attribute__((section("uslab_fork"), aligned(US_CACHE_LINE)))
/*
 * The _noprof() name of an exported allocating call (<uslab.h>'s
 * allocation profiling): the same function, under the kernel's second
 * name, which the tagging macros call.  In the file that defines name.
 */
#define US_NOPROF(name)                                                     \
	extern __typeof__(name) name##_noprof __attribute__((alias(#name)))

#define US_COLD __attribute__((cold, noinline))
#define US_NORETURN __attribute__((noreturn))
#define US_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/*
 * On the declaration of a variable a fast path reads: -fvisibility=hidden
 * covers definitions only, and without this the read goes through the
 * GOT (a load more, or, relaxed by the linker, a lea more).
 */
#define US_LOCAL __attribute__((visibility("hidden")))

/*
 * The private interface of libuslab: the few variables and functions
 * that libuslab-malloc's inlined fast paths reach (design essay, 10).
 * libuslab exports them in the version node USLAB_PRIVATE_<version> and
 * reaches them itself without the GOT (protected functions; hidden
 * aliases of the variables, US_PRIV below); libuslab-malloc reaches
 * them through its GOT, and loads only beside the libuslab of its own
 * version.
 */
#if defined(USLAB_BUILDING_LIBRARY)
#define US_SHARED __attribute__((visibility("protected")))
#elif defined(USLAB_BUILDING_MALLOC)
#define US_SHARED __attribute__((visibility("default")))
#else
#define US_SHARED
#endif

/*
 * A private-interface variable the fast paths read.  GCC reaches even a
 * protected variable through the GOT (a lea more per read, relaxed), so
 * libuslab's own code reads a hidden alias of it, US_PRIV(name), in one
 * load.  libuslab-malloc would read it through its GOT, a load more; it
 * reads a copy of its own instead, name##_mc, which malloc.c fills once
 * libuslab has set the values for good (they never change after
 * start-up), and which reads as 0 (no rseq, no CPU: the slow paths)
 * until then.  The white-box tests read the variable itself.
 * US_PRIV_DECLARE in the header, US_PRIV_DEFINE (with the initial
 * value) where it lives.
 */
#if defined(USLAB_BUILDING_LIBRARY)
#define US_PRIV(name) name##_lcl
#define US_PRIV_DECLARE(type, name) \
	extern US_SHARED type name;   \
	extern US_LOCAL type name##_lcl
#define US_PRIV_DEFINE(type, name, init) \
	type name = init;                  \
	extern __typeof__(name) name##_lcl __attribute__((alias(#name)))
#elif defined(USLAB_BUILDING_MALLOC)
#define US_PRIV(name) name##_mc
#define US_PRIV_DECLARE(type, name) \
	extern US_SHARED type name;   \
	extern US_LOCAL type name##_mc
#else
#define US_PRIV(name) name
#define US_PRIV_DECLARE(type, name) extern US_SHARED type name
#define US_PRIV_DEFINE(type, name, init) type name = init
#endif

#define US_ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define US_ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define US_IS_POWER_OF_2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)
#define US_MIN(a, b) ((a) < (b) ? (a) : (b))
#define US_MAX(a, b) ((a) > (b) ? (a) : (b))

#define us_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * Statistics counters: written only under the lock their comment names,
 * read by statistics without it.  A relaxed load and store is a plain
 * move, no locked instruction, and keeps the unlocked reader race-free.
 */
static inline void us_stat_add(_Atomic uint64_t *ctr, uint64_t n)
{
	atomic_store_explicit(ctr,
			      atomic_load_explicit(ctr, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline uint64_t us_stat_read(_Atomic uint64_t *ctr)
{
	return atomic_load_explicit(ctr, memory_order_relaxed);
}

static inline void us_list_init(struct us_list *head)
{
	head->next = head;
	head->prev = head;
}

static inline bool us_list_is_empty(const struct us_list *head)
{
	return head->next == head;
}

static inline void us_list_add(struct us_list *node, struct us_list *head)
{
	node->next = head->next;
	node->prev = head;
	head->next->prev = node;
	head->next = node;
}

static inline void us_list_add_tail(struct us_list *node, struct us_list *head)
{
	us_list_add(node, head->prev);
}

static inline void us_list_del(struct us_list *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	node->next = node;
	node->prev = node;
}

static inline unsigned int us_ilog2(uint64_t x)
{
	return 63u - (unsigned int)__builtin_clzll(x);
}

/* Library-wide state set once by us_init() (init.c). */
void us_init(void);
extern _Atomic bool us_initialized;

#endif /* USLAB_INTERNAL_H */
