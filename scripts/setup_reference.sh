#!/usr/bin/env bash
# Build the MediaPipe reference (mediapipe==0.10.21, legacy mp.solutions.pose) in its own virtualenv,
# $EDGEPOSE_CACHE_DIR/mediapipe-ref (default ~/.cache/edgepose/mediapipe-ref), for the fidelity tests
# and scripts/bench_vs_mediapipe.py. It needs numpy<2 and its own OpenCV, so it cannot share .venv.
# Idempotent and quiet; the lite/heavy landmark models are copied in from the float model cache
# (mediapipe would otherwise try to download them on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${EDGEPOSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/edgepose}
REF="$CACHE/mediapipe-ref"
FLOAT="$CACHE/models/float"
PY=${PYTHON:-python3}

if [ ! -x "$REF/bin/python" ]; then
  "$PY" -m venv "$REF"
fi
# Reinstalled when the pins (requirements/reference.txt, from scripts/lock.sh) change.
want=$(sha256sum requirements/reference.txt | cut -c1-64)
if [ "$(cat "$REF/.requirements.sha256" 2>/dev/null || true)" != "$want" ] ||
  ! "$REF/bin/python" -c "import mediapipe" >/dev/null 2>&1; then
  log="$REF/pip.log"
  if ! { "$REF/bin/python" -m pip install -q "pip==26.3" && \
         "$REF/bin/python" -m pip install -q --require-hashes --only-binary=:all: \
           -r requirements/reference.txt; } >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
  echo "$want" >"$REF/.requirements.sha256"
fi
MODULES=$("$REF/bin/python" -c "import mediapipe, os; print(os.path.join(os.path.dirname(mediapipe.__file__), 'modules', 'pose_landmark'))" 2>/dev/null)
for variant in lite heavy; do
  target="$MODULES/pose_landmark_${variant}.tflite"
  if [ ! -f "$target" ]; then
    if [ -f "$FLOAT/pose_landmark_${variant}.tflite" ]; then
      cp "$FLOAT/pose_landmark_${variant}.tflite" "$target"
    else
      echo "setup_reference: $FLOAT/pose_landmark_${variant}.tflite missing (run scripts/build_models.py --precision float)" >&2
    fi
  fi
done
