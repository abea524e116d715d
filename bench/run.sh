#!/bin/sh
# run.sh - uslab against glibc, jemalloc, tcmalloc and mimalloc.
#
#   bench/run.sh [-r RUNS] [-w WORKLOAD[,WORKLOAD...]] [--svg FILE]
#                [--callgrind]
#
# Every workload of uslab-bench runs against every available allocator,
# the peers by LD_PRELOAD and uslab both through libuslab-malloc ("uslab")
# and, where the workload has one, through its kmem_cache API
# ("uslab-kmem").  Runs are interleaved (A B C D E A B C D E ...), RUNS
# times (at least 5), so that a noisy machine hurts every allocator alike;
# each block shows the median, min-max, peak resident memory and the
# ratio of each median to the best peer's.  Missing peers are installed
# from Debian's packages when run as root, else skipped with a note.
#
# "uslab-norseq" is uslab with glibc's rseq registration turned off
# (GLIBC_TUNABLES=glibc.pthread.rseq=0), as where rseq is unavailable: the
# per-thread magazines of lib/tcache.c.  A scaling line compares two
# threads with one on the kmem_cache pair.
#
# Beside each median: peak resident memory, minor page faults and system
# time (runstat's medians), so that a policy that returns memory only to
# fault it in again shows.
#
# --svg FILE also draws each workload's ratios to the best peer, for
# every allocator, as an SVG chart (gnuplot; bench/chart.sh).
#
# --callgrind reports instructions per operation of the pair workloads
# instead: the difference of two runs of different lengths, so start-up
# cancels out; stable on a noisy machine.  Valgrind has no rseq, so uslab
# runs its locked path there.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${BENCH:=$here/uslab-bench}"
: "${FORK_BENCH:=$here/fork-bench}"
: "${RUNSTAT:=$here/../tests/runstat}"
: "${USLAB_MALLOC:=$here/../lib/.libs/libuslab-malloc.so}"
runs=5 only="" callgrind=0 svg=""
while [ $# -gt 0 ]; do
	case $1 in
	-r) runs=$2; shift ;;
	-w) only=$2; shift ;;
	--svg) svg=$2; shift ;;
	--callgrind) callgrind=1 ;;
	*) echo "usage: $0 [-r RUNS] [-w WORKLOADS] [--svg FILE] [--callgrind]"
	   exit 2 ;;
	esac
	shift
done
[ "$runs" -ge 5 ] || runs=5
for f in "$BENCH" "$FORK_BENCH" "$RUNSTAT" "$USLAB_MALLOC"; do
	[ -e "$f" ] || { echo "missing $f: run make bench"; exit 1; }
done

libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
find_lib() { for d in "$libdir" /usr/lib64 /usr/lib; do
	[ -e "$d/$1" ] && { echo "$d/$1"; return; }; done; }
