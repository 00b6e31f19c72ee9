"""[http] config: the optional preview, kiosk, health and metrics server."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from edgepose.config.base import Bool, ConfigPath, Float, Int, Str, StrictModel

_LOCALHOST_NAMES = ("localhost",)


def is_loopback_bind(bind: str) -> bool:
    """Whether an address only accepts connections from this machine."""
    if bind in _LOCALHOST_NAMES:
        return True
    return ipaddress.ip_address(bind).is_loopback


class HttpConfig(StrictModel):
    """The optional HTTP server: live preview, kiosk screen, /healthz and /metrics."""

    enabled: Bool = Field(default=False, description="Run the HTTP server inside the daemon. Off by default.")
    bind: Str = Field(
        default="127.0.0.1",
        description=(
            "Address to listen on: an IP address literal or 'localhost'. Only this machine can "
            "connect by default; all interfaces need an explicit '0.0.0.0' or '::'."
        ),
    )
    port: Int = Field(default=8080, ge=0, le=65535, description="TCP port (0 picks a free one).")
    password_file: ConfigPath | None = Field(
        default=None,
        description=(
            "File of 'user:hash' lines (make one with `python -m edgepose.http.auth USER`); when "
            "set, every page except /healthz asks for HTTP basic auth."
        ),
    )
    stream_max_fps: Float = Field(
        default=10.0, gt=0.0, le=60.0, description="Upper bound on frames per second sent to viewers."
    )
    jpeg_quality: Int = Field(default=75, ge=10, le=100, description="JPEG quality of the preview (10-100).")
    max_width_px: Int = Field(
        default=960,
        ge=160,
        le=4096,
        description="Preview frames wider than this are scaled down before drawing and encoding.",
    )
    recent_events: Int = Field(
        default=50, ge=1, le=1000, description="How many recent events /api/events and the pages keep."
    )
    stale_after_s: Float = Field(
        default=5.0,
        gt=0.0,
        description="/healthz turns 503 when no frame was processed for this many seconds.",
    )
    kiosk_title: Str = Field(default="edgepose", max_length=80, description="Heading of the /kiosk screen.")
    max_stream_viewers: Int = Field(
        default=8,
        ge=1,
        le=100,
        description="Most clients on /stream.mjpg at once (and, counted apart, on /api/live); more get 503.",
    )

    @field_validator("bind")
    @classmethod
    def _bind_is_explicit(cls, value: str) -> str:
        # An empty host makes servers listen on every interface; that must never happen implicitly.
        if value in _LOCALHOST_NAMES:
            return value
        try:
            ipaddress.ip_address(value)
        except ValueError as exc:
            raise ValueError(
                f"bind must be an IP address or 'localhost' (got {value!r}); "
                "use '0.0.0.0' explicitly to listen on all interfaces"
            ) from exc
        return value
