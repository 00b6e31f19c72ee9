"""The source backends by URI kind; `create_source` makes an unopened source for a parsed URI.

The built-in backends are registered below when this module is imported (picamera2 for `picam:`,
OpenCV for `v4l2:`, files and streams, recorded landmarks for `replay:`); `register_source` adds
or replaces one, before or after first use, without touching the others.
"""

from __future__ import annotations

from edgepose.sources.base import FrameSource, SourceError, SourceFactory, SourceSettings
from edgepose.sources.opencv import OpenCVSource
from edgepose.sources.picamera2 import Picamera2Source
from edgepose.sources.replay import ReplaySource
from edgepose.sources.uri import SourceKind, SourceUri

_REGISTRY: dict[SourceKind, SourceFactory] = {}


def register_source(kind: SourceKind, factory: SourceFactory) -> None:
    """Make `factory` the backend for a kind of URI (later registrations win)."""
    _REGISTRY[kind] = factory


def create_source(uri: SourceUri, settings: SourceSettings) -> FrameSource:
    """A new, unopened source for a parsed URI."""
    factory = _REGISTRY.get(uri.kind)
    if factory is None:
        raise SourceError(f"{uri.text}: no backend for {uri.kind} sources")
    return factory(uri, settings)


register_source(SourceKind.PICAMERA2, Picamera2Source)
register_source(SourceKind.REPLAY, ReplaySource)
for _kind in (SourceKind.V4L2, SourceKind.FILE, SourceKind.STREAM):
    register_source(_kind, OpenCVSource)
