/* SPDX-License-Identifier: MIT */
/*
 * common.h - what the suites, the soak workload and the benchmark share,
 * with no Check in it (testutil.h adds Check's helpers on top).
 *
 *   rng_next()         xorshift64*: a fast generator, one state a thread
 *   shuffle()          an array of pointers in random order
 *   rss_bytes_quiet()  resident memory from /proc/self/statm, or 0
 *   MAILBOX_DEFINE()   a typed mailbox through which threads hand
 *                      objects to another to free (remote frees)
 */
#ifndef USLAB_TESTS_COMMON_H
#define USLAB_TESTS_COMMON_H

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Put p[0..n) in random order (Fisher and Yates). */
static inline void shuffle(void **p, size_t n, uint64_t *rng)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_next(rng) % i;
		void *t = p[i - 1];

		p[i - 1] = p[j];
		p[j] = t;
	}
}

/* Resident bytes, or 0 where /proc cannot tell. */
static inline size_t rss_bytes_quiet(void)
{
	char buf[128];
	unsigned long size = 0, resident = 0;
	int fd = open("/proc/self/statm", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
		return 0;
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * MAILBOX_DEFINE(name, type, cap, release) defines struct name, a
 * mailbox of up to cap values of type under a mutex (initialise it with
 * name##_init()); name##_post() adds one (false when full: the caller
 * frees it itself); name##_drain() takes them all, a batch at a time,
 * and calls release() on each outside the lock.
 */
#define MAILBOX_DEFINE(name, type, cap, release)                             \
	struct name {                                                        \
		pthread_mutex_t lock;                                        \
		unsigned int count;                                          \
		type items[cap];                                             \
	};                                                                   \
	static inline void name##_init(struct name *mb)                      \
	{                                                                    \
		pthread_mutex_init(&mb->lock, NULL);                         \
		mb->count = 0;                                               \
	}                                                                    \
	static inline bool name##_post(struct name *mb, const type *v)       \
	{                                                                    \
		bool ok = false;                                             \
                                                                             \
		pthread_mutex_lock(&mb->lock);                               \
		if (mb->count < (cap)) {                                     \
			mb->items[mb->count++] = *v;                         \
			ok = true;                                           \
		}                                                            \
		pthread_mutex_unlock(&mb->lock);                             \
		return ok;                                                   \
	}                                                                    \
	static inline void name##_drain(struct name *mb)                     \
	{                                                                    \
		type local[64];                                              \
		unsigned int n;                                              \
                                                                             \
		do {                                                         \
			pthread_mutex_lock(&mb->lock);                       \
			n = mb->count < 64 ? mb->count : 64;                 \
			mb->count -= n;                                      \
			memcpy(local, mb->items + mb->count,                 \
			       n * sizeof(local[0]));                        \
			pthread_mutex_unlock(&mb->lock);                     \
			for (unsigned int i = 0; i < n; i++)                 \
				release(&local[i]);                          \
		} while (n == 64);                                           \
	}

#endif /* USLAB_TESTS_COMMON_H */
