#!/bin/sh
# test-contract.sh - the project's own contracts:
#   - <uslab.h> compiles alone, pedantically, as C99, C11 and C++11,
#     every public function is callable from C++, and C11 and C++ have
#     kmem_cache_create()'s four-argument form beside the classic one;
#   - the exports of libuslab match the header and the version script.
# Run by make check with CC, CXX, top_srcdir and top_builddir set.
set -eu
: "${CC:=cc}" "${CXX:=c++}"
tmp=${TMPDIR:-/tmp}/uslab-contract.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT INT TERM
inc="-I$top_srcdir/include"

cat > "$tmp/c.c" <<'SRC'
#include <uslab.h>
#include <string.h>
struct widget { long a; char b; };
int main(void)
{
	struct kmem_cache_args args;
	struct kmem_cache *c = KMEM_CACHE(widget, SLAB_HWCACHE_ALIGN);
	void *p = kmem_cache_zalloc(c, GFP_KERNEL | __GFP_NOWARN);
	kmem_cache_free(c, p);
	kmem_cache_destroy(c);
	memset(&args, 0, sizeof(args));
	args.align = 64;
#ifdef NEW_FORM
	/* Linux 6.12's four-argument form, with arguments and without. */
	kmem_cache_destroy(kmem_cache_create("w", 24, &args, SLAB_ACCOUNT));
	kmem_cache_destroy(kmem_cache_create("w", 24, NULL, 0));
#endif
	kmem_cache_destroy(__kmem_cache_create_args("w", 24, &args, 0));
	kmem_cache_destroy(kmem_cache_create("w", 24, 8, 0, NULL));
	kfree(kmalloc_node(1, GFP_ATOMIC, NUMA_NO_NODE));
	kvfree(kvmalloc(1, GFP_KERNEL_ACCOUNT));
	kfree_const(kstrdup_const("literal", GFP_KERNEL));
	return ZERO_OR_NULL_PTR(ZERO_SIZE_PTR) ? 0 : 1;
}
SRC
cp "$tmp/c.c" "$tmp/cxx.cc"

# The four-argument form needs C11's _Generic or C++'s overloading; C99
# has the classic form alone.
$CC -std=c99 -pedantic -Wall -Wextra -Werror $inc -c "$tmp/c.c" -o "$tmp/c.o"
echo "C99 pedantic: ok"
$CC -std=c11 -DNEW_FORM -pedantic -Wall -Wextra -Werror $inc -c "$tmp/c.c" \
	-o "$tmp/c.o"
echo "C11 pedantic: ok"
$CXX -std=c++11 -DNEW_FORM -pedantic -Wall -Wextra -Werror $inc \
	-c "$tmp/cxx.cc" -o "$tmp/cxx.o"
echo "C++11 pedantic: ok"

"$top_srcdir/tools/check-exports.sh" "$top_srcdir/include/uslab.h" \
	"$top_builddir/lib/uslab.sym" "$top_builddir/lib/.libs/libuslab.so"
