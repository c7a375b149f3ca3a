#!/usr/bin/env bash
# Every topic's message, encoded by our C code, decodes with `protoc --decode` from the .proto
# files alone, and the decoded text still holds the sample's identifying values.
set -euo pipefail
ENCODE=$1
SRC=$2
command -v protoc >/dev/null || { echo "protoc not installed: skipping"; exit 77; }
pass=0
fail=0
for f in "$SRC"/tests/unit/proto/samples/*.json; do
	topic=$(basename "$f" .json)
	case "$topic" in
	ccs.referral.submitted.v1) type=ccs.mtp.v1.ReferralSubmitted ;;
	ccs.referral.decided.v1) type=ccs.mtp.v1.ReferralDecision ;;
	ccs.eligibility.evidence.v1) type=ccs.mtp.v1.EligibilityEvidence ;;
	ccs.eligibility.decided.v1) type=ccs.mtp.v1.EligibilityDecision ;;
	ccs.scheduling.requests.v1) type=ccs.mtp.v1.SchedulingRequest ;;
	ccs.scheduling.decided.v1) type=ccs.mtp.v1.SchedulingDecision ;;
	*) echo "FAIL $f: no type known for this topic"; fail=$((fail + 1)); continue ;;
	esac
	if out=$("$ENCODE" "$topic" <"$f" |
		protoc --decode="$type" -I "$SRC/proto" "$SRC"/proto/ccs/mtp/v1/*.proto 2>&1) &&
		grep -q 'case_id: "c0ffee00-0000-4000-8000-000000000001"\|referral_id: "c0ffee00-0000-4000-8000-000000000001"' <<<"$out"; then
		echo "ok   $topic decodes as $type"
		pass=$((pass + 1))
	else
		echo "FAIL $topic ($type): $out"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -ge 6 ]
