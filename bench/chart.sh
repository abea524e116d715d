#!/bin/sh
# chart.sh RATIOS OUT.svg TITLE YLABEL - a clustered bar chart, with gnuplot.
#
# RATIOS has a line "GROUP SERIES VALUE" per bar (bench/run.sh's ratios
# to the best peer, debug-cost.sh's ratios to no debugging): one cluster
# per GROUP, in order of first appearance, one colour per SERIES, on a
# logarithmic axis with a dashed line at 1.  Without gnuplot, says how to
# get it and succeeds: the tables are the results, the chart a picture.
set -eu
data=$1 out=$2 title=$3 ylabel=$4
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "no chart: gnuplot is not installed (apt-get install gnuplot-nox)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# The matrix: a row per group, a column per series, "?" where missing.
awk '
	!($1 in gseen) { gseen[$1] = 1; groups[++ng] = $1 }
	!($2 in sseen) { sseen[$2] = 1; series[++ns] = $2 }
	{ v[$1, $2] = $3 }
	END {
		printf "group"
		for (j = 1; j <= ns; j++) printf " %s", series[j]
		printf "\n"
		for (i = 1; i <= ng; i++) {
			printf "%s", groups[i]
			for (j = 1; j <= ns; j++) {
				x = v[groups[i], series[j]]
				printf " %s", (x == "" || x <= 0) ? "?" : x
			}
			printf "\n"
		}
	}' "$data" > "$tmp/matrix"
ncols=$(head -1 "$tmp/matrix" | wc -w)
# The axis: powers of two around the values, 1/2 to 2 at least, and
# not below 1/8 (a bar under it, such as rss-return's, is cut there).
range=$(awk '{ v = $3 + 0; if (v > 0) { if (!n++ || v < lo) lo = v; if (v > hi) hi = v } }
	END {
		l = 0.5; while (l > lo && l > 0.125) l /= 2
		h = 2; while (h < hi && h < 1024) h *= 2
		print l ":" h
	}' "$data")
cat > "$tmp/plot" <<GP
set terminal svg size 1100,520 dynamic enhanced font 'sans,11' background '#ffffff'
set output '$out'
set title "$title"
set ylabel "$ylabel"
set datafile missing '?'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set yrange [$range]
set format y '%g'
set grid ytics lc rgb '#dddddd'
set xtics rotate by -30 nomirror
set key outside right top
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'
plot for [i=2:$ncols] '$tmp/matrix' using i:xtic(1) title columnheader(i)
GP
gnuplot "$tmp/plot"
echo "chart: $out"
