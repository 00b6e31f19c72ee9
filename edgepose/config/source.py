"""[source] config: where frames come from, their size and rate, and how files are played."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from edgepose.config.base import Bool, Float, Int, IntOnly, Str, StrictModel
from edgepose.sources.uri import parse_source_uri

Rotation = Annotated[Literal[0, 90, 180, 270], IntOnly]


class SourceConfig(StrictModel):
    """The frame source."""

    uri: Str = Field(
        default="picamera2",
        description=(
            "Where frames come from: `picamera2` (first CSI camera), `picamera2:N`, `v4l2:/dev/video0` "
            "(USB/V4L2 camera), `file:PATH` (a video file), `rtsp://HOST/PATH` (network camera) or "
            "`replay:FILE.jsonl[.gz]` (recorded `edgepose track` landmarks played as a camera, no models)."
        ),
    )
    width: Int = Field(default=640, ge=64, le=4096, description="Capture width in pixels (cameras).")
    height: Int = Field(default=480, ge=64, le=4096, description="Capture height in pixels (cameras).")
    fps: Float = Field(
        default=30.0,
        gt=0.0,
        le=240.0,
        description="Camera frame rate; also the rate of a file whose container states none.",
    )
    rotation: Rotation = Field(
        default=0, description="Clockwise rotation of the image in degrees: 0, 90, 180 or 270."
    )
    loop: Bool = Field(default=False, description="Files: start again at the end instead of stopping.")
    realtime: Bool = Field(
        default=True,
        description=(
            "Files: play at the file's own frame rate as a camera would; false plays as fast as "
            "frames are processed (every frame, same events on every run)."
        ),
    )
    queue_frames: Int = Field(
        default=4, ge=1, le=256, description="Files: frames read ahead of processing (live sources keep 1)."
    )
    reopen_initial_s: Float = Field(
        default=1.0, gt=0.0, le=60.0, description="First wait before reopening a failed source, seconds."
    )
    reopen_max_s: Float = Field(
        default=30.0, gt=0.0, le=3600.0, description="Longest wait between reopen attempts, seconds."
    )
    read_timeout_s: Float = Field(
        default=5.0,
        gt=0.0,
        le=300.0,
        description="A live source that delivers no frame for this long is reopened, seconds.",
    )

    @field_validator("uri")
    @classmethod
    def _valid_uri(cls, value: str) -> str:
        parse_source_uri(value)
        return value.strip()

    @model_validator(mode="after")
    def _backoff_order(self) -> SourceConfig:
        if self.reopen_max_s < self.reopen_initial_s:
            raise ValueError("reopen_max_s must be at least reopen_initial_s")
        return self
