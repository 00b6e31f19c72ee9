"""Value types shared by every stage: frames in, poses and events out.

All are frozen dataclasses. Arrays inside them are never written after the value is built.
Coordinates are normalised to [0, 1] of the frame (x to width, y to height) unless a name says
otherwise; times are integer milliseconds (`timestamp_ms`) taken from the frame, never a clock.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edgepose.skeleton import SkeletonKind, to_coco17

FloatArray = npt.NDArray[np.float32]
ImageArray = npt.NDArray[np.uint8]


class RunningMode(enum.StrEnum):
    """How frames relate to each other, as in MediaPipe's Pose Landmarker."""

    IMAGE = "image"
    VIDEO = "video"
    LIVE_STREAM = "live_stream"


class ModelVariant(enum.StrEnum):
    """BlazePose landmark model: full-body sizes, or the legacy upper-body model (25 landmarks)."""

    LITE = "lite"
    FULL = "full"
    HEAVY = "heavy"
    UPPER_BODY = "upper_body"


# The variants with int8 builds, and those MediaPipe 0.10 has a reference for.
FULL_BODY_VARIANTS: tuple[ModelVariant, ...] = (ModelVariant.LITE, ModelVariant.FULL, ModelVariant.HEAVY)


class Precision(enum.StrEnum):
    """Numeric precision of the model files."""

    INT8 = "int8"
    FLOAT = "float"


class DeferredImage(Protocol):
    """A frame still compressed (a JPEG), decoded only as far as a stage needs it.

    An empty room needs only the motion gate's small grey image, which a JPEG gives at 1/2 to 1/8
    scale for a fraction of a full decode; the full RGB frame is decoded (once) when a model runs.
    """

    @property
    def width(self) -> int:
        """Width in pixels of the decoded (and rotated) frame."""
        ...

    @property
    def height(self) -> int:
        """Height in pixels of the decoded (and rotated) frame."""
        ...

    def rgb(self) -> ImageArray:
        """The full frame, H x W x 3 RGB uint8 (decoded on the first call, then kept)."""
        ...

    def grey(self, min_width_px: int) -> ImageArray:
        """The frame in grey, at least `min_width_px` wide (or full width), reduced the cheap way."""
        ...


FrameImage = ImageArray | DeferredImage


def image_size(image: FrameImage) -> tuple[int, int]:
    """(width, height) in pixels, without decoding a deferred image."""
    if isinstance(image, np.ndarray):
        return int(image.shape[1]), int(image.shape[0])
    return image.width, image.height


def as_rgb(image: FrameImage) -> ImageArray:
    """The RGB array (a deferred image is decoded now, once)."""
    return image if isinstance(image, np.ndarray) else image.rgb()


@dataclass(frozen=True, slots=True)
class Frame:
    """One image from a source, with the media's own timestamp.

    `pixels` is the RGB array, or a compressed frame decoded when first needed (`image` decodes
    it; the pose pipeline takes `pixels` and decodes only what it uses). `recorded` carries the
    poses of a replayed recording (`replay:` source); the service uses them instead of running the
    models, and `image` is then a blank canvas of the recorded size.
    """

    pixels: FrameImage  # an H x W x 3 RGB uint8 array, or a DeferredImage
    timestamp_ms: int
    index: int
    recorded: PoseResult | None = None

    @property
    def image(self) -> ImageArray:
        """The RGB frame, H x W x 3 uint8 (decoded now if it was still compressed)."""
        return as_rgb(self.pixels)

    @property
    def width(self) -> int:
        """Width in pixels."""
        return image_size(self.pixels)[0]

    @property
    def height(self) -> int:
        """Height in pixels."""
        return image_size(self.pixels)[1]


