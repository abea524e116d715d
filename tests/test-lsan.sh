#!/bin/sh
# test-lsan.sh - LeakSanitizer sees through uslab's memory.
#
# A program built with -fsanitize=address and linked with libuslab, as a
# kernel developer's test suite is, keeps malloc() blocks that only
# uslab objects point to.  LSan must count uslab's mappings as roots
# (memtool.h) and report no leak; a block nothing points to must still
# be one.  Run by make check with CC, top_srcdir and top_builddir set;
# skipped where the compiler cannot build with AddressSanitizer, where
# LSan cannot run (it needs ptrace-like access to the process), and in
# the sanitizer builds, whose libuslab already carries a sanitizer.
set -eu
: "${CC:=cc}"
if [ "${USLAB_TEST_SANITIZED:-}" = 1 ]; then
	echo "skipped: libuslab is built with a sanitizer"
	exit 77
fi
tmp=${TMPDIR:-/tmp}/uslab-lsan.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT INT TERM
libdir=$(cd "$top_builddir/lib/.libs" && pwd)
if ! $CC -fsanitize=address -g -O1 -I"$top_srcdir/include" \
	"$top_srcdir/tests/lsan-roots.c" -o "$tmp/roots" \
	-L"$libdir" -Wl,-rpath,"$libdir" -luslab -lpthread 2> "$tmp/cc.log"; then
	cat "$tmp/cc.log"
	echo "skipped: $CC cannot build with -fsanitize=address"
	exit 77
fi
run() {
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=report_objects=1 \
		"$tmp/roots" "$@" 2> "$tmp/err" || { cat "$tmp/err"; return 1; }
}
if ! control=$(run control); then
	# LSan stops the world with ptrace-like calls, which a sandbox may
	# refuse; anything else is a failure.
	grep -q "LeakSanitizer has encountered a fatal error\|LeakSanitizer does not work" \
		"$tmp/err" || exit 1
	echo "skipped: LeakSanitizer cannot run here"
	exit 77
fi
if [ "$control" != 1 ]; then
	cat "$tmp/err"
	echo "skipped: LeakSanitizer found no leak where there is one"
	exit 77
fi
verdict=$(run) || exit 1
if [ "$verdict" != 0 ]; then
	cat "$tmp/err"
	echo "FAIL: LeakSanitizer reported blocks that uslab objects hold"
	exit 1
fi
echo "LeakSanitizer: the control leak found, blocks held by uslab objects not"
