/* SPDX-License-Identifier: MIT */
/*
 * test-node.c - NUMA nodes: memory asked of node N comes from node N's
 * slabs and chunks, falls back to another node without __GFP_THISNODE
 * and fails with it.  This machine has one node, so the node logic runs
 * with USLAB_NR_NODES simulating three (the children below); where the
 * kernel has nodes, where the pages really are is checked as well.
 */
#include "config.h"

#include <pthread.h>

#include "cache.h"
#include "chunk.h"
#include "node.h"
#include "testutil.h"

#define SIM_NODES 3
#define PER_NODE 400

/* The node uslab keeps p's memory for, or -1 where it is not ours. */
static int node_of(const void *p)
{
	struct us_chunk *ch = us_chunk_lookup(p);

	return ch ? (int)ch->node : -1;
}

static void expect_on(const char *what, const void *p, int node)
{
	int pn;

	if (!p) {
		child_failed("%s on node %d: NULL (%s)", what, node,
			   strerror(errno));
		return;
	}
	if ((pn = node_of(p)) != node)
		child_failed("%s on node %d: %p is node %d's", what, node, p, pn);
	/* Where the kernel has the nodes, it agrees. */
	if (us_nr_nodes > 1 && getenv("USLAB_NR_NODES") == NULL &&
	    (pn = us_node_of_page(p)) >= 0 && pn != node)
		child_failed("%s on node %d: the kernel put %p on node %d", what,
			   node, p, pn);
}

static const size_t sizes[] = { 8, 100, 1000, 8192, 65536, 200000,
				(size_t)3 << 20 };
#define NR_SIZES (sizeof(sizes) / sizeof(sizes[0]))

static void *objs[US_MAX_NODES][NR_SIZES][PER_NODE];
static void *cobjs[US_MAX_NODES][PER_NODE];

static unsigned int per_size(size_t size)
{
	return size > 65536 ? 8 : PER_NODE;
}

/* The i'th of a round: each _node() call in turn, half __GFP_THISNODE. */
static void *node_alloc(unsigned int i, size_t size, int node)
{
	gfp_t gfp = GFP_KERNEL | (i & 1 ? __GFP_THISNODE : 0);

	switch (i % 3) {
	case 0:
		return kmalloc_node(size, gfp, node);
	case 1:
		return kzalloc_node(size, gfp, node);
	default:
		return kvmalloc_node(size, gfp, node);
	}
}

/*
 * Every _node() call gives memory of the node asked for, through slab
 * refills and the large path, and again after everything is freed and
 * some of it sits in magazines of the CPU that freed it.
 */
static int placement_child(void)
{
	struct kmem_cache *c = kmem_cache_create("placed", 96, 0, 0, NULL);
	unsigned int nodes = us_nr_nodes;

	for (int round = 0; round < 2; round++) {
		for (unsigned int n = 0; n < nodes; n++) {
			for (size_t s = 0; s < NR_SIZES; s++)
				for (unsigned int i = 0; i < per_size(sizes[s]); i++) {
					void *p = node_alloc(i, sizes[s], (int)n);

					expect_on("kmalloc_node", p, (int)n);
					objs[n][s][i] = p;
				}
			for (unsigned int i = 0; i < PER_NODE; i++) {
				void *p = kmem_cache_alloc_node(c, GFP_KERNEL, (int)n);

				expect_on("kmem_cache_alloc_node", p, (int)n);
				cobjs[n][i] = p;
				/* Every third back at once, to a magazine. */
				if (i % 3 == 0) {
					kmem_cache_free(c, p);
					cobjs[n][i] = NULL;
				}
			}
		}
		/* Free everything, node by node, into this CPU's magazines. */
		for (unsigned int n = 0; n < nodes; n++) {
			for (size_t s = 0; s < NR_SIZES; s++)
				for (unsigned int i = 0; i < per_size(sizes[s]); i++)
					kvfree(objs[n][s][i]);
			for (unsigned int i = 0; i < PER_NODE; i++)
				if (cobjs[n][i])
					kmem_cache_free(c, cobjs[n][i]);
		}
	}
	for (unsigned int n = 0; n < nodes; n++) {
		/* Node n's copy of a large block stays on node n. */
		char *p = kmalloc_node(1u << 20, GFP_KERNEL | __GFP_THISNODE,
				       (int)n);

		memset(p, 'n', 1u << 20);
		p = krealloc(p, 5u << 20, GFP_KERNEL);
		expect_on("krealloc of a node's block", p, (int)n);
		if (p[(1u << 20) - 1] != 'n')
			child_failed("krealloc lost the contents");
		kfree(p);
	}
	if (us_cache_validate(c) || us_cache_validate(uslab_kmalloc_cache(100)) ||
	    us_chunk_validate())
		child_failed("the structures do not validate");
	kmem_cache_destroy(c);
	return child_failures != 0;
}

