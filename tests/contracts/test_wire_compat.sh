#!/usr/bin/env bash
# tests/contracts/test_wire_compat.sh DECODER SRC: a consumer built from the current .proto
# files reads what the previous versions wrote.
#
# For every earlier version baseline.sh names (git archive of its proto/ccs) and every sample
# in samples/ (text format, named <topic>[.<variant>].txtpb):
#   1. protoc --encode with the OLD .proto files: the bytes an old producer sends;
#   2. protoc --decode with the CURRENT files must print exactly what the old files print
#      (every old field kept its number, type and name; fields added since are absent);
#   3. the C decoder (DECODER: the daemons' wire check, unpack, UTF-8 check, proto3 JSON as
#      ccsctl renders it) must accept the bytes, and what it re-packs must decode to the same
#      text (nothing dropped or misread).
# A sample using a field an old version lacks cannot be encoded by it: skipped for that version.
# Exit 77 (skip) without protoc or git history.
set -euo pipefail
DECODE=$1
SRC=$2
HERE=$SRC/tests/contracts
command -v protoc >/dev/null || { echo "protoc not installed: skipping"; exit 77; }
command -v git >/dev/null || { echo "git not installed: skipping"; exit 77; }
mapfile -t bases < <("$HERE/baseline.sh" "$SRC")
if [ "${#bases[@]}" = 0 ]; then
	echo "no earlier contract version (not a git clone, or a shallow one): skipping"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cur=("$SRC"/proto/ccs/mtp/v1/*.proto)
pass=0
fail=0
skip=0
i=0
for b in "${bases[@]}"; do
	rev=${b%% *}
	label=${b#* }
	i=$((i + 1))
	old=$tmp/$i
	mkdir -p "$old"
	git -C "$SRC" archive "$rev" proto/ccs | tar -x -C "$old"
	oldp=("$old"/proto/ccs/mtp/v1/*.proto)
	for s in "$HERE"/samples/*.txtpb; do
		name=$(basename "$s" .txtpb)
		topic=$(cut -d. -f1-4 <<<"$name")
		what="$name vs $label ${rev:0:12}"
		type=$("$DECODE" "$topic" --type) || { echo "FAIL $what: no type"; fail=$((fail + 1)); continue; }
		if ! protoc --encode="$type" -I "$old/proto" "${oldp[@]}" <"$s" >"$tmp/bin" 2>"$tmp/err"; then
			echo "skip $what: the old contracts cannot write it ($(head -c 200 "$tmp/err"))"
			skip=$((skip + 1))
			continue
		fi
		protoc --decode="$type" -I "$old/proto" "${oldp[@]}" <"$tmp/bin" >"$tmp/old.txt"
		if ! protoc --decode="$type" -I "$SRC/proto" "${cur[@]}" <"$tmp/bin" >"$tmp/new.txt" 2>&1 ||
			! diff -u "$tmp/old.txt" "$tmp/new.txt" >"$tmp/diff"; then
			echo "FAIL $what: the current contracts read it differently"
			cat "$tmp/diff" "$tmp/new.txt" | head -40
			fail=$((fail + 1))
			continue
		fi
		if ! "$DECODE" "$topic" "$tmp/json" <"$tmp/bin" >"$tmp/repacked"; then
			echo "FAIL $what: the C decoder refuses it"
			fail=$((fail + 1))
			continue
		fi
		protoc --decode="$type" -I "$SRC/proto" "${cur[@]}" <"$tmp/repacked" >"$tmp/c.txt"
		if ! diff -u "$tmp/new.txt" "$tmp/c.txt"; then
			echo "FAIL $what: the C decoder lost or changed fields"
			fail=$((fail + 1))
			continue
		fi
		echo "ok   $what"
		pass=$((pass + 1))
	done
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
