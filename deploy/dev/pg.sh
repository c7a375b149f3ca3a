#!/usr/bin/env bash
# deploy/dev/pg.sh: a PostgreSQL server for development and tests.
#
#   usage: deploy/dev/pg.sh up|down|url|status|db
#     up      make sure a server answers (quiet on success)
#     url     print the admin URL to use (after `up`); exit 1 when none answers
#     url DB owner|runtime
#             print the URL of database DB as its owner or runtime role (no password: the
#             dev servers trust local connections)
#     db DB   create database DB with its owner role DB_owner and runtime role DB, or repair
#             their grants (deploy/sql/apply.sh); the owner then runs `--migrate-only`, the
#             daemon connects as the runtime role
#     status  print which server is used; exit 0 if one answers, 3 otherwise
#     down    stop the throwaway cluster if this script started one (machine-wide
#             servers are left alone)
#
# The server is the first of:
#   1. $CCS_PG_URL, when it answers `select 1`;
#   2. a server on 127.0.0.1:5432 (the project's machines run one, trust auth):
#      postgresql://postgres@127.0.0.1:5432/postgres;
#   3. an installed Debian cluster, started with pg_ctlcluster (then as in 2);
#   4. a throwaway cluster under .run/pg/ on 127.0.0.1:${CCS_PG_PORT:-5433}, trust auth,
#      owned by the non-root user ccsdev (initdb refuses to run as root); its data stays
#      across down/up, `rm -rf .run/pg` resets it.
# CCS_PG_SKIP_SYSTEM=1 skips 2 and 3 (to test 4 on a machine that has a server).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN=${CCS_RUN_DIR:-$ROOT/.run}/pg
PORT=${CCS_PG_PORT:-5433}
SYS_URL=postgresql://postgres@127.0.0.1:5432/postgres
OWN_URL=postgresql://postgres@127.0.0.1:$PORT/postgres
DEV_USER=ccsdev

answers() { # answers URL: the server accepts a connection and a query
	pg_isready -q -d "$1" -t 3 >/dev/null 2>&1 &&
		psql "$1" -X -q -t -A -c 'select 1' >/dev/null 2>&1
}

pg_bin() { # the newest installed server binaries directory
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
	[ -n "$d" ] && [ -x "$d/initdb" ] || return 1
	echo "$d"
}

as_dev() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$DEV_USER" -- "$@"
	else
		"$@"
	fi
}

# Resolve the URL of a server that answers now, without starting anything.
current_url() {
	if [ -n "${CCS_PG_URL:-}" ] && answers "$CCS_PG_URL"; then
		echo "$CCS_PG_URL"
	elif [ "${CCS_PG_SKIP_SYSTEM:-0}" != 1 ] && answers "$SYS_URL"; then
		echo "$SYS_URL"
	elif [ -f "$RUN/data/postmaster.pid" ] && answers "$OWN_URL"; then
		echo "$OWN_URL"
	else
		return 1
	fi
}

start_debian_cluster() {
	local ver
	[ "${CCS_PG_SKIP_SYSTEM:-0}" != 1 ] || return 1
	command -v pg_ctlcluster >/dev/null 2>&1 || return 1
	ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
	[ -n "$ver" ] && [ -d "/etc/postgresql/$ver/main" ] || return 1
	pg_ctlcluster --skip-systemctl-redirect "$ver" main start >/dev/null 2>&1 || true
	for _ in $(seq 1 30); do
		answers "$SYS_URL" && return 0
		sleep 0.5
	done
	return 1
}

start_own_cluster() {
	local bin
	bin=$(pg_bin) || {
		echo "pg.sh: no PostgreSQL server binaries; run deploy/dev/deps.sh" >&2
		return 1
	}
	if [ "$(id -u)" = 0 ] && ! id "$DEV_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$DEV_USER"
	fi
	mkdir -p "$RUN"
	[ "$(id -u)" = 0 ] && chown "$DEV_USER" "$RUN"
	if [ ! -f "$RUN/data/PG_VERSION" ]; then
		rm -rf "$RUN/data"
		as_dev "$bin/initdb" -D "$RUN/data" -U postgres --auth=trust -E UTF8 \
			--locale=C.UTF-8 >"$RUN/initdb.log" 2>&1 || {
			echo "pg.sh: initdb failed:" >&2
			tail -n 20 "$RUN/initdb.log" >&2
			return 1
		}
	fi
	mkdir -p "$RUN/sock"
	[ "$(id -u)" = 0 ] && chown "$DEV_USER" "$RUN/sock"
	# Small settings: 2 cores, many short test connections, fsync off (throwaway data).
	as_dev "$bin/pg_ctl" -D "$RUN/data" -l "$RUN/server.log" -w -t 60 start \
		-o "-h 127.0.0.1 -p $PORT -k $RUN/sock -c fsync=off -c synchronous_commit=off \
		    -c full_page_writes=off -c max_connections=200 -c shared_buffers=128MB" \
		>/dev/null 9>&- || {
		echo "pg.sh: pg_ctl start failed:" >&2
		tail -n 20 "$RUN/server.log" >&2
		return 1
	}
	answers "$OWN_URL"
}

cmd_up() {
	current_url >/dev/null && return 0
	# Serialize concurrent `up`s (a test fixture and a developer at once), then look again.
	mkdir -p "$RUN"
	exec 9>"$RUN/.lock"
	flock 9
	current_url >/dev/null && return 0
	if [ -n "${CCS_PG_URL:-}" ]; then
		echo "pg.sh: CCS_PG_URL is set but does not answer; trying local servers" >&2
	fi
	start_debian_cluster && return 0
	start_own_cluster
}

cmd_down() {
	local bin
	[ -f "$RUN/data/postmaster.pid" ] || return 0
	bin=$(pg_bin) || return 0
	as_dev "$bin/pg_ctl" -D "$RUN/data" -m fast -w -t 60 stop >/dev/null
}

# role_url ADMIN_URL DB ROLE: the admin URI with another role and database (query kept).
role_url() {
	local scheme=${1%%://*} rest=${1#*://} query=""
	case $rest in *\?*) query="?${rest#*\?}" rest=${rest%%\?*} ;; esac
	rest=${rest%%/*}
	echo "$scheme://$3@${rest##*@}/$2$query"
}

admin_url() {
	current_url || {
		echo "pg.sh: no PostgreSQL answers; run deploy/dev/pg.sh up" >&2
		exit 1
	}
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
url)
	if [ $# -ge 3 ]; then
		case "$3" in
		owner) role_url "$(admin_url)" "$2" "${2}_owner" ;;
		runtime) role_url "$(admin_url)" "$2" "$2" ;;
		*) echo "pg.sh: url DB owner|runtime" >&2; exit 2 ;;
		esac
	else
		admin_url
	fi
	;;
db)
	[ $# -ge 2 ] || { echo "pg.sh: db DB" >&2; exit 2; }
	"$ROOT/deploy/sql/apply.sh" -d "$(admin_url)" "$2"
	;;
status)
	if u=$(current_url); then
		echo "postgresql: $u"
	else
		echo "postgresql: down"
		exit 3
	fi
	;;
*)
	sed -n '2,25p' "$0" >&2
	exit 2
	;;
esac
