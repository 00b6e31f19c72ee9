"""Draw skeletons, track ids and zones over a frame and encode it as JPEG (OpenCV).

Runs in the HTTP server's encoder thread, never in the processing loop. Bones are drawn in one
distinctive colour (`BONE_RGB`) so that a person, or a test, can tell them from the scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from edgepose.http.hub import Snapshot, ZoneShape
from edgepose.skeleton import connections_for
from edgepose.types import ActivityState, ImageArray, Pose, Posture

BONE_RGB: tuple[int, int, int] = (255, 0, 255)
LEFT_JOINT_RGB: tuple[int, int, int] = (255, 150, 0)
RIGHT_JOINT_RGB: tuple[int, int, int] = (0, 200, 255)
ZONE_RGB: tuple[int, int, int] = (255, 220, 0)
LABEL_BG_RGB: tuple[int, int, int] = (20, 20, 20)
LABEL_FG_RGB: tuple[int, int, int] = (255, 255, 255)
MIN_VISIBILITY = 0.5

# BlazePose indices of the person's left side (odd landmarks from the shoulders down, left eye/ear).
_LEFT = frozenset({1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31})


@dataclass(frozen=True, slots=True)
class Style:
    """Line widths and font scale for one output size."""

    bone_px: int
    joint_px: int
    font_scale: float
    text_px: int

    @staticmethod
    def for_width(width_px: int) -> Style:
        """Thicker strokes for larger images, so the preview reads the same at any size."""
        unit = max(1.0, width_px / 640.0)
        return Style(
            bone_px=max(3, round(3 * unit)),
            joint_px=max(3, round(3 * unit)),
            font_scale=0.5 * unit,
            text_px=max(1, round(unit)),
        )


def _bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return rgb[2], rgb[1], rgb[0]


def fit_width(image_rgb: ImageArray, max_width_px: int) -> ImageArray:
    """The image scaled down (never up) to at most `max_width_px` wide."""
    h, w = image_rgb.shape[:2]
    if w <= max_width_px:
        return image_rgb
    new_h = max(1, round(h * max_width_px / w))
    return np.asarray(cv2.resize(image_rgb, (max_width_px, new_h), interpolation=cv2.INTER_AREA), np.uint8)


def draw_zones(canvas_bgr: ImageArray, zones: Sequence[ZoneShape], style: Style) -> None:
    """Outline each zone and write its name at its first corner."""
    h, w = canvas_bgr.shape[:2]
    colour = _bgr(ZONE_RGB)
    for zone in zones:
        pts = np.array([(x * w, y * h) for x, y in zone.polygon], dtype=np.float32).round().astype(np.int32)
        cv2.polylines(canvas_bgr, [pts], isClosed=True, color=colour, thickness=2, lineType=cv2.LINE_AA)
        x0, y0 = int(pts[0][0]), int(pts[0][1])
        cv2.putText(
            canvas_bgr,
            zone.name,
            (x0 + 4, max(12, y0 - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            style.font_scale,
            colour,
            style.text_px,
            cv2.LINE_AA,
        )


def draw_pose(canvas_bgr: ImageArray, pose: Pose, style: Style) -> tuple[int, int] | None:
    """Bones and joints of one pose; returns the top-centre pixel of its visible joints (for a label)."""
    h, w = canvas_bgr.shape[:2]
    lm = pose.landmarks
    xy = np.stack([lm[:, 0] * w, lm[:, 1] * h], axis=1).round().astype(np.int32)
    visible = lm[:, 3] >= MIN_VISIBILITY
    if not visible.any():
        return None
    bone = _bgr(BONE_RGB)
    for a, b in connections_for(pose.skeleton):
        if visible[a] and visible[b]:
            pa, pb = (int(xy[a, 0]), int(xy[a, 1])), (int(xy[b, 0]), int(xy[b, 1]))
            cv2.line(canvas_bgr, pa, pb, bone, style.bone_px, cv2.LINE_AA)
    left, right = _bgr(LEFT_JOINT_RGB), _bgr(RIGHT_JOINT_RGB)
    for i in np.flatnonzero(visible):
        centre = (int(xy[i, 0]), int(xy[i, 1]))
        cv2.circle(canvas_bgr, centre, style.joint_px, left if int(i) in _LEFT else right, -1, cv2.LINE_AA)
    pts = xy[visible]
    return int(pts[:, 0].mean()), int(pts[:, 1].min())


def _label_for(track_id: int, state: ActivityState | None) -> str:
    text = f"#{track_id}"
    if state is None:
        return text
    for track in state.tracks:
        if track.track_id == track_id:
            if track.posture is not Posture.UNKNOWN:
                text += f" {track.posture.value}"
            reps = sum(track.rep_counts.values())
            if reps:
                text += f" reps {reps}"
    return text


def draw_label(canvas_bgr: ImageArray, text: str, anchor: tuple[int, int], style: Style) -> None:
    """A dark box with white text, centred above `anchor`, kept inside the image."""
    h, w = canvas_bgr.shape[:2]
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, style.font_scale, style.text_px)
    pad = 3
    x = min(max(0, anchor[0] - tw // 2 - pad), max(0, w - tw - 2 * pad))
    y = min(max(0, anchor[1] - th - base - 2 * pad - 6), max(0, h - th - base - 2 * pad))
    cv2.rectangle(canvas_bgr, (x, y), (x + tw + 2 * pad, y + th + base + 2 * pad), _bgr(LABEL_BG_RGB), -1)
    cv2.putText(
        canvas_bgr,
        text,
        (x + pad, y + pad + th),
        cv2.FONT_HERSHEY_SIMPLEX,
        style.font_scale,
        _bgr(LABEL_FG_RGB),
        style.text_px,
        cv2.LINE_AA,
    )


def annotate(snapshot: Snapshot, zones: Sequence[ZoneShape], max_width_px: int) -> ImageArray | None:
    """The snapshot's frame as BGR with zones, skeletons and track labels drawn; None before any frame."""
    if snapshot.frame is None:
        return None
    small = fit_width(snapshot.frame.image, max_width_px)
    canvas = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), dtype=np.uint8)
    style = Style.for_width(canvas.shape[1])
    draw_zones(canvas, zones, style)
    if snapshot.result is not None:
        for pose in snapshot.result.poses:
            anchor = draw_pose(canvas, pose, style)
            if anchor is not None:
                draw_label(canvas, _label_for(pose.track_id, snapshot.state), anchor, style)
    return canvas


def encode_jpeg(image_bgr: ImageArray, quality: int) -> bytes:
    """JPEG bytes of a BGR image."""
    ok, buf = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())
