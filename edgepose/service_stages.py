"""The stages the service composes: the model pipeline, the activity stage, the per-frame seams."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from edgepose.config.activity import ActivityConfig
from edgepose.config.model import ModelConfig
from edgepose.errors import EdgeposeError
from edgepose.publish.base import Publisher
from edgepose.service_lifecycle import quietly
from edgepose.sources import FrameFeed, parse_source_uri
from edgepose.types import ActivityState, Event, Frame, PoseResult, RunningMode, ServiceStats, SourceState

if TYPE_CHECKING:
    from edgepose.inference.accelerators.base import Accelerator
    from edgepose.pose.families import PoseEstimator

log = logging.getLogger("edgepose.service")


class FrameObserver(Protocol):
    """Called by the processing loop once per frame; must return quickly (store, do not draw)."""

    def __call__(
        self,
        frame: Frame,
        result: PoseResult,
        events: Sequence[Event],
        state: ActivityState,
        stats: ServiceStats,
    ) -> None:
        """Take one processed frame."""


SourceListener = Callable[[SourceState, str], None]


class ActivityStage(Protocol):
    """What the service needs from the activity engine."""

    def update(self, result: PoseResult) -> tuple[list[Event], ActivityState]:
        """Events and state after one frame."""
        ...


@dataclass
class Pipeline:
    """The accelerator and the pose estimator (BlazePose or MoveNet) built from `[model]`, closed together."""

    landmarker: PoseEstimator
    accelerator: Accelerator
    accelerator_name: str

    def detect(self, frame: Frame) -> PoseResult:
        """Poses of one video frame (a compressed one is decoded only as far as the models need)."""
        return self.landmarker.detect_for_video(frame.pixels, frame.timestamp_ms)

    def reset(self) -> None:
        """Forget the tracks (a new source: its timestamps start again)."""
        reset: Callable[[], None] | None = getattr(self.landmarker, "reset", None)
        if reset is not None:
            reset()

    def close(self) -> None:
        """Release interpreters and the accelerator."""
        self.landmarker.close()
        self.accelerator.close()


def build_pipeline(config: ModelConfig) -> Pipeline:
    """Open the accelerator and load the models (ModelError with the file named when that fails)."""
    from edgepose.inference.accelerators.base import AcceleratorSettings
    from edgepose.inference.accelerators.registry import open_accelerator
    from edgepose.pose.families import build_estimator

    settings = AcceleratorSettings(cpu=config.cpu, edgetpu=config.edgetpu, threads=config.threads)
    accelerator = open_accelerator(config.accelerator, settings)
    try:
        estimator = build_estimator(config, accelerator, RunningMode.VIDEO)
    except BaseException:
        accelerator.close()
        raise
    name = str(accelerator.accelerator_in_use)
    log.info(
        "models: %s %s %s on %s", config.family, config.variant, config.precision, accelerator.describe()
    )
    return Pipeline(landmarker=estimator, accelerator=accelerator, accelerator_name=name)


@dataclass
class StagedReload:
    """Stages built for a reload and not yet in use; `discard` closes them when the reload fails."""

    pipeline: Pipeline | None = None
    activity: ActivityStage | None = None
    publisher: Publisher | None = None
    feed: FrameFeed | None = None

    def discard(self) -> None:
        """Close whatever was built."""
        if self.pipeline is not None:
            quietly(self.pipeline.close)
        if self.publisher is not None:
            publisher = self.publisher
            quietly(lambda: publisher.close(timeout_s=0.0))


class _PeopleCount:
    """The activity stage when `[activity] enabled = false`: state with the people count only."""

    def update(self, result: PoseResult) -> tuple[list[Event], ActivityState]:
        return [], ActivityState(timestamp_ms=result.timestamp_ms, people=len(result.poses))


def build_activity(config: ActivityConfig, id_prefix: str = "ev") -> ActivityStage:
    """The activity engine for the config, or the people counter when it is disabled.

    `id_prefix` starts every event id; it must differ between runs, because consumers drop
    events whose id they have seen (delivery is at least once).
    """
    from edgepose.activity.engine import ActivityEngine

    if not config.enabled:
        return _PeopleCount()
    return ActivityEngine(config, id_prefix=id_prefix)


def people_count() -> ActivityStage:
    """The stage used before the activity engine is built: state with the people count only."""
    return _PeopleCount()


def uses_models(source_uri: str) -> bool:
    """Whether frames of this source need the pose models (a `replay:` source carries its poses)."""
    return parse_source_uri(source_uri).kind.needs_models


def frame_poses(frame: Frame, pipeline: Pipeline | None) -> PoseResult:
    """The frame's poses: recorded ones (replay) on the frame's clock, else from the models."""
    recorded = frame.recorded
    if recorded is not None:
        if recorded.timestamp_ms == frame.timestamp_ms and recorded.frame_index == frame.index:
            return recorded
        return replace(recorded, timestamp_ms=frame.timestamp_ms, frame_index=frame.index)
    if pipeline is None:
        raise EdgeposeError("a frame without recorded poses, and no models loaded")
    return pipeline.detect(frame)


def stamp_wall_ms(events: list[Event]) -> list[Event]:
    """The events stamped with the wall clock (the engine has none), so subscribers can measure latency."""
    if not events:
        return events
    wall_ms = time.time_ns() // 1_000_000
    return [event.with_wall_ms(wall_ms) for event in events]
