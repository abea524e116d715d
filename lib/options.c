/* SPDX-License-Identifier: MIT */
/*
 * options.c - environment variables, read once from one table.
 *
 * Runs inside initialisation, possibly from the first malloc of the
 * process, so it allocates nothing: getenv() and a hand-written number
 * parser only.  A value that does not parse or is out of range is
 * reported once and the default stays.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "callout.h"
#include "options.h"
#include "report.h"

struct us_options us_options;

struct option_desc {
	const char *name;
	unsigned int *value;		/* a number ... */
	unsigned long min, max;
	unsigned int *given;		/* set to 1 if the number was given */
	char *text;			/* ... or a string of US_OPTION_PATH_MAX */
	bool (*valid)(const char *s);
	const char *expect;
};

static bool stats_valid(const char *s)
{
	return strcmp(s, "1") == 0 || strcmp(s, "0") == 0 ||
	       (strncmp(s, "file:", 5) == 0 && s[5] != '\0');
}

static bool unwind_valid(const char *s)
{
	return strcmp(s, "libgcc") == 0 || strcmp(s, "cfi") == 0;
}

static bool allocinfo_valid(const char *s)
{
	return stats_valid(s) || strcmp(s, "exit") == 0;
}

static bool any_text(const char *s)
{
	(void)s;
	return true;
}

static const struct option_desc options[] = {
	{ "USLAB_NR_CPUS", &us_options.nr_cpus, 1, 65536, NULL, NULL, NULL,
	  NULL },
	{ "USLAB_NR_NODES", &us_options.nr_nodes, 1, 64, NULL, NULL, NULL,
	  NULL },
	{ "USLAB_NO_RSEQ", &us_options.no_rseq, 0, 1, NULL, NULL, NULL, NULL },
	{ "USLAB_OWN_RSEQ", &us_options.own_rseq, 0, 1, NULL, NULL, NULL, NULL },
	{ "USLAB_COUNT_RSEQ", &us_options.count_rseq, 0, 1, NULL, NULL, NULL,
	  NULL },
	{ "USLAB_FAULT_MMAP", &us_options.fault_mmap, 0, 4000000000ul, NULL,
	  NULL, NULL, NULL },
	{ "USLAB_RANDOM_FREELIST", &us_options.random_freelist, 0, 1, NULL,
	  NULL, NULL, NULL },
	{ "USLAB_DECAY_MS", &us_options.decay_ms, 0, 60000,
	  &us_options.decay_set, NULL, NULL, NULL },
	{ "USLAB_BACKGROUND", &us_options.background, 0, 1,
	  &us_options.background_set, NULL, NULL, NULL },
	{ "USLAB_PROCESS_MADVISE", &us_options.process_madvise, 0, 1,
	  &us_options.process_madvise_set, NULL, NULL, NULL },
	{ "USLAB_STATS", NULL, 0, 0, NULL, us_options.stats, stats_valid,
	  "1 or file:PATH" },
	{ "USLAB_DEBUG", &us_options.debug_set, 0, 0, NULL, us_options.debug,
	  any_text, "at most 255 characters" },
	{ "USLAB_FAILSLAB", NULL, 0, 0, NULL, us_options.failslab, any_text,
	  "at most 255 characters" },
	{ "USLAB_UNWIND", NULL, 0, 0, NULL, us_options.unwind, unwind_valid,
	  "cfi or libgcc" },
	{ "USLAB_ALLOCINFO", NULL, 0, 0, NULL, us_options.allocinfo,
	  allocinfo_valid, "0, 1, exit or file:PATH" },
	{ "USLAB_REENTER", &us_options.reenter, 0, 1, NULL, NULL, NULL, NULL },
};

us_callout_fn us_callout_hook;

static bool parse_ulong(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (~0ul - 9) / 10)
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return true;
}

void us_options_init(void)
{
	for (size_t i = 0; i < US_ARRAY_SIZE(options); i++) {
		const struct option_desc *o = &options[i];
		const char *s = getenv(o->name);
		unsigned long v;

		if (!s)
			continue;
		if (o->text) {
			if (!o->valid(s) || strlen(s) >= US_OPTION_PATH_MAX) {
				us_report("%s=%s ignored: expected %s", o->name,
					  s, o->expect);
				continue;
			}
			if (o->value)		/* present, whatever it says */
				*o->value = 1;
			if (strcmp(s, "0") != 0 || o->value)
				strcpy(o->text, s);
			continue;
		}
		if (!parse_ulong(s, &v) || v < o->min || v > o->max) {
			us_report("%s=%s ignored: expected a number from %lu to %lu",
				  o->name, s, o->min, o->max);
			continue;
		}
		*o->value = (unsigned int)v;
		if (o->given)
			*o->given = 1;
	}
}