/* Nodes that do not exist, and __GFP_THISNODE without a node. */
static int invalid_child(void)
{
	struct kmem_cache *c = kmem_cache_create("invalid", 40, 0, 0, NULL);
	static const int bad[] = { SIM_NODES, SIM_NODES + 1, 64, -2, 1 << 30 };

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		for (size_t s = 0; s < NR_SIZES; s++) {
			void *p;

			errno = 0;
			p = kmalloc_node(sizes[s], GFP_KERNEL | __GFP_THISNODE,
					 bad[k]);
			if (p || errno != EINVAL)
				child_failed("kmalloc_node(%zu, THISNODE, %d): %p, "
					   "errno %d", sizes[s], bad[k], p, errno);
			errno = 0;
			p = kmem_cache_alloc_node(c, GFP_KERNEL | __GFP_THISNODE,
						  bad[k]);
			if (p || errno != EINVAL)
				child_failed("kmem_cache_alloc_node(THISNODE, %d): "
					   "%p, errno %d", bad[k], p, errno);
			/* Without it, any node will do. */
			p = kmalloc_node(sizes[s], GFP_KERNEL, bad[k]);
			if (!p || node_of(p) < 0 || node_of(p) >= SIM_NODES)
				child_failed("kmalloc_node(%zu, %d) fell back to "
					   "%p", sizes[s], bad[k], p);
			kfree(p);
			p = kmem_cache_alloc_node(c, GFP_KERNEL, bad[k]);
			if (!p)
				child_failed("kmem_cache_alloc_node(%d) did not "
					   "fall back", bad[k]);
			kmem_cache_free(c, p);
		}
	/* __GFP_THISNODE and no node: the calling thread's node. */
	pin_to_one_cpu();
	for (size_t s = 0; s < NR_SIZES; s++) {
		void *p = kmalloc_node(sizes[s], GFP_KERNEL | __GFP_THISNODE,
				       NUMA_NO_NODE);

		expect_on("kmalloc_node(NUMA_NO_NODE, THISNODE)", p,
			  (int)us_node_current());
		kfree(p);
	}
	kmem_cache_destroy(c);
	return child_failures != 0;
}

/*
 * More threads than cores, each allocating on a node of its own and
 * freeing what a neighbour allocated on another.
 */
#define NODE_THREADS 6
#define HANDOFF 2000

static void *handoff[NODE_THREADS][HANDOFF];
static pthread_barrier_t handoff_barrier;
static struct kmem_cache *handoff_cache;

static void *node_worker(void *arg)
{
	int t = (int)(intptr_t)arg, node = t % SIM_NODES;

	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < HANDOFF; i++) {
			void *p = i & 1 ? kmalloc_node(24 + i % 512, GFP_KERNEL,
						       node)
					: kmem_cache_alloc_node(handoff_cache,
								GFP_KERNEL, node);
			if (node_of(p) != node)
				child_failed("thread %d: %p not on node %d", t, p,
					   node);
			handoff[t][i] = p;
		}
		pthread_barrier_wait(&handoff_barrier);
		for (int i = 0; i < HANDOFF; i++) {
			void *p = handoff[(t + 1) % NODE_THREADS][i];

			if (i & 1)
				kfree(p);
			else
				kmem_cache_free(handoff_cache, p);
		}
		pthread_barrier_wait(&handoff_barrier);
	}
	return NULL;
}

static int threads_child(void)
{
	pthread_t t[NODE_THREADS];

	handoff_cache = kmem_cache_create("handoff", 200, 0, 0, NULL);
	pthread_barrier_init(&handoff_barrier, NULL, NODE_THREADS);
	for (int i = 0; i < NODE_THREADS; i++)
		pthread_create(&t[i], NULL, node_worker, (void *)(intptr_t)i);
	for (int i = 0; i < NODE_THREADS; i++)
		pthread_join(t[i], NULL);
	if (us_cache_validate(handoff_cache) || us_chunk_validate())
		child_failed("the structures do not validate");
	/* Every object came back: destroying reports nothing. */
	kmem_cache_destroy(handoff_cache);
	return child_failures != 0;
}

static const struct self_child children[] = {
	{ "placement", placement_child },
	{ "invalid", invalid_child },
	{ "threads", threads_child },
};

static void run_child(const char *mode, const char *debug)
{
	const char *env[] = { "USLAB_NR_NODES=3", debug, NULL };

	ck_assert_self_ok(mode, env);
}

TEST(memory_comes_from_the_node_asked_for)
{
	run_child("placement", NULL);
	run_child("placement", "USLAB_DEBUG=FZPU");
}
END_TEST

TEST(a_missing_node_falls_back_or_fails_with_thisnode)
{
	run_child("invalid", NULL);
}
END_TEST

TEST(threads_on_every_node_free_each_others_objects)
{
	run_child("threads", NULL);
}
END_TEST

/* This machine's own nodes, as the kernel reports them. */
TEST(the_real_nodes)
{
	void *p;

	ck_assert_uint_ge(us_nr_nodes, 1);
	for (unsigned int n = 0; n < us_nr_nodes; n++) {
		p = kmalloc_node(300, GFP_KERNEL | __GFP_THISNODE, (int)n);
		memset(p, 1, 300);
		expect_on("kmalloc_node", p, (int)n);
		kfree(p);
		p = kvmalloc_node(4u << 20, GFP_KERNEL | __GFP_THISNODE, (int)n);
		memset(p, 1, 4u << 20);
		expect_on("kvmalloc_node", p, (int)n);
		kvfree(p);
	}
	ck_assert_int_eq(child_failures, 0);
	errno = 0;
	ck_assert_ptr_null(kmalloc_node(8, GFP_KERNEL | __GFP_THISNODE,
					(int)us_nr_nodes));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

int main(int argc, char **argv)
{
	return test_main(argc, argv, "node", 120, children,
			 sizeof(children) / sizeof(children[0]));
}
