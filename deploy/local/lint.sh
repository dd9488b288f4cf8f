#!/usr/bin/env bash
# Scripts are code: shellcheck (severity warning and above) on every shell script and flake8 on
# every Python file of the repository. Shell scripts are found by the .sh extension or a #! line
# naming sh or bash (so .ci/run counts), Python files by .py or a #! line naming python. Files
# git ignores are skipped. Exits non-zero on any finding, naming file, line and rule.
# deploy/local/test.sh runs it; install-deps.sh installs both tools from Debian. flake8 reads
# its settings from .flake8 at the repository root.
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
python_files=()
for file in "${files[@]}"; do
  [ -f "$file" ] || continue # deleted in the work tree, still in the index
  first_line=""
  IFS= read -r first_line <"$file" || true
  if [[ "$file" == *.sh || "$first_line" =~ ^#!.*[/[:space:]](ba)?sh([[:space:]]|$) ]]; then
    shell_scripts+=("$file")
  elif [[ "$file" == *.py || "$first_line" =~ ^#!.*python ]]; then
    python_files+=("$file")
  fi
done

status=0
echo "lint: shellcheck on ${#shell_scripts[@]} shell scripts"
shellcheck --severity=warning --external-sources "${shell_scripts[@]}" || status=1
echo "lint: flake8 on ${#python_files[@]} Python files"
if [ ${#python_files[@]} -gt 0 ]; then
  # Called as flake8, not python3 -m flake8: Debian's flake8 runs on Debian's python3 even
  # where another python3 comes first in PATH.
  flake8 "${python_files[@]}" || status=1
fi
exit "$status"
