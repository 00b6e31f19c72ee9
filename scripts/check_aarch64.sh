#!/usr/bin/env bash
# Prove edgepose on the Raspberry Pi's architecture without a Pi: install edgepose for aarch64 the way
# a Pi gets it, run `edgepose detect` and `edgepose track` under qemu-user, and compare the poses with
# the same commands on this x86_64 machine using the same package versions. Prints the largest
# landmark difference and exits non-zero when a comparison is past its tolerance or finds other people.
#
# Dependency profiles, each pinned (exact versions and hashes) in requirements/<arch>-<profile>.txt by
# scripts/lock.sh, for aarch64 and for x86_64, and installed by pip *inside* the emulated Python for
# aarch64, so the check does not move when the registries do:
#   pios  what scripts/install.sh gives on Raspberry Pi OS bookworm: a --system-site-packages venv
#         that keeps Debian's numpy 1.24.2 (python3-numpy, pulled in by python3-picamera2), with the
#         newest OpenCV that still supports numpy 1.x. The full comparison runs here.
#   pip   plain `pip install edgepose` in an empty venv (numpy 2). Still images only.
# Cached under $EDGEPOSE_AARCH64_DIR (default <edgepose cache>/aarch64):
#   root/                 Debian bookworm arm64 (debootstrap --foreign, minbase + python3.11, as
#                         Pi OS), with a Raspberry Pi /proc/cpuinfo (see write_cpuinfo for why);
#   site-<arch>-<profile>-<hash>/  the dependencies, keyed by the wheel's requirements and constraints;
#   app/                  this checkout's edgepose wheel (pure Python, rebuilt every run).
# Environment: EDGEPOSE_AARCH64_PROFILES (default "pios pip"), EDGEPOSE_AARCH64_CPU (qemu CPU model;
# default cortex-a72 = Pi 4), EDGEPOSE_AARCH64_DETECT_CPUS (for detect at the default precision;
# default "cortex-a72 cortex-a76" = Pi 4 and Pi 5), EDGEPOSE_AARCH64_FRAMES (clip length, default
# 24), EDGEPOSE_AARCH64_TFLITE_RUNTIME=0 (skip the tflite-runtime runs), DEBIAN_MIRROR, PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-$REPO/.venv/bin/python}
QEMU=${QEMU_AARCH64:-qemu-aarch64-static}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PROFILES=${EDGEPOSE_AARCH64_PROFILES:-pios pip}
TRACK_CPU=${EDGEPOSE_AARCH64_CPU:-cortex-a72}
DETECT_CPUS=${EDGEPOSE_AARCH64_DETECT_CPUS:-cortex-a72 cortex-a76}
FRAMES=${EDGEPOSE_AARCH64_FRAMES:-24}
PIOS_NUMPY=1.24.2 # Debian bookworm's python3-numpy (1:1.24.2-1+deb12u1), which Pi OS bookworm ships
ROOT_VERSION=1    # bump to rebuild cached roots when the recipe below changes

# Tolerances (docs/aarch64.md says what is compared and why). Both sides read bit-identical pixels,
# so detect (each image once through detector and landmark model) differs only by the order of float
# operations in XNNPACK's x86 and NEON kernels (int8: plus requantisation steps that differ). Most
# landmarks move ~0.01 px, but a single landmark can jump a few pixels when its heatmap-refinement
# window lands one cell over: any change in float arithmetic does that (on x86 alone, too). So the
# bound is on each pose's mean visible-landmark difference, in % of the person's height, which
# measures the pipeline; the largest single landmark is printed for every comparison and not judged.
# track feeds each frame's landmarks into the next frame's crop, a loop that amplifies any tiny
# difference (x86 alone moves ~1% of the person's height when 1% of the pixels change by one grey
# level; the check prints that too): each pose's mean within 2% of its height.
TOL_DETECT_FLOAT="--tolerance-mean-height-pct ${EDGEPOSE_AARCH64_TOL_DETECT_FLOAT_MEAN_PCT:-0.25}"
# int8 detect: the models agree within 2e-3 on identical tensors (checked below, the tight check), but
# lite's float stem output moves by float-kernel bits into its int8 body; on basketball2's half-hidden
# person that moves a pose mean by up to ~3%, while float alone with other package versions on x86
# moves the same pose 2.49% (the context line).
TOL_DETECT_INT8="--tolerance-mean-height-pct ${EDGEPOSE_AARCH64_TOL_DETECT_INT8_MEAN_PCT:-4}"
TOL_TRACK="--tolerance-mean-height-pct ${EDGEPOSE_AARCH64_TOL_TRACK_MEAN_PCT:-2}"
TOL_TRACK_INT8="--tolerance-mean-height-pct ${EDGEPOSE_AARCH64_TOL_TRACK_INT8_MEAN_PCT:-5}"
# The int8 models on identical input tensors: largest absolute difference of any output value.
TOL_MODEL_OUTPUTS=${EDGEPOSE_AARCH64_TOL_MODEL_OUTPUTS:-2e-3}

