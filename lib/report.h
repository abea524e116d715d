/* SPDX-License-Identifier: MIT */
/*
 * report.h - the one way uslab tells the user something went wrong.
 */
#ifndef USLAB_REPORT_H
#define USLAB_REPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

/*
 * Format into buf (always terminated) without allocating and without
 * stdio.  Understands %s %c %d %u %x %p %% with the length modifiers l,
 * ll and z, and a field width for numbers (%8lu, %08lx).
 */
size_t us_format(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Write a line to stderr with write(2): "uslab: " fmt "\n". */
void us_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line as it is, with no prefix: the lines of a multi-line report. */
void us_report_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write all of s to fd, as far as fd takes it; no stdio. */
void us_write_all(int fd, const char *s);

/*
 * Where a report option (USLAB_STATS, USLAB_ALLOCINFO) sends its report:
 * for "file:PATH", PATH opened for writing, each "%p" in it replaced by
 * the process ID (-1, reported under option's name, if it cannot be);
 * for anything else, fallback.
 */
int us_report_open(const char *option, const char *where, int fallback);

/*
 * Would us_report_open() give a report somewhere: where names a file, or
 * fallback is open?  So that a report with nowhere to go reads nothing
 * of what it would have written.
 */
static inline bool us_report_has_place(const char *where, int fallback)
{
	return fallback >= 0 || strncmp(where, "file:", 5) == 0;
}

/* us_report(), then abort(). */
US_NORETURN void us_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif /* USLAB_REPORT_H */
