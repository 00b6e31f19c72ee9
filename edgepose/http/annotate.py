"""The preview frame: zones, skeletons (edgepose.draw) and activity labels, encoded as JPEG (OpenCV).

Runs in the HTTP server's encoder thread, never in the processing loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from edgepose.draw import Style, draw_label, draw_pose
from edgepose.http.hub import Snapshot, ZoneShape
from edgepose.types import ActivityState, ImageArray, Posture

ZONE_RGB: tuple[int, int, int] = (255, 220, 0)


def fit_width(image_rgb: ImageArray, max_width_px: int) -> ImageArray:
    """The image scaled down (never up) to at most `max_width_px` wide."""
    h, w = image_rgb.shape[:2]
    if w <= max_width_px:
        return image_rgb
    new_h = max(1, round(h * max_width_px / w))
    return np.asarray(cv2.resize(image_rgb, (max_width_px, new_h), interpolation=cv2.INTER_AREA), np.uint8)


def draw_zones(canvas_rgb: ImageArray, zones: Sequence[ZoneShape], style: Style) -> None:
    """Outline each zone and write its name at its first corner."""
    h, w = canvas_rgb.shape[:2]
    colour = ZONE_RGB
    for zone in zones:
        pts = np.array([(x * w, y * h) for x, y in zone.polygon], dtype=np.float32).round().astype(np.int32)
        cv2.polylines(canvas_rgb, [pts], isClosed=True, color=colour, thickness=2, lineType=cv2.LINE_AA)
        x0, y0 = int(pts[0][0]), int(pts[0][1])
        cv2.putText(
            canvas_rgb,
            zone.name,
            (x0 + 4, max(12, y0 - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            style.font_scale,
            colour,
            style.text_px,
            cv2.LINE_AA,
        )


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


def annotate(snapshot: Snapshot, zones: Sequence[ZoneShape], max_width_px: int) -> ImageArray | None:
    """The snapshot's frame as BGR with zones, skeletons and track labels drawn; None before any frame."""
    if snapshot.frame is None:
        return None
    small = fit_width(snapshot.frame.image, max_width_px)
    canvas = np.array(small, dtype=np.uint8, order="C", copy=True)
    style = Style.for_width(canvas.shape[1])
    draw_zones(canvas, zones, style)
    if snapshot.result is not None:
        for pose in snapshot.result.poses:
            anchor = draw_pose(canvas, pose, style)
            if anchor is not None:
                draw_label(canvas, _label_for(pose.track_id, snapshot.state), anchor, style)
    return np.ascontiguousarray(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), dtype=np.uint8)


def encode_jpeg(image_bgr: ImageArray, quality: int) -> bytes:
    """JPEG bytes of a BGR image."""
    ok, buf = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())
