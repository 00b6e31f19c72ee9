"""OpenCV backend: video files, V4L2/USB cameras and network streams (RTSP/HTTP through FFmpeg).

MJPEG files are read undecoded: each frame goes out as a `JpegImage`, which the pose pipeline
decodes only as far as it needs (a small grey image for the motion gate while the room is empty).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgepose.sources.base import SourceBase, SourceError, SourceSettings, StrictlyIncreasing, rotate_image
from edgepose.sources.uri import SourceKind, SourceUri
from edgepose.types import Frame, FrameImage, ImageArray

log = logging.getLogger(__name__)

_MAX_SANE_FPS = 1000.0
_MJPEG = (b"MJPG", b"mjpg", b"AVRn", b"MJPA", b"jpeg")  # FourCCs of motion-JPEG video


class OpenCVSource(SourceBase):
    """Frames through cv2.VideoCapture; files keep the media's timestamps, live sources the clock's."""

    def __init__(self, uri: SourceUri, settings: SourceSettings) -> None:
        if uri.kind not in (SourceKind.FILE, SourceKind.V4L2, SourceKind.STREAM):
            raise SourceError(f"{uri.text}: not an OpenCV source")
        self._uri = uri
        self._settings = settings
        self._cap: Any = None
        self._fps = settings.fps
        self._pass_index = 0  # frame number within the current pass over a file
        self._loop_base = 0  # frames of the file's earlier passes (loop = true)
        self._index = 0
        self._declared_frames = 0  # what the file's container says it holds (0: unknown)
        self._jpeg_size: tuple[int, int] | None = None  # (w, h) while frames are read undecoded
        self._monotonic = StrictlyIncreasing()

    @property
    def live(self) -> bool:
        """Cameras and streams are live; files are not."""
        return self._uri.live

    @property
    def fps(self) -> float:
        """The media's frame rate (files) or the requested one (cameras)."""
        return self._fps

    def open(self) -> None:
        """Open the file, device or stream; SourceError with the reason when it cannot."""
        import cv2

        self.close()
        self._jpeg_size = None
        kind = self._uri.kind
        if kind is SourceKind.FILE:
            path = Path(self._uri.location)
            if not path.is_file():
                raise SourceError(f"{self._uri.text}: no such file")
            cap = cv2.VideoCapture(str(path))
        elif kind is SourceKind.V4L2:
            if not os.path.exists(self._uri.location):
                raise SourceError(f"{self._uri.text}: no such device (is the camera plugged in?)")
            cap = cv2.VideoCapture(self._uri.location, cv2.CAP_V4L2)
        else:
            if self._uri.location.startswith(("rtsp://", "rtsps://")):
                # RTP over TCP: UDP loses packets (grey smeared frames) on busy Wi-Fi; users may override.
                os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
            timeout_ms = int(self._settings.read_timeout_s * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
            cap = cv2.VideoCapture(self._uri.location, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            what = "cannot decode the file" if kind is SourceKind.FILE else "cannot open"
            raise SourceError(f"{self._uri.text}: {what}")
        if kind is SourceKind.V4L2:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._settings.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._settings.height)
            cap.set(cv2.CAP_PROP_FPS, self._settings.fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep latency to one frame
        if kind is SourceKind.FILE:
            media_fps = float(cap.get(cv2.CAP_PROP_FPS))
            self._fps = media_fps if 0.0 < media_fps < _MAX_SANE_FPS else self._settings.fps
            self._declared_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            self._jpeg_size = _undecoded_jpeg(cap, Path(self._uri.location))
        self._cap = cap
        self._pass_index = 0
        log.info("opened %s (%.1f fps)", self._uri.text, self._fps)

    def read(self) -> Frame | None:
        """The next RGB frame; None at the end of a file (unless looping); SourceError on failure."""
        if self._cap is None:
            raise SourceError(f"{self._uri.text}: not open")
        ok, data = self._cap.read()
        if not ok and self._uri.kind is SourceKind.FILE and 0 < self._pass_index < self._declared_frames:
            # A damaged or truncated file ends early, silently in OpenCV: say so once per pass.
            log.warning(
                "%s: decoded %d of the %d frames the file declares: it is damaged or truncated",
                self._uri.text,
                self._pass_index,
                self._declared_frames,
            )
            self._declared_frames = 0  # once: reads after the end must not repeat it
        if not ok and self._uri.kind is SourceKind.FILE and self._settings.loop and self._pass_index > 0:
            self._loop_base += self._pass_index
            self.open()
            ok, data = self._cap.read()
        if not ok or data is None:
            if self._uri.kind is SourceKind.FILE:
                return None
            raise SourceError(f"{self._uri.text}: no frame (device or stream lost)")
        image: FrameImage
        if self._jpeg_size is not None:
            from edgepose.sources.jpeg import JpegImage

            image = JpegImage(data, *self._jpeg_size, rotation_deg=self._settings.rotation)
        else:
            image = self._to_rgb(data)
        if self._uri.kind is SourceKind.FILE:
            # The media's own clock: the same file gives the same timestamps on every run.
            timestamp_ms = round((self._loop_base + self._pass_index) * 1000.0 / self._fps)
        else:
            timestamp_ms = self._monotonic(time.monotonic_ns() // 1_000_000)
        self._pass_index += 1
        frame = Frame(pixels=image, timestamp_ms=timestamp_ms, index=self._index)
        self._index += 1
        return frame

    def _to_rgb(self, bgr: Any) -> ImageArray:
        import cv2

        rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB if bgr.ndim == 2 else cv2.COLOR_BGR2RGB)
        return rotate_image(np.ascontiguousarray(rgb, dtype=np.uint8), self._settings.rotation)

    def close(self) -> None:
        """Release the capture (idempotent)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def _undecoded_jpeg(cap: Any, path: Path) -> tuple[int, int] | None:
    """Switch an MJPEG file's capture to handing over its JPEG packets; their (w, h), or None.

    Only when a probe (its own capture of the same file) shows that the packets are JPEGs that
    decode to the container's size; otherwise (another codec, an OpenCV without raw mode, packets
    without their Huffman tables) frames are decoded by FFmpeg as before.
    """
    import cv2

    from edgepose.sources.jpeg import is_jpeg

    fourcc = (int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF).to_bytes(4, "little")
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if fourcc not in _MJPEG or width <= 0 or height <= 0:
        return None
    probe = cv2.VideoCapture(str(path))
    try:
        if not probe.set(cv2.CAP_PROP_FORMAT, -1):
            return None
        ok, packet = probe.read()
        if not ok or not is_jpeg(packet):
            return None
        grey = cv2.imdecode(packet.reshape(-1), cv2.IMREAD_REDUCED_GRAYSCALE_8)
        if grey is None or grey.shape != (-(-height // 8), -(-width // 8)):
            return None
    finally:
        probe.release()
    if not cap.set(cv2.CAP_PROP_FORMAT, -1):
        return None
    log.debug("%s: MJPEG, frames decoded on demand", path.name)
    return width, height
