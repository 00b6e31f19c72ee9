"""How closely one pose pipeline reproduces another (int8 against float) on the same frames.

The metric: each float pose is matched to the nearest pose of the other pipeline (hip centres
within a fifth of the person's extent); a float pose without a match is lost. For matched poses,
the mean distance of the 33 landmarks in units of the person's extent (the longer side of the
float pose's box), and the mean differences of visibility, presence and pose score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from edgepose.inference.models import ModelRole, model_path
from edgepose.inference.runtime import make_interpreter
from edgepose.pose.landmarker import PoseLandmarkerOptions
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

Change = Callable[[ImageArray], ImageArray]


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


def relative_distance(
    ref: FloatArray, got: FloatArray, size: FloatArray | None = None, min_visibility: float | None = None
) -> float:
    """Mean distance of the 33 landmarks (x, y) in units of `ref`'s extent, the longer side of its box.

    The longer side, because a lying person's "height" is horizontal. `size` (width, height in
    pixels) scales frame-normalised landmarks; leave it out for crop-normalised ones. With
    `min_visibility`, the mean runs over the landmarks `ref` sees at least that well (the extent
    stays the whole person's); NaN when there are none.
    """
    scale = np.ones(2, dtype=np.float32) if size is None else size
    a = ref[:NUM_POSE_LANDMARKS, :2] * scale
    b = got[:NUM_POSE_LANDMARKS, :2] * scale
    extent = max(float(np.ptp(a[:, 0])), float(np.ptp(a[:, 1])))
    distances = np.linalg.norm(a - b, axis=1)
    if min_visibility is not None:
        distances = distances[ref[:NUM_POSE_LANDMARKS, 3] >= min_visibility]
        if distances.size == 0:
            return float("nan")
    return float(distances.mean()) / extent


def nearest(pose: Pose, candidates: list[Pose], size: FloatArray) -> Pose | None:
    """The candidate whose hip centre is closest, if within a fifth of the person's extent."""
    index = nearest_index(pose.landmarks, [c.landmarks for c in candidates], size)
    return None if index is None else candidates[index]


def nearest_index(landmarks: FloatArray, candidates: Sequence[FloatArray], size: FloatArray) -> int | None:
    """As `nearest`, on landmark arrays (frame-normalised); the index of the match in `candidates`."""
    if not candidates:
        return None
    hips = landmarks[23:25, :2].mean(axis=0) * size
    extent = float(np.ptp(landmarks[:, 1] * size[1]))
    gaps = [float(np.linalg.norm(c[23:25, :2].mean(axis=0) * size - hips)) for c in candidates]
    best = int(np.argmin(gaps))
    return best if gaps[best] <= max(0.2 * extent, 8.0) else None


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
