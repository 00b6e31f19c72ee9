"""End-to-end fidelity against MediaPipe 0.10.21's legacy `mp.solutions.pose` on real people.

Error measure: for a pose both find, the mean pixel distance over the 33 landmarks' (x, y),
divided by the person's size = the longer side of the reference landmarks' bounding box in pixels
(rotation-invariant, so turned images are measured the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.types import ModelVariant, Precision, RunningMode
from tests.plugins.reference import CLIP_FRAMES, COMPLEXITY

pytestmark = [pytest.mark.slow, pytest.mark.reference]

VARIANTS = ["lite", "full", "heavy"]
IMAGE_BOUND = 0.01
VIDEO_BOUND = 0.02


def person_error(ref: list[list[float]], ours: np.ndarray, width: int, height: int) -> float:
    """Mean landmark distance relative to the person's size (see module docstring)."""
    size = np.array([width, height], dtype=np.float64)
    a = np.asarray(ref, dtype=np.float64)[:, :2] * size
    b = ours[:, :2].astype(np.float64) * size
    extent = float((a.max(axis=0) - a.min(axis=0)).max())
    return float(np.linalg.norm(a - b, axis=1).mean() / extent)


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("variant", VARIANTS)
def test_static_images_match_mediapipe(
    variant: str,
    media: Path,
    rotated_images: dict[int, Path],
    reference_run: Callable[..., list[dict[str, Any]]],
) -> None:
    paths = [*rotated_images.values(), media / "bus.jpg", media / "basketball1.png"]
    refs = reference_run("--complexity", str(COMPLEXITY[variant]), *map(str, paths))
    options = PoseLandmarkerOptions(model=ModelVariant(variant), precision=Precision.FLOAT)
    errors: dict[str, float] = {}
    with PoseLandmarker(options) as landmarker:
        for path, ref in zip(paths, refs, strict=True):
            result = landmarker.detect(read_rgb(path))
            assert (ref["landmarks"] is not None) == bool(result.poses), path.name
            if result.poses:
                pose = result.poses[0]
                assert pose.landmarks.shape == (33, 5)
                assert pose.world_landmarks is not None and pose.world_landmarks.shape == (33, 3)
                errors[path.name] = person_error(
                    ref["landmarks"], pose.landmarks, ref["width"], ref["height"]
                )
    # Every rotation of the one-person photo must be found, not only the upright one.
    assert {f"messi5_rot{d}.png" for d in rotated_images} <= set(errors)
    worst = max(errors, key=lambda k: errors[k])
    print(f"\n{variant} static: " + ", ".join(f"{k} {100 * v:.2f}%" for k, v in errors.items()))
    assert errors[worst] <= IMAGE_BOUND, errors


@pytest.mark.parametrize("variant", VARIANTS)
def test_video_tracking_matches_mediapipe(
    variant: str, one_person_clip: Path, reference_run: Callable[..., list[dict[str, Any]]]
) -> None:
    refs = reference_run("--complexity", str(COMPLEXITY[variant]), "--video", str(one_person_clip))
    assert len(refs) == CLIP_FRAMES
    options = PoseLandmarkerOptions(
        model=ModelVariant(variant), precision=Precision.FLOAT, running_mode=RunningMode.VIDEO
    )
    capture = cv2.VideoCapture(str(one_person_clip))
    errors: list[float] = []
    try:
        with PoseLandmarker(options) as landmarker:
            for index, ref in enumerate(refs):
                ok, bgr = capture.read()
                assert ok
                # The legacy solution stamps frames 33.333 ms apart starting at 33 ms.
                timestamp_ms = round((index + 1) * 1000 / 30)
                result = landmarker.detect_for_video(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), timestamp_ms)
                assert (ref["landmarks"] is not None) == bool(result.poses), index
                if result.poses:
                    assert result.poses[0].track_id == 1
                    errors.append(person_error(ref["landmarks"], result.poses[0].landmarks, 480, 360))
            detector_runs = landmarker.detector_runs
    finally:
        capture.release()
    print(
        f"\n{variant} video: {len(errors)} frames, mean {100 * np.mean(errors):.2f}%, "
        f"max {100 * np.max(errors):.2f}%, detector runs {detector_runs}"
    )
    assert len(errors) >= CLIP_FRAMES - 2
    assert float(np.mean(errors)) <= VIDEO_BOUND, np.round(errors, 4)
    # Tracking: the detector ran on the first frame only (or after a rare loss).
    assert detector_runs <= 3
