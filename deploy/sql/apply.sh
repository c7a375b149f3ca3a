#!/usr/bin/env bash
# deploy/sql/apply.sh: create (or repair) one daemon's database and its two roles.
#
#   usage: deploy/sql/apply.sh [-d ADMIN_URL] DATABASE [OWNER [RUNTIME]]
#     DATABASE  ccs_referral, ccs_eligibility or ccs_scheduling (any name works)
#     OWNER     owns the database, runs the migrations; default DATABASE_owner
#     RUNTIME   what the daemon connects as (DML only); default DATABASE
#     -d URL    a superuser connection (any database of the cluster); default
#               $CCS_PG_ADMIN_URL, else $CCS_PG_URL
#   Passwords, when the server wants them, come from CCS_PG_OWNER_PASSWORD and
#   CCS_PG_RUNTIME_PASSWORD (read by psql from the environment, so never on a command line).
#
# Then, as the owner:   CCS_PG_URL=postgresql://OWNER@host/DATABASE ccs-<name>d --migrate-only
# and run the daemon:   CCS_PG_URL=postgresql://RUNTIME@host/DATABASE ccs-<name>d ...
# What each role may do: deploy/sql/roles.sql. Idempotent: run it again to repair grants.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
admin=${CCS_PG_ADMIN_URL:-${CCS_PG_URL:-}}
if [ "${1:-}" = -d ] && [ $# -ge 2 ]; then
	admin=$2
	shift 2
fi
case "${1:-}" in
"" | -h | --help)
	sed -n '2,15p' "$0" >&2
	exit 2
	;;
esac
db=$1
owner=${2:-${db}_owner}
runtime=${3:-$db}
if [ -z "$admin" ]; then
	echo "apply.sh: no admin URL (-d, CCS_PG_ADMIN_URL or CCS_PG_URL)" >&2
	exit 2
fi
if [ "$owner" = "$runtime" ]; then
	echo "apply.sh: the owner and the runtime role must differ" >&2
	exit 2
fi
exec psql "$admin" -X -q -v ON_ERROR_STOP=1 -v db="$db" -v owner="$owner" -v runtime="$runtime" \
	-f "$DIR/roles.sql"
