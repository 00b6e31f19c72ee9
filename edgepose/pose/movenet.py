"""MoveNet single-pose (Lightning 192x192, Thunder 256x256): a second model family for Coral users.

The model takes one square crop ([1, S, S, 3], uint8 or int32 or float pixel values) and returns
[1, 1, 17, 3] rows of (y, x, score) in the crop, COCO-17 order. Like the TFLite Raspberry Pi pose
example, the crop for the next frame is derived from this frame's keypoints: a square around the hip
centre that covers the torso (x1.9) and the confident keypoints (x1.2), or the whole frame padded to
a square when the torso is not visible. Results are the same `PoseResult` as BlazePose's, with
`skeleton=COCO_17`, landmarks (x, y, 0, score, score) and no world landmarks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edgepose.errors import ModelError
from edgepose.pose.model_io import NonFiniteGuard
from edgepose.skeleton import CocoKeypoint, SkeletonKind
from edgepose.types import FloatArray, FrameImage, ImageArray, Pose, PoseResult, Rect, StageTimings, as_rgb

MIN_CROP_KEYPOINT_SCORE = 0.2
TORSO_EXPANSION_RATIO = 1.9
BODY_EXPANSION_RATIO = 1.2
NUM_KEYPOINTS = 17
TORSO = (
    CocoKeypoint.LEFT_SHOULDER,
    CocoKeypoint.RIGHT_SHOULDER,
    CocoKeypoint.LEFT_HIP,
    CocoKeypoint.RIGHT_HIP,
)

InterpreterFactory = Callable[[Path], Any]


@dataclass(frozen=True, slots=True)
class CropRegion:
    """The model's input window, normalised to the frame; may extend past the frame (padded black)."""

    y_min: float
    x_min: float
    y_max: float
    x_max: float

    @property
    def height(self) -> float:
        """Normalised height."""
        return self.y_max - self.y_min

    @property
    def width(self) -> float:
        """Normalised width."""
        return self.x_max - self.x_min

    def to_rect(self) -> Rect:
        """As the `roi` of a Pose."""
        return Rect(
            x_center=(self.x_min + self.x_max) / 2.0,
            y_center=(self.y_min + self.y_max) / 2.0,
            width=self.width,
            height=self.height,
        )


def init_crop_region(image_height: int, image_width: int) -> CropRegion:
    """The whole frame, padded to a square around its centre."""
    if image_width > image_height:
        box_height = image_width / image_height
        y_min = (image_height / 2 - image_width / 2) / image_height
        return CropRegion(y_min, 0.0, y_min + box_height, 1.0)
    box_width = image_height / image_width
    x_min = (image_width / 2 - image_height / 2) / image_width
    return CropRegion(0.0, x_min, 1.0, x_min + box_width)


def torso_visible(keypoints: FloatArray) -> bool:
    """At least one hip and one shoulder above the crop score threshold (rows are y, x, score)."""
    scores = keypoints[:, 2]
    hips = max(scores[CocoKeypoint.LEFT_HIP], scores[CocoKeypoint.RIGHT_HIP])
    shoulders = max(scores[CocoKeypoint.LEFT_SHOULDER], scores[CocoKeypoint.RIGHT_SHOULDER])
    return bool(hips > MIN_CROP_KEYPOINT_SCORE and shoulders > MIN_CROP_KEYPOINT_SCORE)


def torso_and_body_range(
    keypoints: FloatArray, keypoints_px: FloatArray, center_y: float, center_x: float
) -> tuple[float, float, float, float]:
    """Largest |dy|, |dx| from the centre over the torso joints, then over all confident keypoints (px).

    The Raspberry Pi example's loop over the body reads the last torso joint for every keypoint (a
    slip); this follows the TF Hub MoveNet tutorial it was ported from and reads each keypoint.
    """
    torso = keypoints_px[list(TORSO)]
    torso_y = float(np.max(np.abs(center_y - torso[:, 0])))
    torso_x = float(np.max(np.abs(center_x - torso[:, 1])))
    confident = keypoints_px[keypoints[:, 2] >= MIN_CROP_KEYPOINT_SCORE]
    if len(confident) == 0:
        return torso_y, torso_x, 0.0, 0.0
    body_y = float(np.max(np.abs(center_y - confident[:, 0])))
    body_x = float(np.max(np.abs(center_x - confident[:, 1])))
    return torso_y, torso_x, body_y, body_x


