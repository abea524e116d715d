#!/bin/sh
# test-uslabtop.sh - uslabtop against a live process.
#
# Starts tests/live-helper (1000 objects in "live-conn", an empty
# "live-idle", 10 in the debug cache "live-debug"), reads it with
# uslabtop -o -p, and checks the summary, the columns and the figures,
# the allocation sites of a second helper that counts them (-a), the
# sort keys, the errors for a process that is gone or does not use
# uslab, and that a refreshing uslabtop notices its target exit.
set -u
: "${top_builddir:=.}"
lt="$top_builddir/libtool --mode=execute"
top="$top_builddir/bin/uslabtop"
helper="$top_builddir/tests/live-helper"
work=$(mktemp -d "${TMPDIR:-/tmp}/uslab-top.XXXXXX")
fifo="$work/in"
failed=0
pid= pid2=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	[ -n "$pid2" ] && kill "$pid2" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; failed=1; }

mkfifo "$fifo"
$lt "$helper" 1000 < "$fifo" > "$work/helper.out" &
pid=$!
exec 3> "$fifo"			# the helper lives until fd 3 closes
for i in $(seq 100); do
	grep -q ready "$work/helper.out" 2>/dev/null && break
	sleep 0.1
done
grep -q ready "$work/helper.out" || { echo "helper did not start"; exit 99; }
real=$pid			# libtool's wrapper execs the program

$lt "$top" -o -p "$real" > "$work/once" 2> "$work/once.err" ||
	fail "uslabtop -o -p exited $?: $(cat "$work/once.err")"
cat "$work/once"
grep -q '^ Active / Total Objects (% used)    : [0-9]* / [0-9]* ' "$work/once" ||
	fail "no objects summary"
grep -q '^ Active / Total Slabs (% used)' "$work/once" || fail "no slabs summary"
grep -q '^ Active / Total Caches (% used)' "$work/once" || fail "no caches summary"
grep -q '^ Active / Total Size (% used)' "$work/once" || fail "no size summary"
grep -q '^ Minimum / Average / Maximum Object' "$work/once" || fail "no object summary"
grep -q '^ Mapped / Returned / Reused (faults avoided) : [0-9.]*M / ' "$work/once" ||
	fail "no memory summary"
grep -q '^ Held free: slots / large blocks / depots    : ' "$work/once" ||
	fail "no held-memory summary"
grep -q '^  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME$' "$work/once" ||
	fail "no column header"
# live-conn: 1000 active of 200 bytes (stride 200), 20 per 4 KiB slab.
line=$(grep ' live-conn$' "$work/once")
set -- $line
[ "$#" -eq 8 ] || fail "live-conn row: $line"
[ "${2:-}" = 1000 ] || fail "live-conn ACTIVE ${2:-} != 1000"
[ "${1:-0}" -ge 1000 ] || fail "live-conn OBJS ${1:-} < 1000"
[ "${4:-}" = 0.20K ] || fail "live-conn OBJ SIZE ${4:-} != 0.20K"
objs=${1:-0} slabs=${5:-0} per=${6:-0}
[ "$objs" -eq $((slabs * per)) ] || fail "live-conn OBJS != SLABS * OBJ/SLAB"
line=$(grep ' live-debug$' "$work/once")
set -- $line
[ "${2:-}" = 10 ] || fail "live-debug ACTIVE ${2:-} != 10"
line=$(grep ' live-idle$' "$work/once")
set -- $line
[ "${2:-}" = 0 ] || fail "live-idle ACTIVE ${2:-} != 0"
grep -q ' kmalloc-64$' "$work/once" || fail "no kmalloc-64 row"

# Sort keys: by name, names ascend; by active objects, live-conn leads.
# (The rows follow the column header.)
$lt "$top" -o -s n -p "$real" | awk 'rows { print $NF } /^  OBJS / { rows = 1 }' \
	> "$work/names"
LC_ALL=C sort -c "$work/names" 2>/dev/null || fail "-s n does not sort by name"
first=$($lt "$top" -o -s a -p "$real" |
	awk 'rows { print $NF; exit } /^  OBJS / { rows = 1 }')
[ "$first" = live-conn ] || fail "-s a puts $first first"
$lt "$top" -o -s q -p "$real" > /dev/null 2>&1 && fail "-s q accepted"

# The allocation sites (-a): none while the target does not count; a
# second helper that counts (USLAB_ALLOCINFO=1) shows live-conn's 1000
# objects of 200 bytes at their kmem_cache_alloc() call.
$lt "$top" -a -o -p "$real" > "$work/sites0" 2>&1 ||
	fail "uslabtop -a exited $?: $(cat "$work/sites0")"
grep -q "counts no allocation sites" "$work/sites0" ||
	fail "-a on a process not counting: $(cat "$work/sites0")"

