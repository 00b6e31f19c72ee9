"""[service] config: the daemon itself: publisher, state directory, stats, logging, watchdog."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edgepose.config.base import ConfigPath, Float, StrictModel

LogLevel = Literal["debug", "info", "warning", "error"]


class ServiceConfig(StrictModel):
    """How the daemon runs."""

    publish: Literal["mqtt", "stdout"] = Field(
        default="mqtt",
        description="Where results go: mqtt (the broker in [mqtt]) or stdout (JSON lines, for debugging).",
    )
    state_directory: ConfigPath | None = Field(
        default=None,
        description=(
            "Where the event spool lives. Unset: $EDGEPOSE_STATE_DIRECTORY, else systemd's "
            "$STATE_DIRECTORY (/var/lib/edgepose), else the user cache."
        ),
    )
    status_interval_s: Float = Field(
        default=5.0, ge=1.0, le=3600.0, description="How often the systemd status line is updated, seconds."
    )
    log_level: LogLevel = Field(default="info", description="Least severe log level written.")
    stall_warning_s: Float = Field(
        default=10.0,
        ge=1.0,
        le=3600.0,
        description="Log one warning when no frame was processed for this long, seconds.",
    )
