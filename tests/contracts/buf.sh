#!/usr/bin/env bash
# tests/contracts/buf.sh ARGS...: run the pinned buf CLI, installing it first when missing.
# buf comes from the npm package @bufbuild/buf (its platform binary is an exact-version
# optional dependency of it), installed into a project-local directory, never globally:
# $CCS_TOOLS_DIR (default build/tools)/buf-$BUF_VERSION. Needs npm on first use.
set -euo pipefail
BUF_VERSION=1.75.0
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${CCS_TOOLS_DIR:-$SRC/build/tools}/buf-$BUF_VERSION
buf=$dir/node_modules/.bin/buf
if ! [ -x "$buf" ] || [ "$("$buf" --version 2>/dev/null)" != "$BUF_VERSION" ]; then
	command -v npm >/dev/null || {
		echo "buf.sh: npm is needed to install @bufbuild/buf" >&2
		exit 127
	}
	mkdir -p "$dir"
	# --ignore-scripts: the package's postinstall only re-checks the binary it already has.
	npm install --prefix "$dir" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
		"@bufbuild/buf@$BUF_VERSION" >&2
	[ "$("$buf" --version)" = "$BUF_VERSION" ]
fi
exec "$buf" "$@"
