"""Pose model families behind one small interface: BlazePose (PoseLandmarker) and MoveNet.

Both take an accelerator's `make_interpreter` as their interpreter factory and give `PoseResult`s,
so the service, MQTT payloads and the activity engine do not care which family runs. The built-in
families are registered below when this module is imported; `register_family` adds or replaces one.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from edgepose.config.model import ModelConfig
from edgepose.config.movenet import ModelFamily
from edgepose.errors import ConfigError
from edgepose.inference.models import ModelRole
from edgepose.pose.body_spec import body_spec
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.pose.movenet import MoveNetOptions, MoveNetPoseEstimator
from edgepose.skeleton import SkeletonKind
from edgepose.types import FrameImage, ImageArray, PoseResult, RunningMode


class PoseEstimator(Protocol):
    """What the service needs from a pose model family."""

    def detect(self, image_rgb: ImageArray) -> PoseResult:
        """Poses in one image on its own."""
        ...

    def detect_for_video(self, image_rgb: FrameImage, timestamp_ms: int) -> PoseResult:
        """Poses in the next frame of a video (tracking); a compressed frame is decoded as needed."""
        ...

    def close(self) -> None:
        """Release the interpreters."""
        ...

    def __enter__(self) -> Any:
        """Context manager entry."""
        ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close."""
        ...


EstimatorBuilder = Callable[[ModelConfig, Any, RunningMode], PoseEstimator]

_REGISTRY: dict[ModelFamily, EstimatorBuilder] = {}


def register_family(family: ModelFamily, builder: EstimatorBuilder) -> None:
    """Make `builder(config, accelerator, running_mode)` the estimator of a family (later ones win)."""
    _REGISTRY[family] = builder


def build_estimator(
    config: ModelConfig, accelerator: Any, running_mode: RunningMode = RunningMode.VIDEO
) -> PoseEstimator:
    """The estimator `[model]` describes, its interpreters made by `accelerator` (an `Accelerator`).

    OpenCV's own thread pool is set to one thread: the pipeline's images are small (a 160-pixel
    grey frame, a 256-pixel crop), so waking pool threads costs more CPU than it saves (at 15 fps:
    0.3 ms of CPU per frame in an empty room, 0.5 ms with one person tracked, on 2 cores).
    """
    import cv2

    builder = _REGISTRY.get(config.family)
    if builder is None:
        raise ConfigError(f"[model] family: no estimator registered for {config.family.value!r}")
    cv2.setNumThreads(1)
    return builder(config, accelerator, running_mode)


def model_skeleton(config: ModelConfig) -> SkeletonKind:
    """The landmark set the poses of `[model]` carry."""
    if config.family is ModelFamily.MOVENET:
        return SkeletonKind.COCO_17
    return body_spec(config.variant).skeleton


def _build_movenet(config: ModelConfig, accelerator: Any, running_mode: RunningMode) -> PoseEstimator:
    movenet = config.movenet
    if movenet.model_path is None:
        raise ConfigError('[model.movenet] model_path is required when [model] family = "movenet"')
    options = MoveNetOptions(movenet.model_path, min_pose_score=movenet.min_pose_score)
    return MoveNetPoseEstimator(options, interpreter_factory=accelerator.make_interpreter)


def _build_blazepose(config: ModelConfig, accelerator: Any, running_mode: RunningMode) -> PoseEstimator:
    landmarker_options = PoseLandmarkerOptions(
        running_mode=running_mode,
        num_poses=config.num_poses,
        min_pose_detection_confidence=config.min_pose_detection_confidence,
        min_pose_presence_confidence=config.min_pose_presence_confidence,
        min_tracking_confidence=config.min_tracking_confidence,
        track_grace_frames=config.track_grace_frames,
        model=config.variant,
        precision=config.precision,
        detector_model_path=accelerator.model_path(ModelRole.DETECTOR, config.variant, config.precision),
        landmark_model_path=accelerator.model_path(ModelRole.LANDMARK, config.variant, config.precision),
        interpreter_factory=accelerator.make_interpreter,
        search=config.search.settings(),
    )
    return PoseLandmarker(landmarker_options)


register_family(ModelFamily.BLAZEPOSE, _build_blazepose)
register_family(ModelFamily.MOVENET, _build_movenet)
