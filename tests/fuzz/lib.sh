# tests/fuzz/lib.sh: shared by run_bounded.sh and campaign.sh (sourced, not run).
#
# The fuzz targets are whatever ccs_add_fuzzer (cmake/CcsTesting.cmake) registered under the
# ctest label `fuzz` in the libFuzzer build, so a new fuzzer is picked up without editing these
# scripts. The test command's first word is the executable, its last argument the checked-in
# corpus directory.

FUZZ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ_BUILD=${CCS_FUZZ_BUILD_DIR:-$FUZZ_ROOT/build/fuzz}

# Sanitizer settings for every run: leaks, UB and ASan reports all end the run with an error.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# fuzz_build: configure and build the `fuzz` preset (clang-14 + libFuzzer + ASan/UBSan).
fuzz_build() {
	(cd "$FUZZ_ROOT" && CC=${CC:-clang-14} cmake --preset fuzz >/dev/null &&
		cmake --build --preset fuzz)
}

# fuzz_targets [NAME...]: print "name<TAB>executable<TAB>corpus" for each fuzz target of the
# build (or only the named ones); fails if the build has none or a name is unknown.
fuzz_targets() {
	[ -f "$FUZZ_BUILD/CTestTestfile.cmake" ] || {
		echo "fuzz: no build in $FUZZ_BUILD (run without --no-build)" >&2
		return 1
	}
	(cd "$FUZZ_BUILD" && ctest --show-only=json-v1 -L fuzz) | python3 -c '
import json, sys
want = sys.argv[1:]
found = {}
for t in json.load(sys.stdin)["tests"]:
    cmd = t.get("command") or []
    if len(cmd) >= 2:
        found[t["name"]] = (cmd[0], cmd[-1])
missing = [w for w in want if w not in found]
if missing:
    sys.exit("fuzz: unknown target(s): " + " ".join(missing) + "; known: " + " ".join(found))
if not found:
    sys.exit("fuzz: no fuzz targets in the build")
for name in (want or found):
    print("%s\t%s\t%s" % (name, found[name][0], found[name][1]))
' "$@"
}

# fuzz_stats LOG: print "runs cov ft" from a libFuzzer log (-print_final_stats=1); "0 0 0" when
# the run never got that far.
fuzz_stats() {
	awk '
		/^stat::number_of_executed_units:/ { runs += $2 }
		/^#[0-9]+/ {
			for (i = 1; i < NF; i++) {
				if ($i == "cov:") cov = $(i + 1)
				if ($i == "ft:") ft = $(i + 1)
			}
		}
		END { printf "%d %d %d\n", runs, cov, ft }' "$1"
}

# fuzz_finding_kind LOG: a short reason for a failed run from the report's SUMMARY line, e.g.
# AddressSanitizer:heap-buffer-overflow, AddressSanitizer:leak, libFuzzer:timeout,
# libFuzzer:deadly-signal (an abort() in the harness: a broken invariant).
fuzz_finding_kind() {
	awk '
		/^SUMMARY: / && !k {
			tool = $2; sub(/:$/, "", tool)
			what = ($0 ~ /leaked in/) ? "leak" : $3
			if ($3 == "deadly" && $4 == "signal") what = "deadly-signal"
			k = tool ":" what
		}
		END { print (k ? k : "exit-status") }' "$1"
}
