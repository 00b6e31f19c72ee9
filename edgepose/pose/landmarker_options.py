"""PoseLandmarker's options (named as in MediaPipe's PoseLandmarkerOptions) and the model files they pick."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgepose.inference.models import ModelRole, model_path
from edgepose.pose.model_io import InterpreterLike
from edgepose.pose.search import SearchSettings
from edgepose.types import ImageArray, ModelVariant, PoseResult, Precision, Rect, RunningMode

# The one place the CLI and the API take their default precision from. int8, like the daemon's
# config: the models are bundled (no download) and faster; `precision=FLOAT` gives MediaPipe's own
# numbers (docs/models.md has the int8-vs-float accuracy figures).
DEFAULT_PRECISION = Precision.INT8
DEFAULT_VARIANT = ModelVariant.FULL
DEFAULT_TRACK_GRACE_FRAMES = 3

InterpreterFactory = Callable[[Path], InterpreterLike]
ResultCallback = Callable[[PoseResult, ImageArray, int], None]
ImageHook = Callable[[ImageArray, Rect], None]


@dataclass(frozen=True, slots=True)
class PoseLandmarkerOptions:
    """Options, named as in MediaPipe's PoseLandmarkerOptions where they exist there."""

    running_mode: RunningMode = RunningMode.IMAGE
    num_poses: int = 1
    min_pose_detection_confidence: float = 0.5
    min_pose_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    output_segmentation_masks: bool = False
    model: ModelVariant = DEFAULT_VARIANT
    precision: Precision = DEFAULT_PRECISION
    threads: int = 2
    smooth_landmarks: bool = True
    detector_interval_frames: int = 1
    # Not in MediaPipe, which ends a track at the first low-presence frame: a person briefly hidden
    # keeps their id and is not left to a detector that cannot see small people. 0 = MediaPipe.
    track_grace_frames: int = DEFAULT_TRACK_GRACE_FRAMES
    detector_model_path: Path | None = None
    landmark_model_path: Path | None = None
    result_callback: ResultCallback | None = None
    interpreter_factory: InterpreterFactory | None = None
    landmark_input_hook: ImageHook | None = None
    detector_input_hook: Callable[[ImageArray], None] | None = None
    # Where and when the detector looks for new people (edgepose.pose.search); the default is
    # MediaPipe's: the whole frame, whenever someone is missing.
    search: SearchSettings = field(default_factory=SearchSettings)

    def validated(self) -> PoseLandmarkerOptions:
        """Self, or a ValueError naming the first bad option."""
        if self.num_poses < 1:
            raise ValueError("num_poses must be at least 1")
        if self.threads < 1:
            raise ValueError("threads must be at least 1")
        if self.detector_interval_frames < 1:
            raise ValueError("detector_interval_frames must be at least 1")
        if self.track_grace_frames < 0:
            raise ValueError("track_grace_frames must be at least 0")
        for name in (
            "min_pose_detection_confidence",
            "min_pose_presence_confidence",
            "min_tracking_confidence",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if (self.running_mode is RunningMode.LIVE_STREAM) != (self.result_callback is not None):
            raise ValueError("result_callback is required in LIVE_STREAM mode and only there")
        return self


def resolve_model_paths(options: PoseLandmarkerOptions) -> tuple[Path, Path]:
    """The detector and landmark model files the options name (explicit paths win).

    The landmark model comes without its segmentation head unless masks are asked for.
    """
    detector = options.detector_model_path or model_path(ModelRole.DETECTOR, options.model, options.precision)
    landmark = options.landmark_model_path or model_path(
        ModelRole.LANDMARK, options.model, options.precision, masks=options.output_segmentation_masks
    )
    return detector, landmark
