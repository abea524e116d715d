#!/bin/sh
# programs.sh - real programs on uslab and its peers, by LD_PRELOAD.
#
#   bench/programs.sh [-r RUNS] [-p PROGRAM[,PROGRAM...]]
#
# Each program runs a fixed workload on glibc's malloc, on
# libuslab-malloc and on every peer installed (jemalloc, tcmalloc,
# mimalloc), interleaved RUNS times (at least 3).  For each: the median
# wall time, peak resident memory, minor faults and system time (tests/
# runstat), and the ratios of time and peak memory to glibc's.  Every
# allocator's output must be glibc's, or the program is reported.
#
#   sqlite3   an in-memory database: 400,000 rows, two indexes, queries,
#             a delete of a third, VACUUM
#   redis     redis-server under redis-benchmark (not preloaded): 200,000
#             SET, GET, LPUSH and LPOP of 100-byte values on 50,000 keys;
#             only meaningful for a redis-server built with MALLOC=libc
#             (Debian's has its own jemalloc: the runner says so)
#   git       git repack -adf and git log -p on a clone of this project
#   python    CPython building, serialising and parsing 200,000 dicts
#
# A program that is not installed is skipped with a note; as root the
# runner installs sqlite3 and redis from Debian's packages.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
: "${RUNSTAT:=$here/../tests/runstat}"
: "${USLAB_MALLOC:=$here/../lib/.libs/libuslab-malloc.so}"
runs=3 only=""
while [ $# -gt 0 ]; do
	case $1 in
	-r) runs=$2; shift ;;
	-p) only=$2; shift ;;
	*) echo "usage: $0 [-r RUNS] [-p PROGRAMS]"; exit 2 ;;
	esac
	shift
done
[ "$runs" -ge 3 ] || runs=3
for f in "$RUNSTAT" "$USLAB_MALLOC"; do
	[ -e "$f" ] || { echo "missing $f: run make bench-programs"; exit 1; }
done

libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
peer_lib() {
	case $1 in
	glibc) echo "" ;;
	uslab) echo "$USLAB_MALLOC" ;;
	jemalloc) echo "$libdir/libjemalloc.so.2" ;;
	tcmalloc) echo "$libdir/libtcmalloc_minimal.so.4" ;;
	mimalloc) echo "$libdir/libmimalloc.so.2" ;;
	esac
}
allocators="glibc uslab"
for p in jemalloc tcmalloc mimalloc; do
	[ -e "$(peer_lib $p)" ] && allocators="$allocators $p"
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	for pkg in sqlite3 redis-server redis-tools; do
		dpkg -s "$pkg" >/dev/null 2>&1 ||
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				"$pkg" >/dev/null 2>&1 || true
	done
