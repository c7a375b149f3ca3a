#!/usr/bin/env bash
# deploy/dev/servers.sh: PostgreSQL and Kafka for development and tests, in one call.
#
#   usage: deploy/dev/servers.sh up|down|status|env
#     up      pg.sh up, then kafka.sh up (both idempotent)
#     down    stop what those scripts started (machine-wide servers are left alone)
#     status  one line per server; exit 3 if either is down
#     env     print `export CCS_PG_URL=...` and `export CCS_KAFKA_BOOTSTRAP=...` for eval:
#               eval "$(deploy/dev/servers.sh env)"
#             exits 1 (printing nothing) when a server does not answer; run `up` first
#
# Tests and the run scripts take the servers from these two variables only, so any
# existing PostgreSQL or Kafka can be used instead by exporting them before `up`.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case "${1:-}" in
up)
	"$DIR/pg.sh" up
	"$DIR/kafka.sh" up
	;;
down)
	rc=0
	"$DIR/kafka.sh" down || rc=$?
	"$DIR/pg.sh" down || rc=$?
	exit $rc
	;;
status)
	rc=0
	"$DIR/pg.sh" status || rc=3
	"$DIR/kafka.sh" status || rc=3
	exit $rc
	;;
env)
	pg=$("$DIR/pg.sh" url)
	kafka=$("$DIR/kafka.sh" bootstrap)
	printf 'export CCS_PG_URL=%q\n' "$pg"
	printf 'export CCS_KAFKA_BOOTSTRAP=%q\n' "$kafka"
	;;
*)
	sed -n '2,14p' "$0" >&2
	exit 2
	;;
esac
