/* SPDX-License-Identifier: MIT */
/*
 * reclaim.c - the memory policy: when free memory goes back to the OS.
 *
 * Returning memory can fail two ways, and both are measured: holding
 * memory the program no longer uses, and returning memory it is about to
 * use again (a page fault per page, and system time, to get it back).
 * The answer of jemalloc (decay), mimalloc (purge delay) and SLUB (the
 * barn and the partial lists) is the same, and so is uslab's: free memory
 * ages.  An empty slab, a full magazine idle in a depot and a freed large
 * block each carry the time they went idle; the sweep gives back those
 * idle for the decay period (us_decay_ms, USLAB_DECAY_MS), and nothing
 * younger.  Memory reused within the period is never unmapped or
 * decommitted; memory idle for longer is returned without the program
 * calling uslab.
 *
 * Who sweeps.  The slow paths call us_reclaim_poke(), which runs the
 * sweep at most every quarter of the period: a busy program returns its
 * cold memory in passing, with no thread.  A program that goes quiet
 * makes no slow-path call, so a helper thread ("uslab-reclaim") sweeps
 * every quarter period while at least US_HELPER_MIN_BYTES wait to age
 * out, and sleeps, with no timeout, while less does.  Why a thread and
 * not only piggybacking: a program that frees everything and then waits
 * would otherwise keep it all until its next allocation, and the only
 * alternative, returning memory at free time, returns what a program is
 * about to reuse.  How it stays out of the way:
 *
 *   - it is started only from an allocation's slow path, never from a
 *     free: glibc frees under its own locks (the thread-stack cache's,
 *     when it reclaims a finished thread's TLS) and pthread_create()
 *     takes the same ones, so a thread started from free() can deadlock
 *     its caller.  A free only wakes the helper (a futex wake);
 *   - it starts once uslab holds US_HELPER_START_BYTES: a short-lived
 *     program with a small heap never has it;
 *   - idle it costs next to nothing: once less than US_HELPER_MIN_BYTES
 *     has waited for a decay period and two sweeps (the tail, in which
 *     the CPU slots' last frees age out), it sleeps until a free notes
 *     that enough waits, or for US_HELPER_LINGER_MS (four decay periods
 *     if longer).  Then it leaves if uslab holds less than
 *     US_HELPER_START_BYTES, and the next allocation that finds memory
 *     waiting starts another.  Holding more, it sweeps and sleeps again:
 *     a free never starts the helper (below), so one that had left
 *     would leave a program that allocates, idles, then frees with no
 *     allocation after, holding all it freed for good;
 *   - it never keeps a process alive: glibc ends a process whose last
 *     thread leaves with pthread_exit(), and a helper still there would
 *     be that last thread.  Each time it wakes it looks at the thread
 *     count in /proc/self/stat and leaves if it is alone (the process
 *     then exits with status 0, as glibc does).  Without /proc it cannot
 *     tell (no system call counts a process's threads), and leaves once
 *     idle, whatever uslab holds: such a process outlives its last
 *     thread by the time its waiting memory takes to age out and the
 *     linger (US_HELPER_LINGER_MS, or four decay periods), 2.5 s with the
 *     defaults, and then exits as it would have.  Nothing is lost but
 *     that time, and it needs both a missing /proc and a main thread
 *     that leaves with pthread_exit();
 *   - whichever thread leaves last runs exit(): atexit() handlers and
 *     destructors.  That may be the helper (the program's last thread
 *     leaves while it sleeps), so it is a thread like the program's: the
 *     default stack size, not a small one, and before it leaves it takes
 *     back the name and the signal mask of the thread that started it;
 *   - fork() stops it first (us_reclaim_fork_prepare()), and neither
 *     parent nor child restarts it until an allocation's slow path, so a
 *     program that counts its threads around fork() (Python warns if
 *     there are several) sees one;
 *   - it blocks every signal while it runs, so process-directed signals
 *     never land on it, and it takes no lock but uslab's own;
 *   - exit() needs nothing of it: it holds nothing a destructor waits
 *     for long, and dies with the process; libuslab is never unloaded
 *     (-z nodelete), so dlclose() cannot pull its code away;
 *   - USLAB_BACKGROUND=0 turns it off: memory then goes back only from
 *     the slow paths, as in jemalloc without its background thread.
 *
 * The helper runs only where uslab is the process's malloc
 * (libuslab-malloc), and only once libuslab's constructor has run:
 * pthread_create() allocates (glibc's TLS vector), and uslab never calls
 * another malloc, which may be one built on uslab and holding its own
 * lock.  A program on the kernel API with a malloc of its own gets its
 * cold memory back from the slow paths, or at once from
 * kmem_cache_shrink() and uslab_shrink_all().
 *
 * Locking: helper_lock, the outermost of all uslab locks (design essay,
 * 7), guards starting and stopping the helper; the helper never takes
 * it.  The sweep itself takes the locks of whatever it sweeps, one at a
 * time; two sweeps never run at once (next_sweep is claimed by CAS).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "callout.h"
#include "lock.h"
#include "options.h"
#include "os.h"
#include "reclaim.h"

/* Below this much waiting memory, the slow paths alone return it. */
#define US_HELPER_MIN_BYTES ((uint64_t)1 << 20)
/* The helper starts once uslab holds this much. */
#define US_HELPER_START_BYTES ((size_t)16 << 20)
/* Idle this long (or four decay periods, if longer), the helper leaves. */
#define US_HELPER_LINGER_MS 2000

