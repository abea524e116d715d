#!/bin/sh
# test-contract.sh - the project's own contracts:
#   - <uslab.h> compiles alone, pedantically, as C11 and as C++11, and
#     every public function is callable from C++;
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
struct widget { long a; char b; };
int main(void)
{
	struct kmem_cache *c = KMEM_CACHE(widget, SLAB_HWCACHE_ALIGN);
	void *p = kmem_cache_zalloc(c, GFP_KERNEL | __GFP_NOWARN);
	kmem_cache_free(c, p);
	kmem_cache_destroy(c);
	kfree(kmalloc(1, GFP_ATOMIC));
	return ZERO_OR_NULL_PTR(ZERO_SIZE_PTR) ? 0 : 1;
}
SRC
cp "$tmp/c.c" "$tmp/cxx.cc"

$CC -std=c11 -pedantic -Wall -Wextra -Werror $inc -c "$tmp/c.c" -o "$tmp/c.o"
echo "C11 pedantic: ok"
$CXX -std=c++11 -pedantic -Wall -Wextra -Werror $inc -c "$tmp/cxx.cc" -o "$tmp/cxx.o"
echo "C++11 pedantic: ok"

"$top_srcdir/tools/check-exports.sh" "$top_srcdir/include/uslab.h" \
	"$top_builddir/lib/uslab.sym" "$top_builddir/lib/.libs/libuslab.so"
