/* SPDX-License-Identifier: MIT */
/*
 * fork-bench.c - what fork() costs a program on its allocator.
 *
 *   fork-bench [FORKS]
 *
 * A shell's pattern: a heap of 400 blocks of spread sizes, then FORKS
 * times fork(), a child that allocates a little and exits, and a parent
 * that waits and allocates a little.  Prints one line of key=value
 * figures, as uslab-bench does: µs per fork, and the minor page faults
 * of each side per fork.  After fork() every page either side writes
 * is copied (or, once the child is gone, made writable again) with a
 * fault, so an allocator whose fork handlers or first allocations write
 * state spread over many pages shows here.
 *
 * Linked with libc alone, so that LD_PRELOAD picks the allocator and
 * no other allocator's fork handlers run beside it (uslab-bench is
 * linked with libuslab for its kmem_cache workloads).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "fork-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* A little of what a child or a parent does between two forks. */
static void work(uint64_t *rng)
{
	void *p[8];

	for (int i = 0; i < 8; i++) {
		p[i] = malloc(16 + rng_next(rng) % 600);
		if (!p[i])
			die("malloc");
		*(volatile char *)p[i] = 1;
	}
	for (int i = 0; i < 8; i++)
		free(p[i]);
}

int main(int argc, char **argv)
{
	enum { HEAP = 400 };
	unsigned long forks = argc > 1 ? strtoul(argv[1], NULL, 0) : 2000;
	void *heap[HEAP];
	uint64_t rng = 99;
	long parent = 0, child = 0;
	double t0, t1;

	if (forks == 0) {
		fprintf(stderr, "usage: %s [FORKS]\n", argv[0]);
		return 2;
	}
	for (int i = 0; i < HEAP; i++) {
		size_t size = 16 + rng_next(&rng) % 2000;

		if (!(heap[i] = malloc(size)))
			die("malloc");
		memset(heap[i], 1, size);
	}
	t0 = now_ns();
	for (unsigned long n = 0; n < forks; n++) {
		long before = minor_faults(), in_child;
		int fd[2], status;
		pid_t pid;

		if (pipe(fd) != 0)
			die("pipe");
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			work(&rng);
			in_child = minor_faults();
			_exit(write(fd[1], &in_child, sizeof(in_child)) ==
			      (ssize_t)sizeof(in_child) ? 0 : 1);
		}
		if (read(fd[0], &in_child, sizeof(in_child)) !=
		    (ssize_t)sizeof(in_child))
			die("read from the child");
		close(fd[0]);
		close(fd[1]);
		if (waitpid(pid, &status, 0) != pid || status != 0)
			die("the child failed");
		work(&rng);
		parent += minor_faults() - before;
		child += in_child;
	}
	t1 = now_ns();
	printf("us_per_fork=%.1f parent_faults=%.1f child_faults=%.1f\n",
	       (t1 - t0) / 1e3 / (double)forks, (double)parent / (double)forks,
	       (double)child / (double)forks);
	for (int i = 0; i < HEAP; i++)
		free(heap[i]);
	return 0;
}
