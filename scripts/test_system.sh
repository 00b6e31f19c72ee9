#!/usr/bin/env bash
# The slow system tests (tests/system/): real systemd as PID 1 in a container, and the like.
# scripts/test.sh (the fast suite) sets up the environment first; .ci/run calls both.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup_dev.sh
if [ -z "$(find tests/system -name 'test_*.py' -print -quit 2>/dev/null)" ]; then
  echo "test_system: no system tests in tests/system" >&2
  exit 0
fi
exec .venv/bin/python -m pytest -q -ra tests/system "$@"
