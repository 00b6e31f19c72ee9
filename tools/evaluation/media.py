"""Held-out media and how to read it: RGB images and clips of frames with media timestamps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from edgepose.types import ImageArray

# Never used for calibration (see models/manifest.json): the accuracy comparisons run on these.
HELD_OUT_IMAGES = ("messi5.jpg", "zidane.jpg", "basketball2.png")
# (file, first frame, stop frame, step): pan_zidane.avi from the start, the second half of vtest.avi.
HELD_OUT_CLIPS = (("pan_zidane.avi", 0, 45, 1), ("vtest.avi", 560, 620, 1))

Clip = tuple[str, int, int, int]


def rgb(path: Path) -> ImageArray:
    """An image file as an RGB array."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def clip(path: Path, start: int, stop: int, step: int) -> Iterator[tuple[int, ImageArray]]:
    """(timestamp_ms, RGB frame) for frames start, start+step, ... before stop of a video file."""
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    try:
        index = 0
        while index < stop:
            ok, frame = cap.read()
            if not ok:
                break
            if index >= start and (index - start) % step == 0:
                yield (
                    int(index * 1000 / fps),
                    np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), dtype=np.uint8),
                )
            index += 1
    finally:
        cap.release()
