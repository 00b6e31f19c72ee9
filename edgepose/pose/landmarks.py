"""The BlazePose landmark model on one ROI: crop, invoke, decode, refine, project back.

Matches MediaPipe's pose_landmark_by_roi graph: a corner-to-corner affine crop (border replicate)
to the model input in [0, 1], TensorsToLandmarks (39 landmarks, sigmoid visibility and presence),
refinement from the 64x64 heatmap (kernel 7, confidence 0.5), projection into the frame, world
landmarks rotated by the ROI, and the segmentation mask warped back to the frame. The legacy
upper-body model (`body_spec.UPPER_BODY`) has 31 rows, no heatmap and no world landmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from edgepose.pose.body_spec import FULL_BODY, BodySpec
from edgepose.pose.model_io import InterpreterLike, ModelIO
from edgepose.pose.roi import crop_matrix
from edgepose.types import FloatArray, ImageArray, Rect

NUM_MODEL_LANDMARKS = 39
NUM_POSE_LANDMARKS = 33
AUX_SLICE = slice(33, 35)
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True, slots=True)
class RoiLandmarks:
    """What the landmark model says about one ROI, in frame coordinates.

    `landmarks`: 39 x 5 (x, y normalised to the frame, z on the x scale, visibility, presence);
    rows 33 and 34 are the auxiliary alignment points (upper body: 31 rows, aux at 25 and 26).
    `world`: 39 x 3 metres; None for the upper-body model.
    """

    presence: float
    landmarks: FloatArray
    world: FloatArray | None
    roi: Rect
    mask: FloatArray | None = None


def sigmoid(values: FloatArray) -> FloatArray:
    """Elementwise logistic function, float32."""
    clipped = np.clip(values, -80.0, 80.0)  # keeps exp() finite in float32
    return (1.0 / (1.0 + np.exp(-clipped))).astype(np.float32)


def decode_landmarks(raw: FloatArray, input_size_px: int) -> FloatArray:
    """Raw N*5 model output to N x 5: x, y, z divided by the input size; sigmoid visibility/presence."""
    out = raw.reshape(-1, 5).astype(np.float32, copy=True)
    out[:, :3] /= np.float32(input_size_px)
    out[:, 3:5] = sigmoid(out[:, 3:5])
    return out


_K = HEATMAP_KERNEL // 2
_OFFSETS = np.arange(-_K, _K + 1)


def refine_from_heatmap(
    landmarks: FloatArray, heatmap: FloatArray, min_confidence: float = HEATMAP_MIN_CONFIDENCE
) -> FloatArray:
    """Landmark x, y (normalised to the crop) replaced by the sigmoid-weighted heatmap centroid.

    `heatmap` is H x W x N logits. A landmark moves only if its window's peak reaches
    `min_confidence`; windows are clipped at the heatmap border, as MediaPipe does.
    """
    hm_h, hm_w, channels = heatmap.shape
    count = min(channels, landmarks.shape[0])
    out = landmarks.copy()
    # A damaged model's NaN casts to a huge negative index, which `inside` rejects; the pose is
    # dropped later (NonFiniteGuard), so numpy's warning about the cast would only be noise.
    with np.errstate(invalid="ignore"):
        col = (landmarks[:count, 0] * hm_w).astype(np.int64)
        row = (landmarks[:count, 1] * hm_h).astype(np.int64)
    # int() truncates towards zero, as the C++ cast does, so slightly negative points still refine.
    # MediaPipe compares the column (not the row) with the height; rows past the bottom then get a
    # partial or empty window. Matched on purpose: this is the reference's behaviour.
    inside = (col >= 0) & (col < hm_w) & (row >= 0) & (col < hm_h)
    cols = col[:, None] + _OFFSETS[None, :]
    rows = row[:, None] + _OFFSETS[None, :]
    col_ok = (cols >= 0) & (cols < hm_w)
    row_ok = (rows >= 0) & (rows < hm_h)
    ch = np.arange(count)
    values = heatmap[
        np.clip(rows, 0, hm_h - 1)[:, :, None], np.clip(cols, 0, hm_w - 1)[:, None, :], ch[:, None, None]
    ]
    conf = sigmoid(values) * (row_ok[:, :, None] & col_ok[:, None, :])
    total = conf.sum(axis=(1, 2))
    peak = conf.max(axis=(1, 2))
    weighted_col = (conf * cols[:, None, :]).sum(axis=(1, 2))
    weighted_row = (conf * rows[:, :, None]).sum(axis=(1, 2))
    refine = inside & (peak >= min_confidence) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    out[:count, 0] = np.where(refine, weighted_col / hm_w / safe, landmarks[:count, 0])
    out[:count, 1] = np.where(refine, weighted_row / hm_h / safe, landmarks[:count, 1])
    return out


def project_landmarks(landmarks: FloatArray, rect: Rect) -> FloatArray:
    """Crop-normalised landmarks mapped into the frame (normalised), z scaled by the ROI width."""
    out = landmarks.copy()
    c, s = math.cos(rect.rotation_rad), math.sin(rect.rotation_rad)
    x = landmarks[:, 0] - 0.5
    y = landmarks[:, 1] - 0.5
    out[:, 0] = (c * x - s * y) * rect.width + rect.x_center
    out[:, 1] = (s * x + c * y) * rect.height + rect.y_center
    out[:, 2] = landmarks[:, 2] * rect.width
    return out


def project_world(world: FloatArray, rect: Rect) -> FloatArray:
    """World landmarks rotated by the ROI's rotation around the z axis (hips stay at the origin)."""
    out = world.copy()
    c, s = math.cos(rect.rotation_rad), math.sin(rect.rotation_rad)
    out[:, 0] = c * world[:, 0] - s * world[:, 1]
    out[:, 1] = s * world[:, 0] + c * world[:, 1]
    return out