@dataclass(frozen=True, slots=True)
class BBox:
    """Axis-aligned box, normalised coordinates."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @property
    def width(self) -> float:
        """Box width."""
        return self.xmax - self.xmin

    @property
    def height(self) -> float:
        """Box height."""
        return self.ymax - self.ymin

    @property
    def area(self) -> float:
        """Box area (0 for an empty box)."""
        return max(0.0, self.width) * max(0.0, self.height)

    def scale(self, sx: float, sy: float) -> BBox:
        """The box with both axes multiplied (e.g. normalised to pixels)."""
        return BBox(self.xmin * sx, self.ymin * sy, self.xmax * sx, self.ymax * sy)

    def intersect(self, other: BBox) -> BBox:
        """The overlap of two boxes (may be empty)."""
        return BBox(
            max(self.xmin, other.xmin),
            max(self.ymin, other.ymin),
            min(self.xmax, other.xmax),
            min(self.ymax, other.ymax),
        )

    def iou(self, other: BBox) -> float:
        """Intersection over union, 0 when either box is empty."""
        inter = self.intersect(other).area
        union = self.area + other.area - inter
        return inter / union if union > 0.0 else 0.0


@dataclass(frozen=True, slots=True)
class Rect:
    """Rotated rectangle, like MediaPipe's NormalizedRect.

    Centre and size are normalised to the frame; rotation is in radians, clockwise in image
    coordinates (y down), as MediaPipe defines it.
    """

    x_center: float
    y_center: float
    width: float
    height: float
    rotation_rad: float = 0.0

    def corners_px(self, image_width: int, image_height: int) -> FloatArray:
        """The four corners in pixels: top-left, top-right, bottom-right, bottom-left."""
        cx, cy = self.x_center * image_width, self.y_center * image_height
        hw, hh = self.width * image_width / 2.0, self.height * image_height / 2.0
        c, s = math.cos(self.rotation_rad), math.sin(self.rotation_rad)
        local = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]], dtype=np.float32)
        rot = np.array([[c, -s], [s, c]], dtype=np.float32)
        return (local @ rot.T + np.array([cx, cy], dtype=np.float32)).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Detection:
    """One person found by the detector: score, box and keypoints (normalised)."""

    score: float
    box: BBox
    keypoints: FloatArray  # K x 2 (x, y); BlazePose: hip centre, full-body circle point, ...


@dataclass(frozen=True, slots=True)
class Pose:
    """One person's landmarks in one frame.

    `landmarks` rows are (x, y, z, visibility, presence): x, y normalised to the frame, z on the
    same scale as x (relative to the hips), visibility and presence in [0, 1].
    `world_landmarks` rows are (x, y, z) in metres, origin between the hips; None for model
    families that have none (MoveNet).
    """

    landmarks: FloatArray  # N x 5
    world_landmarks: FloatArray | None  # N x 3, metres
    score: float
    track_id: int
    skeleton: SkeletonKind = SkeletonKind.BLAZEPOSE_33
    roi: Rect | None = None
    segmentation_mask: FloatArray | None = None  # H x W in [0, 1], frame size

    def coco17(self) -> FloatArray:
        """The landmarks as the 17 COCO keypoints (x, y, z, visibility, presence)."""
        return to_coco17(self.landmarks, self.skeleton)


class GateDecision(enum.StrEnum):
    """Why the detector did or did not run on a frame (counted in stats and /metrics)."""

    NOT_NEEDED = "not_needed"  # every wanted person is tracked: no search
    UNGATED = "ungated"  # no gate (off, or someone is tracked): the detector runs as budget allows
    MOTION = "motion"  # something moved outside the tracked people
    SWEEP = "sweep"  # nothing moved; the periodic sweep was due
    SKIPPED = "skipped"  # nothing moved and no sweep due: no detector run


@dataclass(frozen=True, slots=True)
class StageTimings:
    """Where the time of one frame went, in milliseconds."""

    preprocess_ms: float = 0.0
    detector_ms: float = 0.0
    landmark_ms: float = 0.0
    postprocess_ms: float = 0.0
    total_ms: float = 0.0
    detector_ran: bool = False
    detector_runs: int = 0  # detector invocations in this frame (zoomed searches run several)
    search: GateDecision = GateDecision.UNGATED  # why the detector ran or not


@dataclass(frozen=True, slots=True)
class PoseResult:
    """The poses found in one frame."""

    timestamp_ms: int
    frame_index: int
    width: int
    height: int
    poses: tuple[Pose, ...]
    timings: StageTimings = field(default_factory=StageTimings)


AttributeValue = str | int | float | bool | None


class EventType(enum.StrEnum):
    """The event vocabulary: a contract for automations."""

    PERSON_ENTERED = "person_entered"
    PERSON_LEFT = "person_left"
    ZONE_ENTERED = "zone_entered"
    ZONE_LEFT = "zone_left"
    POSTURE_CHANGED = "posture_changed"
    FALL_DETECTED = "fall_detected"
    REP = "rep"
    GESTURE = "gesture"
    INACTIVITY = "inactivity"
    POSE_CLASS_CHANGED = "pose_class_changed"
    ACTION_STARTED = "action_started"
    ACTION_ENDED = "action_ended"


@dataclass(frozen=True, slots=True)
class Event:
    """Something a person did, published on `{prefix}/{device_id}/event`."""

    id: str
    type: EventType
    timestamp_ms: int
    track_id: int | None
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    # Unix epoch ms when the daemon made the event. The activity engine has no clock (it leaves
    # None); whoever runs it stamps the events before publishing (`with_wall_ms`).
    wall_ms: int | None = None

    def with_wall_ms(self, wall_ms: int) -> Event:
        """The event stamped with the wall-clock time it was made."""
        return replace(self, wall_ms=wall_ms)


class Posture(enum.StrEnum):
    """Body posture vocabulary."""

    STANDING = "standing"
    SITTING = "sitting"
    SQUATTING = "squatting"
    LYING = "lying"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TrackState:
    """What the activity engine currently knows about one person."""

    track_id: int
    posture: Posture
    zones: tuple[str, ...] = ()
    rep_counts: Mapping[str, int] = field(default_factory=dict)
    pose_class: str | None = None
    since_ms: int = 0
    fallen: bool = False  # a fall was reported and the person has not got up since
    still_ms: int = 0  # how long the person has not moved significantly


@dataclass(frozen=True, slots=True)
class ActivityState:
    """Retained summary published on `{prefix}/{device_id}/state`."""

    timestamp_ms: int
    people: int
    tracks: tuple[TrackState, ...] = ()
    zone_counts: Mapping[str, int] = field(default_factory=dict)


class SourceState(enum.StrEnum):
    """What the frame source is doing, as the service reports it (stats, /healthz, status line)."""

    STARTING = "starting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"  # lost; being reopened with backoff
    ENDED = "ended"  # a file reached its end
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class SearchCounts:
    """Running totals of the person search since start (stats, /metrics and bench read them)."""

    detector_runs: int = 0  # detector invocations (a zoomed search runs several in a frame)
    gate_skipped_frames: int = 0  # someone missing, nothing moved, no sweep due: no detector run
    gate_motion_frames: int = 0  # the detector ran because something moved
    gate_sweep_frames: int = 0  # the detector ran only for the periodic sweep


@dataclass(frozen=True, slots=True)
class ServiceStats:
    """Figures published on `{prefix}/{device_id}/stats` every few seconds."""

    timestamp_ms: int
    fps: float
    frames: int
    dropped_frames: int
    detector_ms: float
    landmark_ms: float
    accelerator: str
    spool_depth: int
    cpu_temp_c: float | None = None
    source: SourceState = SourceState.RUNNING
    people: int = 0
    search: SearchCounts = SearchCounts()
