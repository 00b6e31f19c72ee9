#!/usr/bin/env python3
"""Where the int8 pipeline's VIDEO distance from float comes from: the model, or the ROIs it tracks.

    python scripts/int8_roi_split.py                      # all variants, tracks end as in MediaPipe
    python scripts/int8_roi_split.py --variants full --grace-frames 3

On the held-out clips of tests/test_int8_accuracy.py, per float pose that int8 also finds:
- `total`: int8 pipeline against float pipeline (what the test measures);
- `same ROI`: int8 pipeline against the float landmark model run on the int8 pipeline's own ROI;
- `ROI only`: that float output against the float pipeline;
- how far the two pipelines' ROIs are apart (centre in % of the side, size, rotation);
- how far the float model moves when its ROI is shifted by 2% of the side, scaled by 2% or turned
  by 3 degrees (the model's own sensitivity to its ROI);
- how far the int8 alignment points (hip centre, scale point) are from float on the same crop.
Distances are in % of the person's size, as in the test.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from test_int8_accuracy import VIDEO_CLIPS, clip, crop_outputs, nearest, relative_distance  # noqa: E402

from edgepose.inference.models import ModelRole, model_path  # noqa: E402
from edgepose.inference.runtime import make_interpreter  # noqa: E402
from edgepose.paths import media_dir  # noqa: E402
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions  # noqa: E402
from edgepose.pose.landmarks import NUM_POSE_LANDMARKS, LandmarkModel  # noqa: E402
from edgepose.types import ModelVariant, Precision, Rect, RunningMode  # noqa: E402

SHIFT_OF_SIDE = 0.02
SCALE = 1.02
TURN_RAD = math.radians(3.0)


def nudged(rect: Rect) -> dict[str, Rect]:
    """The ROI shifted, scaled and turned by a little."""
    return {
        "shift": replace(rect, x_center=rect.x_center + SHIFT_OF_SIDE * rect.width),
        "scale": replace(rect, width=rect.width * SCALE, height=rect.height * SCALE),
        "turn": replace(rect, rotation_rad=rect.rotation_rad + TURN_RAD),
    }


def alignment_errors(
    float_model: LandmarkModel, int8_model: LandmarkModel, crop: np.ndarray
) -> tuple[float, float, float] | None:
    """Hip-centre and scale-point distance (of the extent) and angle (degrees) on one crop."""
    (presence, a), (_, b) = crop_outputs(float_model, crop), crop_outputs(int8_model, crop)
    if presence < 0.5:
        return None
    extent = max(float(np.ptp(a[:NUM_POSE_LANDMARKS, 0])), float(np.ptp(a[:NUM_POSE_LANDMARKS, 1])))
    va, vb = a[34, :2] - a[33, :2], b[34, :2] - b[33, :2]
    angle = math.degrees(abs(math.atan2(va[0] * vb[1] - va[1] * vb[0], float(va @ vb))))
    centre = float(np.linalg.norm(a[33, :2] - b[33, :2])) / extent
    scale_point = float(np.linalg.norm(a[34, :2] - b[34, :2])) / extent
    return centre, scale_point, angle


def split(variant: ModelVariant, grace_frames: int) -> str:
    """One line of figures for a variant."""
    float_model = LandmarkModel(make_interpreter(model_path(ModelRole.LANDMARK, variant, Precision.FLOAT)))
    int8_model = LandmarkModel(make_interpreter(model_path(ModelRole.LANDMARK, variant, Precision.INT8)))
    crops: list[np.ndarray] = []

    def options(precision: Precision, keep_crops: bool) -> PoseLandmarkerOptions:
        return PoseLandmarkerOptions(
            running_mode=RunningMode.VIDEO,
            num_poses=4,
            model=variant,
            precision=precision,
            smooth_landmarks=False,
            track_grace_frames=grace_frames,
            landmark_input_hook=(lambda crop, _roi: crops.append(crop.copy())) if keep_crops else None,
        )

    rows: list[tuple[float, float, float]] = []
    rois: list[tuple[float, float, float]] = []
    moved: dict[str, list[float]] = {"shift": [], "scale": [], "turn": []}
    for name, start, stop, step in VIDEO_CLIPS:
        with (
            PoseLandmarker(options(Precision.FLOAT, True)) as ref,
            PoseLandmarker(options(Precision.INT8, False)) as got,
        ):
            for timestamp_ms, frame in clip(media_dir() / name, start, stop, step):
                a = ref.detect_for_video(frame, timestamp_ms)
                b = got.detect_for_video(frame, timestamp_ms)
                size = np.array([a.width, a.height], dtype=np.float32)
                candidates = list(b.poses)
                for pose in a.poses:
                    match = nearest(pose, candidates, size)
                    if match is None:
                        continue
                    candidates = [c for c in candidates if c is not match]
                    on_int8_roi = float_model.run(frame, match.roi).landmarks
                    rows.append(
                        (
                            relative_distance(pose.landmarks, match.landmarks, size),
                            relative_distance(on_int8_roi, match.landmarks, size),
                            relative_distance(pose.landmarks, on_int8_roi, size),
                        )
                    )
                    r, q = pose.roi, match.roi
                    side_px = r.width * a.width
                    offset_px = math.hypot(
                        (r.x_center - q.x_center) * a.width, (r.y_center - q.y_center) * a.height
                    )
                    rois.append(
                        (
                            offset_px / side_px,
                            abs(q.width / r.width - 1.0),
                            abs(r.rotation_rad - q.rotation_rad),
                        )
                    )
                    base = float_model.run(frame, r).landmarks
                    for key, rect in nudged(r).items():
                        moved[key].append(
                            relative_distance(base, float_model.run(frame, rect).landmarks, size)
                        )
    points = [e for e in (alignment_errors(float_model, int8_model, c) for c in crops) if e is not None]
    t, same, roi_only = (100 * np.mean([row[i] for row in rows]) for i in range(3))
    centre, size_diff, turn = np.mean(rois, axis=0)
    hip, scale_point, angle = np.mean(points, axis=0)
    return (
        f"{variant.value:5} {len(rows)} poses: total {t:.2f}%, same ROI {same:.2f}%, "
        f"ROI only {roi_only:.2f}% | "
        f"ROIs apart: centre {100 * centre:.1f}% of side, size {100 * size_diff:.1f}%, "
        f"{math.degrees(turn):.2f} deg | float moved by its ROI: shift {100 * np.mean(moved['shift']):.2f}% "
        f"scale {100 * np.mean(moved['scale']):.2f}% turn {100 * np.mean(moved['turn']):.2f}% | "
        f"int8 alignment points on {len(points)} float crops: hip {100 * hip:.2f}% "
        f"scale point {100 * scale_point:.2f}% angle {angle:.2f} deg"
    )


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="lite,full,heavy")
    parser.add_argument(
        "--grace-frames", type=int, default=0, help="track_grace_frames (0: MediaPipe's rule)"
    )
    args = parser.parse_args()
    for variant in (ModelVariant(v) for v in args.variants.split(",")):
        print(split(variant, args.grace_frames), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
