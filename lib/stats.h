/* SPDX-License-Identifier: MIT */
/*
 * stats.h - gathering a cache's figures.
 */
#ifndef USLAB_STATS_H
#define USLAB_STATS_H

/* At start-up: keep a copy of stderr if USLAB_STATS=1. */
void us_stats_init(void);

/*
 * If USLAB_STATS asks for it, write the slabinfo table and every cache's
 * counters to stderr or the file it names.  write(2) only: safe at exit.
 */
void us_stats_report(void);

#endif /* USLAB_STATS_H */
