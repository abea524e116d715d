#!/bin/sh
# run-pair.sh [SIZE] [RUNS] - an allocate+free pair, uslab against peers.
#
# Runs bench/pair for kmem_cache_alloc/free on uslab and malloc/free on
# glibc and (via LD_PRELOAD, where installed) mimalloc, jemalloc and
# tcmalloc, interleaved run by run (A B C D E A B C D E ...), and prints
# the median, min and max nanoseconds per pair and each median's ratio
# to the best peer's.  Then, with valgrind, instructions per pair: the
# difference between two callgrind runs of different lengths, so start-up
# cancels out.  Valgrind does not support rseq, so under it uslab finds
# its CPU with sched_getcpu(): its instruction count includes that call.
set -eu
size=${1:-64}
runs=${2:-7}
iters=20000000
here=$(cd "$(dirname "$0")" && pwd)
pair=${PAIR:-$here/pair}
[ -x "$pair" ] || { echo "build bench/pair first (make bench)"; exit 1; }

lib() { for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
	[ -e "$d/$1" ] && { echo "$d/$1"; return; }; done; }
names="uslab-kmem glibc"
mimalloc=$(lib libmimalloc.so.2); [ -n "$mimalloc" ] && names="$names mimalloc"
jemalloc=$(lib libjemalloc.so.2); [ -n "$jemalloc" ] && names="$names jemalloc"
tcmalloc=$(lib libtcmalloc_minimal.so.4); [ -n "$tcmalloc" ] && names="$names tcmalloc"

preload() {
	case $1 in
	mimalloc) echo "$mimalloc" ;;
	jemalloc) echo "$jemalloc" ;;
	tcmalloc) echo "$tcmalloc" ;;
	esac
}

# run NAME ITERATIONS [WRAPPER...]: one run of NAME's allocator.
run() {
	n=$1 it=$2
	shift 2
	mode=malloc
	[ "$n" = uslab-kmem ] && mode=kmem
	env LD_PRELOAD="$(preload "$n")" "$@" "$pair" "$mode" "$size" "$it"
}

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$runs"); do
	for n in $names; do
		run "$n" "$iters" >> "$tmp/$n"
	done
done

echo "$size-byte allocate+free pair, $runs interleaved runs of $iters pairs"
echo "$(uname -m), $(nproc) CPUs, $(${CC:-cc} --version | head -1)"
best=
for n in $names; do
	[ "$n" = uslab-kmem ] && continue
	m=$(sort -n "$tmp/$n" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	if [ -z "$best" ] || awk "BEGIN{exit !($m < $best)}"; then best=$m; fi
done
printf '%-12s %10s %10s %10s %8s\n' allocator "median ns" min max "/ best"
for n in $names; do
	sort -n "$tmp/$n" | awk -v n="$n" -v best="$best" '
		{ a[NR] = $1 }
		END { printf "%-12s %10.2f %10.2f %10.2f %8.2f\n", n,
			a[int((NR + 1) / 2)], a[1], a[NR], a[int((NR + 1) / 2)] / best }'
done

command -v valgrind >/dev/null 2>&1 || { echo "(no valgrind: no instruction counts)"; exit 0; }
echo
echo "instructions per pair (callgrind, 200000 - 100000 pairs)"
for n in $names; do
	ir() {
		run "$n" "$1" valgrind --tool=callgrind \
			--callgrind-out-file="$tmp/cg" >/dev/null 2>"$tmp/err"
		sed -n 's/^summary: //p' "$tmp/cg"
	}
	a=$(ir 100000); b=$(ir 200000)
	printf '%-12s %10.1f\n' "$n" "$(awk "BEGIN{print ($b - $a) / 100000}")"
done
