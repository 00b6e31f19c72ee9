#!/usr/bin/env bash
# Refresh the pinned dependency sets CI installs (requirements/*.txt), on purpose, in one command:
#   bash scripts/lock.sh
# Each set is resolved for CPython 3.11.2 (bookworm's) on its platform by `uv pip compile` (uv is pip-installed into a
# throw-away virtualenv, pinned below), with exact versions and sha256 hashes of every wheel, from the
# ranges in pyproject.toml. The user install (`pip install .`) keeps those ranges; only CI is pinned.
# Review `git diff requirements/` afterwards and run the tests: a moved pin can move figures.
# scripts/check_newest.sh reports what would move without changing anything.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
OUT=${1:-requirements}
PY=${PYTHON:-python3}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/uv"
"$tmp/uv/bin/python" -m pip install -q "uv==$UV_VERSION" 2>&1 | grep -v 'is ignored' >&2 || true
UV=$tmp/uv/bin/uv
mkdir -p "$OUT"

# Where uv's resolver and pip disagree, pip (which installs the sets) wins: backports-strenum 1.3.1
# requires Python <3.11 in its wheel metadata, but the index does not say so and uv picks it.
printf 'backports-strenum<1.3\n' >"$tmp/pip-agrees.txt"

compile() { # output platform [uv pip compile args...]
  local out=$1 platform=$2
  shift 2
  "$UV" pip compile --quiet --python-version 3.11.2 --python-platform "$platform" --only-binary :all: \
    --generate-hashes --no-header --annotation-style line -c "$tmp/pip-agrees.txt" "$@" -o "$OUT/$out"
  echo "lock: $OUT/$out ($(grep -c '==' "$OUT/$out") packages, $platform)" >&2
}

# The test environment (.venv): edgepose[dev], plus hatchling and editables (its editable-install
# helper) so the editable install needs no
# unpinned build environment.
printf 'hatchling\neditables\n' >"$tmp/build.in"
compile dev.txt x86_64-manylinux_2_36 pyproject.toml "$tmp/build.in" --extra dev
# The MediaPipe 0.10.21 reference virtualenv (scripts/setup_reference.sh).
printf 'mediapipe==0.10.21\nnumpy<2\n' >"$tmp/reference.in"
compile reference.txt x86_64-manylinux_2_36 "$tmp/reference.in"
# The aarch64 check's two dependency profiles, each for aarch64 (the Pi) and x86_64 (the comparison):
#   pios: Raspberry Pi OS bookworm keeps Debian's numpy 1.24.2 (python3-numpy, pulled in by
#         python3-picamera2) in a --system-site-packages venv;
#   pip:  a plain `pip install edgepose` in an empty venv.
printf 'numpy==1.24.2\n' >"$tmp/pios.in"
for arch in aarch64 x86_64; do
  compile "$arch-pios.txt" "$arch-manylinux_2_36" pyproject.toml -c "$tmp/pios.in"
  compile "$arch-pip.txt" "$arch-manylinux_2_36" pyproject.toml
done
