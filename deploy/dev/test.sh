#!/usr/bin/env bash
# deploy/dev/test.sh: the project's test command (README, .ci/run).
#
#   usage: deploy/dev/test.sh [--quick] [--no-fuzz] [--no-asan] [--stop-servers|--keep-servers]
#     (none)          deps.sh; servers.sh up; build preset `dev` and run ctest labels
#                     unit|fuzz|integration, then chaos; then tests/fuzz/run_bounded.sh (build preset
#                     `fuzz` with clang-14, every fuzz target under libFuzzer for
#                     CCS_FUZZ_SECONDS, default 20 s, each); then build preset `asan` and run
#                     unit|fuzz|integration under ASan+UBSan
#     --quick         unit and fuzz tests (corpus replay) of the `dev` build only; no servers
#                     are started, no libFuzzer run
#     --no-fuzz       skip the libFuzzer run (the corpus replay in ctest still runs)
#     --no-asan       skip the `asan` build and run
#     --stop-servers  stop at exit the servers this run started (the default when CI is set)
#     --keep-servers  leave them running (the default otherwise: the next run reuses them)
#
# Tests find the servers in CCS_PG_URL and CCS_KAFKA_BOOTSTRAP, exported here from
# `servers.sh env`; set them beforehand to test against other servers.
# CCS_CTEST_JOBS: how many unit/fuzz/integration tests run at once (default 2); chaos tests run
# one at a time. Prints a timing line per phase on stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEV=$ROOT/deploy/dev
quick=0
asan=1
fuzz=1
stop_servers=0
[ -n "${CI:-}" ] && [ "${CI}" != false ] && stop_servers=1

for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	--no-fuzz) fuzz=0 ;;
	--no-asan) asan=0 ;;
	--stop-servers) stop_servers=1 ;;
	--keep-servers) stop_servers=0 ;;
	-h | --help)
		sed -n '2,20p' "$0"
		exit 0
		;;
	*)
		echo "test.sh: unknown argument '$a'" >&2
		exit 2
		;;
	esac
done

T0=$(date +%s)
phase_start=$T0
phase() { # phase NAME: report the time of the phase that just ended
	local now
	now=$(date +%s)
	echo "test.sh: $1 took $((now - phase_start)) s" >&2
	phase_start=$now
}

cd "$ROOT"
"$DEV/deps.sh"
phase deps

# Unit, fuzz-corpus and integration tests are isolated from each other (a database, a topic
# prefix and ports of their own) and mostly wait on servers: they run CCS_CTEST_JOBS (2) at a
# time. Chaos tests kill and restart processes and servers: one at a time.
jobs=(--parallel "${CCS_CTEST_JOBS:-2}")

if [ "$quick" = 1 ]; then
	cmake --preset dev >/dev/null
	cmake --build --preset dev
	phase "build dev"
	ctest --preset dev -L 'unit|fuzz' --output-on-failure "${jobs[@]}"
	phase "ctest dev (unit|fuzz)"
	echo "test.sh: quick run passed in $(($(date +%s) - T0)) s" >&2
	exit 0
fi

# Remember which servers were down, so that --stop-servers stops only what this run started.
pg_was_up=0
kafka_was_up=0
"$DEV/pg.sh" status >/dev/null 2>&1 && pg_was_up=1
"$DEV/kafka.sh" status >/dev/null 2>&1 && kafka_was_up=1
cleanup() {
	[ "$stop_servers" = 1 ] || return 0
	[ "$kafka_was_up" = 1 ] || "$DEV/kafka.sh" down || true
	[ "$pg_was_up" = 1 ] || "$DEV/pg.sh" down || true
}
trap cleanup EXIT

"$DEV/servers.sh" up
eval "$("$DEV/servers.sh" env)"
echo "test.sh: CCS_PG_URL=$CCS_PG_URL CCS_KAFKA_BOOTSTRAP=$CCS_KAFKA_BOOTSTRAP" >&2
phase "servers up"

# A failing ctest does not stop the run: the asan pass still runs, so one CI run reports
# every failure; the exit status is non-zero if any pass failed.
failed=()
cmake --preset dev >/dev/null
cmake --build --preset dev
phase "build dev"
ctest --preset dev -L 'unit|fuzz|integration' --output-on-failure "${jobs[@]}" ||
	failed+=("ctest dev")
phase "ctest dev (unit|fuzz|integration)"
ctest --preset dev -L chaos --output-on-failure --parallel 1 || failed+=("ctest dev chaos")
phase "ctest dev (chaos)"

if [ "$fuzz" = 1 ]; then
	"$ROOT/tests/fuzz/run_bounded.sh" || failed+=("fuzz (libFuzzer)")
	phase "fuzz (libFuzzer, ${CCS_FUZZ_SECONDS:-20} s per target)"
fi

if [ "$asan" = 1 ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	cmake --preset asan >/dev/null
	cmake --build --preset asan
	phase "build asan"
	ctest --preset asan -L 'unit|fuzz|integration' --output-on-failure "${jobs[@]}" ||
		failed+=("ctest asan")
	phase "ctest asan (unit|fuzz|integration)"
fi
if [ ${#failed[@]} -gt 0 ]; then
	echo "test.sh: FAILED: ${failed[*]} ($(($(date +%s) - T0)) s)" >&2
	exit 1
fi
echo "test.sh: all passed in $(($(date +%s) - T0)) s" >&2
