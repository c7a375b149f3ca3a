#!/bin/sh
# Instructions per operation of each micro-benchmark under callgrind (figures, no assertions).
#
# Each benchmark runs alone twice, with CCS_BENCH_ITERS=$LO and =$HI; the difference of the two
# instruction totals divided by HI-LO is the cost of one operation, with process start-up,
# set-up and preconditions cancelled out. Unlike ns/op these do not move with machine load.
#
# usage: bench_callgrind.sh BENCH_BINARY...   (CCS_VALGRIND: valgrind to use; CCS_BENCH_LO/HI)
set -eu
VG=${CCS_VALGRIND:-valgrind}
LO=${CCS_BENCH_LO:-200}
HI=${CCS_BENCH_HI:-2200}
if ! command -v "$VG" >/dev/null 2>&1; then
	echo "valgrind not found: skipping"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Total instructions ("Collected : N") of one run of benchmark $2 in binary $1 with $3 iterations.
instructions() {
	CCS_BENCH_ONLY=$2 CCS_BENCH_ITERS=$3 "$VG" --tool=callgrind --callgrind-out-file="$tmp/out" \
		"$1" >"$tmp/stdout" 2>"$tmp/stderr" || {
		echo "bench_callgrind: $1 ($2) failed:" >&2
		cat "$tmp/stderr" >&2
		exit 1
	}
	sed -n 's/.*Collected : *\([0-9][0-9]*\).*/\1/p' "$tmp/stderr"
}

printf '# instructions per operation (callgrind, %s vs %s iterations)\n' "$LO" "$HI"
for bin in "$@"; do
	CCS_BENCH_LIST=1 "$bin" | grep -v '^#' | while IFS= read -r name; do
		a=$(instructions "$bin" "$name" "$LO")
		b=$(instructions "$bin" "$name" "$HI")
		if [ -z "$a" ] || [ -z "$b" ]; then
			echo "bench_callgrind: no instruction count for $name" >&2
			exit 1
		fi
		printf 'callgrind %-40s %10d instructions/op\n' "$name" $(((b - a) / (HI - LO)))
	done
done
