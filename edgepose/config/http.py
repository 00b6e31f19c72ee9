"""[http] config: the optional preview, kiosk, health and metrics server."""

from __future__ import annotations

from edgepose.config.base import StrictModel


class HttpConfig(StrictModel):
    """The optional HTTP server."""
