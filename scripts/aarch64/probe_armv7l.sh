#!/usr/bin/env bash
# By hand, not in CI: what 32-bit Raspberry Pi OS (armv7l) would get. Builds (once, as root) a Debian
# bookworm armhf root with python3.11 and Debian's numpy 1.24.2 under <edgepose cache>/armv7l, then
#  1. lets pip inside the emulated armv7l Python resolve this checkout's wheel (which runtime the
#     markers pick, and which dependencies have no armv7l wheel on PyPI; Pi OS adds piwheels), and
#  2. runs tflite-runtime's armv7l wheel on the float models (scripts/aarch64/probe_runtime.py) next to
#     the x86 run of the same probe: the output sums must agree to ~6 significant digits.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
PY=${PYTHON:-$REPO/.venv/bin/python}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=$("$PY" -c 'from edgepose.paths import cache_dir; print(cache_dir())')
BASE=${EDGEPOSE_ARMV7L_DIR:-$CACHE/armv7l}
ROOT=$BASE/root
MODELS=$CACHE/models/float
log() { echo "probe_armv7l: $*" >&2; }
command -v qemu-arm-static >/dev/null || {
  log "qemu-arm-static not found: apt-get install qemu-user-static"
  exit 69
}
mkdir -p "$BASE"

if [ ! -f "$ROOT/.edgepose-root" ]; then
  [ "$(id -u)" = 0 ] || {
    log "building the armhf root needs root (debootstrap)"
    exit 77
  }
  rm -rf "$ROOT.partial"
  log "building the armhf bookworm root (python3.11, python3-numpy)"
  "$(command -v debootstrap || echo /usr/sbin/debootstrap)" --foreign --arch=armhf --variant=minbase \
    --include=python3.11,python3-numpy bookworm "$ROOT.partial" "$MIRROR" >"$BASE/debootstrap.log" 2>&1
  for pkg in $(cat "$ROOT.partial/debootstrap/base"); do
    dpkg-deb --fsys-tarfile "$(ls "$ROOT.partial/var/cache/apt/archives/${pkg}"_*.deb)" |
      tar -x --keep-directory-symlink -C "$ROOT.partial"
  done
  rm -f "$ROOT.partial"/var/cache/apt/archives/*.deb
  # Debian links these through update-alternatives in postinst, which --foreign never runs.
  lib=$ROOT.partial/usr/lib/arm-linux-gnueabihf
  ln -sf blas/libblas.so.3 "$lib/libblas.so.3"
  ln -sf lapack/liblapack.so.3 "$lib/liblapack.so.3"
  touch "$ROOT.partial/.edgepose-root"
  mv "$ROOT.partial" "$ROOT"
fi

guest() { PYTHONNOUSERSITE=1 PYTHONSAFEPATH=1 qemu-arm-static -L "$ROOT" "$ROOT/usr/bin/python3.11" "$@"; }

PIP_VERSION=$("$PY" -m pip --version | awk '{print $2}')
"$PY" -m pip download -q --no-deps --only-binary=:all: -d "$BASE/pip" "pip==$PIP_VERSION" 2>&1 |
  grep -v 'is ignored' >&2 || true
PIP_WHEEL=$(ls "$BASE"/pip/pip-"$PIP_VERSION"-*.whl | head -n 1)
rm -rf "$BASE/dist" "$BASE/download"
"$PY" -m pip wheel -q --no-deps -w "$BASE/dist" "$REPO" 2>&1 | grep -v 'is ignored' >&2 || true

log "1. pip inside armv7l resolving edgepose (only PyPI wheels):"
guest "$PIP_WHEEL/pip" download --only-binary=:all: -d "$BASE/download" "$BASE"/dist/edgepose-*.whl 2>&1 |
  grep -v 'is ignored' | grep -E 'Collecting|Saved|ERROR|No matching' >&2 || true

if [ ! -d "$BASE/site/tflite_runtime" ]; then
  guest "$PIP_WHEEL/pip" install -q --target "$BASE/site" --only-binary=:all: --no-deps --no-compile \
    --root-user-action=ignore "tflite-runtime==2.14.0" 2>&1 | grep -v 'is ignored' >&2 || true
fi
log "2. the float models, armv7l (tflite-runtime, Debian numpy) then x86:"
for model in pose_detection pose_landmark_lite; do
  PYTHONPATH=$BASE/site guest "$REPO/scripts/aarch64/probe_runtime.py" "$MODELS/$model.tflite"
  "$PY" scripts/aarch64/probe_runtime.py "$MODELS/$model.tflite" 2>/dev/null
done
