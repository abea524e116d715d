#!/bin/sh
# test-preload.sh - real programs on libuslab-malloc, by LD_PRELOAD.
#
# Each case runs a program twice, on glibc's malloc and then with
# LD_PRELOAD=libuslab-malloc.so, and requires the same output and exit
# status, and that uslab served the program's allocations (the
# USLAB_STATS report of each of its processes counts them).  A table of
# the wall time and peak resident memory of both runs ends the log.
# A program that is not installed is skipped with a note; .ci/run
# installs them all.  Not run in sanitizer builds: a sanitizer's runtime
# must own malloc.
#
# PRELOAD_BASELINE=DIR keeps the glibc runs' results in DIR, keyed by
# each case's script and the program versions, and reuses them: a CI run
# that runs the suite several times runs each program on glibc once.
set -u
: "${top_builddir:=.}"
lib=$(cd "$top_builddir/lib/.libs" 2>/dev/null && pwd)/libuslab-malloc.so
runstat=$(cd "$top_builddir/tests" && pwd)/runstat
if [ -n "${USLAB_TEST_SANITIZED:-}" ]; then
	echo "skipped: sanitizer build"; exit 77
fi
[ -e "$lib" ] || { echo "no $lib"; exit 99; }
[ -x "$runstat" ] || { echo "no $runstat"; exit 99; }

