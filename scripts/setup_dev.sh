#!/usr/bin/env bash
# Set up a development/test environment on a fresh Debian-like machine, idempotently:
# Debian packages (scripts/apt-packages.txt), a virtualenv in .venv with edgepose[dev] at the pinned
# versions of requirements/dev.txt (exact versions and hashes; refresh with scripts/lock.sh), the sample
# media, the float models, and the MediaPipe reference in its own virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

mapfile -t APT_PKGS < <(sed -e 's/#.*//' -e '/^\s*$/d' scripts/apt-packages.txt | awk '{print $1}')
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# The pip that installs the pinned sets (and that scripts/check_aarch64.sh hands the emulated Pi).
PIP_VERSION=26.3
pip_quiet() { # pip args...: quiet on success, the whole output (less this machine's index notes) on failure
  local log status=0
  log=$(mktemp)
  .venv/bin/python -m pip "$@" >"$log" 2>&1 || status=$?
  [ "$status" -eq 0 ] || grep -v 'is ignored' "$log" >&2
  rm -f "$log"
  return "$status"
}
pip_quiet install -q "pip==$PIP_VERSION"
# Only when the pins changed: a warm run installs nothing.
stamp=.venv/.requirements-dev.sha256
want=$(sha256sum requirements/dev.txt pyproject.toml | sha256sum | cut -c1-64)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  pip_quiet install -q --require-hashes --only-binary=:all: -r requirements/dev.txt
  pip_quiet install -q --no-deps --no-build-isolation -e .
  .venv/bin/python -m pip check >&2
  echo "$want" >"$stamp"
fi

.venv/bin/python scripts/fetch_media.py >/dev/null
.venv/bin/python -c "from tools.evaluation.datasets import fetch; fetch()"  # real poses (pose-classification-kit)
if [ -f scripts/build_models.py ]; then
  .venv/bin/python scripts/build_models.py --precision float
fi
if [ -f scripts/setup_reference.sh ]; then
  bash scripts/setup_reference.sh
fi
echo "setup: done" >&2
