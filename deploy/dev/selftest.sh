#!/usr/bin/env bash
# deploy/dev/selftest.sh: checks the dev server scripts themselves (ctest: devscripts_selftest,
# label chaos, about 45 s).
#
#   usage: deploy/dev/selftest.sh
#
# Runs everything in a private run directory on free ports of its own (random, 20000-40000),
# so the servers the other tests use are not touched:
#   - the real broker: cold start (storage format), idempotent `up`, a record written before
#     a kill -9, a restart and a clean stop is still there afterwards (offsets keep growing),
#     `reset` wipes it;
#   - the mock-cluster fallback (CCS_KAFKA_MOCK=1);
#   - the throwaway PostgreSQL cluster (CCS_PG_SKIP_SYSTEM=1), as the non-root user ccsdev.
# Set CCS_MOCKBROKER to a built ccs-mockbroker to skip compiling the probe.
# Prints "N passed, N failed"; exit 77 (skipped) when neither Java nor root is available.
set -uo pipefail

DEV=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TMP=$(mktemp -d /tmp/ccs-devscripts.XXXXXX)
chmod 755 "$TMP"
unset CCS_KAFKA_BOOTSTRAP CCS_PG_URL CCS_KAFKA_MOCK

# Ports of its own, picked at random among free ones: other checkouts on this machine may run
# this same test at the same time.
free_port() { # free_port: print a port P with P and P+1 closed on 127.0.0.1
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$((p + 1))") 2>/dev/null && continue
		echo "$p"
		return 0
	done
	return 1
}
KPORT=$(free_port) || { echo "no free port"; exit 1; }
PGPORT=$(free_port) || { echo "no free port"; exit 1; }
export CCS_RUN_DIR=$TMP CCS_KAFKA_PORT=$KPORT CCS_KAFKA_CONTROLLER_PORT=$((KPORT + 1)) CCS_PG_PORT=$PGPORT
pass=0
fail=0

cleanup() {
	"$DEV/kafka.sh" down >/dev/null 2>&1
	CCS_PG_SKIP_SYSTEM=1 "$DEV/pg.sh" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() {
	pass=$((pass + 1))
	echo "ok   $1"
}
bad() {
	fail=$((fail + 1))
	echo "FAIL $1"
	[ -f "$TMP/out" ] && sed 's/^/     /' "$TMP/out" | tail -n 30
}
check() { # check NAME COMMAND...: the command must succeed
	local name=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then ok "$name"; else bad "$name"; fi
}
check_fails() {
	local name=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then bad "$name (succeeded)"; else ok "$name"; fi
}
smoke_offset() { # smoke_offset WANT: a round trip lands at offset WANT of the probe topic
	"$DEV/kafka.sh" smoke ccs.devscripts >"$TMP/out" 2>&1 &&
		grep -q "@ $1\$" "$TMP/out"
}

have_java=0
java -version >/dev/null 2>&1 && have_java=1
if [ "$have_java" = 0 ] && [ "$(id -u)" != 0 ]; then
	echo "no Java and not root: nothing to test here"
	exit 77
fi

if [ "$have_java" = 1 ]; then
	t0=$(date +%s)
	check "cold start of the real broker" "$DEV/kafka.sh" up
	echo "     (cold start: $(($(date +%s) - t0)) s)"
	check "status reports the broker" "$DEV/kafka.sh" status
	check "bootstrap is the configured port" bash -c "[ \"\$('$DEV/kafka.sh' bootstrap)\" = 127.0.0.1:$KPORT ]"
	check "a round trip lands at offset 0" smoke_offset 0
	pid=$(cat "$TMP/kafka/kafka.pid")
	check "up again reuses the running broker" "$DEV/kafka.sh" up
	check "same pid after the second up" bash -c "[ \"\$(cat '$TMP/kafka/kafka.pid')\" = $pid ]"

	kill -9 "$pid"
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	check_fails "status fails after kill -9" "$DEV/kafka.sh" status
	t0=$(date +%s)
	check "restart after kill -9" "$DEV/kafka.sh" up
	echo "     (restart after kill -9: $(($(date +%s) - t0)) s)"
	check "the record survived kill -9 (next offset 1)" smoke_offset 1

	check "clean stop" "$DEV/kafka.sh" down
	check_fails "status fails when stopped" "$DEV/kafka.sh" status
	check "restart after a clean stop" "$DEV/kafka.sh" up
	check "the records survived the stop (next offset 2)" smoke_offset 2
	# test.sh exports CCS_KAFKA_BOOTSTRAP for our own broker: it must stay ours.
	export CCS_KAFKA_BOOTSTRAP=127.0.0.1:$KPORT
	check "own broker named in CCS_KAFKA_BOOTSTRAP is still ours" \
		bash -c "'$DEV/kafka.sh' status | grep -q pid"
	check "down stops it" "$DEV/kafka.sh" down
	check "up starts it again" "$DEV/kafka.sh" up
	check "the records survived (next offset 3)" smoke_offset 3
	export CCS_KAFKA_BOOTSTRAP=127.0.0.1:1
	check "an external CCS_KAFKA_BOOTSTRAP is used as given" \
		bash -c "'$DEV/kafka.sh' status; [ \$? = 3 ]"
	check_fails "up fails when the external cluster does not answer" "$DEV/kafka.sh" up
	unset CCS_KAFKA_BOOTSTRAP
	check "reset stops and wipes" "$DEV/kafka.sh" reset
	check "data directory is gone" bash -c "[ ! -e '$TMP/kafka/data' ]"
fi

export CCS_KAFKA_MOCK=1
check "mock fallback starts" "$DEV/kafka.sh" up
check "status names the mock cluster" bash -c "'$DEV/kafka.sh' status | grep -q 'mock cluster'"
check "mock round trip" smoke_offset 0
check "mock stops" "$DEV/kafka.sh" down
check_fails "mock status fails when stopped" "$DEV/kafka.sh" status
unset CCS_KAFKA_MOCK

if [ "$(id -u)" = 0 ]; then
	export CCS_PG_SKIP_SYSTEM=1
	check "throwaway PostgreSQL cluster starts" "$DEV/pg.sh" up
	check "url names the throwaway port" bash -c "'$DEV/pg.sh' url | grep -q \":$PGPORT/\""
	check "it answers a query" bash -c "psql \"\$('$DEV/pg.sh' url)\" -X -tAc 'select 41+1' | grep -qx 42"
	check "pg up again is a no-op" "$DEV/pg.sh" up
	check "pg stops" "$DEV/pg.sh" down
	check_fails "pg status fails when stopped" "$DEV/pg.sh" status
	unset CCS_PG_SKIP_SYSTEM
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
