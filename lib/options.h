/* SPDX-License-Identifier: MIT */
/*
 * options.h - settings read from the environment once, at start-up.
 */
#ifndef USLAB_OPTIONS_H
#define USLAB_OPTIONS_H

#define US_OPTION_PATH_MAX 256

struct us_options {
	unsigned int nr_cpus;	/* USLAB_NR_CPUS: per-CPU slots; 0: count */
	unsigned int nr_nodes;	/* USLAB_NR_NODES: simulated nodes; 0: count */
	unsigned int no_rseq;	/* USLAB_NO_RSEQ=1: the locked fast paths */
	/* USLAB_OWN_RSEQ=1: register uslab's own rseq area where glibc
	 * registered none */
	unsigned int own_rseq;
	/* USLAB_COUNT_RSEQ=1: under valgrind, run the sequences in the first
	 * thread for counting their instructions (rseq.c) */
	unsigned int count_rseq;
	/* USLAB_FAULT_MMAP=N: the Nth request for new memory and all later
	 * ones fail; 0: none */
	unsigned int fault_mmap;
	unsigned int random_freelist;	/* USLAB_RANDOM_FREELIST=1 */
	/* USLAB_DECAY_MS: free memory idle this long goes back (reclaim.c) */
	unsigned int decay_ms;
	unsigned int decay_set;		/* USLAB_DECAY_MS given */
	/* USLAB_BACKGROUND=0: no helper thread returns cold memory */
	unsigned int background;
	unsigned int background_set;
	/* USLAB_PROCESS_MADVISE=0: decommit a run at a time (os.h) */
	unsigned int process_madvise;
	unsigned int process_madvise_set;
	/* USLAB_STATS: "1" for stderr or "file:PATH"; empty: no report */
	char stats[US_OPTION_PATH_MAX];
	/* USLAB_DEBUG: the kernel's slab_debug syntax (debug.c) */
	char debug[US_OPTION_PATH_MAX];
	unsigned int debug_set;		/* USLAB_DEBUG present, even empty */
	/* USLAB_FAILSLAB: the fault attributes (failslab.c) */
	char failslab[US_OPTION_PATH_MAX];
	/* USLAB_UNWIND: "libgcc" unwinds SLAB_STORE_USER's stacks with
	 * libgcc rather than uslab's cached unwinder (cfi.h) */
	char unwind[US_OPTION_PATH_MAX];
	/* USLAB_ALLOCINFO: "1" counts allocations per call site, "exit"
	 * also writes the table to stderr at exit, "file:PATH" to PATH
	 * (alloctag.c); empty or "0": off */
	char allocinfo[US_OPTION_PATH_MAX];
	/* USLAB_REENTER=1: every callout allocates and frees (callout.h) */
	unsigned int reenter;
};

extern struct us_options us_options;

/* Read every option; bad values are reported and ignored. */
void us_options_init(void);

#endif /* USLAB_OPTIONS_H */
