"""Calibration inputs for the upper-body models: waist-up crops of the people in the calibration media.

The upper-body pipeline is meant for people seen from the waist up (a desk, a webcam), which the
calibration media (a street, a bus stop, a basketball court) do not show. The full-body float
pipeline finds the people; each one is cut out from above the head to just below the hips, and the
upper-body float pipeline runs on that cut-out, so its own 256x256 ROI crops and 128x128 detector
inputs are what the quantizer calibrates on, as for the full-body models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.skeleton import PoseLandmark as L
from edgepose.types import FloatArray, ImageArray, ModelVariant, Precision, RunningMode

MIN_CROP_PX = 24  # a waist-up cut-out smaller than this holds nothing the models can use
_HEAD_AND_ARMS = slice(0, 23)  # face, shoulders, elbows, wrists, hands


@dataclass(frozen=True, slots=True)
class Box:
    """A pixel box in a frame: [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int


def waist_up_box(landmarks: FloatArray, width: int, height: int) -> Box | None:
    """The waist-up box of a full-body pose (33 x 5, normalised): head room above, hips at the bottom.

    Twice the head-to-hip height tall at most and at least as wide as 0.9 of its height, like a
    webcam's view of someone at a desk; None when the box is too small or the hips are above the head.
    """
    xy = landmarks[:, :2] * np.array([width, height], dtype=np.float32)
    hips_y = float(xy[[L.LEFT_HIP, L.RIGHT_HIP], 1].mean())
    upper = xy[_HEAD_AND_ARMS]
    top_y = float(upper[:, 1].min())
    span = hips_y - top_y
    if span < MIN_CROP_PX / 2:
        return None
    centre_x = float(upper[:, 0].mean())
    box_h = 1.45 * span
    box_w = max(1.5 * float(np.ptp(upper[:, 0])), 0.9 * box_h)
    x0 = max(0, round(centre_x - box_w / 2))
    x1 = min(width, round(centre_x + box_w / 2))
    y0 = max(0, round(top_y - 0.35 * span))
    y1 = min(height, round(hips_y + 0.1 * span))
    if x1 - x0 < MIN_CROP_PX or y1 - y0 < MIN_CROP_PX:
        return None
    return Box(x0, y0, x1, y1)


def waist_up_crops(images: Iterable[ImageArray], num_poses: int = 6) -> list[ImageArray]:
    """Waist-up cut-outs of everyone the full-body float pipeline (full, IMAGE mode) finds."""
    out: list[ImageArray] = []
    options = PoseLandmarkerOptions(
        running_mode=RunningMode.IMAGE,
        num_poses=num_poses,
        model=ModelVariant.FULL,
        precision=Precision.FLOAT,
    )
    with PoseLandmarker(options) as landmarker:
        for image in images:
            height, width = image.shape[:2]
            for pose in landmarker.detect(image).poses:
                box = waist_up_box(pose.landmarks, width, height)
                if box is not None:
                    out.append(np.ascontiguousarray(image[box.y0 : box.y1, box.x0 : box.x1]))
    return out


def photo_windows(image: ImageArray) -> list[ImageArray]:
    """Half-width, 60 %-height windows over the top of a photo (left, middle, right; two heights).

    The full-body pipeline finds one person in each calibration photo; these windows let the
    upper-body detector find the others (and give it some of its false candidates, as a camera would).
    """
    height, width = image.shape[:2]
    w, h = width // 2, int(height * 0.6)
    return [
        np.ascontiguousarray(image[y : y + h, x : x + w])
        for y in (0, int(height * 0.2))
        for x in (0, width // 4, width - w)
    ]


def upper_body_inputs(
    crops: Iterable[ImageArray],
    on_landmark_input: Callable[[ImageArray], None],
    on_detector_input: Callable[[ImageArray], None],
) -> None:
    """Run the upper-body float pipeline on each cut-out and hand over its model inputs."""
    options = PoseLandmarkerOptions(
        running_mode=RunningMode.IMAGE,
        model=ModelVariant.UPPER_BODY,
        precision=Precision.FLOAT,
        landmark_input_hook=lambda crop, _roi: on_landmark_input(np.array(crop, copy=True)),
        detector_input_hook=lambda image: on_detector_input(np.array(image, copy=True)),
    )
    with PoseLandmarker(options) as landmarker:
        for crop in crops:
            landmarker.detect(crop)
