#!/usr/bin/env bash
# The test command: set up what is missing, then lint (ruff), type-check (mypy --strict) and run the
# pytest suite (the slow system tests in tests/system have their own script, scripts/test_system.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_dev.sh
.venv/bin/ruff check edgepose tests scripts tools
.venv/bin/ruff format --check edgepose tests scripts tools
.venv/bin/mypy
.venv/bin/python -m pytest -q -ra --ignore=tests/system "$@"