def determine_crop_region(keypoints: FloatArray, image_height: int, image_width: int) -> CropRegion:
    """The next frame's crop from this frame's keypoints (frame-normalised y, x, score)."""
    if not torso_visible(keypoints):
        return init_crop_region(image_height, image_width)
    px = keypoints[:, :2] * np.array([image_height, image_width], dtype=np.float32)
    center_y = float((px[CocoKeypoint.LEFT_HIP, 0] + px[CocoKeypoint.RIGHT_HIP, 0]) / 2)
    center_x = float((px[CocoKeypoint.LEFT_HIP, 1] + px[CocoKeypoint.RIGHT_HIP, 1]) / 2)
    torso_y, torso_x, body_y, body_x = torso_and_body_range(keypoints, px, center_y, center_x)
    half = max(
        torso_x * TORSO_EXPANSION_RATIO,
        torso_y * TORSO_EXPANSION_RATIO,
        body_y * BODY_EXPANSION_RATIO,
        body_x * BODY_EXPANSION_RATIO,
    )
    borders = (center_x, image_width - center_x, center_y, image_height - center_y)
    half = min(half, max(borders))
    if half > max(image_width, image_height) / 2:
        return init_crop_region(image_height, image_width)
    top, left = center_y - half, center_x - half
    return CropRegion(
        y_min=top / image_height,
        x_min=left / image_width,
        y_max=(top + 2 * half) / image_height,
        x_max=(left + 2 * half) / image_width,
    )


def crop_transform(crop: CropRegion, image_height: int, image_width: int, size: int) -> FloatArray:
    """The 2x3 affine matrix from frame pixels to the size x size crop."""
    sx = size / (crop.width * image_width)
    sy = size / (crop.height * image_height)
    return np.array(
        [[sx, 0.0, -crop.x_min * image_width * sx], [0.0, sy, -crop.y_min * image_height * sy]],
        dtype=np.float32,
    )