peer_lib() {
	case $1 in
	jemalloc) find_lib libjemalloc.so.2 ;;
	tcmalloc) find_lib libtcmalloc_minimal.so.4 ;;
	mimalloc) find_lib libmimalloc.so.2 ;;
	esac
}
peer_pkg() {
	case $1 in
	jemalloc) echo libjemalloc2 ;;
	tcmalloc) echo libtcmalloc-minimal4 ;;
	mimalloc) echo libmimalloc2.0 ;;
	esac
}
allocators="uslab glibc"
for p in jemalloc tcmalloc mimalloc; do
	if [ -z "$(peer_lib $p)" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$(peer_pkg $p)" \
			>/dev/null 2>&1 || true
	fi
	if [ -n "$(peer_lib $p)" ]; then
		allocators="$allocators $p"
	else
		echo "note: $p is not installed ($(peer_pkg $p)); skipped"
	fi
done

# workload table: name | uslab-bench arguments (or @fork-bench and its
# own) | metric | has a kmem form
workloads='pair-16|pair MODE 16|ns_per_pair|yes
pair-64|pair MODE 64|ns_per_pair|yes
pair-256|pair MODE 256|ns_per_pair|yes
batch-lifo|batch MODE lifo|ns_per_op|yes
batch-fifo|batch MODE fifo|ns_per_op|yes
batch-random|batch MODE random|ns_per_op|yes
xthread|xthread MODE|ns_per_object|yes
larson-1|larson malloc 1|ns_per_op|no
larson-2|larson malloc 2|ns_per_op|no
larson-8|larson malloc 8|ns_per_op|no
local-1|local malloc 1 20000000|ns_per_op|no
local-2|local malloc 2 20000000|ns_per_op|no
mixed|mixed malloc|ns_per_op|no
heap|heap malloc 10000000|ns_per_op|no
large|large malloc 1000|us_per_op|no
rss-return|rss-return malloc|idle_pct_of_peak|no
grow|grow malloc|ns_per_object|no
churn|churn malloc|us_per_thread|no
phases|phases malloc|ns_per_block|no
fork|@fork-bench 2000|us_per_fork|no'

selected() { [ -z "$only" ] || case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
# Workloads 1-5 of the targets, for the summary line.


tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT INT TERM

# one ALLOCATOR ARGS...: run uslab-bench once; append "metric peak" lines.
one() {
	a=$1; shift
	case $a in
	uslab-kmem) pre= ;;
	uslab|uslab-norseq) pre=$USLAB_MALLOC ;;
	glibc) pre= ;;
	*) pre=$(peer_lib "$a") ;;
	esac
	norseq=; [ "$a" = uslab-norseq ] && norseq=1
	prog=$BENCH
	[ "$1" = @fork-bench ] && { prog=$FORK_BENCH; shift; }
	env LD_PRELOAD="$pre" ${norseq:+GLIBC_TUNABLES=glibc.pthread.rseq=0} \
		RUNSTAT_OUT="$tmp/stat" "$RUNSTAT" "$prog" "$@"
}

if [ "$callgrind" = 1 ]; then
	command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }
	# Valgrind runs no rseq; USLAB_COUNT_RSEQ=1 makes uslab run its
	# restartable sequences anyway in the (single) benchmark thread, so
	# that "rseq" columns count the fast paths as they run natively and
	# "locked" ones the paths taken where no rseq area exists (per-CPU
	# locks for a kmem_cache, the thread's own magazines for malloc,
	# reached out of line as under valgrind they always are; natively
	# they are inline: tcache.c).
	echo "instructions per pair (callgrind: 400000 - 200000 pairs, 32 live)"
	cols="kmem-rseq kmem-locked uslab-rseq uslab-norseq $allocators"
	cols=$(echo "$cols" | sed 's/ uslab / /')
	printf '%-6s' size
	for a in $cols; do printf ' %12s' "$a"; done
	echo
	for size in 16 64 256; do
		printf '%-6s' "$size"
		for a in $cols; do
			mode=malloc count=
			case $a in
			kmem-rseq) mode=kmem count=1 pre= ;;
			kmem-locked) mode=kmem pre= ;;
			uslab-rseq) count=1 pre=$USLAB_MALLOC ;;
			uslab-norseq) pre=$USLAB_MALLOC ;;
			glibc) pre= ;;
			*) pre=$(peer_lib "$a") ;;
			esac
			ir() {
				env LD_PRELOAD="$pre" ${count:+USLAB_COUNT_RSEQ=1} \
					valgrind --tool=callgrind \
					--soname-synonyms=somalloc=nouserintercepts \
					--callgrind-out-file="$tmp/cg" "$BENCH" pair \
					"$mode" "$size" "$1" >/dev/null 2>&1
				sed -n 's/^summary: //p' "$tmp/cg"
			}
			x=$(ir 200000); y=$(ir 400000)
			printf ' %12.1f' "$(awk "BEGIN { print ($y - $x) / 200000 }")"
		done
		echo
	done
	exit 0
fi

