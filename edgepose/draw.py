"""Skeleton drawing, the one way: bones, joints coloured by the person's side, and labels.

Used by `--annotate` (cli) and the HTTP preview (http/annotate.py). Everything draws on RGB images.
Bones are one distinctive colour (`BONE_RGB`) so that a person, or a test, can tell them from the
scene; joints on the person's own left are `LEFT_JOINT_RGB`, on their right `RIGHT_JOINT_RGB`,
whichever skeleton (BlazePose-33 or COCO-17) the pose carries.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgepose.skeleton import connections_for, left_side
from edgepose.types import ImageArray, Pose, PoseResult

BONE_RGB: tuple[int, int, int] = (255, 0, 255)
LEFT_JOINT_RGB: tuple[int, int, int] = (255, 150, 0)
RIGHT_JOINT_RGB: tuple[int, int, int] = (0, 200, 255)
LABEL_BG_RGB: tuple[int, int, int] = (20, 20, 20)
LABEL_FG_RGB: tuple[int, int, int] = (255, 255, 255)
MIN_VISIBILITY = 0.5


@dataclass(frozen=True, slots=True)
class Style:
    """Line widths and font scale for one output size."""

    bone_px: int
    joint_px: int
    font_scale: float
    text_px: int

    @staticmethod
    def for_width(width_px: int) -> Style:
        """Thicker strokes for larger images, so drawings read the same at any size."""
        unit = max(1.0, width_px / 640.0)
        return Style(
            bone_px=max(3, round(3 * unit)),
            joint_px=max(3, round(3 * unit)),
            font_scale=0.5 * unit,
            text_px=max(1, round(unit)),
        )


def joint_rgb(pose: Pose, index: int) -> tuple[int, int, int]:
    """The colour of one joint: by the person's side (the nose counts as right)."""
    return LEFT_JOINT_RGB if index in left_side(pose.skeleton) else RIGHT_JOINT_RGB


def draw_pose(canvas_rgb: ImageArray, pose: Pose, style: Style) -> tuple[int, int] | None:
    """Bones and joints of one pose; returns the top-centre pixel of its visible joints (for a label)."""
    h, w = canvas_rgb.shape[:2]
    lm = pose.landmarks
    xy = np.stack([lm[:, 0] * w, lm[:, 1] * h], axis=1).round().astype(np.int32)
    visible = lm[:, 3] >= MIN_VISIBILITY
    if not visible.any():
        return None
    for a, b in connections_for(pose.skeleton):
        if visible[a] and visible[b]:
            pa, pb = (int(xy[a, 0]), int(xy[a, 1])), (int(xy[b, 0]), int(xy[b, 1]))
            cv2.line(canvas_rgb, pa, pb, BONE_RGB, style.bone_px, cv2.LINE_AA)
    for i in np.flatnonzero(visible):
        centre = (int(xy[i, 0]), int(xy[i, 1]))
        cv2.circle(canvas_rgb, centre, style.joint_px, joint_rgb(pose, int(i)), -1, cv2.LINE_AA)
    pts = xy[visible]
    return int(pts[:, 0].mean()), int(pts[:, 1].min())


def draw_label(canvas_rgb: ImageArray, text: str, anchor: tuple[int, int], style: Style) -> None:
    """A dark box with white text, centred above `anchor`, kept inside the image."""
    h, w = canvas_rgb.shape[:2]
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, style.font_scale, style.text_px)
    pad = 3
    x = min(max(0, anchor[0] - tw // 2 - pad), max(0, w - tw - 2 * pad))
    y = min(max(0, anchor[1] - th - base - 2 * pad - 6), max(0, h - th - base - 2 * pad))
    cv2.rectangle(canvas_rgb, (x, y), (x + tw + 2 * pad, y + th + base + 2 * pad), LABEL_BG_RGB, -1)
    cv2.putText(
        canvas_rgb,
        text,
        (x + pad, y + pad + th),
        cv2.FONT_HERSHEY_SIMPLEX,
        style.font_scale,
        LABEL_FG_RGB,
        style.text_px,
        cv2.LINE_AA,
    )


def draw_result(image: ImageArray, result: PoseResult) -> ImageArray:
    """A copy of the RGB image with every pose of the result drawn and labelled (track id, score)."""
    canvas = np.ascontiguousarray(image.copy())
    style = Style.for_width(canvas.shape[1])
    for pose in result.poses:
        anchor = draw_pose(canvas, pose, style)
        if anchor is not None:
            draw_label(canvas, f"#{pose.track_id} {pose.score:.2f}", anchor, style)
    return canvas
