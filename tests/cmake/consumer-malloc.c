/* SPDX-License-Identifier: MIT */
/* consumer-malloc.c - malloc() served by uslab::malloc. */
#include <stdio.h>
#include <stdlib.h>

#include <uslab.h>

int main(void)
{
	struct uslab_cache_stats st = { .version = USLAB_CACHE_STATS_VERSION };
	void *p = malloc(100);

	free(p);
	/* The malloc-N caches exist only where uslab serves malloc(). */
	if (!uslab_malloc_cache(100) ||
	    uslab_cache_stats(uslab_malloc_cache(100), &st) != 0 ||
	    st.allocs == 0)
		return 1;
	puts("uslab::malloc: ok");
	return 0;
}
