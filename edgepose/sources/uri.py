"""Source URIs (`picamera2[:N]`, `v4l2:/dev/videoN`, `file:PATH`, `replay:PATH`, `rtsp://...`) as values."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from edgepose.redact import redact


class SourceKind(enum.StrEnum):
    """Which backend reads a source, and so whether it is live or a file."""

    PICAMERA2 = "picamera2"
    V4L2 = "v4l2"
    FILE = "file"
    STREAM = "stream"  # rtsp://, rtsps://, http(s):// (MJPEG or HLS) through FFmpeg
    REPLAY = "replay"  # recorded landmarks (`edgepose track` JSON lines): no camera, no models

    @property
    def live(self) -> bool:
        """Live sources keep only the newest frame; files (video, recorded poses) deliver every frame."""
        return self not in (SourceKind.FILE, SourceKind.REPLAY)

    @property
    def needs_models(self) -> bool:
        """Whether frames need the pose models; a replay carries its poses."""
        return self is not SourceKind.REPLAY


_STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")


@dataclass(frozen=True, slots=True)
class SourceUri:
    """A parsed source URI: the backend, a camera number (picamera2) and a location.

    `text` is what messages show: credentials are redacted. Only `location` (the device path,
    file path or stream URL, kept out of repr) carries the password, for opening the stream.
    """

    kind: SourceKind
    text: str
    camera_num: int = 0
    location: str = field(default="", repr=False)

    @property
    def live(self) -> bool:
        """Whether frames come in real time (and may be dropped)."""
        return self.kind.live


def parse_source_uri(text: str) -> SourceUri:
    """Parse a source URI, or raise ValueError with a message listing the accepted forms."""
    uri = text.strip()
    if uri == "picamera2" or uri.startswith("picamera2:"):
        num_text = uri.partition(":")[2] or "0"
        if not num_text.isdigit():
            raise ValueError(f"camera number must be a non-negative integer in {text!r} (picamera2:1)")
        return SourceUri(SourceKind.PICAMERA2, uri, camera_num=int(num_text))
    if uri.startswith("v4l2:"):
        device = uri[len("v4l2:") :]
        if device.isdigit():
            device = f"/dev/video{device}"
        if not device.startswith("/dev/"):
            raise ValueError(f"v4l2 source needs a device path such as v4l2:/dev/video0, got {text!r}")
        return SourceUri(SourceKind.V4L2, uri, location=device)
    if uri.startswith("file:"):
        path = uri[len("file:") :]
        if path.startswith("//"):  # file:///abs/path
            path = path[2:]
        if not path:
            raise ValueError("file source needs a path: file:/path/to/video.mp4")
        return SourceUri(SourceKind.FILE, uri, location=str(Path(path).expanduser()))
    if uri.startswith("replay:"):
        path = uri[len("replay:") :]
        if not path:
            raise ValueError("replay source needs a path: replay:/path/to/poses.jsonl(.gz)")
        return SourceUri(SourceKind.REPLAY, uri, location=str(Path(path).expanduser()))
    if uri.startswith(_STREAM_SCHEMES):
        return SourceUri(SourceKind.STREAM, redact(uri), location=uri)
    raise ValueError(
        f"unknown source {redact(text)!r}: use picamera2, picamera2:N, v4l2:/dev/videoN, file:PATH, "
        "replay:FILE.jsonl or rtsp://HOST/PATH"
    )
