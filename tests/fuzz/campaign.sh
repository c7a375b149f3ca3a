#!/usr/bin/env bash
# tests/fuzz/campaign.sh: a long fuzzing campaign over every fuzz target, whose gains go back
# into the checked-in corpora.
#
#   usage: tests/fuzz/campaign.sh [-j N] [-m MINUTES] [--no-build] [--no-merge] [TARGET...]
#     -j N          targets fuzzed at once (default: nproc)
#     -m MINUTES    fuzzing time per target (default 60)
#     --no-build    use the existing build/fuzz (default: configure and build the preset first)
#     --no-merge    leave the checked-in corpora alone (new inputs stay in the run directory)
#     TARGET        only these targets (ctest names, e.g. fuzz_cfg); default: all of them
#
# Each target fuzzes its checked-in corpus plus a scratch directory that receives the new
# inputs, with -timeout=10 -rss_limit_mb=2048 and leak detection. A crash, sanitizer report,
# leak, timeout or out-of-memory is a finding: its input is kept and the target resumes for
# the rest of its time (at most CCS_FUZZ_MAX_FINDINGS findings per target, default 10). At the
# end `-merge=1` adds to tests/fuzz/<area>/corpus only the new inputs that reach new coverage
# (the existing files, named regression inputs included, are kept as they are). Prints one line
# per target: runs, cov, ft, new inputs merged, findings; findings are listed with their paths
# and a reproducer command. Exits 1 if there were findings. Everything else stays in
# build/fuzz/campaign/<date-time>/<target>/ (log, scratch corpus, findings).
#
# A finding becomes a regression input: copy it into the target's corpus as
# regression_<what-broke>.bin, fix the defect, and note it beside the target in its
# CMakeLists.txt; the corpus replay in every ctest run (label fuzz) then keeps it fixed.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

jobs=$(nproc)
minutes=60
build=1
merge=1
names=()
while [ $# -gt 0 ]; do
	case "$1" in
	-j) jobs=${2:?-j needs a number}; shift ;;
	-j*) jobs=${1#-j} ;;
	-m) minutes=${2:?-m needs a number}; shift ;;
	-m*) minutes=${1#-m} ;;
	--no-build) build=0 ;;
	--no-merge) merge=0 ;;
	-h | --help)
		sed -n '2,25p' "$0"
		exit 0
		;;
	-*)
		echo "campaign.sh: unknown option '$1'" >&2
		exit 2
		;;
	*) names+=("$1") ;;
	esac
	shift
done
for v in "$jobs" "$minutes"; do
	case "$v" in
	'' | *[!0-9]* | 0)
		echo "campaign.sh: -j and -m take positive integers, not '$v'" >&2
		exit 2
		;;
	esac
done
max_findings=${CCS_FUZZ_MAX_FINDINGS:-10}

if [ "$build" = 1 ]; then
	fuzz_build
fi
targets=$(fuzz_targets "${names[@]}")
run=$FUZZ_BUILD/campaign/$(date +%Y%m%d-%H%M%S)
mkdir -p "$run"
echo "campaign: $(wc -l <<<"$targets") targets, $minutes min each, $jobs at once; output in $run" >&2

# fuzz_one NAME EXE CORPUS: fuzz one target for its time, restarting after each finding, then
# merge; writes $run/NAME/summary (one line) and $run/NAME/findings.txt (a line per finding:
# kind, run log, saved input).
fuzz_one() {
	local name=$1 exe=$2 corpus=$3
	local dir=$run/$name
	local end=$(($(date +%s) + minutes * 60))
	local left rc i=0 new=0 kind input last=
	mkdir -p "$dir/scratch" "$dir/findings"
	: >"$dir/findings.txt"
	: >"$dir/log"
	while left=$((end - $(date +%s))) && [ "$left" -gt 0 ]; do
		i=$((i + 1))
		rc=0
		# The checked-in corpus is read only: new inputs go to the first directory, scratch/.
		timeout -k 10 $((left + 120)) "$exe" -max_total_time="$left" -timeout=10 \
			-rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
			-artifact_prefix="$dir/findings/" "$dir/scratch" "$corpus" \
			</dev/null >"$dir/run$i.log" 2>&1 || rc=$?
		cat "$dir/run$i.log" >>"$dir/log"
		[ "$rc" = 0 ] && break
		kind=$(fuzz_finding_kind "$dir/run$i.log")
		[ "$rc" = 124 ] || [ "$rc" = 137 ] && kind=hard_timeout
		input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$dir/run$i.log" | tail -n1)
		# The same input twice in a row: the target fails on its corpus; resuming cannot help.
		[ -n "$input" ] && [ "$input" = "$last" ] && break
		last=$input
		echo "$kind $dir/run$i.log ${input:--}" >>"$dir/findings.txt"
		[ "$(wc -l <"$dir/findings.txt")" -ge "$max_findings" ] && break
	done
	read -r runs cov ft < <(fuzz_stats "$dir/log")
	if [ "$merge" = 1 ]; then
		local before after
		before=$(find "$corpus" -type f | wc -l)
		# Only inputs that add coverage to what the checked-in corpus already reaches.
		"$exe" -merge=1 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
			-artifact_prefix="$dir/findings/" "$corpus" "$dir/scratch" \
			</dev/null >"$dir/merge.log" 2>&1 ||
			echo "merge_failed $dir/merge.log -" >>"$dir/findings.txt"
		after=$(find "$corpus" -type f | wc -l)
		new=$((after - before))
	else
		new="$(find "$dir/scratch" -type f | wc -l) (not merged)"
	fi
	local nf
	nf=$(wc -l <"$dir/findings.txt")
	printf '%s: runs=%s cov=%s ft=%s new=%s findings=%s (%s min)\n' \
		"$name" "$runs" "$cov" "$ft" "$new" "$nf" "$minutes" >"$dir/summary"
}

# Run the targets, at most $jobs at a time.
pids=()
while IFS=$'\t' read -r name exe corpus; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n || true
	done
	fuzz_one "$name" "$exe" "$corpus" &
	pids+=($!)
done <<<"$targets"
for p in "${pids[@]}"; do
	wait "$p" || true
done

findings=0
while IFS=$'\t' read -r name exe corpus; do
	cat "$run/$name/summary" 2>/dev/null || echo "$name: no summary (see $run/$name/)"
	while read -r kind log input; do
		findings=$((findings + 1))
		echo "  finding: $kind log=$log input=$input"
		[ "$input" = - ] || echo "    reproduce: $exe $input"
	done <"$run/$name/findings.txt"
done <<<"$targets"
echo "campaign: $findings findings; logs in $run" >&2
[ "$findings" = 0 ]
