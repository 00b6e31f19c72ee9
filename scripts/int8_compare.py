#!/usr/bin/env python3
"""Compare pipelines on the held-out media: int8 against float, split by stage, and the float noise floor.

    python scripts/int8_compare.py                 # all variants
    python scripts/int8_compare.py --variants full

A diagnostic (the accuracy table is scripts/accuracy_table.py). Rows (tools/evaluation/fidelity.py):
- `int8`: int8 detector + int8 landmarks against float;
- `det float`: float detector + int8 landmarks; `lm float`: int8 detector + float landmarks;
- `noise sN`: the float pipeline against itself with +-1 grey level of uniform noise (seed N) added to each
  frame (far below a camera's noise): how far float moves from a change no model should care about.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgepose.inference.models import ModelRole, model_path  # noqa: E402
from edgepose.paths import media_dir  # noqa: E402
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions  # noqa: E402
from edgepose.types import ModelVariant, PoseResult, Precision, RunningMode  # noqa: E402
from tools.evaluation.fidelity import Tally, jitter, nearest, relative_distance, unchanged  # noqa: E402
from tools.evaluation.media import HELD_OUT_CLIPS, HELD_OUT_IMAGES, clip, rgb  # noqa: E402

IN_FRAME = 0.7  # share of a float pose's landmarks inside the image to count as "in frame"


def options(
    variant: ModelVariant, mode: RunningMode, detector: Precision, landmark: Precision
) -> PoseLandmarkerOptions:
    return PoseLandmarkerOptions(
        running_mode=mode,
        num_poses=4,
        model=variant,
        smooth_landmarks=False,
        detector_model_path=model_path(ModelRole.DETECTOR, variant, detector),
        landmark_model_path=model_path(ModelRole.LANDMARK, variant, landmark),
    )


class Split:
    """Per float pose: share of its landmarks inside the image, and its distance (None: lost)."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, float | None]] = []

    def add(self, ref: PoseResult, got: PoseResult) -> None:
        size = np.array([ref.width, ref.height], dtype=np.float32)
        candidates = list(got.poses)
        for pose in ref.poses:
            xy = pose.landmarks[:, :2]
            inside = float(np.mean(((xy >= 0) & (xy <= 1)).all(axis=1)))
            match = nearest(pose, candidates, size)
            if match is None:
                self.rows.append((inside, None))
                continue
            candidates = [c for c in candidates if c is not match]
            self.rows.append((inside, relative_distance(pose.landmarks, match.landmarks, size)))

    @staticmethod
    def text(rows: list[tuple[float, float | None]]) -> str:
        found = [d for _, d in rows if d is not None]
        if not found:
            return f"{len(rows)} poses"
        return f"{len(rows)} poses, lost {len(rows) - len(found)}, {100 * np.mean(found):.2f}%"

    def summary(self) -> str:
        inside = [r for r in self.rows if r[0] >= IN_FRAME]
        outside = [r for r in self.rows if r[0] < IN_FRAME]
        return (
            f"all: {self.text(self.rows)} | in frame: {self.text(inside)} | partly out: {self.text(outside)}"
        )


def compare(
    variant: ModelVariant,
    mode: RunningMode,
    got_precisions: tuple[Precision, Precision],
    noise: bool,
    seed: int = 0,
) -> tuple[Tally, Split]:
    """Run the float pipeline and another one over the held-out frames; tally their differences."""
    change = jitter(seed) if noise else unchanged
    tally, split = Tally([], [], [], []), Split()
    ref_options = options(variant, mode, Precision.FLOAT, Precision.FLOAT)
    got_options = options(variant, mode, *got_precisions)
    media = media_dir()
    if mode is RunningMode.IMAGE:
        with PoseLandmarker(ref_options) as ref, PoseLandmarker(got_options) as got:
            for name in HELD_OUT_IMAGES:
                image = rgb(media / name)
                a, b = ref.detect(image), got.detect(change(image))
                tally.add(a, b)
                split.add(a, b)
        return tally, split
    for name, start, stop, step in HELD_OUT_CLIPS:
        with PoseLandmarker(ref_options) as ref, PoseLandmarker(got_options) as got:
            for timestamp_ms, frame in clip(media / name, start, stop, step):
                a = ref.detect_for_video(frame, timestamp_ms)
                b = got.detect_for_video(change(frame), timestamp_ms)
                tally.add(a, b)
                split.add(a, b)
    return tally, split


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="lite,full,heavy")
    parser.add_argument("--noise-seeds", default="0,1", help="one float+noise row per seed")
    parser.add_argument("--noise-only", action="store_true", help="only the float+noise rows")
    args = parser.parse_args()
    int8, flt = Precision.INT8, Precision.FLOAT
    rows: list[tuple[str, tuple[Precision, Precision], bool, int]] = []
    if not args.noise_only:
        rows += [("int8", (int8, int8), False, 0), ("det float", (flt, int8), False, 0)]
        rows += [("lm float", (int8, flt), False, 0)]
    rows += [(f"noise s{s}", (flt, flt), True, int(s)) for s in args.noise_seeds.split(",") if s]
    for variant in (ModelVariant(v) for v in args.variants.split(",")):
        for mode in (RunningMode.IMAGE, RunningMode.VIDEO):
            for label, precisions, noise, seed in rows:
                tally, split = compare(variant, mode, precisions, noise, seed)
                print(
                    f"{variant.value:5} {mode.value:5} {label:11} lost {tally.lost:2}/{tally.float_poses:3} "
                    f"distance {100 * np.mean(tally.distances):.2f}% vis {np.mean(tally.visibility):.3f} "
                    f"presence {np.mean(tally.presence):.3f} score {np.mean(tally.scores):.3f} "
                    f"|| {split.summary()}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
