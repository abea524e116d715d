#!/bin/sh
# test-contract.sh - the project's own contracts:
#   - <uslab.h> compiles alone, pedantically, as C99, C11 and C++11,
#     every public function is callable from C++, and C11 and C++ have
#     kmem_cache_create()'s four-argument form beside the classic one;
#   - the exports of libuslab match the header and the version script;
#   - the design essay's layer list names every lib/*.c;
#   - <uslab.h>'s version macros say the package's version;
#   - the kernel compatibility headers take the kernel's place, and the
#     kernel's <linux/gfp_types.h> never silently redefines the flags.
# Run by make check with CC, CXX, top_srcdir, top_builddir and
# PACKAGE_VERSION set.
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

# The compatibility headers (pkg-config uslab-kernel) as kernel code
# includes them, with a kernel-like <linux/types.h> typedef and the
# kernel's <linux/gfp_types.h> guard: the kernel's copy after <uslab.h>
# changes nothing, before it is an error, never a silent redefinition.
mkdir -p "$tmp/kern/linux"
cat > "$tmp/kern/linux/types.h" <<'SRC'
#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H
typedef unsigned int gfp_t;
#endif
SRC
cat > "$tmp/kernel_gfp_types.h" <<'SRC'
#ifndef __LINUX_GFP_TYPES_H
#define __LINUX_GFP_TYPES_H
#define __GFP_NOFAIL 0x200u /* not the kernel's: must never take effect */
#endif
SRC
cat > "$tmp/k.c" <<'SRC'
#include <linux/slab.h>
#include <linux/gfp.h>
#include KERNEL_COPY
_Static_assert(__GFP_NOFAIL == 0x8000u, "__GFP_NOFAIL redefined");
_Static_assert(__GFP_BITS_SHIFT == 28, "__GFP_BITS_SHIFT");
int main(void)
{
	void *p = kmalloc(8, GFP_KERNEL);
	kfree(p);
	return !gfpflags_allow_blocking(GFP_KERNEL);
}
SRC
kinc="-I$top_srcdir/include/kernel -I$tmp/kern $inc"
$CC -std=gnu11 -Wall -Wextra -Werror $kinc \
	-DKERNEL_COPY="\"$tmp/kernel_gfp_types.h\"" -c "$tmp/k.c" -o "$tmp/k.o"
printf '#include "%s"\n#include <linux/slab.h>\nint x;\n' \
	"$tmp/kernel_gfp_types.h" > "$tmp/k2.c"
if $CC -std=gnu11 $kinc -c "$tmp/k2.c" -o "$tmp/k2.o" > "$tmp/k2.err" 2>&1 ||
   ! grep -q "came before <uslab.h>" "$tmp/k2.err"; then
	echo "the kernel's <linux/gfp_types.h> before <uslab.h> was not refused:"
	cat "$tmp/k2.err"
	exit 1
fi
echo "kernel compatibility headers: ok"

# The design essay (lib/internal.h, point 1) names every module.
essay=$(sed -n '/^ \* 1\. Layers\./,/^ \* 2\. /p' "$top_srcdir/lib/internal.h")
missing=
for f in "$top_srcdir"/lib/*.c; do
	m=$(basename "$f")
	printf '%s\n' "$essay" | grep -q "[^a-z_]$m" || missing="$missing $m"
done
[ -z "$missing" ] ||
	{ echo "the design essay's layer list lacks:$missing"; exit 1; }
echo "design essay: every lib/*.c in its layer list"

"$top_srcdir/tools/check-exports.sh" "$top_srcdir/include/uslab.h" \
	"$top_builddir/lib/uslab.sym" "$top_builddir/lib/.libs/libuslab.so"

# Lines: 80 columns is the style (.clang-format); one may run to 100
# where breaking it would read worse, as the kernel's checkpatch allows,
# and none further.
long=$(cd "$top_srcdir" && for f in lib/*.[ch] include/*.h bin/*.c \
		tests/*.c tests/*.h tests/*.cc bench/*.c examples/*.c; do
	expand -t8 "$f" | awk -v f="$f" 'length > 100 { print f ":" NR }'
done)
[ -z "$long" ] || { echo "lines over 100 columns:"; echo "$long"; exit 1; }
echo "no line over 100 columns"

# libuslab-malloc: the functions malloc.c marks MALLOC_EXPORT, its
# version script and the library's dynamic symbols agree.
tmpm=$tmp/malloc
sed -n 's/^MALLOC_EXPORT [^(]*[ *]\([a-z_]*\)(.*/\1/p' "$top_srcdir/lib/malloc.c" |
	sort -u > "$tmpm.src"
sed -n 's/^[[:space:]]*\([a-z_][a-z0-9_]*\);$/\1/p' "$top_srcdir/lib/uslab-malloc.sym" |
	sort -u > "$tmpm.sym"
nm -D --defined-only "$top_builddir/lib/.libs/libuslab-malloc.so" |
	awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u > "$tmpm.lib"
if ! diff -u "$tmpm.src" "$tmpm.sym" || ! diff -u "$tmpm.sym" "$tmpm.lib"; then
	echo "libuslab-malloc: malloc.c, uslab-malloc.sym and the library differ"
	exit 1
fi
echo "libuslab-malloc: $(wc -l < "$tmpm.lib") exported functions agree"

# The header's version is the package's (configure.ac's AC_INIT).
version=$(printf '#include <uslab.h>\nUSLAB_VERSION_STRING USLAB_VERSION_MAJOR USLAB_VERSION_MINOR USLAB_VERSION_MICRO\n' |
	$CC -E -P $inc - | tail -n 1)
expect="\"$PACKAGE_VERSION\" $(echo "$PACKAGE_VERSION" | tr . ' ')"
if [ "$version" != "$expect" ]; then
	echo "<uslab.h> says version $version; the package is $PACKAGE_VERSION"
	exit 1
fi
echo "<uslab.h>: version $PACKAGE_VERSION"
