#!/usr/bin/env bash
# tests/contracts/baseline.sh [SRC]: the earlier versions of proto/ the current one must stay
# compatible with, one "REV LABEL" line each (deduplicated by proto tree; none is the tree
# being checked):
#   pinned    the commit named in tests/contracts/BASELINE (the last landed version)
#   branch    git merge-base HEAD origin/main, when origin/main exists and is not HEAD
#             (a branch checked before it lands; in CI's fresh clone of main it is HEAD itself)
#   previous  the contracts before their latest change: HEAD when proto/ has uncommitted
#             changes, else the first parent of the newest first-parent commit that changed
#             proto/ccs (catches a field added and then renumbered between releases)
# CCS_CONTRACT_BASE=REV replaces all of them with REV. Nothing is printed outside a git work
# tree or when no earlier version exists (a shallow clone); callers decide whether that fails.
set -euo pipefail
SRC=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$SRC"
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || exit 0

declare -A seen=()
# The tree being checked: the work tree's when proto/ has local changes, else HEAD's.
if git diff --quiet HEAD -- proto/ccs 2>/dev/null; then
	seen[$(git rev-parse HEAD:proto/ccs 2>/dev/null || echo none)]=1
fi

emit() {
	local rev=$1 label=$2 tree
	git cat-file -e "$rev^{commit}" 2>/dev/null || {
		echo "baseline.sh: $label $rev is not in this clone's history" >&2
		return 0
	}
	tree=$(git rev-parse "$rev:proto/ccs" 2>/dev/null) || return 0
	[ -z "${seen[$tree]:-}" ] || return 0
	seen[$tree]=1
	echo "$(git rev-parse "$rev") $label"
}

if [ -n "${CCS_CONTRACT_BASE:-}" ]; then
	emit "$CCS_CONTRACT_BASE" explicit
	exit 0
fi
pinned=$(sed -n '/^[0-9a-f]\{7,40\}$/{p;q}' tests/contracts/BASELINE 2>/dev/null || true)
[ -z "$pinned" ] || emit "$pinned" pinned
if git rev-parse -q --verify origin/main >/dev/null; then
	mb=$(git merge-base HEAD origin/main 2>/dev/null || true)
	[ -z "$mb" ] || [ "$mb" = "$(git rev-parse HEAD)" ] || emit "$mb" branch
fi
if ! git diff --quiet HEAD -- proto/ccs; then
	emit HEAD previous
else
	last=$(git log -1 --first-parent --format=%H HEAD -- proto/ccs)
	if [ -n "$last" ] && git rev-parse -q --verify "$last^" >/dev/null; then
		emit "$last^" previous
	fi
fi
