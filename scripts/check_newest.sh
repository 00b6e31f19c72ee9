#!/usr/bin/env bash
# Non-blocking: resolve every pinned set afresh from pyproject.toml's ranges (scripts/lock.sh into a
# temporary folder) and report which pins the registries would move. Changes nothing; always exits 0
# unless the resolution itself fails. To take the new versions: bash scripts/lock.sh, then run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash scripts/lock.sh "$tmp" 2>/dev/null
pins() { grep -E '^[A-Za-z0-9_.-]+==' "$1" | sed 's/ .*//' | sort; }
moved=0
for lock in requirements/*.txt; do
  name=$(basename "$lock")
  if ! diff <(pins "$lock") <(pins "$tmp/$name") >"$tmp/$name.diff"; then
    moved=1
    echo "$name: pinned (<) -> newest (>)"
    grep -E '^[<>]' "$tmp/$name.diff" | sed 's/^/  /'
  fi
done
[ "$moved" = 1 ] || echo "every pinned set is at the newest versions its ranges allow"