log() { echo "check_aarch64: $*" >&2; }
die() {
  log "$1"
  exit "${2:-1}"
}
elapsed() { echo "$((SECONDS - $1))s"; }
quiet_pip() { grep -v -e 'is ignored' -e 'WARNING: Target directory' -e 'dependency resolver' \
  -e 'requires numpy' -e 'incompatible' >&2 || true; }

[ -x "$PY" ] || die "no x86 Python at $PY (run scripts/setup_dev.sh)" 69
command -v "$QEMU" >/dev/null || die "$QEMU not found: apt-get install qemu-user-static" 69
DEBOOTSTRAP=$(command -v debootstrap || echo /usr/sbin/debootstrap)
[ -x "$DEBOOTSTRAP" ] || die "debootstrap not found: apt-get install debootstrap" 69

CACHE=$("$PY" -c 'from edgepose.paths import cache_dir; print(cache_dir())')
BASE=${EDGEPOSE_AARCH64_DIR:-$CACHE/aarch64}
ROOT=$BASE/root
WORK=$BASE/work
MODELS=$WORK/models
mkdir -p "$BASE" "$WORK"
# Both sides read one snapshot of the bundled (int8) models, taken now, like the code (app/ below).
rm -rf "$MODELS"
cp -a "$REPO/models" "$MODELS"
START=$SECONDS

