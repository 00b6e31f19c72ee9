#!/usr/bin/env python3
"""The int8 models alone against float on a wide held-out sample of the pipeline's own inputs.

    python scripts/int8_crops.py                       # committed int8 models, all variants
    python scripts/int8_crops.py --variants lite --landmark-model other_lite_int8.tflite
    python scripts/int8_crops.py --float-noise         # also float against itself (1-px shift, +-1 grey)

Figures of round 3 in models/README.md come from these commands (round-1 files: pass them from git
history with --landmark-model / --detector-model).

The float full pipeline runs over the held-out media (the three photos in IMAGE mode,
pan_zidane.avi frames 0-199 every 2nd and vtest.avi frames 400-794 every 3rd in VIDEO mode) and
keeps every 256x256 landmark crop and 224x224 detector input it makes. Landmark models: mean
distance of the 33 heatmap-refined landmarks in % of the person's size (longer side of the float
landmarks' box), on crops where float's presence is >= 0.5. Detector: float detections are matched
to the int8 ones by hip centre (within half the body-circle radius); lost, extra, keypoint error
(hip centre and circle point, % of the radius) and score difference.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from test_int8_accuracy import IMAGES, clip, crop_outputs, rgb  # noqa: E402

from edgepose.inference.models import ModelRole, model_path  # noqa: E402
from edgepose.inference.runtime import make_interpreter  # noqa: E402
from edgepose.paths import media_dir  # noqa: E402
from edgepose.pose.detector import Letterbox, PoseDetector  # noqa: E402
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions  # noqa: E402
from edgepose.pose.landmarks import NUM_POSE_LANDMARKS, LandmarkModel  # noqa: E402
from edgepose.types import ImageArray, ModelVariant, Precision, Rect, RunningMode  # noqa: E402

CLIPS = (("pan_zidane.avi", 0, 200, 2), ("vtest.avi", 400, 795, 3))
NO_PAD = Letterbox(0.0, 0.0, 0.0, 0.0)


def collect(media: Path) -> tuple[list[ImageArray], list[ImageArray]]:
    """The float full pipeline's landmark crops and detector inputs on the held-out media."""
    crops: list[ImageArray] = []
    inputs: list[ImageArray] = []

    def keep_crop(crop: ImageArray, _roi: Rect) -> None:
        crops.append(np.array(crop, copy=True))

    def options(mode: RunningMode) -> PoseLandmarkerOptions:
        return PoseLandmarkerOptions(
            running_mode=mode,
            num_poses=4,
            model=ModelVariant.FULL,
            precision=Precision.FLOAT,
            smooth_landmarks=False,
            landmark_input_hook=keep_crop,
            detector_input_hook=lambda image: inputs.append(np.array(image, copy=True)),
        )

    with PoseLandmarker(options(RunningMode.IMAGE)) as landmarker:
        for name in IMAGES:
            landmarker.detect(rgb(media / name))
    for name, start, stop, step in CLIPS:
        with PoseLandmarker(options(RunningMode.VIDEO)) as landmarker:
            for timestamp_ms, frame in clip(media / name, start, stop, step):
                landmarker.detect_for_video(frame, timestamp_ms)
    return crops, inputs


def landmark_outputs(path: Path, crops: list[ImageArray]) -> list[tuple[float, np.ndarray]]:
    """Presence and the 33 crop-normalised landmarks of one model file for every crop."""
    model = LandmarkModel(make_interpreter(path))
    out = []
    for crop in crops:
        presence, landmarks = crop_outputs(model, crop)
        out.append((presence, landmarks[:NUM_POSE_LANDMARKS]))
    return out


def landmark_row(
    label: str,
    ref: list[tuple[float, np.ndarray]],
    got: list[tuple[float, np.ndarray]],
    offset: tuple[float, float] = (0.0, 0.0),
) -> str:
    """One line of figures; `offset` is added to `ref` (a shifted crop moves its landmarks)."""
    distances, presence, visibility = [], [], []
    for (ref_presence, a), (got_presence, b) in zip(ref, got, strict=True):
        presence.append(abs(ref_presence - got_presence))
        if ref_presence < 0.5:
            continue
        extent = max(float(np.ptp(a[:, 0])), float(np.ptp(a[:, 1])))
        moved = np.linalg.norm(a[:, :2] + np.array(offset) - b[:, :2], axis=1).mean()
        distances.append(float(moved) / extent)
        visibility.append(float(np.abs(a[:, 3] - b[:, 3]).mean()))
    d = 100 * np.array(distances)
    return (
        f"{label:34s} {len(d):3d} crops  distance mean {d.mean():.2f}% p90 {np.percentile(d, 90):.2f}% "
        f"max {d.max():.1f}%  presence {np.mean(presence):.3f}  visibility {np.mean(visibility):.3f}"
    )


