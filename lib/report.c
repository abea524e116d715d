/* SPDX-License-Identifier: MIT */
/*
 * report.c - reports that cannot re-enter the allocator.
 *
 * Every diagnostic of uslab goes through here.  It may run with uslab
 * locks held, in a process whose heap is corrupt, or inside malloc when
 * uslab is the malloc, so it never allocates and never uses stdio: it
 * formats into a stack buffer with a small printf subset and writes the
 * whole line to file descriptor 2 with one write(2), so that lines from
 * different threads do not interleave.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "report.h"

#define REPORT_LINE_MAX 512

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void put_char(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_str(struct out *o, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put_char(o, *s++);
}

static void put_num(struct out *o, unsigned long long v, unsigned int base,
		    bool negative, unsigned int width, char pad)
{
	char tmp[24];
	unsigned int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (negative)
		tmp[n++] = '-';
	while (width > n) {
		put_char(o, pad);
		width--;
	}
	while (n)
		put_char(o, tmp[--n]);
}

static size_t vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		unsigned int width = 0, longs = 0;
		bool size_t_arg = false;
		char pad = ' ';

		if (*fmt != '%') {
			put_char(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned int)(*fmt++ - '0');
		for (; *fmt == 'l'; fmt++)
			longs++;
		if (*fmt == 'z') {
			size_t_arg = true;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			put_str(&o, va_arg(ap, const char *));
			break;
		case 'c':
			put_char(&o, (char)va_arg(ap, int));
			break;
		case 'd': {
			long long v;

			if (size_t_arg)
				v = va_arg(ap, ptrdiff_t);
			else if (longs >= 2)
				v = va_arg(ap, long long);
			else if (longs == 1)
				v = va_arg(ap, long);
			else
				v = va_arg(ap, int);
			put_num(&o, v < 0 ? 0ull - (unsigned long long)v
					  : (unsigned long long)v,
				10, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v;

			if (size_t_arg)
				v = va_arg(ap, size_t);
			else if (longs >= 2)
				v = va_arg(ap, unsigned long long);
			else if (longs == 1)
				v = va_arg(ap, unsigned long);
			else
				v = va_arg(ap, unsigned int);
			put_num(&o, v, *fmt == 'x' ? 16 : 10, false, width, pad);
			break;
		}
		case 'p':
			put_str(&o, "0x");
			put_num(&o, (uintptr_t)va_arg(ap, void *), 16, false,
				width, pad);
			break;
		case '%':
			put_char(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			put_char(&o, '%');
			put_char(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}

size_t us_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = vformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static void vreport_prefixed(const char *prefix, const char *fmt, va_list ap)
{
	char line[REPORT_LINE_MAX];
	size_t n, off = 0, plen = strlen(prefix);
	int saved = errno;

	memcpy(line, prefix, plen);
	n = plen + vformat(line + plen, sizeof(line) - plen - 1, fmt, ap);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	while (off < n) {
		ssize_t w = write(STDERR_FILENO, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = saved;
}

static void vreport(const char *fmt, va_list ap)
{
	vreport_prefixed("uslab: ", fmt, ap);
}

void us_report_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport_prefixed("", fmt, ap);
	va_end(ap);
}

void us_report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
}

void us_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	abort();
}

void us_write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void expand_pid(char *out, size_t size, const char *in)
{
	size_t n = 0;

	for (; *in && n + 1 < size; in++) {
		if (in[0] == '%' && in[1] == 'p') {
			n += us_format(out + n, size - n, "%d", (int)getpid());
			if (n >= size)
				n = size - 1;
			in++;
			continue;
		}
		out[n++] = *in;
	}
	out[n] = '\0';
}

int us_report_open(const char *option, const char *where, int fallback)
{
	char path[US_OPTION_PATH_MAX + 16];
	int fd;

	if (strncmp(where, "file:", 5) != 0)
		return fallback;
	expand_pid(path, sizeof(path), where + 5);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		us_report("%s: cannot open %s", option, path);
	return fd;
}

#ifdef USLAB_ASSERTS
void us_assert_fail(const char *cond, const char *file, int line)
{
	us_panic("uslab: internal assertion failed: %s (%s:%d)", cond, file,
		 line);
}
#endif
