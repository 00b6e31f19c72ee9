"""The FrameSource protocol, the settings backends read, and source errors.

A source is opened, read one frame at a time and closed. `read()` returns the next `Frame`,
None at the end of a file, and raises `SourceError` when the device fails or vanishes (the
feed in `edgepose.sources.feed` reopens it with backoff). Backends import their heavy
dependencies (OpenCV, picamera2) only when opened.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self, cast

from edgepose.errors import EdgeposeError
from edgepose.sources.uri import SourceUri
from edgepose.types import Frame, ImageArray


class SourceError(EdgeposeError):
    """A camera, file or stream that cannot be opened or read; one clear line for the user."""

    exit_code = os.EX_UNAVAILABLE  # 69: systemd restarts on it, unlike a config error


class FrameSource(Protocol):
    """Frames from one camera, file or stream."""

    @property
    def live(self) -> bool:
        """True for cameras and streams (keep only the newest frame), False for files."""
        ...

    def open(self) -> None:
        """Acquire the device or file; raises SourceError with a clear reason."""

    def read(self) -> Frame | None:
        """The next frame (RGB), None at the end of a file; raises SourceError on failure."""
        ...

    def close(self) -> None:
        """Release the device; safe to call twice and after a failed open."""

    def __enter__(self) -> Self:
        """Open and return the source."""
        ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the source."""


class SourceBase:
    """Context-manager plumbing shared by the backends."""

    def open(self) -> None:
        """Acquire the device or file."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        """Open and return the source."""
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the source."""
        self.close()


class StrictlyIncreasing:
    """Makes timestamps strictly increasing, as video-mode pose tracking needs."""

    def __init__(self) -> None:
        self._last_ms: int | None = None

    def __call__(self, timestamp_ms: int) -> int:
        """The timestamp, bumped by 1 ms past the previous one when a clock repeats or steps back."""
        if self._last_ms is not None and timestamp_ms <= self._last_ms:
            timestamp_ms = self._last_ms + 1
        self._last_ms = timestamp_ms
        return timestamp_ms


def rotate_image(image: ImageArray, rotation_deg: int) -> ImageArray:
    """The image turned clockwise by 0/90/180/270 degrees, contiguous."""
    import cv2

    turns = (rotation_deg // 90) % 4
    if turns == 0:
        return image
    # cv2.rotate is about ten times faster than a contiguous np.rot90 on a 640x480 frame.
    codes = (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return cast(ImageArray, cv2.rotate(image, codes[turns - 1]))


SourceFactory = Callable[[SourceUri, "SourceSettings"], FrameSource]


class SourceSettings(Protocol):
    """The config values a backend reads (SourceConfig satisfies it)."""

    @property
    def width(self) -> int:
        """Capture width."""
        ...

    @property
    def height(self) -> int:
        """Capture height."""
        ...

    @property
    def fps(self) -> float:
        """Frame rate."""
        ...

    @property
    def rotation(self) -> int:
        """Clockwise rotation, degrees."""
        ...

    @property
    def loop(self) -> bool:
        """Files: loop at the end."""
        ...

    @property
    def read_timeout_s(self) -> float:
        """Live sources: longest wait for one frame."""
        ...
