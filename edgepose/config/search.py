"""[model.search] config: where and when the detector looks for people not yet tracked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from edgepose.config.base import Bool, Float, Int, StrictModel

if TYPE_CHECKING:
    from edgepose.pose.search import SearchSettings


class SearchConfig(StrictModel):
    """The search for new people (edgepose.pose.search), with its motion gate."""

    mode: Literal["full_frame", "zoom"] = Field(
        default="zoom",
        description="full_frame: the detector sees the whole frame (finds people above about 30-50% of "
        "its height); zoom: also zoomed regions (moving ones first, and a sweep of tiles) so people "
        "down to about 15% of the frame's height are found.",
    )
    zoom_levels: tuple[Annotated[Float, Field(gt=1.0, le=8.0)], ...] = Field(
        default=(2.0, 3.0),
        min_length=0,
        max_length=4,
        description="Zoom mode: magnifications of the swept tiles against the whole-frame view.",
    )
    overlap: Float = Field(
        default=0.25, ge=0.0, le=0.75, description="Zoom mode: share of a tile overlapping its neighbour."
    )
    detector_budget: Int = Field(
        default=2, ge=1, le=16, description="Most detector runs in one frame; the sweep goes on next frame."
    )
    motion_gate: Bool = Field(
        default=True,
        description="With someone missing, run the detector only where something moved, plus the sweep; "
        "false: every frame, as far as the budget goes.",
    )
    motion_threshold: Float = Field(
        default=12.0,
        ge=1.0,
        le=128.0,
        description="Least grey-level change (0-255) the motion gate counts; it rises by itself above "
        "a noisy camera's noise.",
    )
    min_zoomed_detection_confidence: Float = Field(
        default=0.75,
        ge=0.0,
        le=1.0,
        description="Detector score a person found in a zoomed region needs (zoomed regions meet more "
        "look-alikes than the whole frame, which uses min_pose_detection_confidence).",
    )
    sweep_interval_s: Float = Field(
        default=15.0,
        ge=0.5,
        le=600.0,
        description="Seconds one sweep over the whole frame and every tile takes, so a person who never "
        "moves is still found.",
    )

    def settings(self) -> SearchSettings:
        """The pose pipeline's search settings."""
        # Imported here: loading a config must not pull in OpenCV and the pose pipeline.
        from edgepose.pose.motion import MotionSettings
        from edgepose.pose.search import SearchMode, SearchSettings

        return SearchSettings(
            mode=SearchMode(self.mode),
            zoom_levels=tuple(self.zoom_levels),
            overlap=self.overlap,
            detector_budget=self.detector_budget,
            motion_gate=self.motion_gate,
            sweep_interval_ms=round(self.sweep_interval_s * 1000.0),
            motion=MotionSettings(threshold=self.motion_threshold),
            zoom_min_score=self.min_zoomed_detection_confidence,
        )
