"""How closely one pose pipeline reproduces another (int8 against float) on the same frames.

The metric: each float pose is matched to the nearest pose of the other pipeline (hip centres
within a fifth of the person's extent); a float pose without a match is lost. For matched poses,
the mean distance of the 33 landmarks in units of the person's extent (the longer side of the
float pose's box), and the mean differences of visibility, presence and pose score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgepose.inference.models import ModelRole, model_path
from edgepose.inference.runtime import make_interpreter
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.pose.landmarks import NUM_POSE_LANDMARKS, LandmarkModel
from edgepose.types import (
    FloatArray,
    ImageArray,
    ModelVariant,
    Pose,
    PoseResult,
    Precision,
    Rect,
    RunningMode,
)
from tools.evaluation.media import HELD_OUT_CLIPS, HELD_OUT_IMAGES, Clip, clip, rgb

Change = Callable[[ImageArray], ImageArray]
NOISE_SEEDS = (0, 1, 2)


@dataclass
class Tally:
    """Per-pose comparisons accumulated over a run."""

    distances: list[float]
    presence: list[float]
    visibility: list[float]
    scores: list[float]
    float_poses: int = 0
    lost: int = 0
    per_pose: list[float | None] = field(default_factory=list)  # float poses in order; None: lost

    def add(self, ref: PoseResult, got: PoseResult) -> None:
        """Compare one frame's poses: `ref` (float) against `got`."""
        size = np.array([ref.width, ref.height], dtype=np.float32)
        candidates = list(got.poses)
        for pose in ref.poses:
            self.float_poses += 1
            match = nearest(pose, candidates, size)
            if match is None:
                self.lost += 1
                self.per_pose.append(None)
                continue
            candidates = [c for c in candidates if c is not match]
            self.distances.append(relative_distance(pose.landmarks, match.landmarks, size))
            self.per_pose.append(self.distances[-1])
            self.visibility.append(float(np.abs(pose.landmarks[:, 3] - match.landmarks[:, 3]).mean()))
            self.presence.append(float(np.abs(pose.landmarks[:, 4] - match.landmarks[:, 4]).mean()))
            self.scores.append(abs(pose.score - match.score))


def relative_distance(ref: FloatArray, got: FloatArray, size: FloatArray | None = None) -> float:
    """Mean distance of the 33 landmarks (x, y) in units of `ref`'s extent, the longer side of its box.

    The longer side, because a lying person's "height" is horizontal. `size` (width, height in
    pixels) scales frame-normalised landmarks; leave it out for crop-normalised ones.
    """
    scale = np.ones(2, dtype=np.float32) if size is None else size
    a = ref[:NUM_POSE_LANDMARKS, :2] * scale
    b = got[:NUM_POSE_LANDMARKS, :2] * scale
    extent = max(float(np.ptp(a[:, 0])), float(np.ptp(a[:, 1])))
    return float(np.linalg.norm(a - b, axis=1).mean()) / extent


def nearest(pose: Pose, candidates: list[Pose], size: FloatArray) -> Pose | None:
    """The candidate whose hip centre is closest, if within a fifth of the person's extent."""
    if not candidates:
        return None
    hips = pose.landmarks[23:25, :2].mean(axis=0) * size
    extent = float(np.ptp(pose.landmarks[:, 1] * size[1]))
    best = min(
        candidates, key=lambda c: float(np.linalg.norm(c.landmarks[23:25, :2].mean(axis=0) * size - hips))
    )
    gap = float(np.linalg.norm(best.landmarks[23:25, :2].mean(axis=0) * size - hips))
    return best if gap <= max(0.2 * extent, 8.0) else None


def comparison_options(
    variant: ModelVariant, precision: Precision, mode: RunningMode, crops: list[ImageArray] | None = None
) -> PoseLandmarkerOptions:
    """Up to 4 people, raw landmarks (no One Euro smoothing: compare the models, not the filter).

    With `crops`, every landmark-model input crop is appended to it.
    """

    def keep(crop: ImageArray, _roi: Rect) -> None:
        if crops is not None:
            crops.append(np.array(crop, copy=True))

    return PoseLandmarkerOptions(
        running_mode=mode,
        num_poses=4,
        model=variant,
        precision=precision,
        smooth_landmarks=False,
        landmark_input_hook=keep if crops is not None else None,
    )


