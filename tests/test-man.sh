#!/bin/sh
# test-man.sh - every manual page formats without a warning.
#
# Runs groff with all warnings on each page under man/ and fails on any
# output.  Skipped (77) where groff is not installed; the README's
# first command installs it.
set -u
: "${top_srcdir:=.}"
command -v groff >/dev/null 2>&1 || { echo "skipped: no groff"; exit 77; }
failed=0 n=0
for page in "$top_srcdir"/man/*.[1-8]; do
	out=$(LC_ALL=C.UTF-8 groff -ww -z -man "$page" 2>&1)
	n=$((n + 1))
	if [ -n "$out" ]; then
		echo "FAIL $page:"; echo "$out"; failed=1
	fi
	# Every page names itself in its .TH line.
	base=$(basename "$page"); name=${base%.*}; sect=${base##*.}
	grep -q "^\.TH $(echo "$name" | tr 'a-z' 'A-Z') $sect " "$page" ||
		{ echo "FAIL $page: .TH does not name it"; failed=1; }
done
echo "$n pages checked"
exit "$failed"
