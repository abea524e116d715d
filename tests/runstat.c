/* SPDX-License-Identifier: MIT */
/*
 * runstat.c - run a command; record its time, peak resident memory, page
 * faults and CPU time.
 *
 *   RUNSTAT_OUT=FILE runstat COMMAND [ARG...]
 *
 * Runs COMMAND with the environment it was given, waits for it, appends
 * "SECONDS MAXRSS_KIB MINOR_FAULTS USER_SECONDS SYSTEM_SECONDS" to FILE,
 * and exits with the command's status.
 * The peak covers the command and every descendant it waited for (a
 * shell and its pipeline), as wait4(2) reports it.  The preload suite
 * uses it to compare programs with and without uslab.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *out = getenv("RUNSTAT_OUT");
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid;
	FILE *f;

	if (argc < 2 || !out) {
		fprintf(stderr, "usage: RUNSTAT_OUT=FILE %s COMMAND [ARG...]\n",
			argv[0]);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("wait4");
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	f = fopen(out, "a");
	if (f) {
		fprintf(f, "%.3f %ld %ld %.3f %.3f\n",
			(double)(t1.tv_sec - t0.tv_sec) +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
			ru.ru_maxrss, ru.ru_minflt,
			(double)ru.ru_utime.tv_sec +
				(double)ru.ru_utime.tv_usec / 1e6,
			(double)ru.ru_stime.tv_sec +
				(double)ru.ru_stime.tv_usec / 1e6);
		fclose(f);
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
