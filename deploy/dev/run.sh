#!/usr/bin/env bash
# deploy/dev/run.sh: run the whole system on this machine and watch it work.
#
#   usage: deploy/dev/run.sh [--referrals N] [--duration SECONDS] [--no-build]
#
# Installs what is missing (deps.sh), starts or reuses PostgreSQL and Kafka (servers.sh; set
# CCS_PG_URL / CCS_KAFKA_BOOTSTRAP to use your own), builds the `dev` preset, creates the
# databases ccs_referral, ccs_eligibility and ccs_scheduling with their owner and runtime roles
# when missing (deploy/sql/), migrates each as its owner role, starts the three daemons as their
# runtime roles (logs in .run/logs/, metrics on 127.0.0.1:9101-9103), then sends sample referrals
# and the evidence that makes most children eligible, printing every decision as one line.
# Ctrl-C (or --duration) stops the daemons with SIGTERM; the servers keep running
# (deploy/dev/servers.sh down stops them).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEV=$ROOT/deploy/dev
referrals=40
duration=0
build=1
while [ $# -gt 0 ]; do
	case "$1" in
	--referrals) referrals=$2; shift ;;
	--duration) duration=$2; shift ;;
	--no-build) build=0 ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done

cd "$ROOT"
"$DEV/deps.sh"
"$DEV/servers.sh" up
eval "$("$DEV/servers.sh" env)"
if [ "$build" = 1 ]; then
	cmake --preset dev >/dev/null
	cmake --build --preset dev
fi
BUILD=$ROOT/build/dev

# One database per daemon with its two roles, on the server CCS_PG_URL points at (an older
# database made by a superuser is adopted by its owner role). The owner role migrates below;
# the daemons connect as the runtime role, which may not change the schema.
for db in ccs_referral ccs_eligibility ccs_scheduling; do
	"$DEV/pg.sh" db "$db"
done

# The topics (the daemons create their own too; the demo may write before a daemon starts).
"$BUILD/tools/ccsctl/ccsctl" topics create --partitions 3 \
	ccs.referral.submitted.v1 ccs.referral.decided.v1 ccs.eligibility.evidence.v1 \
	ccs.eligibility.decided.v1 ccs.scheduling.requests.v1 ccs.scheduling.decided.v1 >/dev/null

mkdir -p "$ROOT/.run/logs"
pids=()
ports=()
stop() {
	trap - INT TERM EXIT
	echo "-- stopping the daemons (SIGTERM: drain and exit)"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

port=9101
for svc in referral eligibility scheduling; do
	bin=$BUILD/services/$svc/ccs-${svc}d
	if [ ! -x "$bin" ]; then
		echo "-- $svc daemon not built ($bin missing); skipping it"
		port=$((port + 1))
		continue
	fi
	if ! CCS_PG_URL=$("$DEV/pg.sh" url "ccs_$svc" owner) "$bin" --migrate-only >>"$ROOT/.run/logs/$svc.log" 2>&1; then
		echo "-- migrating ccs_$svc as its owner role failed; see .run/logs/$svc.log" >&2
		exit 1
	fi
	CCS_PG_URL=$("$DEV/pg.sh" url "ccs_$svc" runtime) CCS_HTTP_LISTEN="127.0.0.1:$port" \
		"$bin" >>"$ROOT/.run/logs/$svc.log" 2>&1 &
	pids+=($!)
	ports+=("$port")
	echo "-- started ccs-${svc}d (pid $!, http://127.0.0.1:$port/metrics, log .run/logs/$svc.log)"
	port=$((port + 1))
done

# Wait until every started daemon is ready.
for i in $(seq 1 60); do
	ready=1
	for p in "${ports[@]}"; do
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/readyz" || true)
		[ "$code" = 200 ] || ready=0
	done
	[ "$ready" = 1 ] && break
	sleep 1
done
echo "-- daemons ready; sample traffic follows (Ctrl-C to stop)"
python3 "$DEV/demo.py" "$BUILD" --referrals "$referrals" --duration "$duration" || true
