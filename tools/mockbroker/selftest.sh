#!/usr/bin/env bash
# Self-test of ccs-mockbroker (ctest: mockbroker_selftest, label unit; needs no servers).
#   usage: selftest.sh PATH/TO/ccs-mockbroker
# Serves a mock cluster, probes it, round-trips a record, and checks that each fault option
# really changes what a client sees: a broker taken down stops answering and comes back,
# queued request errors fail a produce, SIGUSR2 toggles the broker. Prints
# "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail

BIN=${1:?usage: selftest.sh PATH/TO/ccs-mockbroker}
TMP=$(mktemp -d /tmp/ccs-mockbroker-selftest.XXXXXX)
PIDS=()
pass=0
fail=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

check() { # check NAME EXPECTED-RC COMMAND...
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$TMP/out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		pass=$((pass + 1))
		echo "ok   $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name: exit $rc, wanted $want"
		sed 's/^/     /' "$TMP/out"
	fi
}

# serve NAME ARGS...: start a mock cluster, wait for its bootstrap file, set $BS and $SPID.
serve() {
	local name=$1 i
	shift
	rm -f "$TMP/$name.bs"
	"$BIN" -f "$TMP/$name.bs" "$@" >"$TMP/$name.out" 2>&1 &
	SPID=$!
	PIDS+=("$SPID")
	for i in $(seq 1 100); do
		[ -s "$TMP/$name.bs" ] && break
		sleep 0.05
	done
	BS=$(cat "$TMP/$name.bs" 2>/dev/null || true)
	[ -n "$BS" ] || { echo "FAIL $name: no bootstrap file"; cat "$TMP/$name.out"; exit 1; }
}

check "help exits 0" 0 "$BIN" --help
check "bad option exits 2" 2 "$BIN" --brokers nope
check "bad error name exits 2" 2 "$BIN" -e Produce:NO_SUCH_ERROR
check "probe of a closed port fails" 1 "$BIN" --probe 127.0.0.1:1 --timeout 500

serve plain -b 3 -t ccs.selftest:3
check "stdout names the same bootstrap" 0 grep -qxF "$BS" "$TMP/plain.out"
check "probe answers" 0 "$BIN" --probe "$BS" --timeout 5000
check "roundtrip on a pre-created topic" 0 "$BIN" --probe "$BS" --roundtrip ccs.selftest --timeout 10000
check "roundtrip on an auto-created topic" 0 "$BIN" --probe "$BS" --roundtrip ccs.auto --timeout 10000
kill -TERM "$SPID"
wait "$SPID"
check "SIGTERM exits 0" 0 test $? -eq 0
check "bootstrap file removed on stop" 1 test -e "$TMP/plain.bs"

# One broker, down after 0.5 s, up 2 s later.
serve outage --broker-down-after 0.5 --broker-up-after 2
sleep 0.8
check "probe fails while the broker is down" 1 "$BIN" --probe "$BS" --timeout 700
check "probe succeeds once it is back" 0 "$BIN" --probe "$BS" --timeout 8000

# Non-retriable produce errors make the round trip fail; a fresh cluster without them passes.
serve errs -e Produce:MSG_SIZE_TOO_LARGE,MSG_SIZE_TOO_LARGE,MSG_SIZE_TOO_LARGE
check "queued Produce errors fail a produce" 1 "$BIN" --probe "$BS" --roundtrip ccs.err --timeout 8000

# Retriable errors are absorbed by the client's retries: the round trip still succeeds.
serve retriable -e Produce:NOT_LEADER_FOR_PARTITION,REQUEST_TIMED_OUT
check "retriable Produce errors are retried" 0 "$BIN" --probe "$BS" --roundtrip ccs.retry --timeout 10000

serve toggle
kill -USR2 "$SPID"
sleep 0.3
check "SIGUSR2 takes the broker down" 1 "$BIN" --probe "$BS" --timeout 700
kill -USR2 "$SPID"
check "second SIGUSR2 brings it back" 0 "$BIN" --probe "$BS" --timeout 8000

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
