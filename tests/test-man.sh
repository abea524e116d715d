#!/bin/sh
# test-man.sh - every manual page formats without a warning, and every
# exported function and public macro of the kernel's API has a page.
#
# Runs groff with all warnings on each page under man/ and fails on any
# output.  A function has a page if one is named after it, or if
# MAN_LINKS (from Makefile.am) points its name at one.  Skipped (77) where groff is not installed; the README's
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

# The names: the public version nodes, and the function-like macros of
# the kernel's API in the headers.
names=$(awk '/^USLAB_PRIVATE/ { p = 1 } /^USLAB_[0-9]/ { p = 0 } !p' \
		"$top_srcdir/lib/uslab.sym.in" |
	sed -n 's/^[[:space:]]*\([a-z_][a-z0-9_]*\);.*$/\1/p' | grep -v '^uslab_anchor$'
	grep -ho '^#define \(KMEM_CACHE[A-Z_]*\|k[a-z_]*\)(' \
		"$top_srcdir/include/uslab.h" "$top_srcdir/include/uslab-rcu.h" |
	sed 's/^#define //; s/($//')
m=0
for f in $names; do
	m=$((m + 1))
	[ -f "$top_srcdir/man/$f.3" ] && continue
	case " ${MAN_LINKS:-} " in *":$f "*) continue ;; esac
	echo "FAIL $f: no manual page and no MAN_LINKS entry"; failed=1
done
echo "$m functions and macros have pages"
exit "$failed"
