/* SPDX-License-Identifier: MIT */
/*
 * rseq.h - the lock-free per-CPU fast paths, with restartable sequences.
 *
 * A restartable sequence is a run of instructions that the kernel
 * restarts, at an abort handler, if the thread is preempted, migrated or
 * signalled before its last instruction: the commit, a single store.
 * Code in one runs as if it owned its CPU, with no atomic instruction.
 *
 * Whose rseq area (rseq.c).  The kernel allows one per thread.  Where
 * glibc (2.35 and later) registers one for every thread, uslab uses it
 * and never registers its own.  Where glibc registers none because it
 * is older, uslab registers its own, in each thread on the thread's first
 * slow path, as tcmalloc does; so too where glibc could but did not
 * (GLIBC_TUNABLES=glibc.pthread.rseq=0) if USLAB_OWN_RSEQ=1 says so,
 * which is how the tests reach this mode on a newer glibc.  A library
 * that tries to register an area after uslab did, in the same thread,
 * gets EBUSY from the kernel and must do without; if another registered
 * first, uslab's registration fails the same way and that thread takes
 * the locked paths.
 *
 * The sequences pop an object from, or push one onto, the loaded
 * magazine of the current CPU's slot, through the slot's top, base and
 * end pointers (types.h):
 *
 *	start:	rseq->rseq_cs = &descriptor
 *	1:	cpu = rseq->cpu_id
 *		if cpu >= bound			slow path
 *		slot = &c->cpu[cpu]		(a shift; then indexed)
 *		pop:  b = slot->base, then t = slot->top
 *		      if t <= b			slow path (empty, or closed)
 *		      obj = t[-1]
 *		push: e = slot->end, then t = slot->top
 *		      if t >= e			slow path (full, or closed)
 *		      if t[-1] == obj		double free
 *		      t[0] = obj
 *		push: slot->free_fast++
 *		slot->top = t -/+ 1		commit
 *	2:
 *
 * Everything else that changes a slot, on any CPU, first takes the slot's
 * lock and closes the slot to the sequences: base becomes the highest
 * address and end NULL, so that both sequences take the slow path
 * (magazine.h).  So the sequences need no test of the lock.  A sequence
 * that read the slot open just before it was closed is still in flight
 * on the slot's CPU, so a thread that closes the slot while running
 * elsewhere then restarts that CPU's sequences with
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) before touching the
 * slot (us_rseq_fence()); only then is top settled, and written back
 * into the magazine's count.  A thread that closes the slot on its own
 * CPU needs no fence: any sequence it interrupted to run there has been
 * aborted.  "The slot's own CPU" is the kernel's CPU number equal to the
 * slot index, never the folded number of cpu.h: a thread on a CPU beyond
 * the slot count uses a slot whose own CPU may be running a sequence on
 * it (us_rseq_must_fence()).  This is the exchange with the previous
 * magazine and the depot, the refill and the drain: all lock and close,
 * and unlocking opens the slot on its loaded magazine again.
 *
 * The opening is not fenced: it may run on another CPU while a sequence
 * runs on the slot's own, one that started after the fence and so is not
 * restarted.  Opening stores top, then base and end (us_mag_slot_open()),
 * so each sequence loads its bound (base or end) before top: x86-64
 * keeps both the stores and the loads in order, so a sequence that finds
 * the bound open finds the new top, and one that finds it closed takes
 * the slow path whatever top it read.  Loaded the other way round, top
 * could be the closed slot's, in the magazine the slot had before, and
 * the bound the new one's: the pop would hand out an object of a
 * magazine the drain was flushing, or the push store into one it had
 * freed, and commit a top outside the slot's magazine.
 *
 * The push counts itself, and that increment is the one store before
 * the commit: a sequence aborted between the two counts a free twice.
 * The counters are statistics, and the window is one instruction
 * (uslab.h says so of uslab_cache_stats()).  The pop counts nothing.  A
 * second read-modify-write of the slot's line cost 5 to 7% of a pair's
 * time (bench/README.md), and allocations need no count of their own:
 * each is freed or still out, so statistics derive them from the frees
 * and the objects in use (stats.c), and the sweep sees a slot's pops
 * move its top.
 *
 * The CPU is read inside the sequence, not before it and compared
 * again: once it is read, a migration restarts the sequence, so the one
 * read is true to the commit.  The bound (us_rseq_cpus) is 0 when rseq
 * is off, and the kernel's "no CPU yet" values are above any bound, so
 * the one comparison also sends those calls to the locked paths.  The
 * slot's fields are addressed from the cache and the CPU number shifted
 * by the slot's size, with no pointer to the slot made first.
 *
 * The locked paths of magazine.h remain for where this is unavailable:
 * architectures other than x86-64, threads without a registered rseq
 * area (valgrind, GLIBC_TUNABLES=glibc.pthread.rseq=0, old kernels),
 * kernels without the membarrier command, and ThreadSanitizer builds,
 * which cannot see inside assembly.
 */