def crop_and_resize(
    image: ImageArray, crop: CropRegion, size: int, out: ImageArray | None = None
) -> ImageArray:
    """The crop resized to size x size, black where it extends past the frame (one warpAffine)."""
    h, w = image.shape[:2]
    matrix = crop_transform(crop, h, w, size)
    dst = out if out is not None else np.empty((size, size, 3), np.uint8)
    cv2.warpAffine(
        image, matrix, (size, size), dst=dst, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return dst


def decode_keypoints(raw: FloatArray, crop: CropRegion) -> FloatArray:
    """[1, 1, 17, 3] (y, x, score) in the crop -> 17 x 3 (y, x, score) normalised to the frame."""
    rows = np.asarray(raw, dtype=np.float32).reshape(NUM_KEYPOINTS, 3).copy()
    rows[:, 0] = crop.y_min + crop.height * rows[:, 0]
    rows[:, 1] = crop.x_min + crop.width * rows[:, 1]
    return rows


def to_landmarks(keypoints: FloatArray) -> FloatArray:
    """17 x 3 (y, x, score) -> 17 x 5 (x, y, z=0, visibility=score, presence=score), as Pose wants."""
    out = np.zeros((NUM_KEYPOINTS, 5), np.float32)
    out[:, 0], out[:, 1] = keypoints[:, 1], keypoints[:, 0]
    out[:, 3] = out[:, 4] = keypoints[:, 2]
    return out


def pose_score(keypoints: FloatArray, keypoint_threshold: float = 0.1) -> float:
    """The mean score of the keypoints above a threshold (0 when none), as the example scores a person."""
    scores = keypoints[:, 2]
    kept = scores[scores > keypoint_threshold]
    return float(kept.mean()) if kept.size else 0.0


@dataclass(frozen=True, slots=True)
class MoveNetOptions:
    """A MoveNet model file and the score a pose needs to be reported."""

    model_path: Path
    min_pose_score: float = 0.25


class MoveNetPoseEstimator:
    """MoveNet single-pose with crop tracking; `detect` and `detect_for_video` as PoseLandmarker has."""

    def __init__(
        self, options: MoveNetOptions, interpreter_factory: InterpreterFactory | None = None
    ) -> None:
        """Load the model; ModelError unless it has MoveNet's input and output signature."""
        if interpreter_factory is None:
            from edgepose.inference.runtime import make_interpreter

            interpreter_factory = make_interpreter
        self._options = options
        self._interpreter: Any = interpreter_factory(options.model_path)
        self._guard = NonFiniteGuard(options.model_path.name)
        inp = self._interpreter.get_input_details()[0]
        out = self._interpreter.get_output_details()[0]
        shape = tuple(int(v) for v in inp["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or shape[1] != shape[2]:
            raise ModelError(f"{options.model_path}: not a MoveNet model (input shape {shape})")
        if tuple(int(v) for v in out["shape"]) != (1, 1, NUM_KEYPOINTS, 3):
            raise ModelError(f"{options.model_path}: not a single-pose MoveNet model (output {out['shape']})")
        self.input_size = shape[1]
        self._input_index = int(inp["index"])
        self._input_dtype: npt.DTypeLike = inp["dtype"]
        self._output_index = int(out["index"])
        self._crop_buffer = np.empty((self.input_size, self.input_size, 3), np.uint8)
        self._crop: CropRegion | None = None
        self._track_id = 0
        self._tracking = False
        self._frames = 0

    @property
    def crop_region(self) -> CropRegion | None:
        """The crop the next video frame will use."""
        return self._crop

    def _infer(self, image: ImageArray, crop: CropRegion) -> tuple[FloatArray, StageTimings]:
        t0 = time.perf_counter()
        pixels = crop_and_resize(image, crop, self.input_size, self._crop_buffer)
        self._interpreter.set_tensor(self._input_index, pixels[np.newaxis].astype(self._input_dtype))
        t1 = time.perf_counter()
        self._interpreter.invoke()
        t2 = time.perf_counter()
        keypoints = decode_keypoints(self._interpreter.get_tensor(self._output_index), crop)
        if not self._guard.finite(keypoints):
            keypoints = np.zeros_like(keypoints)  # scores 0: no pose, and the next crop is the whole frame
        t3 = time.perf_counter()
        timings = StageTimings(
            preprocess_ms=(t1 - t0) * 1e3,
            landmark_ms=(t2 - t1) * 1e3,
            postprocess_ms=(t3 - t2) * 1e3,
            total_ms=(t3 - t0) * 1e3,
        )
        return keypoints, timings

    def _result(
        self,
        image: ImageArray,
        timestamp_ms: int,
        keypoints: FloatArray,
        crop: CropRegion,
        timings: StageTimings,
    ) -> PoseResult:
        h, w = image.shape[:2]
        score = pose_score(keypoints)
        poses: tuple[Pose, ...] = ()
        if score >= self._options.min_pose_score:
            if not self._tracking:
                self._track_id += 1
            self._tracking = True
            pose = Pose(
                landmarks=to_landmarks(keypoints),
                world_landmarks=None,
                score=score,
                track_id=self._track_id,
                skeleton=SkeletonKind.COCO_17,
                roi=crop.to_rect(),
            )
            poses = (pose,)
        else:
            self._tracking = False
        index = self._frames
        self._frames += 1
        return PoseResult(timestamp_ms, index, w, h, poses, timings)

    def detect(self, image_rgb: ImageArray) -> PoseResult:
        """One image on its own: the crop is the whole frame padded to a square."""
        h, w = image_rgb.shape[:2]
        crop = init_crop_region(h, w)
        keypoints, timings = self._infer(image_rgb, crop)
        self._tracking = False
        return self._result(image_rgb, 0, keypoints, crop, timings)

    def detect_for_video(self, image: FrameImage, timestamp_ms: int) -> PoseResult:
        """The next video frame: uses the crop carried from the previous frame, then updates it."""
        image_rgb = as_rgb(image)  # the model runs on every frame
        h, w = image_rgb.shape[:2]
        crop = self._crop or init_crop_region(h, w)
        keypoints, timings = self._infer(image_rgb, crop)
        self._crop = determine_crop_region(keypoints, h, w)
        return self._result(image_rgb, timestamp_ms, keypoints, crop, timings)

    def reset(self) -> None:
        """Forget the crop (e.g. after a scene cut)."""
        self._crop = None
        self._tracking = False

    def close(self) -> None:
        """Release the interpreter."""
        self._interpreter = None

    def __enter__(self) -> MoveNetPoseEstimator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
