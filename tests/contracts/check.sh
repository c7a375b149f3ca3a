#!/usr/bin/env bash
# tests/contracts/check.sh: the contracts cannot break silently.
#   1. buf lint on proto/ (proto/buf.yaml: STANDARD; package ccs.mtp.v1 in ccs/mtp/v1/, enum
#      zero values *_UNSPECIFIED, every enum value prefixed, ...);
#   2. buf breaking (category FILE: no field renumbered, renamed, retyped or removed without
#      `reserved`, no enum value renumbered or renamed, no message or file moved; additions
#      pass) against every earlier version tests/contracts/baseline.sh names.
# Exit 0 when all pass; 1 otherwise. Without a baseline (no git history) it fails under CI=true
# and only warns elsewhere.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUF=$HERE/buf.sh
cd "$SRC"

fail=0
echo "== buf lint proto/"
if (cd proto && "$BUF" lint); then echo "ok   lint"; else echo "FAIL lint"; fail=1; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
while read -r rev label; do
	[ -n "$rev" ] || continue
	n=$((n + 1))
	mkdir -p "$tmp/$n"
	git archive "$rev" proto/ccs | tar -x -C "$tmp/$n"
	echo "== buf breaking proto/ against $label ${rev:0:12}"
	# --against-config: the old tree is judged as the current module (it may predate buf.yaml).
	if "$BUF" breaking proto --against "$tmp/$n/proto" --against-config proto/buf.yaml; then
		echo "ok   breaking vs $label"
	else
		echo "FAIL breaking vs $label ${rev:0:12}: see above; add fields, never renumber, retype or rename; removed fields become reserved"
		fail=1
	fi
done < <("$HERE/baseline.sh" "$SRC")
if [ "$n" = 0 ]; then
	echo "no earlier contract version found (tests/contracts/BASELINE, git history)"
	[ "${CI:-}" != true ] || fail=1
fi
exit "$fail"
