#!/usr/bin/env bash
# tools/checksrc.sh [FILE...]: the source rules CI enforces on our C files (common/ services/
# tools/ tests/, *.c and *.h; or the files named). Prints "file:line: rule: detail" per
# violation and exits 1 if there is any.
#
#   banned      calls with no bound or no error report: sprintf vsprintf strcpy strcat strtok
#               atoi atol atoll atof gets (use snprintf, memcpy with a checked length,
#               strtok_r, strtol/strtoul with an end pointer and errno). Comments and string
#               literals are not searched.
#   whitespace  trailing spaces or tabs; carriage returns
#   eof         the file does not end with a newline
#   guard       a header's first directives are not `#ifndef CCS_..._H` / `#define` of the
#               same name, or two headers share a guard
#   include-c   `#include` of a .c file (compile it as its own unit, or make a header)
#
# Layout is .clang-format's business (advisory), not this script's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ $# -gt 0 ]; then
	files=("$@")
else
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
			'common/*.[ch]' 'services/*.[ch]' 'tools/*.[ch]' 'tests/*.[ch]' | sort -u)
	else
		mapfile -t files < <(find common services tools tests -name '*.[ch]' | sort)
	fi
fi
existing=()
for f in "${files[@]}"; do
	[ -f "$f" ] && existing+=("$f")
done
[ "${#existing[@]}" -gt 0 ] || exit 0

exec python3 - "${existing[@]}" <<'EOF'
import re
import sys

BANNED = ("sprintf", "vsprintf", "strcpy", "strcat", "strtok", "atoi", "atol", "atoll",
          "atof", "gets")
banned_re = re.compile(r"(?<![\w.>])(" + "|".join(BANNED) + r")\s*\(")
guard_re = re.compile(r"CCS_[A-Z0-9_]+_H")
include_c_re = re.compile(r'^\s*#\s*include\s*[<"][^>"]*\.c[>"]')
directive_re = re.compile(r"^\s*#\s*(\w+)\s*(\S*)")


def code_only(text):
    """The text with comments and string/char literals blanked, line breaks kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


problems = []
guards = {}


def report(path, line, rule, detail):
    problems.append(f"{path}:{line}: {rule}: {detail}")


for path in sys.argv[1:]:
    with open(path, "rb") as fh:
        raw = fh.read()
    text = raw.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if raw and not raw.endswith(b"\n"):
        report(path, len(lines), "eof", "no newline at the end of the file")
    for no, line in enumerate(lines, 1):
        if line.endswith("\r"):
            report(path, no, "whitespace", "carriage return")
        elif line != line.rstrip(" \t"):
            report(path, no, "whitespace", "trailing whitespace")
        if include_c_re.match(line):
            report(path, no, "include-c", line.strip())
    for no, line in enumerate(code_only(text).split("\n"), 1):
        for m in banned_re.finditer(line):
            report(path, no, "banned", f"{m.group(1)}()")
    if path.endswith(".h"):
        dirs = []
        for no, line in enumerate(code_only(text).split("\n"), 1):
            m = directive_re.match(line)
            if m:
                dirs.append((no, m.group(1), m.group(2)))
            if len(dirs) == 2:
                break
        ok = (len(dirs) == 2 and dirs[0][1] == "ifndef" and dirs[1][1] == "define"
              and dirs[0][2] == dirs[1][2] and guard_re.fullmatch(dirs[0][2]))
        if not ok:
            first = dirs[0] if dirs else (1, "", "")
            report(path, first[0], "guard",
                   "expected #ifndef CCS_<NAME>_H then #define CCS_<NAME>_H first, found "
                   + (" / ".join(f"#{d} {a}" for _, d, a in dirs) or "no directive"))
        else:
            other = guards.setdefault(dirs[0][2], path)
            if other != path:
                report(path, dirs[0][0], "guard", f"{dirs[0][2]} is also the guard of {other}")

for p in problems:
    print(p)
if problems:
    print(f"checksrc: {len(problems)} problem(s) in {len(sys.argv) - 1} files", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
