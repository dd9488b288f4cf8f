#!/usr/bin/env bash
# Scripts are code: shellcheck (severity warning and above) on every shell script of the
# repository, found by extension (.sh) or by a #! line naming sh or bash (so .ci/run counts).
# Files git ignores are skipped. Exits non-zero on any finding, naming file, line and rule.
# deploy/local/test.sh runs it; install-deps.sh installs shellcheck (Debian).
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$root"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard | sort -u)
else
  mapfile -t files < <(find . -type f -not -path './build*' -not -path './.cache/*' \
    -not -path './.git/*' | sed 's|^\./||' | sort)
fi

shell_scripts=()
for file in "${files[@]}"; do
  [ -f "$file" ] || continue # deleted in the work tree, still in the index
  first_line=""
  IFS= read -r first_line <"$file" || true
  if [[ "$file" == *.sh || "$first_line" =~ ^#!.*[/[:space:]](ba)?sh([[:space:]]|$) ]]; then
    shell_scripts+=("$file")
  fi
done

echo "lint: shellcheck on ${#shell_scripts[@]} shell scripts"
shellcheck --severity=warning --external-sources "${shell_scripts[@]}"