uint64_t us_decay_ms = US_DECAY_MS_DEFAULT;

static us_reclaim_sweep_fn sweep_fn;
static us_reclaim_held_fn held_fn;
static us_reclaim_room_fn room_fn;
static _Atomic uint64_t next_sweep;	/* ms: when the sweep is due */
static _Atomic uint64_t waiting;	/* bytes waiting to age out, about */
static _Atomic bool sweeping US_FORK_STATE;	/* a sweep is running */

enum { HELPER_NONE, HELPER_RUNNING, HELPER_FAILED };

static struct us_lock helper_lock US_FORK_STATE = US_LOCK_INIT;
static _Atomic int helper_state;	/* [helper_lock] to change */
static pthread_t helper_tid;		/* [helper_lock] */
static _Atomic uint32_t helper_wake;	/* futex word: bumped to wake it */
static _Atomic bool helper_stop;	/* asks it to exit (fork) */
static _Atomic bool helper_asleep;	/* waiting for helper_wake */
static _Atomic unsigned int helper_allowed;	/* enum us_reclaim_allow */
/* The starter's signal mask, for the helper to copy as it starts. */
static sigset_t program_mask;		/* [helper_lock] */

static uint64_t sweep_interval(void)
{
	return us_decay_ms / 4 > 10 ? us_decay_ms / 4 : 10;
}

void us_reclaim_init(us_reclaim_sweep_fn sweep, us_reclaim_held_fn held,
		     us_reclaim_room_fn room)
{
	if (us_options.decay_set)
		us_decay_ms = us_options.decay_ms;
	sweep_fn = sweep;
	held_fn = held;
	room_fn = room;
	atomic_store_explicit(&next_sweep, us_os_now_ms() + sweep_interval(),
			      memory_order_relaxed);
}

void us_reclaim_make_room(struct kmem_cache *c)
{
	if (room_fn)
		room_fn(c);
}

void us_reclaim_allow_helper(enum us_reclaim_allow why)
{
	atomic_fetch_or_explicit(&helper_allowed, why, memory_order_relaxed);
}

void us_reclaim_note(uint64_t bytes)
{
	/* An estimate until the next sweep measures what waits. */
	atomic_fetch_add_explicit(&waiting, bytes, memory_order_seq_cst);
}

/* Run the sweep unless another is running; update what is waiting. */
static uint64_t run_sweep(uint64_t now)
{
	bool idle = false;
	uint64_t left;

	if (!sweep_fn || !atomic_compare_exchange_strong(&sweeping, &idle, true))
		return atomic_load_explicit(&waiting, memory_order_relaxed);
	atomic_store_explicit(&next_sweep, now + sweep_interval(),
			      memory_order_relaxed);
	left = sweep_fn(now);
	atomic_store_explicit(&waiting, left, memory_order_relaxed);
	atomic_store_explicit(&sweeping, false, memory_order_release);
	return left;
}

uint64_t us_reclaim_sweep_now(void)
{
	return run_sweep(us_os_now_ms());
}

static void wake_helper(void)
{
	atomic_fetch_add_explicit(&helper_wake, 1, memory_order_release);
	us_os_futex_wake(&helper_wake, 1);
}