work=$(mktemp -d "${TMPDIR:-/tmp}/uslab-preload.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
ran=0 failed=0 reused=0
printf '%-14s %9s %9s %11s %11s\n' case "glibc s" "uslab s" "glibc KiB" "uslab KiB" > "$work/table"

have() { command -v "$1" >/dev/null 2>&1; }
# What a cached glibc result depends on besides its script.
versions=$(for p in python3 git awk sort perl gcc sqlite3; do
	have "$p" && ls -lL "$(command -v "$p")"; done 2>/dev/null)

# run_mode NAME SCRIPT MODE: one run of SCRIPT, on glibc's malloc or on
# uslab, into $work/NAME.MODE.{out,err,stat,status}.
run_mode() {
	name=$1 script=$2 mode=$3
	dir="$work/$name.$mode"
	rm -rf "$dir" "$work/$name".stats.* && mkdir -p "$dir"
	if [ "$mode" = uslab ]; then
		(cd "$dir" && env LD_PRELOAD="$lib" \
			USLAB_STATS="file:$work/$name.stats.%p" \
			RUNSTAT_OUT="$work/$name.$mode.stat" \
			"$runstat" sh -c "$script" > "$work/$name.$mode.out" \
			2> "$work/$name.$mode.err")
	else
		(cd "$dir" && env RUNSTAT_OUT="$work/$name.$mode.stat" \
			"$runstat" sh -c "$script" > "$work/$name.$mode.out" \
			2> "$work/$name.$mode.err")
	fi
	echo $? > "$work/$name.$mode.status"
}

# same NAME: did both runs end alike and print the same?
same() {
	cmp -s "$work/$1.glibc.status" "$work/$1.uslab.status" &&
		cmp -s "$work/$1.glibc.out" "$work/$1.uslab.out"
}

# differs NAME: what each run printed, for a report.
differs() {
	echo "--- glibc (status $(cat "$work/$1.glibc.status")), uslab (status $(cat "$work/$1.uslab.status")):"
	diff "$work/$1.glibc.out" "$work/$1.uslab.out" | head -20
	tail -n 5 "$work/$1.glibc.err" "$work/$1.uslab.err"
}

# run_case NAME SCRIPT: SCRIPT is sh code run in a fresh directory,
# whose standard output is compared.  Where the two runs differ, both
# run again, fresh: a glibc result kept from an earlier run in some way
# unlike this one, or a test of the program's own that depends on
# timing, must not fail the case by itself.  The first difference is
# printed all the same, and the case fails if the second runs differ
# too.
run_case() {
	name=$1 script=$2
	key=
	if [ -n "${PRELOAD_BASELINE:-}" ]; then
		key="$PRELOAD_BASELINE/$name.$(printf '%s\n%s\n' "$script" \
			"$versions" | cksum | cut -d' ' -f1)"
	fi
	if [ -n "$key" ] && [ -e "$key.status" ]; then
		for f in out err stat status; do
			cp "$key.$f" "$work/$name.glibc.$f"
		done
		reused=$((reused + 1)) cached=1
	else
		run_mode "$name" "$script" glibc
		cached=
	fi
	run_mode "$name" "$script" uslab
	rerun=
	if ! same "$name"; then
		rerun=$(differs "$name")
		[ -z "$cached" ] || reused=$((reused - 1))
		run_mode "$name" "$script" glibc
		run_mode "$name" "$script" uslab
	fi
	if [ -n "$key" ]; then
		# status last: it marks the entry complete.
		mkdir -p "$PRELOAD_BASELINE" &&
		for f in out err stat status; do
			cp "$work/$name.glibc.$f" "$key.$f.tmp" &&
				mv "$key.$f.tmp" "$key.$f"
		done
	fi
	ran=$((ran + 1))
	allocs=$(cat "$work/$name".stats.* 2>/dev/null |
		sed -n 's/^k*malloc-[0-9]* allocs=\([0-9]*\) .*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')
	if ! same "$name"; then
		echo "FAIL $name: output or status differs, twice"
		echo "$rerun"
		differs "$name"
		failed=$((failed + 1))
	elif [ "$(cat "$work/$name.uslab.status")" != 0 ]; then
		echo "FAIL $name: exit status $(cat "$work/$name.uslab.status")"
		tail -n 5 "$work/$name.uslab.err"
		failed=$((failed + 1))
	elif [ "$allocs" -lt 1000 ]; then
		echo "FAIL $name: uslab served only $allocs allocations"
		failed=$((failed + 1))
	else
		echo "ok   $name: same output; uslab served $allocs allocations"
		[ -z "$rerun" ] ||
			printf '     (the first runs differed, the second agreed)\n%s\n' \
				"$rerun"
	fi
	read -r gt gm _ < "$work/$name.glibc.stat"
	read -r ut um _ < "$work/$name.uslab.stat"
	printf '%-14s %9s %9s %11s %11s\n' "$name" "$gt" "$ut" "$gm" "$um" \
		>> "$work/table"
}

skip() { echo "skip $1: $2 is not installed"; }

if have python3; then
	run_case python-alloc 'python3 -c "
import json, random
random.seed(7)
d = {}
for i in range(300000):
    d[str(i)] = [random.random() for _ in range(i % 17)]
    if i % 3 == 0:
        del d[str(i // 2)]
s = json.dumps(d, sort_keys=True)
print(len(d), len(s), sum(len(v) for v in d.values()))
"'
	if python3 -c 'import test.test_dict' 2>/dev/null; then
		# Each failing test case by name, not only the verdict: a
		# test that fails under both allocators must not hide one
		# that fails under uslab alone.  Not the interrupt_main()
		# tests: they fail wherever SIGINT is ignored, as it is in a
		# suite run in the background of a non-interactive shell
		# (.ci/run's variant builds), whatever the malloc, and a glibc
		# result kept from a run in the foreground would differ.
		run_case python-tests 'python3 -m test -v -i "test_interrupt_main_*" test_dict test_json test_threading 2>&1 |
			grep -E "^(FAIL|ERROR): |^(== )?Tests result|^All [0-9]+ tests OK" |
			sort'
	else
		skip python-tests "python3's test suite (libpython3.11-testsuite)"
	fi
else
	skip python python3
fi

if have git; then
	run_case git '
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t \
	GIT_COMMITTER_EMAIL=t@t GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" \
	GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" HOME=$PWD
git init -q -b main repo && cd repo
i=0
while [ $i -lt 150 ]; do
	i=$((i + 1))
	seq $i $((i * 40)) > "file$((i % 12)).txt"
	git add -A && git commit -qm "commit $i"
done
git gc -q --aggressive
git fsck --full --strict 2>&1
git log --format=%H | head -3
git count-objects -v | grep -v size'
else
	skip git git
fi

if have awk && have sort; then
	run_case sort-awk '
awk "BEGIN { srand(3); for (i = 0; i < 400000; i++)
	printf \"%d key%d %s\\n\", int(rand() * 1000000), i % 5000, substr(\"abcdefghijklmnop\", 1 + i % 16) }" > data
sort -n data | md5sum
sort -k2,2 -k1,1n data | awk "{ n[\$2]++; s[\$2] += \$1 } END { for (k in n) print k, n[k], s[k] }" | sort | md5sum
wc -c < data'
fi

if have perl; then
	run_case perl-hashes 'perl -e "
my %h; my \$x = 0;
for my \$i (1 .. 400000) { \$h{\"k\$i\"} = [\$i, \"v\" x (\$i % 50)]; }
for my \$i (1 .. 400000) { delete \$h{\"k\$i\"} if \$i % 3 == 0; }
\$x += \$h{\$_}[0] for keys %h;
print scalar(keys %h), \" \$x\\n\";
"'
fi

if have gcc; then
	run_case gcc '
{
	echo "#include <stdio.h>"
	i=0
	while [ $i -lt 400 ]; do
		echo "static int f$i(int x) { int a[16]; for (int j = 0; j < 16; j++) a[j] = x * j + $i; return a[x & 15]; }"
		i=$((i + 1))
	done
	echo "int main(void) { int s = 0;"
	i=0
	while [ $i -lt 400 ]; do echo "s += f$i(s);"; i=$((i + 1)); done
	echo "printf(\"%d\\n\", s); return 0; }"
} > prog.c
gcc -O2 -o prog prog.c && ./prog
gcc -O2 -S -o - prog.c | md5sum'
fi

if have sqlite3; then
	run_case sqlite3 'sqlite3 db.sqlite "
create table t(id integer primary key, grp integer, name text);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 1000000)
insert into t select x, x % 1000, printf(\"name-%08d\", (x * 7919) % 1000003) from c;
create index t_grp on t(grp);
select count(*), sum(id), count(distinct name) from t;
select grp, count(*), min(name), max(name) from t where grp between 10 and 12 group by grp;
"'
fi

echo
cat "$work/table"
[ "$reused" -eq 0 ] ||
	echo "glibc's columns of $reused cases: an earlier run's, from $PRELOAD_BASELINE"
echo "$ran cases, $failed failed"
[ "$ran" -gt 0 ] || exit 77
[ "$failed" -eq 0 ]
