"""The BlazePose person detector: letterbox, SSD decoding, weighted NMS, letterbox removal.

Follows MediaPipe's pose_detection graph: ImageToTensor (keep aspect, zero border, [-1, 1]),
TensorsToDetections (sigmoid scores clipped at 100, threshold) and weighted non-max suppression.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgepose.pose.anchors import POSE_DETECTOR_ANCHORS, SsdAnchorOptions, generate_anchors
from edgepose.pose.model_io import InterpreterLike, ModelIO
from edgepose.types import BBox, Detection, FloatArray, ImageArray

NUM_KEYPOINTS = 4
SCORE_CLIP = 100.0
NMS_IOU_THRESHOLD = 0.3


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Padding added on each side, as fractions of the square model input."""

    left: float
    top: float
    right: float
    bottom: float


def letterbox_matrix(image_width: int, image_height: int, size_px: int) -> tuple[FloatArray, Letterbox]:
    """Affine mapping the frame centred into a size x size square (keep aspect), and its padding."""
    side = float(max(image_width, image_height))
    scale = size_px / side
    off_x = (side - image_width) / 2.0
    off_y = (side - image_height) / 2.0
    matrix = np.array([[scale, 0.0, off_x * scale], [0.0, scale, off_y * scale]], dtype=np.float32)
    pad_x, pad_y = off_x / side, off_y / side
    return matrix, Letterbox(pad_x, pad_y, pad_x, pad_y)


@dataclass(frozen=True, slots=True)
class Square:
    """A square region of the frame in pixels (may reach past the frame's edges: zero border)."""

    x_px: float
    y_px: float
    side_px: float


def full_frame_square(image_width: int, image_height: int) -> Square:
    """The square the whole frame is letterboxed into (centred, as `letterbox_matrix` does)."""
    side = float(max(image_width, image_height))
    return Square((image_width - side) / 2.0, (image_height - side) / 2.0, side)


def square_matrix(
    square: Square, image_width: int, image_height: int, size_px: int
) -> tuple[FloatArray, Letterbox]:
    """Affine mapping a square region into the size x size model input, and the 'padding' that
    maps input coordinates back to the frame (negative where the region lies inside the frame)."""
    scale = size_px / square.side_px
    matrix = np.array(
        [[scale, 0.0, -square.x_px * scale], [0.0, scale, -square.y_px * scale]], dtype=np.float32
    )
    side = square.side_px
    pad = Letterbox(
        left=-square.x_px / side,
        top=-square.y_px / side,
        right=(square.x_px + side - image_width) / side,
        bottom=(square.y_px + side - image_height) / side,
    )
    return matrix, pad


def decode_boxes(
    raw_boxes: FloatArray, anchors: FloatArray, input_size_px: float
) -> tuple[FloatArray, FloatArray]:
    """Boxes (N x 4: xmin, ymin, xmax, ymax) and keypoints (N x K x 2), normalised to the input."""
    scale = anchors[:, 2:4] / np.float32(input_size_px)
    centre = raw_boxes[:, 0:2] * scale + anchors[:, 0:2]
    size = raw_boxes[:, 2:4] * scale
    boxes = np.concatenate([centre - size / 2.0, centre + size / 2.0], axis=1).astype(np.float32)
    count = (raw_boxes.shape[1] - 4) // 2
    kp = raw_boxes[:, 4 : 4 + 2 * count].reshape(-1, count, 2)
    keypoints = (kp * scale[:, None, :] + anchors[:, None, 0:2]).astype(np.float32)
    return boxes, keypoints


def sigmoid_scores(raw_scores: FloatArray, clip: float = SCORE_CLIP) -> FloatArray:
    """Sigmoid of logits clipped to [-clip, clip]."""
    logits = np.clip(raw_scores.astype(np.float64), -clip, clip)
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def box_iou(box: FloatArray, boxes: FloatArray) -> FloatArray:
    """Intersection over union of one box against many (xmin, ymin, xmax, ymax)."""
    lo = np.maximum(box[:2], boxes[:, :2])
    hi = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=1)
    area = np.prod(np.clip(box[2:] - box[:2], 0.0, None))
    areas = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0.0, None), axis=1)
    union = area + areas - inter
    return np.where(union > 0.0, inter / np.where(union > 0.0, union, 1.0), 0.0).astype(np.float32)