enum thread_count { NOT_ALONE, ALONE, CANNOT_TELL };

/*
 * Is the helper the process's last thread?  /proc/self/stat's 20th field
 * counts the threads, and its 3rd is the main thread's state: a main
 * thread that left with pthread_exit() is a zombie until the whole
 * process ends, and still counted, so the helper is alone at a count of
 * 1, or of 2 with the main thread a zombie (the helper is never the main
 * thread).  Read with system calls into a stack buffer (no stdio: uslab
 * calls no malloc).
 */
static enum thread_count helper_thread_count(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	char *p, state;
	int field = 2;		/* the name, "(comm)", may hold spaces */

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return CANNOT_TELL;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return CANNOT_TELL;
	state = p[2];
	for (; *p && field < 20; p++)
		if (*p == ' ')
			field++;
	if (field != 20)
		return CANNOT_TELL;
	if ((p[0] == '1' && p[1] == ' ') ||
	    (state == 'Z' && p[0] == '2' && p[1] == ' '))
		return ALONE;
	return NOT_ALONE;
}

/*
 * The helper leaves on its own: detached, the state NONE, so that the
 * next allocation that wants it starts another.  Not while fork() is
 * stopping it (the lock is held; fork() joins it instead).
 */
static bool helper_leave(void)
{
	if (!us_trylock(&helper_lock))
		return false;
	if (atomic_load_explicit(&helper_stop, memory_order_acquire)) {
		us_unlock(&helper_lock);
		return false;
	}
	pthread_detach(pthread_self());
	atomic_store(&helper_state, HELPER_NONE);
	us_unlock(&helper_lock);
	return true;
}

static uint64_t linger_ms(void)
{
	return us_decay_ms * 4 > US_HELPER_LINGER_MS ? us_decay_ms * 4
						     : US_HELPER_LINGER_MS;
}

/*
 * After a burst of frees, the sweep that returns the last of the depot
 * may leave less than US_HELPER_MIN_BYTES waiting while the CPU slots
 * still hold the burst's last frees, which pin their slabs and are
 * drained only once a sweep sees them idle for the decay period
 * (us_mag_reap_slots()).  So the helper sweeps on for this long after
 * the waiting memory last fell short, before it idles.
 */
static uint64_t helper_tail_ms(void)
{
	return us_decay_ms + 2 * sweep_interval();
}

/*
 * May the idle helper leave?  Not while uslab holds the heap that would
 * start one: a free never starts the helper (above), so a program that
 * allocates, idles past the linger and then frees, with no allocation
 * after, would have no one to return what it freed.  It stays then, and
 * sweeps once each linger period; but only where it can tell that it is
 * not keeping the process alive (count).
 */
static bool helper_may_leave(enum thread_count count)
{
	return count == CANNOT_TELL || !held_fn ||
	       held_fn() < US_HELPER_START_BYTES;
}

static void *helper_main(void *arg)
{
	int saved = errno;
	bool left = false;
	uint64_t short_since = 0;	/* ms: waiting fell short then */
	/*
	 * What it gives back as it leaves, for it may be the last thread,
	 * which runs exit() (above): its starter's mask (copied now: the
	 * next helper's starter writes program_mask) and name (inherited;
	 * prctl(), no allocation).
	 */
	sigset_t mask = program_mask;
	char name[16];

	(void)arg;
	if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0)
		name[0] = '\0';
	pthread_setname_np(pthread_self(), "uslab-reclaim");
	for (;;) {
		uint32_t seq = atomic_load_explicit(&helper_wake,
						    memory_order_acquire);
		uint64_t now = us_os_now_ms();
		enum thread_count count;
		bool idle;

		if (atomic_load_explicit(&waiting, memory_order_relaxed) >=
		    US_HELPER_MIN_BYTES)
			short_since = 0;
		else if (!short_since)
			short_since = now;
		idle = short_since && now - short_since >= helper_tail_ms();
		if (atomic_load_explicit(&helper_stop, memory_order_acquire))
			break;
		/*
		 * Idle: sleep until a free notes enough waiting memory and
		 * wakes us (us_reclaim_poke() tests helper_asleep after its
		 * note; the futex compares seq, so no wake is lost), or
		 * until the linger ends and we leave, or sweep and stay.
		 */
		atomic_store_explicit(&helper_asleep, idle, memory_order_seq_cst);
		if (idle &&
		    atomic_load_explicit(&waiting, memory_order_seq_cst) >=
			    US_HELPER_MIN_BYTES)
			idle = false;
		us_os_futex_wait(&helper_wake, seq,
				 idle ? linger_ms() : sweep_interval());
		atomic_store_explicit(&helper_asleep, false, memory_order_relaxed);
		if (atomic_load_explicit(&helper_stop, memory_order_acquire))
			break;
		/*
		 * The program's threads have all left with pthread_exit():
		 * go too, and glibc ends the process with exit(0), as it
		 * would have without us.
		 */
		count = helper_thread_count();
		if (count == ALONE && (left = helper_leave()))
			break;
		if (idle &&
		    atomic_load_explicit(&waiting, memory_order_seq_cst) <
			    US_HELPER_MIN_BYTES &&
		    helper_may_leave(count) && (left = helper_leave()))
			break;
		run_sweep(us_os_now_ms());
	}
	if (left) {
		pthread_setname_np(pthread_self(), name);
		pthread_sigmask(SIG_SETMASK, &mask, NULL);
	}
	errno = saved;
	return NULL;
}

