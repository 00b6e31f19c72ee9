"""Frame sources: picamera2, V4L2/USB, video files and RTSP behind one FrameSource protocol.

`open_feed(config)` is what the daemon uses: it parses the URI, picks the backend from the
registry and returns a started `FrameFeed`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgepose.sources.base import FrameSource, SourceError
from edgepose.sources.feed import END, Backoff, FrameFeed
from edgepose.sources.registry import create_source, register_source
from edgepose.sources.uri import SourceKind, SourceUri, parse_source_uri

if TYPE_CHECKING:
    from edgepose.config.source import SourceConfig

__all__ = [
    "END",
    "Backoff",
    "FrameFeed",
    "FrameSource",
    "SourceError",
    "SourceKind",
    "SourceUri",
    "create_source",
    "make_feed",
    "parse_source_uri",
    "register_source",
]


def make_feed(config: SourceConfig) -> FrameFeed:
    """An unstarted feed for the configured source (call `start()`, then `get()`, then `close()`)."""
    uri = parse_source_uri(config.uri)
    return FrameFeed(
        lambda: create_source(uri, config),
        name=uri.text,
        live=uri.live,
        realtime=config.realtime,
        queue_frames=config.queue_frames,
        backoff=Backoff(config.reopen_initial_s, config.reopen_max_s),
        read_timeout_s=config.read_timeout_s,
    )
