#!/bin/sh
# allocinfo-cost.sh - what allocation profiling costs a kmem_cache pair.
#
#   bench/allocinfo-cost.sh [-r RUNS] [-n PAIRS] [-s SIZE]
#
# Runs uslab-bench's kmem_cache alloc+free pair three ways, interleaved
# RUNS times (at least 5): with kmem_cache_alloc_noprof() (no call-site
# tag), with kmem_cache_alloc() (the tagging macro) and counting off,
# and with the macro and USLAB_ALLOCINFO=1.  Then the malloc pair under
# libuslab-malloc ($USLAB_MALLOC) the same way, off and with
# USLAB_ALLOCINFO=1, where every call is counted to its return address.
# Prints the median ns per pair of each and its ratio to the first of
# its kind.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${BENCH:=$here/uslab-bench}"
: "${USLAB_MALLOC:=$here/../lib/.libs/libuslab-malloc.so}"
runs=5 pairs=20000000 size=64
while [ $# -gt 0 ]; do
	case $1 in
	-r) runs=$2; shift ;;
	-n) pairs=$2; shift ;;
	-s) size=$2; shift ;;
	*) echo "usage: $0 [-r RUNS] [-n PAIRS] [-s SIZE]"; exit 2 ;;
	esac
	shift
done
[ "$runs" -ge 5 ] || runs=5
[ -x "$BENCH" ] || { echo "missing $BENCH: run make bench/uslab-bench"; exit 1; }
[ -f "$USLAB_MALLOC" ] || { echo "missing $USLAB_MALLOC: run make"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ways="untagged tagged-off tagged-on malloc-off malloc-on"
i=0
while [ $i -lt "$runs" ]; do
	for w in $ways; do
		case $w in
		untagged) out=$(env -u USLAB_ALLOCINFO "$BENCH" pair noprof "$size" "$pairs") ;;
		tagged-off) out=$(env -u USLAB_ALLOCINFO "$BENCH" pair kmem "$size" "$pairs") ;;
		tagged-on) out=$(USLAB_ALLOCINFO=1 "$BENCH" pair kmem "$size" "$pairs") ;;
		malloc-off) out=$(env -u USLAB_ALLOCINFO LD_PRELOAD="$USLAB_MALLOC" \
			"$BENCH" pair malloc "$size" "$pairs") ;;
		malloc-on) out=$(USLAB_ALLOCINFO=1 LD_PRELOAD="$USLAB_MALLOC" \
			"$BENCH" pair malloc "$size" "$pairs") ;;
		esac
		echo "$out" | sed -n 's/.*ns_per_pair=\([0-9.]*\).*/\1/p' >> "$tmp/$w"
	done
	i=$((i + 1))
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-11s %10s %8s   (%s-byte pairs, %s pairs, median of %s)\n' \
	call ns/pair ratio "$size" "$pairs" "$runs"
for w in $ways; do
	case $w in
	untagged|malloc-off) base=$(median "$tmp/$w") ;;
	esac
	m=$(median "$tmp/$w")
	printf '%-11s %10.2f %8.2f\n' "$w" "$m" "$(echo "$m $base" | awk '{ print $1 / $2 }')"
done
