"""JPEG frames decoded on demand: MJPEG video hands the pipeline the compressed frame.

The motion gate needs a small grey image; libjpeg decodes one at 1/2, 1/4 or 1/8 scale (DCT
scaling: no full-size pixels are made) for about half the CPU of a full decode. The full RGB frame
is decoded only when a model runs (the sweep, someone moving or tracked) and is then kept, so a
frame is never decoded twice at full size. `JpegImage` satisfies `edgepose.types.DeferredImage`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import cv2
import numpy as np

from edgepose.sources.base import rotate_image
from edgepose.types import ImageArray

log = logging.getLogger(__name__)
_failures = [0]  # frames that could not be decoded: the first is a warning, the rest debug lines

_SOI = b"\xff\xd8"  # every JPEG starts with this marker
_REDUCED_GREY: tuple[tuple[int, int], ...] = (
    (8, cv2.IMREAD_REDUCED_GRAYSCALE_8),
    (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
    (2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
    (1, cv2.IMREAD_GRAYSCALE),
)
# OpenCV 4.10+ decodes straight to RGB; older ones decode BGR and convert.
_IMREAD_RGB: int | None = getattr(cv2, "IMREAD_COLOR_RGB", None)


def is_jpeg(data: Any) -> bool:
    """Whether a raw packet (1-D or 1 x N uint8) starts like a JPEG."""
    return (
        isinstance(data, np.ndarray)
        and data.dtype == np.uint8
        and data.size > 2
        and data.ravel()[:2].tobytes() == _SOI
    )


class JpegImage:
    """One compressed frame of known size; `rgb()` decodes it in full once, `grey()` cheaply.

    Safe to share between threads (the preview server may ask for the image the pipeline decodes).
    """

    __slots__ = ("_data", "_height", "_lock", "_rgb", "_rotation", "_width")

    def __init__(self, data: ImageArray, width: int, height: int, rotation_deg: int = 0) -> None:
        """`data`: the JPEG bytes; `width` x `height`: the coded size; rotation clockwise, degrees."""
        self._data = data.reshape(-1)
        turned = (rotation_deg // 90) % 2 == 1
        self._width, self._height = (height, width) if turned else (width, height)
        self._rotation = rotation_deg
        self._rgb: ImageArray | None = None
        self._lock = threading.Lock()

    @property
    def width(self) -> int:
        """Width of the decoded, rotated frame."""
        return self._width

    @property
    def height(self) -> int:
        """Height of the decoded, rotated frame."""
        return self._height

    @property
    def nbytes(self) -> int:
        """Size of the compressed frame."""
        return int(self._data.size)

    @property
    def decoded(self) -> bool:
        """Whether the full frame has been decoded."""
        return self._rgb is not None

    def rgb(self) -> ImageArray:
        """The full RGB frame (decoded on the first call); black if the data cannot be decoded."""
        with self._lock:
            if self._rgb is None:
                self._rgb = self._decode_rgb()
            return self._rgb

    def _decode_rgb(self) -> ImageArray:
        if _IMREAD_RGB is not None:
            image = cv2.imdecode(self._data, _IMREAD_RGB)
        else:
            bgr = cv2.imdecode(self._data, cv2.IMREAD_COLOR)
            image = None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if image is None or image.ndim != 3:
            _undecodable(self.nbytes)
            return np.zeros((self._height, self._width, 3), np.uint8)
        return rotate_image(np.ascontiguousarray(image, dtype=np.uint8), self._rotation)

    def grey(self, min_width_px: int) -> ImageArray:
        """Grey, at least `min_width_px` wide (or full width): from the RGB frame once it is
        decoded, else a reduced decode (a 640-pixel frame for a 160-pixel gate: 1/4 scale)."""
        rgb = self._rgb
        if rgb is not None:
            return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)
        wanted = min(min_width_px, self._width)
        # The largest reduction whose (rotated) width, rounded up as libjpeg does, is still enough;
        # scale 1 always is.
        factor, flag = next((f, g) for f, g in _REDUCED_GREY if -(-self._width // f) >= wanted)
        grey = cv2.imdecode(self._data, flag)
        if grey is None or grey.ndim != 2:
            _undecodable(self.nbytes)
            return np.zeros((-(-self._height // factor), -(-self._width // factor)), np.uint8)
        return rotate_image(np.asarray(grey, np.uint8), self._rotation)


def _undecodable(nbytes: int) -> None:
    _failures[0] += 1
    level = logging.WARNING if _failures[0] == 1 else logging.DEBUG
    log.log(level, "a %d-byte JPEG frame could not be decoded: using a black frame", nbytes)