#ifndef USLAB_RSEQ_H
#define USLAB_RSEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "internal.h"

#if defined(__SANITIZE_THREAD__)
#define US_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define US_TSAN 1
#endif
#endif

#if US_CPU_USE_RSEQ && defined(__x86_64__) && !defined(US_TSAN)
#define US_RSEQ_FAST 1
#else
#define US_RSEQ_FAST 0
#endif

/* Set once at start-up when every condition above holds. */
US_PRIV_DECLARE(bool, us_rseq_enabled);

/*
 * CPUs the sequences serve: us_nr_cpus when enabled, else 0, so that the
 * bound check the sequences make anyway also sends every call to the
 * locked paths when rseq is off.
 */
US_PRIV_DECLARE(uint32_t, us_rseq_cpus);

/*
 * Choose whose rseq area, register for membarrier fences; once, from
 * us_cpu_init(), which gives the number of CPU slots.
 */
void us_rseq_init(unsigned int nr_cpus);

/* Whose rseq area the threads use (tests, statistics). */
enum us_rseq_mode {
	US_RSEQ_NONE,		/* none: the locked paths, the cached CPU */
	US_RSEQ_GLIBC,		/* glibc's */
	US_RSEQ_OWN,		/* uslab's own, registered per thread */
};
enum us_rseq_mode us_rseq_mode(void);

/*
 * In US_RSEQ_OWN mode, register the calling thread's area if it has
 * none yet; true if it has one now.  From the slow paths.
 */
bool us_rseq_register_thread(void);

/* Restart every sequence in flight on cpu (all CPUs for -1). */
void us_rseq_fence(int cpu);

/* The fences made so far (statistics, and the tests). */
uint64_t us_rseq_fence_count(void);

#if US_RSEQ_FAST

/* The signature before an abort handler, as glibc's <sys/rseq.h> has it. */
#ifndef RSEQ_SIG
#define RSEQ_SIG 0x53053053
#endif

#define US_STR_(x) #x
#define US_STR(x) US_STR_(x)

/*
 * The descriptor (version 0, flags 0) of the sequence from 1 to 2, and
 * its first step: the CPU, read inside the sequence, so that it stays
 * true to the commit (a migration restarts the sequence), into %r8, and
 * checked against the bound of the slots (slow: no slot, or rseq off).
 */
#define US_RSEQ_DESCRIPTOR                                                   \
	".pushsection __rseq_cs, \"aw\"\n\t"                                 \
	".balign 32\n\t"                                                     \
	"3:\n\t"                                                             \
	".long 0x0, 0x0\n\t"                                                 \
	".quad 1f, (2f - 1f), 4f\n\t"                                        \
	".popsection\n\t"                                                    \
	"leaq 3b(%%rip), %%rcx\n\t"                                          \
	"movq %%rcx, %%fs:%c[cs](%[rs])\n\t"                                 \
	"1:\n\t"                                                             \
	"movl %%fs:%c[cpu_id](%[rs]), %%r8d\n\t"                             \
	"cmpl %[bound], %%r8d\n\t"                                           \
	"jae %l[slow]\n\t"

/*
 * The abort handler, preceded by glibc's signature as the kernel checks
 * it (x86-64: the bytes of "ud1 RSEQ_SIG(%rip), %edi").
 */
#define US_RSEQ_ABORT                                                        \
	"2:\n\t"                                                             \
	".pushsection __rseq_failure, \"ax\"\n\t"                            \
	".byte 0x0f, 0xb9, 0x3d\n\t"                                         \
	".long " US_STR(RSEQ_SIG) "\n\t"                                     \
	"4:\n\t"                                                             \
	"jmp %l[restart]\n\t"                                               \
	".popsection\n\t"

/*
 * The slot's fields are addressed from the cache and the CPU times the
 * slot's size (one cache line: magazine.h asserts it), by offsets that
 * include the slot array's own.
 */
#define US_RSEQ_SLOT_FIELD(f) \
	(offsetof(struct kmem_cache, cpu) + offsetof(struct us_cpu_slot, f))

