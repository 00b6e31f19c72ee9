#!/usr/bin/env python3
"""Upper-body mode, float and int8, against MediaPipe 0.10.21's full-body model on waist-up images.

  python scripts/eval_upper_body.py [--media DIR] [--out DIR]

Needs the MediaPipe reference virtualenv (bash scripts/setup_reference.sh). Prints Markdown: per
image, whether each pipeline found the person and the error of landmarks 0-16; the means; the int8
landmark model against the float one on the float pipeline's ROI crops; and the int8 rule
(docs/models.md), exiting 1 when it is broken.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from edgepose.paths import cache_dir
from edgepose.types import ImageArray, Precision
from tools.evaluation.upper_body import (
    CropResult,
    compare,
    held_out,
    landmark_model_differences,
    reference_landmarks,
    upper_body_landmarks,
    write_crops,
    write_frames,
)

REPO = Path(__file__).resolve().parents[1]
# The int8 rule of the full-body models (docs/models.md), as it applies to the one upper-body model.
MAX_INT8_EXTRA_ERROR_POINTS = 0.5
MAX_LANDMARK_MODEL_DISTANCE = 0.02
NUM_POSES = 3  # pan_zidane.avi shows up to three people; the one nearest the reference's is compared


def _mean(results: list[CropResult], keep: list[bool]) -> float:
    errors = [r.error for r, k in zip(results, keep, strict=True) if k and r.error is not None]
    return float(np.mean(errors)) * 100 if errors else float("nan")


def main() -> int:
    """Write the images, run the three pipelines, print the tables and the rule."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--media", type=Path, default=cache_dir() / "media")
    parser.add_argument("--out", type=Path, help="keep the images here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgepose-upper-") as tmp:
        folder = args.out or Path(tmp)
        paths = write_crops(args.media, folder) + write_frames(args.media, folder)
        refs = reference_landmarks(
            cache_dir() / "mediapipe-ref" / "bin" / "python", REPO / "scripts" / "reference_pose.py", paths
        )
        crops: list[ImageArray] = []
        floats = compare(paths, refs, upper_body_landmarks(paths, Precision.FLOAT, crops, NUM_POSES))
        int8s = compare(paths, refs, upper_body_landmarks(paths, Precision.INT8, num_poses=NUM_POSES))
    print("| image | held out | MediaPipe full finds | float finds | int8 finds | float error | int8 error |")
    print("|---|---|---|---|---|---:|---:|")
    yes = {True: "yes", False: "no"}
    for path, f, q in zip(paths, floats, int8s, strict=True):
        cells = [f"{r.error * 100:.2f} %" if r.error is not None else "-" for r in (f, q)]
        found = [yes[f.reference_found], yes[f.upper_found], yes[q.upper_found]]
        print(f"| {f.name} | {yes[held_out(path)]} | {' | '.join(found)} | {' | '.join(cells)} |")
    both = [f.error is not None and q.error is not None for f, q in zip(floats, int8s, strict=True)]
    kept = [b and held_out(p) for b, p in zip(both, paths, strict=True)]
    print(
        f"\nmean over the {sum(both)} images all three found: float {_mean(floats, both):.2f} %, "
        f"int8 {_mean(int8s, both):.2f} %"
    )
    extra = _mean(int8s, kept) - _mean(floats, kept)
    print(
        f"held out only ({sum(kept)} images): float {_mean(floats, kept):.2f} %, "
        f"int8 {_mean(int8s, kept):.2f} % (int8 - float {extra:+.2f} points)"
    )
    missed = [
        f.name
        for p, f, q in zip(paths, floats, int8s, strict=True)
        if held_out(p) and f.upper_found and not q.upper_found
    ]
    print(f"persons float finds and int8 misses (held out): {len(missed)} {missed or ''}")
    diffs = landmark_model_differences(crops)
    distances = [d.distance for d in diffs if d.distance is not None]
    mean_distance = float(np.mean(distances)) if distances else float("nan")
    print(
        f"\nlandmark model alone, on the float pipeline's {len(crops)} ROI crops "
        f"({len(distances)} with a person): int8 - float distance {mean_distance * 100:.2f} % of size "
        f"(p90 {float(np.percentile(distances, 90)) * 100 if distances else float('nan'):.2f}), "
        f"presence diff {float(np.mean([d.presence_diff for d in diffs])) if diffs else float('nan'):.3f}"
    )
    ok = extra <= MAX_INT8_EXTRA_ERROR_POINTS and not missed and mean_distance <= MAX_LANDMARK_MODEL_DISTANCE
    print(
        f"\nint8 rule (within {MAX_INT8_EXTRA_ERROR_POINTS} points of float on held-out images, nobody "
        f"float finds missed, landmark model within {MAX_LANDMARK_MODEL_DISTANCE * 100:.0f} % of float): "
        + ("met" if ok else "NOT met")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
