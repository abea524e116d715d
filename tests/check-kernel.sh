#!/bin/sh
# check-kernel.sh - make check-kernel: the kernel's own tests of the
# radix tree, XArray, IDA/IDR and maple tree (tools/testing/radix-tree of
# Linux 6.12), built unchanged against the installed uslab and run.
#
#   sh tests/check-kernel.sh [SUITE...]
#
# SUITE is multiorder, xarray, idr-test, main or maple; the default is
# the short three (about a minute under ASan), "all" is every one (main
# and maple take many minutes).  Environment:
#
#   KERNEL_SOURCE     the kernel's source: Debian's linux-source-6.12
#                     tarball (the default, /usr/src/linux-source-6.12.tar.xz)
#                     or an unpacked tree
#   KERNEL_WORK       where to unpack and build (default ./kernel-suites)
#   KERNEL_SANITIZE   1 (default): -fsanitize=address,undefined, as the
#                     harness builds itself; 0: without
#   KERNEL_SHIM       1: also build and run the harness with its own slab,
#                     for the comparison in bench/README.md
#   RUNSTAT           tests/runstat, for each run's time and peak memory
#
# uslab's objects are memory ASan does not track: a use after free of a
# radix tree node reads a freed object and goes unseen.  Installed from
# a build with ./configure --enable-sanitizers=address, uslab poisons its
# free objects for ASan, which then reports such a read as the harness's
# own slab does; point PKG_CONFIG_PATH at that installation.
#
# The kernel's files include <linux/slab.h> and <linux/gfp.h>; pkg-config
# uslab-kernel puts uslab's compatibility headers before the harness's,
# so they reach <uslab.h>.  The harness's own slab (tools/testing/shared/
# linux.c, tools/lib/slab.c) is left out and tests/kernel/uslab-harness.c
# gives its test hooks over uslab: the allocation counters and
# kmem_cache_set_non_kernel(), the latter on top of failslab.  Nothing of
# the kernel's source is changed or kept in this tree.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
src=${KERNEL_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
work=${KERNEL_WORK:-$(pwd)/kernel-suites}
sanitize=${KERNEL_SANITIZE:-1}
shim=${KERNEL_SHIM:-0}
runstat=${RUNSTAT:-$(pwd)/tests/runstat}
jobs=$(nproc 2>/dev/null || echo 2)

suites=${*:-multiorder xarray idr-test}
[ "$suites" = all ] && suites="multiorder xarray idr-test main maple"

die() { echo "check-kernel: $*" >&2; exit 1; }

pkg-config --exists uslab-kernel ||
	die "pkg-config finds no uslab-kernel: make install first (and set" \
	    "PKG_CONFIG_PATH for a prefix it does not search)"
[ -x "$runstat" ] || die "no $runstat: make tests/runstat"
uslab_cflags=$(pkg-config --cflags uslab-kernel)
uslab_libs=$(pkg-config --libs uslab-kernel)
uslab_libdir=$(pkg-config --variable=libdir uslab)

# The harness, unpacked once: the tree's tools/, lib/ and include/.
unpack() { # DIR
	[ -f "$1/tools/testing/radix-tree/Makefile" ] && return 0
	rm -rf "$1"
	mkdir -p "$1"
	if [ -d "$src" ]; then
		for d in tools lib include arch/x86/include; do
			mkdir -p "$1/$(dirname "$d")"
			cp -R "$src/$d" "$1/$d"
		done
	elif [ -f "$src" ]; then
		tar -xJf "$src" -C "$1" --strip-components=1 \
			linux-source-6.12/tools linux-source-6.12/lib \
			linux-source-6.12/include \
			linux-source-6.12/arch/x86/include
	else
		die "no kernel source at $src: apt-get install linux-source-6.12"
	fi
}

san=
[ "$sanitize" = 1 ] && san="-fsanitize=address -fsanitize=undefined"
harness_cflags="-I../shared -I. -I../../include -I../../../lib -g -Og -Wall \
-D_LGPL_SOURCE $san"

# The calls the harness counts, wrapped at link time (uslab-harness.c).
wrap=-Wl,--wrap=kmem_cache_alloc,--wrap=kmem_cache_free
wrap=$wrap,--wrap=kmem_cache_alloc_bulk,--wrap=kmem_cache_free_bulk
wrap=$wrap,--wrap=kmalloc,--wrap=kzalloc,--wrap=kfree
# and their _noprof() names, which the tagging macros of <uslab.h> call.
wrap=$wrap,--wrap=kmem_cache_alloc_noprof,--wrap=kmem_cache_alloc_bulk_noprof
wrap=$wrap,--wrap=kmalloc_noprof,--wrap=kzalloc_noprof

build() { # VARIANT DIR
	dir=$2/tools/testing/radix-tree
	echo "check-kernel: building the $1 variant in $dir"
	if [ "$1" = uslab ]; then
		cp "$top_srcdir/tests/kernel/uslab-harness.c" \
			"$2/tools/testing/shared/uslab-harness.c"
		make -C "$dir" -j"$jobs" \
			CFLAGS="$uslab_cflags $harness_cflags" LDFLAGS="$san" \
			LDLIBS="$wrap $uslab_libs -Wl,-rpath,$uslab_libdir \
-lpthread -lurcu" \
			LIBS="find_bit.o bitmap.o hweight.o vsprintf.o uslab-harness.o" \
			SHARED_OFILES='xarray-shared.o radix-tree.o idr.o $(LIBS)' \
			> "$2/build.log" 2>&1 ||
			{ tail -40 "$2/build.log"; die "the $1 build failed"; }
	else
		make -C "$dir" -j"$jobs" CFLAGS="$harness_cflags" \
			LDFLAGS="$san" > "$2/build.log" 2>&1 ||
			{ tail -40 "$2/build.log"; die "the $1 build failed"; }
	fi
	# Warnings from the kernel's files or ours are defects here.
	if grep -E 'warning:|error:' "$2/build.log" >/dev/null; then
		grep -E 'warning:|error:' "$2/build.log"
		die "the $1 build warned"
	fi
}

variants=uslab
[ "$shim" = 1 ] && variants="uslab shim"
for v in $variants; do
	unpack "$work/$v"
	build "$v" "$work/$v"
done

# Each suite checks itself and exits non-zero on a failure; ASan and
# uslab report to stderr, which is kept.
status=0
printf '%-12s %-6s %8s %10s  %s\n' suite slab seconds "peak KiB" result
for s in $suites; do
	for v in $variants; do
		dir=$work/$v/tools/testing/radix-tree
		log=$work/$v/$s.log
		stat=$work/$v/$s.stat
		rm -f "$stat"
		if (cd "$dir" && RUNSTAT_OUT=$stat "$runstat" "./$s") \
			> "$log" 2>&1; then
			result=pass
		else
			result="FAIL (see $log)"
			status=1
		fi
		# A uslab report anywhere fails the run, whatever the status.
		if grep -E '^(BUG |uslab: )' "$log" >/dev/null; then
			result="FAIL: uslab reported (see $log)"
			status=1
		fi
		set -- $(cat "$stat" 2>/dev/null || echo "? ?")
		printf '%-12s %-6s %8s %10s  %s\n' "$s" "$v" "$1" "$2" "$result"
		tail -1 "$log" | sed 's/^/    /'
	done
done
exit "$status"