def jitter(seed: int) -> Change:
    """Adds +-1 grey level of uniform noise (seeded) to each pixel: far below a camera's own noise."""
    rng = np.random.default_rng(seed)

    def change(image: ImageArray) -> ImageArray:
        noisy = np.clip(image.astype(np.int16) + rng.integers(-1, 2, image.shape), 0, 255)
        out: ImageArray = noisy.astype(np.uint8)
        return out

    return change


def unchanged(image: ImageArray) -> ImageArray:
    """The image itself."""
    return image


def run_images(
    media: Path,
    variant: ModelVariant,
    precision: Precision = Precision.INT8,
    change: Change | None = None,
    crops: list[ImageArray] | None = None,
) -> Tally:
    """The float pipeline on the held-out images against `precision` on the images passed through `change`.

    With `crops`, the float pipeline's landmark-model input crops are appended to it.
    """
    tally = Tally([], [], [], [])
    with (
        PoseLandmarker(comparison_options(variant, Precision.FLOAT, RunningMode.IMAGE, crops)) as ref,
        PoseLandmarker(comparison_options(variant, precision, RunningMode.IMAGE)) as got,
    ):
        for name in HELD_OUT_IMAGES:
            image = rgb(media / name)
            tally.add(ref.detect(image), got.detect((change or unchanged)(image)))
    return tally


def run_video(
    media: Path,
    variant: ModelVariant,
    precision: Precision = Precision.INT8,
    change: Change | None = None,
    *,
    clips: tuple[Clip, ...] = HELD_OUT_CLIPS,
    crops: list[ImageArray] | None = None,
) -> Tally:
    """As `run_images`, on the clips in VIDEO mode (tracking)."""
    tally = Tally([], [], [], [])
    for name, start, stop, step in clips:
        with (
            PoseLandmarker(comparison_options(variant, Precision.FLOAT, RunningMode.VIDEO, crops)) as ref,
            PoseLandmarker(comparison_options(variant, precision, RunningMode.VIDEO)) as got,
        ):
            for timestamp_ms, frame in clip(media / name, start, stop, step):
                tally.add(
                    ref.detect_for_video(frame, timestamp_ms),
                    got.detect_for_video((change or unchanged)(frame), timestamp_ms),
                )
    return tally


def summary(tally: Tally, label: str) -> str:
    """One line: poses, lost, mean distance and score differences."""
    return (
        f"{label}: {tally.float_poses} float poses, lost {tally.lost}, "
        f"distance {100 * np.mean(tally.distances):.2f}% of height, "
        f"visibility {np.mean(tally.visibility):.3f}, presence {np.mean(tally.presence):.3f}, "
        f"score {np.mean(tally.scores):.3f}"
    )


def reproducible(noisy_runs: list[Tally], max_distance: float) -> list[bool]:
    """Per float pose: found again, within `max_distance`, in every float-against-noisy-float run."""
    return [
        all(d is not None and d <= max_distance for d in row)
        for row in zip(*(r.per_pose for r in noisy_runs), strict=True)
    ]


@dataclass
class CropTally:
    """The landmark model alone: int8 against float on the same crops."""

    crops: int
    distances: list[float]
    presence: list[float]
    visibility: list[float]


def crop_outputs(model: LandmarkModel, crop: ImageArray) -> tuple[float, FloatArray]:
    """Presence and all 39 landmarks (crop-normalised, heatmap-refined as the pipeline does)."""
    model.io.set_image(crop, 0.0, 1.0)
    model.io.invoke()
    return model.presence(), model.crop_landmarks()


def crop_tally(variant: ModelVariant, crops: list[ImageArray]) -> CropTally:
    """The float and int8 landmark models on the same crops (those the float pipeline made)."""
    models = [
        LandmarkModel(make_interpreter(model_path(ModelRole.LANDMARK, variant, precision)))
        for precision in (Precision.FLOAT, Precision.INT8)
    ]
    out = CropTally(len(crops), [], [], [])
    for crop in crops:
        (ref_presence, ref), (got_presence, got) = (crop_outputs(m, crop) for m in models)
        out.presence.append(abs(ref_presence - got_presence))
        if ref_presence < 0.5:  # the pipeline drops such crops: no pose to compare
            continue
        out.distances.append(relative_distance(ref, got))
        body = slice(0, NUM_POSE_LANDMARKS)
        out.visibility.append(float(np.abs(ref[body, 3] - got[body, 3]).mean()))
    return out