#define US_RSEQ_OPERANDS(c, b)                                               \
	[rs] "r"(rs), [bound] "rm"(b), [c] "r"(c),                           \
	[cs] "i"(offsetof(struct rseq, rseq_cs)),                            \
	[cpu_id] "i"(offsetof(struct rseq, cpu_id)),                         \
	[top] "i"(US_RSEQ_SLOT_FIELD(top)),                                  \
	[base] "i"(US_RSEQ_SLOT_FIELD(base)),                                \
	[end] "i"(US_RSEQ_SLOT_FIELD(end)),                                  \
	[ffast] "i"(US_RSEQ_SLOT_FIELD(free_fast))

static inline struct rseq *us_rseq_area(void)
{
	return (struct rseq *)(void *)((char *)__builtin_thread_pointer() +
				       US_PRIV(us_rseq_offset));
}

/*
 * The sequences reach the area through %fs, whose base is the thread
 * pointer, at the area's offset from it: no add of the thread pointer.
 */
static inline ptrdiff_t us_rseq_area_offset(void)
{
	return US_PRIV(us_rseq_offset);
}

/*
 * The sequences, for use inside a function with `rs` (the offset of the
 * thread's area from the thread pointer: us_rseq_area_offset()),
 * `bound` (the CPUs the slots serve: a register or memory) and the labels
 * `restart` (the sequence was aborted: run it again), `slow` (no slot for
 * this CPU, or the slot cannot serve: empty, full or closed: the locked
 * paths) and, for the push, `twice` (obj is already on top of the
 * magazine: a double free).  %r8 holds the CPU times the slot's size.
 *
 * Pop the object below top, if top is above base, into obj, which is
 * %rax: the fast paths return it, and need no move so.
 */
#define US_RSEQ_POP(c, b, obj)                                               \
	__asm__ goto(US_RSEQ_DESCRIPTOR                                      \
		     "shlq $7, %%r8\n\t"                                     \
		     "movq %c[base](%[c], %%r8), %%rcx\n\t"                   \
		     "movq %c[top](%[c], %%r8), %%rdx\n\t"                    \
		     "cmpq %%rcx, %%rdx\n\t"                                  \
		     "jbe %l[slow]\n\t"                                        \
		     "movq -8(%%rdx), %[obj]\n\t"                             \
		     "subq $8, %%rdx\n\t"                                     \
		     "movq %%rdx, %c[top](%[c], %%r8)\n\t"                    \
		     US_RSEQ_ABORT                                           \
		     : [obj] "=&a"(obj)                                      \
		     : US_RSEQ_OPERANDS(c, b)                                \
		     : "rcx", "rdx", "r8", "memory", "cc"                         \
		     : restart, slow)

/*
 * Push obj at top, if top is below end.  The word below top is the top
 * round, or the magazine's NULL guard (objs[-1]) when it is empty, so the
 * double-free test needs no test of emptiness first.
 */
#define US_RSEQ_PUSH(c, b, obj)                                              \
	__asm__ goto(US_RSEQ_DESCRIPTOR                                      \
		     "shlq $7, %%r8\n\t"                                     \
		     "movq %c[end](%[c], %%r8), %%rcx\n\t"                    \
		     "movq %c[top](%[c], %%r8), %%rdx\n\t"                    \
		     "cmpq %%rcx, %%rdx\n\t"                                  \
		     "jae %l[slow]\n\t"                                        \
		     "cmpq %[obj], -8(%%rdx)\n\t"                             \
		     "je %l[twice]\n\t"                                        \
		     "movq %[obj], (%%rdx)\n\t"                               \
		     "addq $1, %c[ffast](%[c], %%r8)\n\t"                     \
		     "addq $8, %%rdx\n\t"                                     \
		     "movq %%rdx, %c[top](%[c], %%r8)\n\t"                    \
		     US_RSEQ_ABORT                                           \
		     :                                                       \
		     : US_RSEQ_OPERANDS(c, b), [obj] "r"(obj)                \
		     : "rcx", "rdx", "r8", "memory", "cc"                         \
		     : restart, slow, twice)

#endif /* US_RSEQ_FAST */

/*
 * Must a thread that has just locked slot `slot` fence the slot's CPU?
 * Yes unless it runs on that very CPU, by the kernel's CPU number: a CPU
 * at or above the slot count folds onto a slot (cpu.h) whose own CPU may
 * be inside a sequence on it, so the folded number never answers this.
 */
static inline bool us_rseq_must_fence(unsigned int slot)
{
#if US_RSEQ_FAST
	return unlikely(US_PRIV(us_rseq_enabled)) &&
	       __atomic_load_n(&us_rseq_area()->cpu_id, __ATOMIC_RELAXED) != slot;
#else
	(void)slot;
	return false;
#endif
}

#endif /* USLAB_RSEQ_H */
