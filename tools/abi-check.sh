#!/bin/sh
# abi-check.sh ABIDIR LIBDIR INCLUDEDIR LIB:VERSION...
#
# make abi-check: each shared library against its committed baseline
# (ABIDIR/LIB.abi, made by make abi-baseline), with libabigail.
#
#   - The libtool version each baseline was made for (ABIDIR/versions)
#     must be the one configure.ac sets now: a version bumped without a
#     new baseline, or the reverse, fails.
#   - Against the baseline, abidiff must see no change in the exported
#     interface.  An incompatible change (a function removed or its
#     types changed) and a compatible one (a function added) both fail,
#     with the libtool rule that applies; the fix is to follow the rule
#     in configure.ac and run make abi-baseline in the same change.
#
# The private node (abi/private.suppr) is left out.
set -u
abidir=$1 libdir=$2 includedir=$3
shift 3
command -v abidiff >/dev/null 2>&1 ||
	{ echo "abidiff not found: apt-get install abigail-tools"; exit 1; }
status=0
for spec in "$@"; do
	lib=${spec%%:*} version=${spec#*:}
	recorded=$(awk -v l="$lib" '$1 == l { print $2 }' "$abidir/versions")
	if [ "$recorded" != "$version" ]; then
		echo "$lib: configure.ac says $version, the baseline was made for" \
			"${recorded:-nothing}: run make abi-baseline and commit it"
		status=1
		continue
	fi
	headers=
	[ "$lib" = libuslab ] && headers="--headers-dir2 $includedir"
	out=$(abidiff --suppressions "$abidir/private.suppr" $headers \
		"$abidir/$lib.abi" "$libdir/$lib.so" 2>&1)
	rc=$?
	if [ $((rc & 3)) -ne 0 ]; then
		echo "$lib: abidiff failed ($rc):"; echo "$out"; status=1
	elif [ $((rc & 8)) -ne 0 ]; then
		echo "$out"
		echo "$lib: INCOMPATIBLE ABI change against the $version baseline."
		echo "  Interfaces removed or changed: in configure.ac, CURRENT++,"
		echo "  REVISION = 0, AGE = 0 (a new soname), then make abi-baseline."
		status=1
	elif [ $((rc & 4)) -ne 0 ]; then
		echo "$out"
		echo "$lib: the ABI grew against the $version baseline."
		echo "  Interfaces added: in configure.ac, CURRENT++, REVISION = 0,"
		echo "  AGE++, then make abi-baseline."
		status=1
	else
		echo "$lib $version: the ABI matches its baseline"
	fi
done
exit "$status"
