"""Regions of interest: from detector keypoints or auxiliary landmarks to a rotated square crop.

Matches MediaPipe's AlignmentPointsRectsCalculator and RectTransformationCalculator. Rotation and
size are computed in pixels (the frame may be non-square); the result is a normalised `Rect`.
"""

from __future__ import annotations

import math

import numpy as np

from edgepose.types import BBox, FloatArray, Rect

ROI_SCALE = 1.25
TARGET_ANGLE_RAD = math.pi / 2.0


def normalize_radians(angle_rad: float) -> float:
    """The angle wrapped into [-pi, pi)."""
    return angle_rad - 2.0 * math.pi * math.floor((angle_rad + math.pi) / (2.0 * math.pi))


def rect_from_alignment_points(
    center_xy: tuple[float, float],
    scale_xy: tuple[float, float],
    image_width: int,
    image_height: int,
    target_angle_rad: float = TARGET_ANGLE_RAD,
) -> Rect:
    """A square (in pixels) around `center_xy` of side 2x the distance to `scale_xy`, rotated upright.

    Both points are normalised; the rotation makes the centre->scale vector point at the target angle
    (90 degrees: the body axis points up).
    """
    x0, y0 = center_xy[0] * image_width, center_xy[1] * image_height
    x1, y1 = scale_xy[0] * image_width, scale_xy[1] * image_height
    side_px = 2.0 * math.hypot(x1 - x0, y1 - y0)
    rotation = normalize_radians(target_angle_rad - math.atan2(-(y1 - y0), x1 - x0))
    return Rect(
        x_center=x0 / image_width,
        y_center=y0 / image_height,
        width=side_px / image_width,
        height=side_px / image_height,
        rotation_rad=rotation,
    )


def transform_rect(
    rect: Rect, image_width: int, image_height: int, scale: float = ROI_SCALE, square_long: bool = True
) -> Rect:
    """The rect enlarged by `scale`, first squared on its long side in pixels (no shift)."""
    width, height = rect.width, rect.height
    if square_long:
        long_px = max(width * image_width, height * image_height)
        width, height = long_px / image_width, long_px / image_height
    return Rect(rect.x_center, rect.y_center, width * scale, height * scale, rect.rotation_rad)


def roi_from_keypoints(
    keypoints: FloatArray, image_width: int, image_height: int, scale: float = ROI_SCALE
) -> Rect:
    """The landmark-model ROI from two alignment points (rows 0: centre, 1: scale), normalised."""
    raw = rect_from_alignment_points(
        (float(keypoints[0, 0]), float(keypoints[0, 1])),
        (float(keypoints[1, 0]), float(keypoints[1, 1])),
        image_width,
        image_height,
    )
    return transform_rect(raw, image_width, image_height, scale)


def object_scale_px(keypoints: FloatArray, image_width: int, image_height: int) -> float:
    """Size in pixels of the unscaled alignment rect: the object scale for landmark smoothing."""
    raw = rect_from_alignment_points(
        (float(keypoints[0, 0]), float(keypoints[0, 1])),
        (float(keypoints[1, 0]), float(keypoints[1, 1])),
        image_width,
        image_height,
    )
    return (raw.width * image_width + raw.height * image_height) / 2.0


def crop_matrix(rect: Rect, image_width: int, image_height: int, size_px: int) -> FloatArray:
    """The 2x3 affine mapping frame pixels into a size x size crop of `rect` (corner to corner)."""
    cx, cy = rect.x_center * image_width, rect.y_center * image_height
    sx = size_px / (rect.width * image_width)
    sy = size_px / (rect.height * image_height)
    c, s = math.cos(rect.rotation_rad), math.sin(rect.rotation_rad)
    half = size_px / 2.0
    return np.array(
        [
            [c * sx, s * sx, half - sx * (c * cx + s * cy)],
            [-s * sy, c * sy, half - sy * (-s * cx + c * cy)],
        ],
        dtype=np.float64,
    ).astype(np.float32)


def rect_bbox(rect: Rect, image_width: int, image_height: int) -> BBox:
    """The axis-aligned normalised box enclosing a rotated rect."""
    corners = rect.corners_px(image_width, image_height)
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    return BBox(
        float(lo[0]) / image_width,
        float(lo[1]) / image_height,
        float(hi[0]) / image_width,
        float(hi[1]) / image_height,
    )


def landmarks_bbox(xy: FloatArray) -> BBox:
    """The normalised box enclosing landmark x, y (N x >=2)."""
    lo, hi = xy[:, :2].min(axis=0), xy[:, :2].max(axis=0)
    return BBox(float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
