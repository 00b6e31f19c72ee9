#!/usr/bin/env bash
# Set up a development/test environment on a fresh Debian-like machine, idempotently:
# Debian packages (scripts/apt-packages.txt), a virtualenv in .venv with edgepose[dev],
# the sample media, the float models, and the MediaPipe reference in its own virtualenv.
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
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'

.venv/bin/python scripts/fetch_media.py >/dev/null
if [ -f scripts/build_models.py ]; then
  .venv/bin/python scripts/build_models.py --precision float
fi
if [ -f scripts/setup_reference.sh ]; then
  bash scripts/setup_reference.sh
fi
echo "setup: done" >&2