fi
selected() { [ -z "$only" ] || case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
have() { command -v "$1" >/dev/null 2>&1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

cat > "$tmp/sqlite.sql" <<'SQL'
create table t(id integer primary key, grp integer, name text, pad blob);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 400000)
insert into t select x, x % 1000, printf('name-%08d', (x * 7919) % 1000003),
	zeroblob(100) from c;
create index t_grp on t(grp);
create index t_name on t(name);
select count(*), sum(id), count(distinct name) from t;
select grp, count(*), min(name), max(name) from t where grp between 10 and 20 group by grp;
delete from t where id % 3 = 0;
vacuum;
select count(*) from t;
SQL

cat > "$tmp/python.py" <<'PY'
import json
rows = [{"id": i, "name": "row-%d" % i, "tags": list(range(i % 40)),
         "score": i * 0.5} for i in range(200000)]
text = json.dumps(rows)
back = json.loads(text)
index = {r["name"]: r for r in back}
print(len(text), len(index), sum(len(r["tags"]) for r in back))
PY

# The workloads, as scripts runstat can run: each prints what must match
# across allocators.
cat > "$tmp/run-sqlite3.sh" <<EOF
exec sqlite3 :memory: < "$tmp/sqlite.sql"
EOF
cat > "$tmp/run-python.sh" <<EOF
exec python3 "$tmp/python.py"
EOF
cat > "$tmp/run-git.sh" <<EOF
set -e
rm -rf "$tmp/repo"
git clone -q --no-hardlinks "$top" "$tmp/repo" 2>/dev/null
git -C "$tmp/repo" repack -adfq
git -C "$tmp/repo" log -p --stat | wc -l
git -C "$tmp/repo" rev-list --count HEAD
EOF
# The server is the program measured; the client is not preloaded.
cat > "$tmp/run-redis.sh" <<EOF
sock="$tmp/redis.sock"
rm -f "\$sock"
redis-server --port 0 --unixsocket "\$sock" --save '' --appendonly no \\
	--daemonize no > "$tmp/redis.log" 2>&1 &
srv=\$!
for i in \$(seq 100); do [ -S "\$sock" ] && break; sleep 0.05; done
env -u LD_PRELOAD redis-benchmark -s "\$sock" -n 200000 -r 50000 -d 100 \\
	-t set,get,lpush,lpop -q > /dev/null
# The benchmark's keys are random: what must match is that it stored
# some, and that the server still answers.
[ "\$(env -u LD_PRELOAD redis-cli -s "\$sock" dbsize)" -gt 0 ] && echo stored
env -u LD_PRELOAD redis-cli -s "\$sock" set probe answer > /dev/null
env -u LD_PRELOAD redis-cli -s "\$sock" get probe
env -u LD_PRELOAD redis-cli -s "\$sock" shutdown nosave > /dev/null 2>&1
wait "\$srv"
exit 0
EOF

need() {
	case $1 in
	sqlite3) have sqlite3 ;;
	python) have python3 ;;
	git) have git && [ -d "$top/.git" ] ;;
	redis) have redis-server && have redis-benchmark && have redis-cli ;;
	esac
}

echo "$(uname -srm), $(nproc) CPUs; $runs interleaved runs; medians"
printf '%-9s %-9s %8s %10s %9s %7s %6s %6s\n' program allocator "wall s" \
	"peak KiB" faults "sys s" "t/glibc" "m/glibc"
for prog in sqlite3 redis git python; do
	selected "$prog" || continue
	if ! need "$prog"; then
		echo "$prog: not installed, skipped"
		continue
	fi
	# Debian's redis-server is linked with its own jemalloc, which a
	# preloaded malloc does not replace: say so beside its figures.
	if [ "$prog" = redis ]; then
		own=$(redis-server --version | sed -n 's/.*malloc=\([^ ]*\).*/\1/p')
		[ "$own" = libc ] || echo "note: redis-server is built with" \
			"malloc=$own, so LD_PRELOAD replaces only what libc" \
			"allocates for it; its figures are not the allocators'"
	fi
	for r in $(seq "$runs"); do
		for a in $allocators; do
			# runstat's peak is the largest process of the tree
			# (for redis, the server).
			env LD_PRELOAD="$(peer_lib "$a")" \
				RUNSTAT_OUT="$tmp/stat" "$RUNSTAT" \
				sh "$tmp/run-$prog.sh" > "$tmp/out.$prog.$a" \
				2>/dev/null || echo "$prog on $a failed"
			tail -1 "$tmp/stat" >> "$tmp/$prog.$a"
		done
	done
	for a in $allocators; do
		cmp -s "$tmp/out.$prog.glibc" "$tmp/out.$prog.$a" ||
			echo "$prog on $a: output differs from glibc's"
	done
	med() { cut -d' ' -f"$2" "$tmp/$prog.$1" | sort -g |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
	gt=$(med glibc 1) gm=$(med glibc 2)
	for a in $allocators; do
		t=$(med "$a" 1) m=$(med "$a" 2)
		printf '%-9s %-9s %8.2f %10d %9d %7.2f %6.2f %6.2f\n' "$prog" "$a" \
			"$t" "$m" "$(med "$a" 3)" "$(med "$a" 5)" \
			"$(awk "BEGIN { print $t / $gt }")" \
			"$(awk "BEGIN { print $m / $gm }")"
	done
done
