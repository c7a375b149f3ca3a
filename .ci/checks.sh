#!/usr/bin/env bash
# .ci/checks.sh: the checks beside the test suites, run by .ci/run before deploy/dev/test.sh.
#
#   usage: .ci/checks.sh [--no-package] [--keep-package]
#     source     tools/checksrc.sh (banned calls, whitespace, header guards, no #include of .c)
#     contracts  tests/contracts/check.sh: buf lint, and buf breaking against the last landed
#                version (tests/contracts/BASELINE) and the contracts before their latest
#                change; installs npm when missing, buf (pinned) into build/tools
#     package    build/pkg: RelWithDebInfo, prefix /usr, cpack -G DEB; dpkg -i the package
#                (apt-get install -f for its dependencies), then every installed daemon's
#                --version and --print-config with its /etc/ccs config, ccsctl --version and
#                --help, the `ccs` user, the units and the data files; finally dpkg --purge
#                (--keep-package leaves it installed). Needs root.
#     --no-package  skip the package step
# Every step runs even after an earlier one failed; exit 1 if any failed.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
package=1
keep=0
for a in "$@"; do
	case "$a" in
	--no-package) package=0 ;;
	--keep-package) keep=1 ;;
	-h | --help)
		sed -n '2,17p' "$0"
		exit 0
		;;
	*)
		echo "checks.sh: unknown argument '$a'" >&2
		exit 2
		;;
	esac
done
export DEBIAN_FRONTEND=noninteractive
failed=()

step() {
	local name=$1 t0=$SECONDS
	shift
	echo "==== checks: $name"
	if "$@"; then
		echo "==== checks: $name ok ($((SECONDS - t0)) s)"
	else
		echo "==== checks: $name FAILED ($((SECONDS - t0)) s)"
		failed+=("$name")
	fi
}

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

contracts() {
	if ! command -v npm >/dev/null; then
		as_root apt-get update -q && as_root apt-get install -y -q --no-install-recommends npm || return 1
	fi
	tests/contracts/check.sh
}

package_build() {
	local b=$ROOT/build/pkg
	rm -f "$b"/ccs-mtp_*.deb
	{ cmake -S "$ROOT" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
		-DCCS_TESTS=OFF && cmake --build "$b" -j2; } >"$b.build.log" 2>&1 || {
		tail -40 "$b.build.log"
		return 1
	}
	(cd "$b" && cpack -G DEB >/dev/null) || return 1
	dpkg-deb -I "$b"/ccs-mtp_*.deb && dpkg-deb -c "$b"/ccs-mtp_*.deb
}

package_install() {
	local deb rc=0 b n
	deb=$(ls "$ROOT"/build/pkg/ccs-mtp_*.deb) || return 1
	if ! as_root dpkg -i "$deb"; then
		# Dependencies missing: let apt bring them, which also finishes configuring ccs-mtp.
		as_root apt-get update -q && as_root apt-get install -f -y -q || return 1
	fi
	[ "$(dpkg-query -W -f '${Status}' ccs-mtp)" = "install ok installed" ] || return 1
	getent passwd ccs >/dev/null || { echo "no ccs user"; rc=1; }
	[ "$(stat -c %U:%G:%a /etc/ccs)" = root:ccs:750 ] || { echo "/etc/ccs: $(stat -c %U:%G:%a /etc/ccs)"; rc=1; }
	for f in /usr/lib/systemd/system/ccs-referrald.service /usr/lib/systemd/system/ccs-migrate@.service \
		/usr/share/ccs/sql/apply.sh /usr/share/ccs/sql/roles.sql /usr/share/ccs/prometheus/ccs-rules.yml \
		/usr/share/ccs/data/mtu_directory.tsv; do
		[ -e "$f" ] || { echo "missing $f"; rc=1; }
	done
	if grep -n "^ExecStart=/usr/local" /usr/lib/systemd/system/ccs-*.service; then
		echo "units still name /usr/local"
		rc=1
	fi
	for n in referral eligibility scheduling; do
		b=/usr/bin/ccs-${n}d
		echo "-- $b --version"
		"$b" --version || rc=1
		echo "-- $b -c /etc/ccs/${n}d.conf --print-config"
		"$b" -c "/etc/ccs/${n}d.conf" --print-config || rc=1
	done
	echo "-- ccsctl --version"
	/usr/bin/ccsctl --version || rc=1
	/usr/bin/ccsctl --help >/dev/null || rc=1
	return "$rc"
}

package_purge() {
	as_root dpkg --purge ccs-mtp || return 1
	! [ -e /usr/bin/ccs-referrald ] && ! [ -e /etc/ccs/referrald.conf ]
}

step source tools/checksrc.sh
step contracts contracts
if [ "$package" = 1 ]; then
	step package-build package_build
	if [[ " ${failed[*]} " != *" package-build "* ]]; then
		step package-install package_install
		[ "$keep" = 1 ] || step package-purge package_purge
	fi
fi

if [ "${#failed[@]}" -gt 0 ]; then
	echo "checks failed: ${failed[*]}"
	exit 1
fi
echo "checks passed"
