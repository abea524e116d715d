#!/bin/sh
# check-exports.sh HEADER SYMFILE LIBRARY
#
# The exported interface has three descriptions that must agree: the
# functions declared USLAB_EXPORT in the header, the version script, and
# the dynamic symbols the built library defines (data symbols, marked
# with a comment in the version script, are not compared, nor is the
# private node).  Prints the differences and fails if there are any.
set -eu
header=$1 symfile=$2 library=$3
tmp=${TMPDIR:-/tmp}/uslab-exports.$$
trap 'rm -f "$tmp".*' EXIT INT TERM

# Declarations: "USLAB_EXPORT <type> <name>(" possibly over two lines.
grep -v '^#' "$header" | tr '\n' ' ' | grep -o 'USLAB_EXPORT[^;(]*(' |
	sed 's/($//; s/.*[ *]//' | sort -u > "$tmp.header"
# The public nodes (USLAB_0.1, USLAB_0.2, ...); a private node
# (USLAB_PRIVATE_*) is the libraries' own business.
awk '/^USLAB_PRIVATE/ { private = 1 } /^USLAB_[0-9]/ { private = 0 }
     !private' "$symfile" |
	sed -n 's/^[[:space:]]*\([a-z_][a-z0-9_]*\);$/\1/p' | sort -u > "$tmp.sym"
nm -D --defined-only "$library" |
	awk '$2 == "T" && $3 !~ /@@?USLAB_PRIVATE/ { sub(/@.*/, "", $3); print $3 }' |
	sort -u > "$tmp.lib"

status=0
if ! diff -u "$tmp.header" "$tmp.sym" > "$tmp.d1"; then
	echo "header and version script differ:"; cat "$tmp.d1"; status=1
fi
if ! diff -u "$tmp.sym" "$tmp.lib" > "$tmp.d2"; then
	echo "version script and library differ:"; cat "$tmp.d2"; status=1
fi
[ "$status" -eq 0 ] && echo "$(wc -l < "$tmp.lib") exported functions agree"
exit "$status"
