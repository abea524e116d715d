/* SPDX-License-Identifier: MIT */
/*
 * uslab-rcu.h - the kernel's RCU-deferred frees, on userspace RCU.
 *
 * kfree_rcu(ptr, field), kvfree_rcu(ptr, field), kfree_rcu_mightsleep(ptr),
 * kvfree_rcu_mightsleep(ptr) and kvfree_rcu_barrier(), as in Linux 6.12's
 * <linux/rcupdate.h> and <linux/slab.h>, for memory from uslab, with the
 * grace periods of liburcu (https://liburcu.org, Debian's liburcu-dev).
 *
 * The flavour is the program's.  Include the liburcu flavour header the
 * program uses first -- <urcu.h> (memb, liburcu's default; also urcu-mb
 * or urcu-signal through it), <urcu-qsbr.h> or <urcu-bp.h> -- and this
 * header after it: the macros below call that flavour's call_rcu(),
 * synchronize_rcu() and rcu_barrier().  With no flavour included yet,
 * this header includes <urcu.h>.  Link with the flavour's library:
 * `pkg-config --cflags --libs uslab-rcu` gives uslab and liburcu (memb);
 * add liburcu-qsbr or liburcu-bp for those flavours.
 *
 * The rules are liburcu's: the thread calling these must be registered
 * with the flavour (rcu_register_thread(); automatic with urcu-bp), and
 * the _mightsleep() forms may wait for a grace period, so they must not
 * be called inside a read-side critical section.  libuslab itself does
 * not link liburcu: this header is all there is of it.
 *
 * What is guaranteed: an object passed to kfree_rcu() stays allocated,
 * and counted as active in its cache, until every read-side critical
 * section that began before the call has ended; only then is it freed
 * (kvfree()), on liburcu's call_rcu worker thread.  It is never handed
 * out again before.  rcu_barrier() (or kvfree_rcu_barrier()) returns
 * once every free requested before it is done.
 *
 * kfree_rcu() needs no offset limit (the kernel's 4096 bytes): the
 * object's start is found from the address of its rcu_head with
 * uslab_object_start(), as the kernel's kvfree_rcu() finds it with
 * nearest_obj().  The rcu_head may be anywhere in the object.
 */
#ifndef USLAB_RCU_H
#define USLAB_RCU_H

#include <uslab.h>

#ifndef call_rcu
#include <urcu.h>
#endif
#include <urcu/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The callback of kvfree_rcu(): the object head lies in, freed. */
static inline void __uslab_kvfree_rcu_head(struct rcu_head *head)
{
	void *obj = uslab_object_start(head);

	/* Not in uslab's memory: kvfree() reports the pointer, and aborts. */
	kvfree(obj ? obj : (void *)head);
}

/**
 * kvfree_rcu - free an object once a grace period has passed.
 * @ptr: the object (NULL: nothing is done), from kmalloc(), kvmalloc(),
 *       kmem_cache_alloc() or any other uslab allocation.
 * @rhf: the name of its struct rcu_head member.
 *
 * Does not wait.  See this header's comment for the guarantees.
 */
#define kvfree_rcu(ptr, rhf)                                                 \
	do {                                                                 \
		__typeof__(ptr) __uslab_p = (ptr);                           \
		if (__uslab_p)                                               \
			call_rcu(&__uslab_p->rhf, __uslab_kvfree_rcu_head);  \
	} while (0)

/* kfree_rcu - kvfree_rcu() by its kmalloc name. */
#define kfree_rcu(ptr, rhf) kvfree_rcu(ptr, rhf)

/* A pointer waiting for its grace period, for the _mightsleep() forms. */
struct __uslab_rcu_ptr {
	struct rcu_head rcu;
	void *ptr;
};

static inline void __uslab_kvfree_rcu_ptr(struct rcu_head *head)
{
	struct __uslab_rcu_ptr *h =
		caa_container_of(head, struct __uslab_rcu_ptr, rcu);

	kvfree(h->ptr);
	kfree(h);
}

static inline void __uslab_kvfree_rcu_mightsleep(const void *ptr)
{
	struct __uslab_rcu_ptr *h;

	if (ZERO_OR_NULL_PTR(ptr))
		return;
	h = (struct __uslab_rcu_ptr *)kmalloc(sizeof(*h),
					      GFP_KERNEL | __GFP_NOWARN);
	if (!h) {
		/* As the kernel does without memory: wait, then free. */
		synchronize_rcu();
		kvfree(ptr);
		return;
	}
	h->ptr = (void *)(uintptr_t)ptr;
	call_rcu(&h->rcu, __uslab_kvfree_rcu_ptr);
}

/**
 * kvfree_rcu_mightsleep - free an object without an rcu_head, after a
 * grace period.
 * @ptr: the object (NULL: nothing is done).
 *
 * A small record of the pointer waits for the grace period; if it cannot
 * be allocated, this waits for one (synchronize_rcu()) and frees at once.
 * Not inside a read-side critical section.
 */
#define kvfree_rcu_mightsleep(ptr) __uslab_kvfree_rcu_mightsleep(ptr)

/* kfree_rcu_mightsleep - kvfree_rcu_mightsleep() by its kmalloc name. */
#define kfree_rcu_mightsleep(ptr) __uslab_kvfree_rcu_mightsleep(ptr)

/* kvfree_rcu_barrier - wait until every free requested so far is done. */
#define kvfree_rcu_barrier() rcu_barrier()

#ifdef __cplusplus
}
#endif

#endif /* USLAB_RCU_H */