def crop_roi(image: ImageArray, rect: Rect, size_px: int = 256, out: ImageArray | None = None) -> ImageArray:
    """The size x size RGB crop of a ROI the landmark model sees (also used for int8 calibration)."""
    height, width = image.shape[:2]
    matrix = crop_matrix(rect, width, height, size_px)
    target = out if out is not None else np.empty((size_px, size_px, 3), dtype=np.uint8)
    cv2.warpAffine(
        image, matrix, (size_px, size_px), dst=target, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return target


class LandmarkModel:
    """Runs a BlazePose landmark model (lite/full/heavy/upper_body, float or int8) on ROIs of a frame."""

    def __init__(self, interpreter: InterpreterLike, spec: BodySpec = FULL_BODY) -> None:
        self.io = ModelIO(interpreter, "pose landmark model")
        self.spec = spec
        self.size_px = self.io.input_width
        n = spec.model_landmarks
        self._landmarks_index = self.io.output_index(n * 5, "landmarks")
        self._presence_index = self.io.output_index(1, "presence")
        self._world_index = self.io.output_index(n * 3, "world landmarks") if spec.world else None
        self._heatmap_index = self.io.output_index(64 * 64 * n, "heatmap") if spec.heatmap else None
        self._mask_index = self.io.find_output(self.size_px * self.size_px)  # None when pruned
        self._crop = np.zeros((self.size_px, self.size_px, 3), dtype=np.uint8)

    def preprocess(self, image: ImageArray, rect: Rect) -> None:
        """Crop the ROI into the model input (values in [0, 1])."""
        crop_roi(image, rect, self.size_px, out=self._crop)
        self.io.set_image(self._crop, 0.0, 1.0)

    @property
    def crop(self) -> ImageArray:
        """The last ROI crop fed to the model (a reused buffer: copy it to keep it)."""
        return self._crop

    def presence(self) -> float:
        """The pose presence score of the last invocation."""
        return float(self.io.output(self._presence_index)[0])

    def crop_landmarks(self) -> FloatArray:
        """The last invocation's landmarks in crop coordinates (normalised), heatmap-refined."""
        crop_lms = decode_landmarks(self.io.output(self._landmarks_index), self.size_px)
        if self._heatmap_index is None:
            return crop_lms
        heatmap = self.io.output(self._heatmap_index, copy=False).reshape(64, 64, self.spec.model_landmarks)
        refined = refine_from_heatmap(crop_lms, heatmap)
        del heatmap  # a view of the interpreter's buffer: never keep it past this frame
        return refined

    def postprocess(
        self, rect: Rect, image_width: int, image_height: int, with_mask: bool = False
    ) -> RoiLandmarks:
        """Decode the last invocation into frame coordinates."""
        presence = self.presence()
        landmarks = project_landmarks(self.crop_landmarks(), rect)
        world = None
        if self._world_index is not None:
            world = project_world(self.io.output(self._world_index).reshape(-1, 3), rect).astype(np.float32)
        mask = None
        if with_mask and self._mask_index is not None:
            logits = self.io.output(self._mask_index).reshape(self.size_px, self.size_px)
            mask = self._mask_to_frame(sigmoid(logits), rect, image_width, image_height)
        return RoiLandmarks(presence, landmarks, world, rect, mask)

    def _mask_to_frame(self, mask: FloatArray, rect: Rect, width: int, height: int) -> FloatArray:
        matrix = crop_matrix(rect, width, height, self.size_px)
        out = cv2.warpAffine(
            mask,
            matrix,
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )
        return np.asarray(out, dtype=np.float32)

    def run(self, image: ImageArray, rect: Rect, with_mask: bool = False) -> RoiLandmarks:
        """Landmarks for one ROI of an RGB frame."""
        self.preprocess(image, rect)
        self.io.invoke()
        height, width = image.shape[:2]
        return self.postprocess(rect, width, height, with_mask)
