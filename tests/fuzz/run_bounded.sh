#!/usr/bin/env bash
# tests/fuzz/run_bounded.sh: the CI fuzz step. Builds the `fuzz` preset (clang-14, libFuzzer,
# ASan+UBSan) and runs every fuzz target under libFuzzer for a bounded time.
#
#   usage: tests/fuzz/run_bounded.sh [--no-build] [TARGET...]
#     --no-build   use the existing build/fuzz (default: configure and build the preset first)
#     TARGET       run only these targets (ctest names, e.g. fuzz_cfg); default: all of them
#
# Each target fuzzes a temporary copy of its checked-in corpus (the repository is never
# modified) for CCS_FUZZ_SECONDS seconds (default 20) with -timeout=10 -rss_limit_mb=2048 and
# leak detection on, from a fixed seed (CCS_FUZZ_SEED, default 1): the CI step checks that the
# code still holds on a reproducible exploration; tests/fuzz/campaign.sh, with random seeds, is
# the one that searches for new findings. Any crash, sanitizer report, leak, timeout, out-of-memory or a run that
# does not end in time fails the target. Prints one line per target, then `N passed, M failed`;
# exits non-zero if any target failed (a failed build counts as one failure). Logs and crash inputs of failed targets are kept in
# build/fuzz/bounded/ (CCS_FUZZ_BUILD_DIR overrides build/fuzz).
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build=1
seed=${CCS_FUZZ_SEED:-1}
names=()
for a in "$@"; do
	case "$a" in
	--no-build) build=0 ;;
	-h | --help)
		sed -n '2,15p' "$0"
		exit 0
		;;
	-*)
		echo "run_bounded.sh: unknown option '$a'" >&2
		exit 2
		;;
	*) names+=("$a") ;;
	esac
done

secs=${CCS_FUZZ_SECONDS:-20}
case "$secs" in
'' | *[!0-9]* | 0)
	echo "run_bounded.sh: CCS_FUZZ_SECONDS must be a positive integer, not '$secs'" >&2
	exit 2
	;;
esac

# The whole preset is built, not only the fuzzers: this is where CI sees clang's -Werror.
if [ "$build" = 1 ] && ! fuzz_build; then
	echo "FAIL build: CC=clang-14 cmake --preset fuzz && cmake --build --preset fuzz"
	echo "0 passed, 1 failed"
	exit 1
fi
targets=$(fuzz_targets "${names[@]}")

out=$FUZZ_BUILD/bounded
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
while IFS=$'\t' read -r name exe corpus; do
	log=$out/$name.log
	mkdir -p "$tmp/$name" "$out/$name"
	cp -R "$corpus/." "$tmp/$name/"
	before=$(find "$tmp/$name" -type f | wc -l)
	# A hard stop well past -max_total_time: a run that hangs outside any single input (or
	# in libFuzzer itself) fails instead of blocking CI.
	rc=0
	timeout -k 10 $((secs + 120)) "$exe" -max_total_time="$secs" -seed="$seed" -timeout=10 \
		-rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
		-artifact_prefix="$out/$name/" "$tmp/$name" </dev/null >"$log" 2>&1 || rc=$?
	read -r runs cov ft < <(fuzz_stats "$log")
	after=$(find "$tmp/$name" -type f | wc -l)
	stats="runs=$runs cov=$cov ft=$ft corpus=$before->$after"
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		echo "PASS $name ${secs}s $stats"
		rm -rf "${out:?}/$name" "$log"
	else
		failed=$((failed + 1))
		kind=$(fuzz_finding_kind "$log")
		[ "$rc" = 124 ] || [ "$rc" = 137 ] && kind="hard_timeout"
		echo "FAIL $name ${secs}s $stats exit=$rc $kind log=$log inputs=$out/$name/"
		# The report itself, so that a CI log shows the defect without the artifacts.
		grep -m1 -B2 -A25 -E '^==[0-9]+==ERROR|runtime error:|^INFO: libFuzzer: (timeout|out-of-memory)|ALARM' \
			"$log" | sed 's/^/    /' || tail -n 30 "$log" | sed 's/^/    /'
	fi
	rm -rf "${tmp:?}/$name"
done <<<"$targets"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
