/* SPDX-License-Identifier: MIT */
/*
 * node.c - NUMA nodes.
 *
 * The kernel keeps a cache's partial slabs, and SLUB its barns, per
 * node, so that kmalloc_node() gives memory of the node asked for.
 * uslab does the same at its slab layer (slab.c, one pool of slabs per
 * node and cache) and page layer (chunk.c, chunks per node, their pages
 * bound to the node with mbind(2)); this file says how many nodes there
 * are, which is the calling thread's, and binds memory.
 *
 * The count is the highest node in /sys/devices/system/node/online, plus
 * one, read once without allocating; USLAB_NR_NODES=N simulates N nodes
 * on any machine, for the tests, with nothing bound (the kernel has no
 * such nodes) and a CPU's node its number modulo N.  One node, the
 * common case, costs nothing: every pool is node 0's.
 *
 * The system calls are made directly (mbind, get_mempolicy, getcpu):
 * libnuma is not needed and would allocate.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cpu.h"
#include "node.h"
#include "options.h"

/* From <numaif.h>, which is libnuma's. */
#define US_MPOL_PREFERRED 1
#define US_MPOL_F_NODE (1 << 0)
#define US_MPOL_F_ADDR (1 << 1)

unsigned int us_nr_nodes = 1;
static bool simulated;

/* The highest number in a sysfs list such as "0-3,8,10-11", or -1. */
static int highest_in_list(const char *s)
{
	int high = -1, v = -1;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			v = (v < 0 ? 0 : v * 10) + (*s - '0');
			if (v > 1 << 20)
				return -1;
		} else {
			if (v > high)
				high = v;
			v = -1;
		}
	}
	return v > high ? v : high;
}

void us_node_init(void)
{
	char buf[256];
	ssize_t n;
	int fd, high, saved = errno;

	if (us_options.nr_nodes) {
		us_nr_nodes = us_options.nr_nodes;
		simulated = true;
		return;
	}
	fd = open("/sys/devices/system/node/online", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errno = saved;
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	errno = saved;
	if (n <= 0)
		return;
	buf[n] = '\0';
	high = highest_in_list(buf);
	if (high > 0)
		us_nr_nodes = (unsigned int)(high + 1 > US_MAX_NODES ? US_MAX_NODES
								    : high + 1);
}

unsigned int us_node_current(void)
{
	unsigned int cpu, node;
	int saved = errno;

	if (us_nr_nodes == 1)
		return 0;
	if (simulated)
		return us_cpu_id() % us_nr_nodes;
	if (syscall(SYS_getcpu, &cpu, &node, NULL) != 0)
		node = 0;
	errno = saved;
	return node < us_nr_nodes ? node : 0;
}

void us_node_bind(void *addr, size_t len, unsigned int node)
{
	unsigned long mask[US_MAX_NODES / (8 * sizeof(unsigned long)) + 1] = { 0 };
	int saved = errno;

	if (us_nr_nodes == 1 || simulated)
		return;
	mask[node / (8 * sizeof(unsigned long))] |=
		1ul << (node % (8 * sizeof(unsigned long)));
	/* Best effort: where the kernel refuses, the pages go anywhere. */
	syscall(SYS_mbind, addr, len, US_MPOL_PREFERRED, mask,
		(unsigned long)US_MAX_NODES + 1, 0u);
	errno = saved;
}

int us_node_of_page(const void *addr)
{
	int node = -1, saved = errno;

	if (syscall(SYS_get_mempolicy, &node, NULL, 0ul, addr,
		    US_MPOL_F_NODE | US_MPOL_F_ADDR) != 0)
		node = -1;
	errno = saved;
	return node;
}
