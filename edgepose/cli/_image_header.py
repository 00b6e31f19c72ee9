"""Image dimensions from the file header, read before anything is decoded.

A 390 KB PNG can declare 20000 x 20000 pixels and take 2.4 GB to decode, so the CLI refuses
images over a pixel limit from their header alone (PNG, JPEG, GIF, BMP, WebP). For other formats
OpenCV's own limit applies, which `OPENCV_IO_MAX_IMAGE_PIXELS` sets (the CLI sets it to the same
limit unless the environment already does).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

MAX_IMAGE_PIXELS = 50_000_000  # 50 megapixels: a 150 MB RGB image, more than any camera here makes
OPENCV_LIMIT_VARIABLE = "OPENCV_IO_MAX_IMAGE_PIXELS"

# JPEG start-of-frame markers (they carry the size); C4, C8 and CC are other segments.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True, slots=True)
class ImageSize:
    """Width and height in pixels, as the file declares them."""

    width_px: int
    height_px: int

    @property
    def pixels(self) -> int:
        """Width times height."""
        return self.width_px * self.height_px


def pixel_limit() -> int:
    """The pixel limit: $OPENCV_IO_MAX_IMAGE_PIXELS when set to a positive number, else MAX_IMAGE_PIXELS."""
    value = os.environ.get(OPENCV_LIMIT_VARIABLE, "")
    return int(value) if value.isdigit() and int(value) > 0 else MAX_IMAGE_PIXELS


def apply_opencv_limit() -> None:
    """Make OpenCV refuse what the header check refuses, for formats it does not parse.

    OpenCV reads the variable once, when it first decodes, so this runs before any image is read.
    """
    os.environ.setdefault(OPENCV_LIMIT_VARIABLE, str(MAX_IMAGE_PIXELS))


def declared_size(data: bytes) -> ImageSize | None:
    """The size the header declares, or None for a format (or a header) this does not read."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return ImageSize(width, height)
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return ImageSize(width, height)
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return ImageSize(abs(width), abs(height))
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


def _jpeg_size(data: bytes) -> ImageSize | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF_MARKERS and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return ImageSize(width, height)
        pos += 2 + length
    return None


def _webp_size(data: bytes) -> ImageSize | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return ImageSize(width, height)
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return ImageSize(1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return ImageSize(width & 0x3FFF, height & 0x3FFF)
    return None