echo "$(uname -srm), $(nproc) CPUs, $(${CC:-cc} --version | head -1)"
echo "$runs interleaved runs of each workload; medians, min-max, and the"
echo "medians of peak KiB, minor faults and system seconds; each median"
echo "over the best peer's (lower is better)"
printf '%s\n' "$workloads" | while IFS='|' read -r name args metric kmem; do
	selected "$name" || continue
	list="uslab-norseq $allocators"
	[ "$kmem" = yes ] && list="uslab-kmem $list"
	for r in $(seq "$runs"); do
		for a in $list; do
			mode=malloc; [ "$a" = uslab-kmem ] && mode=kmem
			# shellcheck disable=SC2086
			out=$(one "$a" $(echo "$args" | sed "s/MODE/$mode/")) ||
				{ echo "$name/$a failed: $out"; continue; }
			v=$(printf '%s\n' "$out" | tr ' ' '\n' | sed -n "s/^$metric=//p")
			# seconds, peak KiB, minor faults, user, system
			set -- $(tail -1 "$tmp/stat")
			echo "$v $2 $3 $5" >> "$tmp/$name.$a"
		done
	done
	best=$(for a in $allocators; do
		[ "$a" = uslab ] && continue
		sort -n "$tmp/$name.$a" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
	done | sort -g | head -1)
	echo
	printf '%-13s %-12s %9s %19s %9s %8s %6s %6s\n' "$name" allocator median \
		min-max "peak KiB" faults "sys s" "/best"
	for a in $list; do
		col() { cut -d' ' -f"$1" "$tmp/$name.$a" | sort -g |
			awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
		peak=$(col 2) faults=$(col 3) sys=$(col 4)
		sort -g "$tmp/$name.$a" | awk -v a="$a" -v best="$best" -v peak="$peak" \
			-v faults="$faults" -v sys="$sys" '
			{ v[NR] = $1 }
			END {
				med = v[int((NR + 1) / 2)]
				printf "%-13s %-12s %9.2f %9.2f-%-9.2f %9d %8d %6.2f %6.2f\n", "", a,
					med, v[1], v[NR], peak, faults, sys,
					(best > 0 ? med / best : 0)
			}'
		sort -g "$tmp/$name.$a" | awk -v n="$name" -v a="$a" -v best="$best" '
			{ v[NR] = $1 }
			END { if (best > 0) print n, a, v[int((NR + 1) / 2)] / best }' \
			>> "$tmp/ratios"
	done
done

if selected scaling; then
	# Two threads against one on the kmem pair: throughput ratio.
	for r in $(seq "$runs"); do
		one uslab-kmem pair kmem 64 10000000 1 | tr ' ' '\n' |
			sed -n 's/^pairs_per_us=//p' >> "$tmp/scale1"
		one uslab-kmem pair kmem 64 10000000 2 | tr ' ' '\n' |
			sed -n 's/^pairs_per_us=//p' >> "$tmp/scale2"
	done
	m1=$(sort -g "$tmp/scale1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	m2=$(sort -g "$tmp/scale2" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	echo
	echo "scaling: 64-byte kmem_cache pairs per microsecond, 1 thread $m1, 2 threads $m2: $(awk "BEGIN { printf \"%.2f\", $m2 / $m1 }")x"
fi

echo
for a in uslab uslab-norseq; do
	awk -v a="$a" '$2 == a && $1 !~ /^(rss-return|churn)$/ { s += log($3); n++; if ($3 > w) { w = $3; wn = $1 } }
	     END { if (n) printf "%s (malloc) over the best peer, workloads 1-5: geometric mean %.2f, worst %.2f (%s)\n", a, exp(s / n), w, wn }' "$tmp/ratios"
done
awk '$2 == "uslab-norseq" && $3 > 0 { l[$1] = $3 } $2 == "glibc" { g[$1] = $3 }
     END { for (k in l) if (k in g) printf "uslab-norseq over glibc on %s: %.2f\n", k, l[k] / g[k] }' \
	"$tmp/ratios" | sort
awk '$2 == "uslab-kmem" { s += log($3); n++ }
     END { if (n) printf "uslab (kmem_cache) over the best peer'\''s malloc: geometric mean %.2f\n", exp(s / n) }' "$tmp/ratios"

if [ -n "$svg" ] && [ -s "$tmp/ratios" ]; then
	echo
	"$here/chart.sh" "$tmp/ratios" "$svg" \
		"uslab and its peers: each workload's median over the best peer's ($runs runs, $(nproc) CPUs)" \
		"median / best peer's median (lower is better)"
fi