# --- the arm64 root -----------------------------------------------------------------------------
build_root() {
  local tmp=$BASE/root.partial t0=$SECONDS pkg deb
  [ "$(id -u)" = 0 ] || die "building the arm64 root needs root (debootstrap); run this once as root" 77
  log "building the arm64 bookworm root (debootstrap --foreign, minbase + python3.11)"
  rm -rf "$tmp" "$ROOT"
  if ! "$DEBOOTSTRAP" --foreign --arch=arm64 --variant=minbase --include=python3.11 \
    bookworm "$tmp" "$MIRROR" >"$BASE/debootstrap.log" 2>&1; then
    tail -n 20 "$BASE/debootstrap.log" >&2
    die "debootstrap failed (log: $BASE/debootstrap.log)"
  fi
  # --foreign unpacks only the essential packages; unpack the rest of the base set (python3.11 and
  # its libraries) the same way, keeping the merged-/usr symlinks (/lib -> usr/lib).
  for pkg in $(cat "$tmp/debootstrap/base"); do
    deb=$(ls "$tmp/var/cache/apt/archives/${pkg}"_*.deb)
    dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$tmp"
  done
  rm -f "$tmp"/var/cache/apt/archives/*.deb
  # qemu-user looks guest paths up under -L ROOT first: a real directory lets the cpuinfo file below
  # shadow the host's (debootstrap made proc a symlink to the host's /proc).
  rm -f "$tmp/proc"
  mkdir -p "$tmp/proc"
  echo "$ROOT_VERSION" >"$tmp/.edgepose-root"
  mv "$tmp" "$ROOT"
  log "root ready in $(elapsed "$t0") ($(du -sh "$ROOT" | cut -f1))"
}

if [ "$(cat "$ROOT/.edgepose-root" 2>/dev/null || true)" != "$ROOT_VERSION" ]; then
  build_root
fi

# qemu-user 7.x hands the guest the host's x86 /proc/cpuinfo. The cpuinfo library inside LiteRT 2.x's
# XNNPACK finds no ARM cores in it and dereferences a null pointer (segfault while the interpreter is
# created). On a Pi the kernel lists ARM cores, so show the guest what a Pi shows: as many cores as
# the host's sysfs (cpuinfo cross-checks it), with the Pi 4's Cortex-A72 or the Pi 5's Cortex-A76
# ids. The instruction set features themselves come from qemu's -cpu model (AT_HWCAP).
write_cpuinfo() {
  local cpu=$1 part variant revision features i n
  case "$cpu" in
    cortex-a72) part=0xd08 variant=0x0 revision=3 features="fp asimd evtstrm crc32 cpuid" ;;
    cortex-a76)
      part=0xd0b variant=0x4 revision=1
      features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
      ;;
    *) die "unknown qemu CPU $cpu (use cortex-a72 or cortex-a76)" 64 ;;
  esac
  n=$(getconf _NPROCESSORS_CONF)
  {
    for ((i = 0; i < n; i++)); do
      printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\n' "$i" "$features"
      printf 'CPU architecture: 8\nCPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %s\n\n' "$variant" "$part" "$revision"
    done
    printf 'Model\t\t: Raspberry Pi (emulated %s)\n' "$cpu"
  } >"$ROOT/proc/cpuinfo"
}

guest() { # cpu args...: the aarch64 Python under qemu-user
  local cpu=$1
  shift
  write_cpuinfo "$cpu"
  QEMU_CPU=$cpu PYTHONNOUSERSITE=1 PYTHONSAFEPATH=1 "$QEMU" -L "$ROOT" "$ROOT/usr/bin/python3.11" "$@"
}

# --- pip for the guest, this checkout as a wheel, the dependency sites ------------------------------
PIP_VERSION=$("$PY" -m pip --version | awk '{print $2}')
PIP_WHEEL=$(ls "$BASE"/pip/pip-"$PIP_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$PIP_WHEEL" ]; then
  "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$BASE/pip" "pip==$PIP_VERSION" 2>&1 | quiet_pip
  PIP_WHEEL=$(ls "$BASE"/pip/pip-"$PIP_VERSION"-*.whl | head -n 1)
fi

t0=$SECONDS
rm -rf "$WORK/dist" "$BASE/app"
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/dist" "$REPO" 2>&1 | quiet_pip
WHEEL=$(ls "$WORK"/dist/edgepose-*.whl)
# A pure-Python wheel: one install serves both interpreters. It is what runs (PYTHONSAFEPATH keeps
# `python -m` from importing the checkout in the working directory instead), so edits made to the
# tree while the check runs cannot mix two versions of the code.
guest "$TRACK_CPU" "$PIP_WHEEL/pip" install -q --target "$BASE/app" --no-deps --no-compile \
  --root-user-action=ignore "$WHEEL" 2>&1 | quiet_pip
[ -d "$BASE/app/edgepose" ] || die "the edgepose wheel did not install into $BASE/app"
log "edgepose wheel built and installed in $(elapsed "$t0")"

lock_for() { # arch profile: the pinned dependency set
  local lock=$REPO/requirements/$1-$2.txt
  [ -f "$lock" ] || die "no pinned set $lock (profiles: pios, pip; refresh with scripts/lock.sh)" 64
  echo "$lock"
}

# site_dir ARCH PROFILE: the cached site-packages with edgepose's pinned dependencies (built when
# missing). aarch64 sites are installed by pip inside the emulated Python, x86 ones by the host pip.
site_dir() {
  local arch=$1 profile=$2 lock key dir t1
  lock=$(lock_for "$arch" "$profile")
  key=$(cat "$lock" <(echo "$PIP_VERSION") | sha256sum | cut -c1-12)
  dir=$BASE/site-$arch-$profile-$key-r$ROOT_VERSION
  if [ ! -f "$dir/.complete" ]; then
    t1=$SECONDS
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    local -a pip_args=(install --target "$dir.partial" --only-binary=:all: --no-deps --require-hashes
      --no-compile --progress-bar off --root-user-action=ignore -r "$lock")
    if [ "$arch" = aarch64 ]; then
      guest "$TRACK_CPU" "$PIP_WHEEL/pip" "${pip_args[@]}" >"$BASE/pip-$arch-$profile.log" 2>&1 || true
    else
      "$PY" -m pip "${pip_args[@]}" >"$BASE/pip-$arch-$profile.log" 2>&1 || true
    fi
    if ! grep -q '^Successfully installed' "$BASE/pip-$arch-$profile.log"; then
      grep -v 'is ignored' "$BASE/pip-$arch-$profile.log" | tail -n 20 >&2
      die "pip could not install the pinned set $lock for $arch (log: $BASE/pip-$arch-$profile.log)"
    fi
    rm -rf "$dir.partial/bin"
    find "$BASE" -maxdepth 1 -name "site-$arch-$profile-*" -not -name "site-$arch-$profile-$key-*" \
      -exec rm -rf {} +
    touch "$dir.partial/.complete"
    mv "$dir.partial" "$dir"
    log "$arch site-packages ($profile) installed from $(basename "$lock") in $(elapsed "$t1")"
  fi
  echo "$dir"
}

dist_versions() { (cd "$1" && ls -d ./*.dist-info | sed -e 's|^\./||' -e 's|\.dist-info$||' | sort); }

# --- inputs ---------------------------------------------------------------------------------------
MEDIA=$("$PY" -c 'from edgepose.paths import media_dir; print(media_dir())')
[ -f "$MEDIA/pan_zidane.avi" ] || "$PY" scripts/fetch_media.py >/dev/null
IMAGES=("$MEDIA/messi5.jpg" "$MEDIA/basketball2.png" "$MEDIA/bus.jpg") # 4 people: 1, 2 and 1
CLIP=$WORK/pan_zidane_${FRAMES}f.avi
PERTURBED=$WORK/pan_zidane_${FRAMES}f_perturbed.avi
[ -f "$CLIP" ] || "$PY" scripts/aarch64/make_clip.py "$MEDIA/pan_zidane.avi" "$CLIP" --frames "$FRAMES"
[ -f "$PERTURBED" ] || "$PY" scripts/aarch64/make_clip.py "$MEDIA/pan_zidane.avi" "$PERTURBED" \
  --frames "$FRAMES" --perturb-fraction 0.01

PRECISIONS=(float)
if [ -f "$MODELS/pose_detection_int8.tflite" ] && [ -f "$MODELS/pose_landmark_lite_int8.tflite" ]; then
  PRECISIONS+=(int8)
else
  log "no int8 models in models/: comparing float only"
fi
# The CLI's default precision is also run on the Pi 5's CPU model (other kernels, e.g. int8 dot products).
DEFAULT_PRECISION=$(PYTHONPATH="$BASE/app" PYTHONSAFEPATH=1 "$PY" -c \
  'from edgepose.pose.landmarker import DEFAULT_PRECISION; print(DEFAULT_PRECISION.value)')

# --- run both sides and compare -------------------------------------------------------------------
failures=0
RESULTS=$WORK/results.jsonl
: >"$RESULTS"

x86_edgepose() { # site args...
  local site=$1
  shift
  PYTHONPATH="$BASE/app:$site" PYTHONNOUSERSITE=1 PYTHONSAFEPATH=1 EDGEPOSE_CACHE_DIR="$CACHE" \
    EDGEPOSE_MODEL_DIR="$MODELS" "$PY" -m edgepose "$@"
}
arm_edgepose() { # site cpu args...
  local site=$1 cpu=$2
  shift 2
  PYTHONPATH="$BASE/app:$site" EDGEPOSE_CACHE_DIR="$CACHE" EDGEPOSE_MODEL_DIR="$MODELS" \
    guest "$cpu" -m edgepose "$@"
}
run_pair() { # label cpu "tolerance-args" edgepose-args...  (uses X86_SITE, ARM_SITE, PROFILE)
  local label="$PROFILE: $1" cpu=$2 name t1
  local -a tol
  name=$(echo "$PROFILE $1 $cpu" | tr ' ' '_')
  read -r -d '' -a tol <<<"$3" || true
  shift 3
  if ! x86_edgepose "$X86_SITE" "$@" >"$WORK/x86_$name.jsonl" 2>"$WORK/x86_$name.err"; then
    tail -n 20 "$WORK/x86_$name.err" >&2
    log "$label: edgepose failed on x86"
    failures=$((failures + 1))
    return
  fi
  t1=$SECONDS
  if ! arm_edgepose "$ARM_SITE" "$cpu" "$@" >"$WORK/arm_$name.jsonl" 2>"$WORK/arm_$name.err"; then
    tail -n 20 "$WORK/arm_$name.err" >&2
    log "$label: edgepose failed under qemu ($cpu)"
    failures=$((failures + 1))
    return
  fi
  log "$label ($cpu): aarch64 run took $(elapsed "$t1")"
  if ! "$PY" scripts/aarch64/compare.py "$WORK/x86_$name.jsonl" "$WORK/arm_$name.jsonl" \
    --label "$label ($cpu)" --json "$RESULTS" "${tol[@]}"; then
    failures=$((failures + 1))
  fi
}
context() { # label reference other: a difference printed for context, not judged
  { "$PY" scripts/aarch64/compare.py "$2" "$3" --tolerance-mean-height-pct 100 --label "context: $1" ||
    true; } | sed -e 's/: ok: /: /' -e 's/: FAIL: /: /' -e 's/ (tolerance [^)]*)//'
}

# The int8 files alone, fed the same tensors on both sides (uses X86_SITE, ARM_SITE, PROFILE).
compare_model_outputs() {
  local spec model inputs size signed name t1
  for spec in "pose_landmark_lite_int8.tflite 256" "pose_detection_int8.tflite 224 --signed"; do
    read -r model size signed <<<"$spec"
    inputs=$WORK/inputs_$size.npy
    name=$(echo "$PROFILE $model" | tr ' ' '_')
    "$PY" scripts/aarch64/model_outputs.py inputs "$MEDIA" "$inputs" --size "$size" ${signed:+"$signed"}
    PYTHONPATH="$BASE/app:$X86_SITE" PYTHONNOUSERSITE=1 "$PY" scripts/aarch64/model_outputs.py \
      run "$MODELS/$model" "$inputs" "$WORK/x86_$name.npz" 2>/dev/null
    t1=$SECONDS
    if ! PYTHONPATH="$BASE/app:$ARM_SITE" guest "$TRACK_CPU" scripts/aarch64/model_outputs.py \
      run "$MODELS/$model" "$inputs" "$WORK/arm_$name.npz" 2>"$WORK/arm_$name.err"; then
      tail -n 20 "$WORK/arm_$name.err" >&2
      log "$PROFILE: $model failed under qemu ($TRACK_CPU)"
      failures=$((failures + 1))
      continue
    fi
    log "$PROFILE: $model outputs ($TRACK_CPU): aarch64 run took $(elapsed "$t1")"
    "$PY" scripts/aarch64/model_outputs.py compare "$WORK/x86_$name.npz" "$WORK/arm_$name.npz" \
      --tolerance "$TOL_MODEL_OUTPUTS" --label "$PROFILE: $model on identical inputs ($TRACK_CPU)" ||
      failures=$((failures + 1))
  done
}

FIRST_PROFILE=""
for PROFILE in $PROFILES; do
  ARM_SITE=$(site_dir aarch64 "$PROFILE")
  X86_SITE=$(site_dir x86_64 "$PROFILE")
  if ! diff <(dist_versions "$X86_SITE") <(dist_versions "$ARM_SITE") >"$WORK/versions-$PROFILE.diff"; then
    log "$PROFILE: x86 and aarch64 resolved different versions (compared anyway):"
    cat "$WORK/versions-$PROFILE.diff" >&2
  fi
  log "$PROFILE: aarch64 dependencies as pip resolved them: $(dist_versions "$ARM_SITE" | tr '\n' ' ')"
  # The line a Pi user sees from `edgepose check`: runtime, version, machine, Python, numpy.
  line=$(PYTHONPATH="$BASE/app:$ARM_SITE" guest "$TRACK_CPU" -m edgepose check --only runtime |
    grep -E '^[a-zA-Z]+ +runtime ' || true)
  log "$PROFILE: guest: ${line:-no runtime line from edgepose check}"
  [[ "$line" == ok* ]] || die "$PROFILE: edgepose check under qemu finds no usable runtime"

  for precision in "${PRECISIONS[@]}"; do
    tol=$TOL_DETECT_FLOAT
    [ "$precision" = int8 ] && tol=$TOL_DETECT_INT8
    cpus=$TRACK_CPU
    [ -z "$FIRST_PROFILE" ] && [ "$precision" = "$DEFAULT_PRECISION" ] && cpus=$DETECT_CPUS
    for cpu in $cpus; do
      run_pair "detect lite $precision" "$cpu" "$tol" \
        detect --model lite --precision "$precision" --num-poses 2 "${IMAGES[@]}"
    done
    [ -n "$FIRST_PROFILE" ] && continue
    track_tol=$TOL_TRACK
    [ "$precision" = int8 ] && track_tol=$TOL_TRACK_INT8
    run_pair "track lite $precision" "$TRACK_CPU" "$track_tol" \
      track --model lite --precision "$precision" "$CLIP"
    x86_edgepose "$X86_SITE" track --model lite --precision "$precision" "$PERTURBED" 2>/dev/null |
      sed "s|$PERTURBED|$CLIP|" >"$WORK/x86_perturbed_$precision.jsonl"
    context "x86 track lite $precision vs x86 on the clip with 1% of pixels +1 grey level" \
      "$WORK/x86_${PROFILE}_track_lite_${precision}_$TRACK_CPU.jsonl" "$WORK/x86_perturbed_$precision.jsonl"
  done
  if [ -z "$FIRST_PROFILE" ]; then
    run_pair "detect full float" "$TRACK_CPU" "$TOL_DETECT_FLOAT" \
      detect --model full --precision float --num-poses 2 "${IMAGES[@]}"
    [[ " ${PRECISIONS[*]} " == *" int8 "* ]] && compare_model_outputs
    FIRST_PROFILE=$PROFILE
    PIOS_SITE=$ARM_SITE
  else
    context "x86 detect lite float, $FIRST_PROFILE vs $PROFILE package versions" \
      "$WORK/x86_${FIRST_PROFILE}_detect_lite_float_$TRACK_CPU.jsonl" \
      "$WORK/x86_${PROFILE}_detect_lite_float_$TRACK_CPU.jsonl"
  fi
done

# --- the other runtime: tflite-runtime 2.14 (EDGEPOSE_TFLITE_RUNTIME) on aarch64 -------------------
# It is what armv7l gets; on aarch64 it must work with numpy 1.x and be refused, with the fix, by
# `edgepose check` next to numpy 2.
if [ -n "${PIOS_SITE:-}" ] && [ "${EDGEPOSE_AARCH64_TFLITE_RUNTIME:-1}" = 1 ]; then
  TFL_SITE=$BASE/site-aarch64-tflite-runtime-2.14.0
  if [ ! -d "$TFL_SITE/tflite_runtime" ]; then
    guest "$TRACK_CPU" "$PIP_WHEEL/pip" install -q --target "$TFL_SITE" --only-binary=:all: --no-deps \
      --no-compile --root-user-action=ignore "tflite-runtime==2.14.0" 2>&1 | quiet_pip
  fi
  numpy2_site=$(ls -d "$BASE"/site-aarch64-pip-* 2>/dev/null | head -n 1 || true)
  if [ -n "$numpy2_site" ]; then
    line=$(PYTHONPATH="$BASE/app:$TFL_SITE:$numpy2_site" EDGEPOSE_TFLITE_RUNTIME=tflite_runtime \
      guest "$TRACK_CPU" -m edgepose check --only runtime | grep -E '^[a-zA-Z]+ +runtime ' || true)
    log "tflite-runtime with numpy 2: guest: $line"
    if [[ "$line" != FAIL*"numpy<2"* ]]; then
      log "edgepose check should refuse tflite-runtime next to numpy 2, naming the fix"
      failures=$((failures + 1))
    fi
  fi
  line=$(PYTHONPATH="$BASE/app:$TFL_SITE:$PIOS_SITE" EDGEPOSE_TFLITE_RUNTIME=tflite_runtime \
    guest "$TRACK_CPU" -m edgepose check --only runtime | grep -E '^[a-zA-Z]+ +runtime ' || true)
  log "tflite-runtime with numpy 1.24: guest: $line"
  name=tflite_runtime_detect_lite_float
  if PYTHONPATH="$BASE/app:$TFL_SITE:$PIOS_SITE" EDGEPOSE_TFLITE_RUNTIME=tflite_runtime \
    EDGEPOSE_CACHE_DIR="$CACHE" EDGEPOSE_MODEL_DIR="$MODELS" guest "$TRACK_CPU" -m edgepose \
    detect --model lite --precision float --num-poses 2 "${IMAGES[@]}" >"$WORK/arm_$name.jsonl" 2>"$WORK/arm_$name.err"; then
    # shellcheck disable=SC2086 # the tolerance is a list of options
    "$PY" scripts/aarch64/compare.py "$WORK/x86_${FIRST_PROFILE}_detect_lite_float_$TRACK_CPU.jsonl" \
      "$WORK/arm_$name.jsonl" --label "pios: detect lite float, tflite-runtime 2.14 on aarch64 vs x86" \
      --json "$RESULTS" $TOL_DETECT_FLOAT || failures=$((failures + 1))
  else
    tail -n 20 "$WORK/arm_$name.err" >&2
    log "edgepose detect with tflite-runtime failed under qemu"
    failures=$((failures + 1))
  fi
fi

log "largest visible landmark difference aarch64 vs x86: $("$PY" scripts/aarch64/compare.py --summary "$RESULTS")"
log "total $(elapsed "$START")"
[ "$failures" -eq 0 ] || die "$failures comparison(s) failed" 1
log "ok"