# counting_sites NAME [VAR=VALUE...] COMMAND...: a second helper that
# counts, with the environment given, read once with uslabtop -a into
# $work/NAME, and twice more logged (-l) to $work/NAME.log; the helper
# ends after.
counting_sites() {
	name=$1; shift
	mkfifo "$work/$name.in"
	env USLAB_ALLOCINFO=1 "$@" < "$work/$name.in" > "$work/$name.out" &
	pid2=$!
	exec 4> "$work/$name.in"
	for i in $(seq 100); do
		grep -q ready "$work/$name.out" 2>/dev/null && break
		sleep 0.1
	done
	$lt "$top" -a -o -p "$pid2" > "$work/$name" 2>&1 ||
		fail "uslabtop -a exited $?: $(cat "$work/$name")"
	cat "$work/$name"
	for i in 1 2; do
		$lt "$top" -a -o -l "$work/$name.log" -p "$pid2" > /dev/null 2>&1 ||
			fail "uslabtop -a -l exited $?"
	done
	exec 4>&-
	wait "$pid2"
	pid2=
}
counting_sites sites $lt "$helper" 1000
grep -q '^      <size>  <calls> <tag info>$' "$work/sites" || fail "no -a header"
# The helper's lines of its calls, read from its source.
conn_line=$(grep -n 'kmem_cache_alloc(conn' "$top_srcdir/tests/live-helper.c" | cut -d: -f1)
malloc_line=$(grep -n '= malloc(100)' "$top_srcdir/tests/live-helper.c" | cut -d: -f1)
grep -Eq "^ +200000 +1000 (.*/)?live-helper\\.c:$conn_line func:main\$" "$work/sites" ||
	fail "no line of live-conn's 1000 objects at live-helper.c:$conn_line"

# The log (-l): a header, then per refresh a line per site; the chart of
# it names the sites.
head -n 1 "$work/sites.log" | grep -q '^# uslabtop -a log: ' || fail "no log header"
[ "$(grep -Ec "^[0-9]+\.[0-9]{3}	200000	1000	(.*/)?live-helper\\.c:$conn_line func:main\$" \
	"$work/sites.log")" -eq 2 ] || fail "not two log lines of live-conn's site"
if command -v gnuplot > /dev/null 2>&1 || [ -n "${CI:-}" ]; then
	"$top_srcdir/bin/uslab-allocplot" -n 2 -o "$work/sites.svg" "$work/sites.log" ||
		fail "uslab-allocplot exited $?"
	grep -q "live-helper\.c:$conn_line func:main" "$work/sites.svg" 2>/dev/null ||
		fail "the chart does not name live-conn's site"
	"$top_srcdir/bin/uslab-allocplot" -n x "$work/sites.log" 2> /dev/null &&
		fail "uslab-allocplot -n x accepted"
else
	echo "gnuplot not found: uslab-allocplot not run"
fi
$lt "$top" -l "$work/x.log" -o -p "$real" > /dev/null 2>&1 && fail "-l without -a accepted"

# Under libuslab-malloc, malloc()'s callers are sites by return address:
# the helper's 100 blocks of 100 bytes, named by file and line from the
# debug information where uslabtop reads it (libdw), else by object and
# offset.  Not in the sanitizer builds: their runtimes own malloc(), and
# a preloaded one cannot replace it there.
if [ -n "${USLAB_TEST_SANITIZED:-}" ]; then
	echo "sanitizer build: malloc() sites under libuslab-malloc not read"
else
	counting_sites msites \
		LD_PRELOAD="$top_builddir/lib/.libs/libuslab-malloc.so" \
		$lt "$helper" 10 malloc
	if [ "${HAVE_LIBDW:-no}" = yes ]; then
		grep -Eq "^ +[0-9]+ +100 (.*/)?live-helper\\.c:$malloc_line func:main\$" \
			"$work/msites" ||
			fail "no line of the 100 malloc() blocks at live-helper.c:$malloc_line"
	else
		grep -Eq '^ +[0-9]+ +100 (lt-)?live-helper\+0x[0-9a-f]+:0 func:' \
			"$work/msites" ||
			fail "no line of the 100 malloc() blocks at live-helper+OFFSET"
	fi
fi

# Errors: a process without uslab, a process that does not exist.
sleep 30 3>&- & other=$!
if $lt "$top" -o -p "$other" > /dev/null 2> "$work/err"; then
	fail "a process without uslab accepted"
fi
grep -q "does not use libuslab" "$work/err" || fail "no 'does not use libuslab': $(cat "$work/err")"
kill "$other"
if $lt "$top" -o -p 999999999 > /dev/null 2> "$work/err"; then
	fail "a missing process accepted"
fi
grep -q "no such process" "$work/err" || fail "no 'no such process': $(cat "$work/err")"

# Refreshing, it notices the target exit and ends cleanly.
# Its target goes once it has drawn two screens (not after a fixed
# time: on a loaded machine uslabtop may not have started by then).
$lt "$top" -d 0.2 -p "$real" > "$work/live" 2>&1 3>&- &
toppid=$!
for i in $(seq 300); do
	[ "$(grep -c 'live-conn' "$work/live")" -ge 2 ] && break
	kill -0 "$toppid" 2>/dev/null || break
	sleep 0.1
done
exec 3>&-
wait "$pid"
pid=
for i in $(seq 50); do
	kill -0 "$toppid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$toppid" 2>/dev/null; then
	kill "$toppid"; fail "uslabtop kept running after its target exited"
fi
wait "$toppid" || fail "uslabtop exited $? after its target exited"
grep -q "has exited" "$work/live" ||
	fail "no 'has exited' message: $(tail -n 3 "$work/live")"
[ "$(grep -c 'live-conn' "$work/live")" -ge 2 ] || fail "did not refresh"
exit "$failed"
