/* SPDX-License-Identifier: MIT */
/*
 * node.h - NUMA nodes: how many, the calling thread's, and binding
 * memory to one.
 */
#ifndef USLAB_NODE_H
#define USLAB_NODE_H

#include <stdbool.h>
#include <stddef.h>

/* Nodes uslab keeps memory apart for, at most. */
#define US_MAX_NODES 64

/* The nodes: 1 on most machines; USLAB_NR_NODES simulates more (tests). */
extern unsigned int us_nr_nodes;

/* Count the nodes, from sysfs or USLAB_NR_NODES; once, from us_init(). */
void us_node_init(void);

/* Is node a node uslab keeps memory for? */
static inline bool us_node_valid(int node)
{
	return node >= 0 && (unsigned int)node < us_nr_nodes;
}

/*
 * The node of the calling thread's CPU, below us_nr_nodes: 0 with one
 * node; else from getcpu(), or the CPU number for simulated nodes.  For
 * slow paths: it may be a system call.
 */
unsigned int us_node_current(void);

/*
 * Ask the kernel to take the pages of [addr, addr + len) from node
 * (mbind(2), MPOL_PREFERRED: from another where the node has none left);
 * nothing where the nodes are simulated or there is only one.
 */
void us_node_bind(void *addr, size_t len, unsigned int node);

/* The node the page at addr is on, or -1 where the kernel will not say. */
int us_node_of_page(const void *addr);

#endif /* USLAB_NODE_H */
