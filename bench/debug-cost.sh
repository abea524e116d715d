#!/bin/sh
# debug-cost.sh - what each USLAB_DEBUG letter costs a kmem_cache pair.
#
#   bench/debug-cost.sh [-r RUNS] [-n PAIRS] [-s SIZE] [--svg FILE]
#
# Runs uslab-bench's kmem_cache alloc+free pair with no debugging, with
# each letter alone (F Z P U T) and with FZPU, interleaved RUNS times (at
# least 5), and prints the median ns per pair and its ratio to the run
# without debugging.  SLAB_TRACE writes a line per operation; its output
# goes to /dev/null, so T's figure is mostly the cost of write(2).
# --svg FILE also draws the ratios as a chart (gnuplot; bench/chart.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${BENCH:=$here/uslab-bench}"
runs=5 pairs=200000 size=64 svg=""
while [ $# -gt 0 ]; do
	case $1 in
	-r) runs=$2; shift ;;
	-n) pairs=$2; shift ;;
	-s) size=$2; shift ;;
	--svg) svg=$2; shift ;;
	*) echo "usage: $0 [-r RUNS] [-n PAIRS] [-s SIZE] [--svg FILE]"; exit 2 ;;
	esac
	shift
done
[ "$runs" -ge 5 ] || runs=5
[ -x "$BENCH" ] || { echo "missing $BENCH: run make bench/uslab-bench"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
letters="none F Z P U T FZPU"
i=0
while [ $i -lt "$runs" ]; do
	for l in $letters; do
		if [ "$l" = none ]; then
			out=$(env -u USLAB_DEBUG "$BENCH" pair kmem "$size" "$pairs")
		else
			out=$(USLAB_DEBUG=$l "$BENCH" pair kmem "$size" "$pairs" \
			      2>/dev/null)
		fi
		echo "$out" | sed -n 's/.*ns_per_pair=\([0-9.]*\).*/\1/p' \
			>> "$tmp/$l"
	done
	i=$((i + 1))
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
base=$(median "$tmp/none")
printf '%-6s %12s %8s   (%s-byte objects, %s pairs, median of %s)\n' \
	letters ns/pair ratio "$size" "$pairs" "$runs"
for l in $letters; do
	m=$(median "$tmp/$l")
	r=$(echo "$m $base" | awk '{ print $1 / $2 }')
	printf '%-6s %12.1f %8.1f\n' "$l" "$m" "$r"
	echo "$l kmem_cache-pair $r" >> "$tmp/ratios"
done
if [ -n "$svg" ]; then
	"$here/chart.sh" "$tmp/ratios" "$svg" \
		"Cost of each USLAB_DEBUG letter: $size-byte kmem_cache pairs, median of $runs" \
		"ns per pair / ns without debugging"
fi
