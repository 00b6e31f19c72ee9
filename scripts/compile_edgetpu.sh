#!/usr/bin/env bash
# Compile the full-integer models in models/ for the Coral EdgeTPU with Google's edgetpu_compiler.
#
#   bash scripts/compile_edgetpu.sh [MODELS_DIR]
#
# Input:  models/pose_detection_int8_full.tflite, models/pose_landmark_{lite,full,heavy}_int8_full.tflite
# Output: models/pose_detection_int8_edgetpu.tflite, models/pose_landmark_{v}_int8_edgetpu.tflite
#         (the names edgepose.inference.models.model_filename(..., edgetpu=True) expects) and the
#         compiler's .log per model, which lists the ops that stay on the CPU.
# edgetpu_compiler runs on x86_64 Debian/Ubuntu only (apt package edgetpu-compiler from
# packages.cloud.google.com); compile there and copy the *_edgetpu.tflite files to the Pi.
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${1:-models}

if ! command -v edgetpu_compiler >/dev/null 2>&1; then
  echo "compile_edgetpu: edgetpu_compiler is not installed; it exists for x86_64 Debian/Ubuntu only:" >&2
  echo "  see https://coral.ai/docs/edgetpu/compiler/ (apt package edgetpu-compiler), then run this again" >&2
  exit 69
fi

shopt -s nullglob
inputs=("$MODELS"/*_int8_full.tflite)
if [ ${#inputs[@]} -eq 0 ]; then
  echo "compile_edgetpu: no *_int8_full.tflite in $MODELS: run python scripts/build_models.py --precision int8" >&2
  exit 66
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for src in "${inputs[@]}"; do
  base=$(basename "$src" .tflite)          # pose_landmark_full_int8_full
  target="${base%_int8_full}_int8_edgetpu" # pose_landmark_full_int8_edgetpu
  echo "compile_edgetpu: $base" >&2
  edgetpu_compiler --out_dir "$work" --show_operations "$src" >"$work/$base.stdout"
  mv "$work/${base}_edgetpu.tflite" "$MODELS/$target.tflite"
  if [ -f "$work/${base}_edgetpu.log" ]; then
    mv "$work/${base}_edgetpu.log" "$MODELS/$target.log"
  fi
  grep -E "Number of operations that will run on Edge TPU|Number of operations that will run on CPU" \
    "$work/$base.stdout" >&2 || true
done
echo "compile_edgetpu: done; compiled models are in $MODELS" >&2