/* Start the helper unless it runs or another thread is starting it. */
static void start_helper(void)
{
	sigset_t all, old;
	int saved = errno;

	if (!us_trylock(&helper_lock))
		return;
	if (atomic_load(&helper_state) != HELPER_NONE)
		goto out;	/* running, or could not be created */
	atomic_store(&helper_stop, false);
	/*
	 * Created with every signal blocked: it inherits the mask.  The
	 * default stack: exit() may run on it (above).
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	program_mask = old;
	if (pthread_create(&helper_tid, NULL, helper_main, NULL) == 0)
		atomic_store(&helper_state, HELPER_RUNNING);
	else
		atomic_store(&helper_state, HELPER_FAILED);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	us_unlock(&helper_lock);
	errno = saved;
}

static bool helper_wanted(void)
{
	return !(us_options.background_set && !us_options.background) &&
	       atomic_load_explicit(&helper_allowed, memory_order_relaxed) ==
		       US_RECLAIM_ALLOWED;
}

void us_reclaim_poke(enum us_reclaim_path path, struct kmem_cache *c)
{
	uint64_t now;
	int state;

	/*
	 * Only an allocation's poke can start the helper, so only it calls
	 * out; a free's only wakes it (a futex call).  A callout from a
	 * free would be made, in glibc, under the thread-stack cache lock
	 * that pthread_create() takes (reclaim.c, above).
	 */
	if (path == US_RECLAIM_ALLOC)
		us_callout(US_CALLOUT_POKE, c);
	now = us_os_now_ms();
	if (now >= atomic_load_explicit(&next_sweep, memory_order_relaxed))
		run_sweep(now);
	if (!helper_wanted())
		return;
	state = atomic_load_explicit(&helper_state, memory_order_relaxed);
	if (state == HELPER_RUNNING) {
		if (atomic_load_explicit(&waiting, memory_order_seq_cst) >=
			    US_HELPER_MIN_BYTES &&
		    atomic_load_explicit(&helper_asleep, memory_order_seq_cst) &&
		    atomic_exchange_explicit(&helper_asleep, false,
					     memory_order_relaxed))
			wake_helper();
	} else if (state == HELPER_NONE && path == US_RECLAIM_ALLOC &&
		   held_fn && held_fn() >= US_HELPER_START_BYTES) {
		start_helper();
	}
}

bool us_reclaim_helper_running(void)
{
	return atomic_load(&helper_state) == HELPER_RUNNING;
}

bool us_reclaim_helper_asleep(void)
{
	return atomic_load(&helper_asleep);
}

void us_reclaim_fork_prepare(void)
{
	us_lock(&helper_lock);
	if (atomic_load(&helper_state) == HELPER_RUNNING) {
		atomic_store_explicit(&helper_stop, true, memory_order_release);
		wake_helper();
		pthread_join(helper_tid, NULL);
		atomic_store(&helper_state, HELPER_NONE);
		atomic_store(&helper_asleep, false);
	}
}

void us_reclaim_fork_parent(void)
{
	us_unlock(&helper_lock);
}

void us_reclaim_fork_child(void)
{
	atomic_store(&sweeping, false);
	us_lock_reset(&helper_lock);
}
