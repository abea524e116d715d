/* SPDX-License-Identifier: MIT */
/*
 * kmalloc.h - the kmalloc layer's start-up and fork hooks.
 */
#ifndef USLAB_KMALLOC_H
#define USLAB_KMALLOC_H

#include <stdbool.h>

#include <uslab.h>

/* The largest size served by a kmalloc-N cache; above: the large path. */
#define US_KMALLOC_MAX_CACHE_SIZE KMALLOC_MAX_CACHE_SIZE

/* Initialise uslab and create the kmalloc-N caches; once. */
void us_kmalloc_init(void);

void us_kmalloc_fork_prepare(void);
void us_kmalloc_fork_release(bool child);

#endif /* USLAB_KMALLOC_H */
