#!/bin/sh
# test-valgrind.sh - memcheck sees uslab's objects as heap blocks.
#
# Runs tests/vg-bugs, whose every mode commits one memory bug on a uslab
# object, under valgrind's memcheck (told to leave libuslab-malloc's
# malloc in place, so that it is uslab's that is tested), and requires
# memcheck's report of that bug: a read of a freed object (kmem_cache,
# and malloc through libuslab-malloc), a read past an object, a branch
# on uninitialised object memory, and a leak.  A leak is the program's
# one and only block, small, large or from malloc, with its pointer
# dropped: memcheck must call it definitely lost and find nothing still
# reachable, so no pointer to it may remain in uslab's own memory (a
# magazine round, a slab's first object, a large block's header).
# Skipped (77) only where valgrind is
# not installed or cannot read the build's debug information (valgrind
# 3.19 and clang 14's DWARF 5), or in a sanitizer build; .ci/run
# installs valgrind.
set -u
: "${top_builddir:=.}"
if [ -n "${USLAB_TEST_SANITIZED:-}" ]; then
	echo "skipped: sanitizer build"; exit 77
fi
command -v valgrind >/dev/null 2>&1 || { echo "skipped: no valgrind"; exit 77; }
# Under make check-valgrind this script itself is not run under valgrind,
# but its environment may preload valgrind's core: drop that.
unset LD_PRELOAD
bugs="$top_builddir/tests/vg-bugs"
[ -x "$bugs" ] || { echo "no $bugs"; exit 99; }
work=$(mktemp -d "${TMPDIR:-/tmp}/uslab-vg.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
failed=0

# expect MODE PATTERN...: every PATTERN (grep -E) is in memcheck's report.
expect() {
	mode=$1; shift
	"$top_builddir/libtool" --mode=execute valgrind --tool=memcheck \
		--leak-check=full --errors-for-leak-kinds=definite \
		--soname-synonyms=somalloc=nouserintercepts \
		--error-exitcode=42 "$bugs" "$mode" > "$work/$mode.log" 2>&1
	rc=$?
	# Valgrind 3.19 cannot read clang 14's DWARF 5 and gives up.
	if grep -q "debuginfo reader: ensure_valid failed" "$work/$mode.log"; then
		echo "skipped: this valgrind cannot read this compiler's debug info"
		exit 77
	fi
	if [ "$rc" -ne 42 ]; then
		echo "FAIL $mode: valgrind exited $rc, not 42 (errors found)"
		failed=1
	fi
	for pat in "$@"; do
		if ! grep -Eq -- "$pat" "$work/$mode.log"; then
			echo "FAIL $mode: no \"$pat\" in the report"
			failed=1
		fi
	done
	echo "--- $mode"
	grep -E '^==[0-9]+== +(Invalid|Conditional|Address|[0-9,]+ bytes in)' \
		"$work/$mode.log" | head -4
}

expect read-freed 'Invalid read of size 1' \
	'is 8 bytes inside a block of size 64 free.d' 'Block was alloc.d at' \
	'by 0x[0-9A-F]+: main \(vg-bugs.c'
expect malloc-read-freed 'Invalid read of size 1' \
	'is 100 bytes inside a block of size 224 free.d' 'Block was alloc.d at'
expect read-past 'Invalid read of size 1' \
	'is 0 bytes after a block of size 64 alloc.d'
expect uninit-branch 'Conditional jump or move depends on uninitialised value'
expect leak '128 bytes in 1 blocks are definitely lost' 'by 0x[0-9A-F]+: main' \
	'definitely lost: 128 bytes in 1 blocks' 'still reachable: 0 bytes'
expect leak-large '[0-9,]+ bytes in 1 blocks are definitely lost' \
	'by 0x[0-9A-F]+: main' 'definitely lost: 20[0-9],[0-9]+ bytes in 1 blocks' \
	'still reachable: 0 bytes'
expect leak-malloc '112 bytes in 1 blocks are definitely lost' \
	'by 0x[0-9A-F]+: main' 'definitely lost: 112 bytes in 1 blocks'
if [ "$failed" -ne 0 ]; then
	for f in "$work"/*.log; do echo "=== $f"; cat "$f"; done
fi
exit "$failed"
