#!/usr/bin/env python3
"""Raw outputs of one model file on fixed inputs, and their comparison between two machines.

    model_outputs.py inputs MEDIA OUT.npy --size 256 [--signed]   # crops of the media, [0, 1] or [-1, 1]
    model_outputs.py run MODEL INPUTS.npy OUT.npz             # each side: every output per input
    model_outputs.py compare REF.npz OTHER.npz --tolerance 2e-3 --label TEXT

The pipeline comparisons (compare.py) judge whole poses, where any sub-pixel difference of a ROI
is amplified by the landmark model; this one feeds both sides the same tensors and judges the
model's own arithmetic, so it can be tight.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_NAMES = ("messi5.jpg", "basketball2.png", "bus.jpg")


def make_inputs(media: Path, out: Path, size_px: int, signed: bool) -> int:
    """Square crops (left, middle, right) of each image scaled to size_px, in [0, 1] or [-1, 1]."""
    import cv2

    crops = []
    for name in IMAGE_NAMES:
        bgr = cv2.imread(str(media / name))
        if bgr is None:
            raise SystemExit(f"model_outputs: cannot read {media / name}")
        image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        height, width = image.shape[:2]
        side = min(height, width)
        for x0 in (0, (width - side) // 2, width - side):
            crop = image[(height - side) // 2 : (height - side) // 2 + side, x0 : x0 + side]
            resized = cv2.resize(crop, (size_px, size_px), interpolation=cv2.INTER_AREA)
            unit = resized.astype(np.float32) / 255.0
            crops.append(unit * 2.0 - 1.0 if signed else unit)
    np.save(out, np.stack(crops))
    return len(crops)


def run(model: Path, inputs: Path, out: Path) -> int:
    """Every output of `model` for every input, saved by output index."""
    from edgepose.inference.runtime import make_interpreter

    interpreter = make_interpreter(model, num_threads=1)
    detail = interpreter.get_input_details()[0]
    outputs: dict[str, list[np.ndarray]] = {}
    for x in np.load(inputs):
        interpreter.set_tensor(detail["index"], x[None].astype(detail["dtype"]))
        interpreter.invoke()
        for i, d in enumerate(interpreter.get_output_details()):
            outputs.setdefault(f"output{i}", []).append(interpreter.get_tensor(d["index"]).copy())
    arrays: dict[str, Any] = {k: np.stack(v) for k, v in outputs.items()}
    np.savez(out, **arrays)
    return len(outputs)


def compare(reference: Path, other: Path, tolerance: float, label: str) -> bool:
    """Print the largest absolute difference per output; True when all are within tolerance."""
    ref, got = np.load(reference), np.load(other)
    missing = sorted(set(ref.files) ^ set(got.files))
    worst = 0.0
    parts = [f"{key} only on one side" for key in missing]
    for key in sorted(set(ref.files) & set(got.files)):
        diff = float(np.abs(ref[key].astype(np.float64) - got[key].astype(np.float64)).max())
        worst = max(worst, diff)
        parts.append(f"{key} {list(ref[key].shape[1:])} max diff {diff:.3g}")
    ok = worst <= tolerance and not missing
    print(f"{label}: {'ok' if ok else 'FAIL'}: {'; '.join(parts)} (tolerance {tolerance:g})")
    return ok


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("inputs")
    p.add_argument("media", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--signed", action="store_true", help="values in [-1, 1] (the detector's range)")
    p = sub.add_parser("run")
    p.add_argument("model", type=Path)
    p.add_argument("inputs", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("compare")
    p.add_argument("reference", type=Path)
    p.add_argument("other", type=Path)
    p.add_argument("--tolerance", type=float, required=True)
    p.add_argument("--label", default="model outputs")
    args = parser.parse_args()
    if args.command == "inputs":
        make_inputs(args.media, args.out, args.size, args.signed)
        return 0
    if args.command == "run":
        run(args.model, args.inputs, args.out)
        return 0
    return 0 if compare(args.reference, args.other, args.tolerance, args.label) else 1


if __name__ == "__main__":
    sys.exit(main())
