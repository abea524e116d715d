/* SPDX-License-Identifier: MIT */
/*
 * rcu-hash.c - an RCU-protected hash table written as kernel code: a
 * typed cache for its entries, lock-free readers on several threads, an
 * updater that replaces entries under a spinlock and frees the old ones
 * with kfree_rcu().
 *
 * Readers check every entry they meet: an entry freed and handed out
 * again while a reader could still see it would show a torn key/value
 * pair.  At the end every entry is freed, rcu_barrier() waits for the
 * frees, and the cache is shown empty in /proc/slabinfo form.
 *
 * Build: cc rcu-hash.c $(pkg-config --cflags --libs uslab-rcu) -pthread
 */
#include <urcu.h>		/* the memb flavour: first, then uslab-rcu.h */
#include <urcu/rcuhlist.h>
#include <uslab-rcu.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* The kernel's names for liburcu's list and lock. */
#define hlist_head cds_hlist_head
#define hlist_node cds_hlist_node
#define hlist_add_head_rcu cds_hlist_add_head_rcu
#define hlist_del_rcu cds_hlist_del_rcu
#define hlist_for_each_entry_rcu cds_hlist_for_each_entry_rcu_2
#define spinlock_t pthread_mutex_t
#define DEFINE_SPINLOCK(l) pthread_mutex_t l = PTHREAD_MUTEX_INITIALIZER
#define spin_lock pthread_mutex_lock
#define spin_unlock pthread_mutex_unlock

#define HASH_BITS 10
#define HASH_SIZE (1u << HASH_BITS)
#define KEYS 4096
#define UPDATES 200000
#define READERS 3

struct flow {
	unsigned long key;
	unsigned long packets;
	unsigned long check;	/* key ^ packets: a torn read shows */
	struct hlist_node node;
	struct rcu_head rcu;
};

static struct kmem_cache *flow_cache;
static struct hlist_head flow_table[HASH_SIZE];
static DEFINE_SPINLOCK(flow_lock);
static volatile int stop;

static struct hlist_head *bucket(unsigned long key)
{
	return &flow_table[(key * 0x9e3779b97f4a7c15ul) >> (64 - HASH_BITS)];
}

/* Under flow_lock, or rcu_read_lock(). */
static struct flow *flow_find(unsigned long key)
{
	struct flow *f;

	hlist_for_each_entry_rcu(f, bucket(key), node)
		if (f->key == key)
			return f;
	return NULL;
}

/* Count a packet: a new entry replaces the old, freed after readers. */
static int flow_count(unsigned long key)
{
	struct flow *old, *f = kmem_cache_alloc(flow_cache, GFP_KERNEL);

	if (!f)
		return -1;
	spin_lock(&flow_lock);
	old = flow_find(key);
	f->key = key;
	f->packets = old ? old->packets + 1 : 1;
	f->check = f->key ^ f->packets;
	hlist_add_head_rcu(&f->node, bucket(key));
	if (old) {
		hlist_del_rcu(&old->node);
		kfree_rcu(old, rcu);
	}
	spin_unlock(&flow_lock);
	return 0;
}

static void flow_remove(unsigned long key)
{
	struct flow *f;

	spin_lock(&flow_lock);
	f = flow_find(key);
	if (f) {
		hlist_del_rcu(&f->node);
		kfree_rcu(f, rcu);
	}
	spin_unlock(&flow_lock);
}

struct reader_stats {
	unsigned long lookups, found, torn;
};

static void *reader(void *arg)
{
	struct reader_stats *st = arg;
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	rcu_register_thread();
	while (!stop) {
		unsigned long key = (unsigned long)rand_r(&seed) % KEYS;
		struct flow *f;

		rcu_read_lock();
		f = flow_find(key);
		if (f) {
			st->found++;
			if ((f->key ^ f->packets) != f->check || f->key != key)
				st->torn++;
		}
		rcu_read_unlock();
		st->lookups++;
	}
	rcu_unregister_thread();
	return NULL;
}

int main(void)
{
	static struct reader_stats stats[READERS];
	struct uslab_cache_stats cs = { .version = USLAB_CACHE_STATS_VERSION };
	pthread_t t[READERS];
	unsigned long torn = 0, lookups = 0, found = 0;
	unsigned int seed = 1;

	flow_cache = KMEM_CACHE(flow, SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT);
	if (!flow_cache)
		return 1;
	rcu_register_thread();
	for (int i = 0; i < READERS; i++)
		pthread_create(&t[i], NULL, reader, &stats[i]);

	for (int i = 0; i < UPDATES; i++) {
		unsigned long key = (unsigned long)rand_r(&seed) % KEYS;

		if (i % 16 == 15)
			flow_remove(key);
		else if (flow_count(key) != 0)
			return 1;
	}
	stop = 1;
	for (int i = 0; i < READERS; i++) {
		pthread_join(t[i], NULL);
		lookups += stats[i].lookups;
		found += stats[i].found;
		torn += stats[i].torn;
	}
	uslab_cache_stats(flow_cache, &cs);
	printf("%d updates; %d readers made %lu lookups, found %lu, torn %lu\n",
	       UPDATES, READERS, lookups, found, torn);
	printf("entries live or waiting for a grace period: %llu\n",
	       (unsigned long long)cs.active_objs);

	for (unsigned long key = 0; key < KEYS; key++)
		flow_remove(key);
	rcu_barrier();		/* every kfree_rcu() above has freed */
	uslab_cache_stats(flow_cache, &cs);
	printf("after rcu_barrier(): %llu active\n\n",
	       (unsigned long long)cs.active_objs);
	uslab_slabinfo(stdout);
	rcu_unregister_thread();
	kmem_cache_destroy(flow_cache);
	return torn == 0 && cs.active_objs == 0 ? 0 : 1;
}