def weighted_nms(
    scores: FloatArray,
    boxes: FloatArray,
    keypoints: FloatArray,
    iou_threshold: float = NMS_IOU_THRESHOLD,
    max_detections: int = -1,
) -> list[tuple[float, FloatArray, FloatArray]]:
    """MediaPipe's weighted NMS: each cluster's box and keypoints averaged, weighted by score.

    The cluster keeps its best score. Returns (score, box, keypoints) best first.
    """
    order = np.argsort(-scores, kind="stable")
    out: list[tuple[float, FloatArray, FloatArray]] = []
    while order.size and (max_detections < 0 or len(out) < max_detections):
        best = order[0]
        iou = box_iou(boxes[best], boxes[order])
        members = order[iou > iou_threshold]
        weights = scores[members]
        total = float(weights.sum())
        if members.size and total > 0.0:
            box = (boxes[members] * weights[:, None]).sum(axis=0) / total
            kps = (keypoints[members] * weights[:, None, None]).sum(axis=0) / total
        else:
            box, kps = boxes[best], keypoints[best]
        out.append((float(scores[best]), box.astype(np.float32), kps.astype(np.float32)))
        remaining = order[iou <= iou_threshold]
        if remaining.size == order.size:
            break
        order = remaining
    return out


def remove_letterbox(points: FloatArray, pad: Letterbox) -> FloatArray:
    """Points (... x 2) in letterboxed input coordinates mapped back to the frame, normalised."""
    out = points.astype(np.float32, copy=True)
    out[..., 0] = (out[..., 0] - pad.left) / (1.0 - pad.left - pad.right)
    out[..., 1] = (out[..., 1] - pad.top) / (1.0 - pad.top - pad.bottom)
    return out


class PoseDetector:
    """Finds people in a frame: score, box and the 4 BlazePose alignment keypoints."""

    def __init__(
        self,
        interpreter: InterpreterLike,
        min_score: float = 0.5,
        anchors: SsdAnchorOptions = POSE_DETECTOR_ANCHORS,
    ) -> None:
        self.io = ModelIO(interpreter, "pose detector")
        self.size_px = self.io.input_width
        self.anchors = generate_anchors(anchors)
        self.min_score = min_score
        self._boxes_index = self.io.output_index(self.anchors.shape[0] * 12, "boxes")
        self._scores_index = self.io.output_index(self.anchors.shape[0], "scores")
        self._buffer = np.zeros((self.size_px, self.size_px, 3), dtype=np.uint8)

    @property
    def letterboxed(self) -> ImageArray:
        """The last letterboxed uint8 input, 224x224 (upper body: 128x128); a reused buffer, copy to keep."""
        return self._buffer

    def preprocess(self, image: ImageArray, square: Square | None = None) -> Letterbox:
        """Letterbox the frame (or a square region of it) into the model input (zero border,
        values in [-1, 1])."""
        height, width = image.shape[:2]
        if square is None:
            matrix, pad = letterbox_matrix(width, height, self.size_px)
        else:
            matrix, pad = square_matrix(square, width, height, self.size_px)
        cv2.warpAffine(
            image,
            matrix,
            (self.size_px, self.size_px),
            dst=self._buffer,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
        self.io.set_image(self._buffer, -1.0, 1.0)
        return pad

    def postprocess(self, pad: Letterbox, max_detections: int = -1) -> list[Detection]:
        """Decode the last invocation's outputs into detections in frame coordinates, best first."""
        raw_scores = self.io.output(self._scores_index)
        scores = sigmoid_scores(raw_scores)
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            return []
        raw_boxes = self.io.output(self._boxes_index).reshape(-1, 12)[keep]
        boxes, keypoints = decode_boxes(raw_boxes, self.anchors[keep], self.size_px)
        found = weighted_nms(scores[keep], boxes, keypoints, max_detections=max_detections)
        detections: list[Detection] = []
        for score, box, kps in found:
            corners = remove_letterbox(box.reshape(2, 2), pad)
            detections.append(
                Detection(
                    score=score,
                    box=BBox(
                        float(corners[0, 0]), float(corners[0, 1]), float(corners[1, 0]), float(corners[1, 1])
                    ),
                    keypoints=remove_letterbox(kps, pad),
                )
            )
        return detections

    def detect(self, image: ImageArray, max_detections: int = -1) -> list[Detection]:
        """All people found in an RGB frame, best first."""
        pad = self.preprocess(image)
        self.io.invoke()
        return self.postprocess(pad, max_detections)
