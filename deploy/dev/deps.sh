#!/usr/bin/env bash
# deploy/dev/deps.sh: install the Debian packages that building and testing need.
#
#   usage: deploy/dev/deps.sh [--check]
#     --check   only list what is missing; exit 1 if anything is
#
# Idempotent and fast when everything is present: each package is checked with dpkg-query
# first, and `apt-get update` runs only when something has to be installed. Runs as root on
# Debian bookworm (uses sudo if not root). Java 17 and Maven are needed only to run the real
# Kafka broker locally, so they are skipped when CCS_KAFKA_BOOTSTRAP names an existing
# cluster; a PostgreSQL server is installed only when no server is reachable and none is
# installed (pg.sh then starts a throwaway cluster with it).
set -euo pipefail

check_only=0
case "${1:-}" in
--check) check_only=1 ;;
"") ;;
-h | --help)
	sed -n '2,12p' "$0"
	exit 0
	;;
*)
	echo "deps.sh: unknown argument '$1'" >&2
	exit 2
	;;
esac

# Package, and optionally a shell test that also counts as "present" (for metapackages and
# tools that may come from another package, e.g. psql from postgresql-client-15).
PKGS=(
	"build-essential"
	"cmake"
	"pkg-config"
	"librdkafka-dev"
	"libprotobuf-c-dev"
	"protobuf-c-compiler"
	"protobuf-compiler"
	"libuv1-dev"
	"libpq-dev"
	"libjansson-dev"
	"postgresql-client|command -v psql && command -v pg_isready"
	"clang-14"
	"libclang-rt-14-dev"
	"jq"
	"npm|command -v npm"
	"prometheus|command -v promtool"
	"tzdata|test -e /usr/share/zoneinfo/America/Los_Angeles"
	"curl|command -v curl"
	"python3|command -v python3"
)

if [ -z "${CCS_KAFKA_BOOTSTRAP:-}" ]; then
	PKGS+=("openjdk-17-jre-headless|java_ok" "maven|command -v mvn")
fi

# True when a Java 17 or newer runtime is on PATH (the machine image may bring its own).
java_ok() {
	local v
	command -v java >/dev/null 2>&1 || return 1
	v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
	[ -n "$v" ] && [ "$v" -ge 17 ]
}

pg_server_needed() {
	[ -z "${CCS_PG_URL:-}" ] || return 1
	pg_isready -q -h 127.0.0.1 -p 5432 -t 2 >/dev/null 2>&1 && return 1
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && return 1
	return 0
}

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for entry in "${PKGS[@]}"; do
	pkg=${entry%%|*}
	alt=
	[ "$entry" != "$pkg" ] && alt=${entry#*|}
	installed "$pkg" && continue
	if [ -n "$alt" ] && eval "$alt" >/dev/null 2>&1; then
		continue
	fi
	missing+=("$pkg")
done
if command -v pg_isready >/dev/null 2>&1 && pg_server_needed; then
	missing+=("postgresql")
fi

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$check_only" = 1 ]; then
	echo "deps.sh: missing: ${missing[*]}"
	exit 1
fi

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# postgresql-client may have been installed just now; a server may still be needed.
if command -v pg_isready >/dev/null 2>&1 && pg_server_needed; then
	$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