def detections(path: Path, inputs: list[ImageArray]) -> list[list[Any]]:
    """Every detection of one detector file for every letterboxed input."""
    detector = PoseDetector(make_interpreter(path))
    out = []
    for image in inputs:
        detector.io.set_image(image, -1.0, 1.0)
        detector.io.invoke()
        out.append(detector.postprocess(NO_PAD))
    return out


def detector_row(label: str, ref: list[list[Any]], got: list[list[Any]]) -> str:
    """Lost and extra people, keypoint error and score difference against float."""
    count = lost = extra = 0
    errors, scores = [], []
    for expected, found in zip(ref, got, strict=True):
        extra += max(0, len(found) - len(expected))
        for det in expected:
            count += 1
            radius = float(np.linalg.norm(det.keypoints[1] - det.keypoints[0]))
            best = min(found, key=lambda f: np.linalg.norm(f.keypoints[0] - det.keypoints[0]), default=None)
            if best is None or np.linalg.norm(best.keypoints[0] - det.keypoints[0]) > 0.5 * radius:
                lost += 1
                continue
            errors.append(
                float(np.linalg.norm(best.keypoints[:2] - det.keypoints[:2], axis=1).mean()) / radius
            )
            scores.append(abs(best.score - det.score))
    return (
        f"{label:34s} {count} float detections: lost {lost}, extra {extra}, keypoints "
        f"{100 * np.mean(errors):.2f}% of the radius (p90 {100 * np.percentile(errors, 90):.2f}%), "
        f"score {np.mean(scores):.3f}"
    )


def perturbed(crops: list[ImageArray], change: Callable[[np.ndarray], np.ndarray]) -> list[ImageArray]:
    return [np.clip(change(c.astype(np.int16)), 0, 255).astype(np.uint8) for c in crops]


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="lite,full,heavy")
    parser.add_argument(
        "--landmark-model", type=Path, help="an int8 landmark file instead of the committed one"
    )
    parser.add_argument(
        "--detector-model", type=Path, help="an int8 detector file instead of the committed one"
    )
    parser.add_argument("--float-noise", action="store_true", help="float against a 1-px shift and +-1 grey")
    args = parser.parse_args()
    crops, inputs = collect(media_dir())
    print(f"held-out sample: {len(crops)} landmark crops, {len(inputs)} detector inputs")
    rng = np.random.default_rng(0)
    for name in args.variants.split(","):
        variant = ModelVariant(name)
        float_path = model_path(ModelRole.LANDMARK, variant, Precision.FLOAT)
        int8_path = args.landmark_model or model_path(ModelRole.LANDMARK, variant, Precision.INT8)
        ref = landmark_outputs(float_path, crops)
        print(landmark_row(f"{name}: {int8_path.name}", ref, landmark_outputs(int8_path, crops)))
        if args.float_noise:
            shifted = [np.roll(c, 1, axis=1) for c in crops]  # content moves 1 px right
            print(
                landmark_row(
                    f"{name}: float, crop shifted 1 px",
                    ref,
                    landmark_outputs(float_path, shifted),
                    (1 / 256, 0.0),
                )
            )
            noisy = perturbed(crops, lambda c: c + rng.integers(-1, 2, c.shape))
            print(landmark_row(f"{name}: float, +-1 grey level", ref, landmark_outputs(float_path, noisy)))
    float_detector = model_path(ModelRole.DETECTOR, ModelVariant.FULL, Precision.FLOAT)
    int8_detector = args.detector_model or model_path(ModelRole.DETECTOR, ModelVariant.FULL, Precision.INT8)
    ref_dets = detections(float_detector, inputs)
    print(detector_row(f"detector: {int8_detector.name}", ref_dets, detections(int8_detector, inputs)))
    if args.float_noise:
        for seed in range(3):
            noise = np.random.default_rng(seed)
            noisy_inputs = perturbed(inputs, lambda c, rng=noise: c + rng.integers(-1, 2, c.shape))
            print(
                detector_row(
                    f"detector: float, +-1 grey (seed {seed})",
                    ref_dets,
                    detections(float_detector, noisy_inputs),
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
