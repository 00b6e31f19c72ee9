"""Skeleton drawing for `--annotate` and the HTTP preview: bones, joints and the track id."""

from __future__ import annotations

import cv2
import numpy as np

from edgepose.skeleton import connections_for
from edgepose.types import ImageArray, Pose, PoseResult

VISIBLE_MIN = 0.5
_PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 200, 255),
    (255, 120, 0),
    (60, 220, 60),
    (230, 60, 200),
    (250, 220, 0),
    (120, 120, 255),
)


def color_for(track_id: int) -> tuple[int, int, int]:
    """A stable RGB colour per track."""
    return _PALETTE[track_id % len(_PALETTE)]


def draw_pose(image: ImageArray, pose: Pose, visible_min: float = VISIBLE_MIN) -> None:
    """Draw one pose onto an RGB image in place; joints below `visible_min` visibility are skipped."""
    height, width = image.shape[:2]
    points = np.rint(pose.landmarks[:, :2] * np.array([width, height], dtype=np.float32)).astype(np.int32)
    shown = pose.landmarks[:, 3] >= visible_min
    color = color_for(pose.track_id)
    thickness = max(1, round(min(width, height) / 240))
    for a, b in connections_for(pose.skeleton):
        if shown[a] and shown[b]:
            cv2.line(
                image, tuple(map(int, points[a])), tuple(map(int, points[b])), color, thickness, cv2.LINE_AA
            )
    for index in np.flatnonzero(shown):
        cv2.circle(image, tuple(map(int, points[index])), thickness + 1, (255, 255, 255), -1, cv2.LINE_AA)
    if shown.any():
        top = points[shown].min(axis=0)
        cv2.putText(
            image,
            f"#{pose.track_id} {pose.score:.2f}",
            (int(top[0]), max(12, int(top[1]) - 6)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4 * thickness,
            color,
            thickness,
            cv2.LINE_AA,
        )


def draw_result(image: ImageArray, result: PoseResult) -> ImageArray:
    """A copy of the RGB image with every pose of the result drawn on it."""
    canvas = image.copy()
    for pose in result.poses:
        draw_pose(canvas, pose)
    return canvas
