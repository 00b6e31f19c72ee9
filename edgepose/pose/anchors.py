"""SSD anchors for the BlazePose detector, generated as MediaPipe's SsdAnchorsCalculator does."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgepose.types import FloatArray


@dataclass(frozen=True, slots=True)
class SsdAnchorOptions:
    """Anchor layout; the defaults are those of MediaPipe's pose_detection_cpu graph."""

    input_size_px: int = 224
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    aspect_ratios: tuple[float, ...] = (1.0,)
    anchor_offset: float = 0.5
    interpolated_scale_aspect_ratio: float = 1.0
    fixed_anchor_size: bool = True
    reduce_boxes_in_lowest_layer: bool = False


POSE_DETECTOR_ANCHORS = SsdAnchorOptions()
# The detector that shipped with the legacy upper-body model (@mediapipe/pose 0.1.1612239201):
# 128x128 input, 896 anchors, as its era's pose_detection_cpu graph lays them out.
UPPER_BODY_DETECTOR_ANCHORS = SsdAnchorOptions(input_size_px=128, strides=(8, 16, 16, 16))


def _layer_scale(options: SsdAnchorOptions, layer: int) -> float:
    count = len(options.strides)
    if count == 1:
        return (options.min_scale + options.max_scale) / 2.0
    return options.min_scale + (options.max_scale - options.min_scale) * layer / (count - 1.0)


def _layer_shapes(options: SsdAnchorOptions, first: int, last: int) -> list[tuple[float, float]]:
    """(width, height) of the anchors per cell for the layers [first, last) sharing one stride."""
    shapes: list[tuple[float, float]] = []
    count = len(options.strides)
    for layer in range(first, last):
        scale = _layer_scale(options, layer)
        if layer == 0 and options.reduce_boxes_in_lowest_layer:
            pairs = [(1.0, 0.1), (2.0, scale), (0.5, scale)]
        else:
            pairs = [(ratio, scale) for ratio in options.aspect_ratios]
            if options.interpolated_scale_aspect_ratio > 0.0:
                following = 1.0 if layer == count - 1 else _layer_scale(options, layer + 1)
                pairs.append((options.interpolated_scale_aspect_ratio, math.sqrt(scale * following)))
        for ratio, pair_scale in pairs:
            root = math.sqrt(ratio)
            shapes.append((pair_scale * root, pair_scale / root))
    return shapes


def generate_anchors(options: SsdAnchorOptions = POSE_DETECTOR_ANCHORS) -> FloatArray:
    """Anchors as an N x 4 array of (x_center, y_center, width, height), normalised to the input."""
    rows: list[FloatArray] = []
    strides = options.strides
    layer = 0
    while layer < len(strides):
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            last += 1
        shapes = _layer_shapes(options, layer, last)
        cells = math.ceil(options.input_size_px / strides[layer])
        centres = (np.arange(cells, dtype=np.float32) + options.anchor_offset) / cells
        yy, xx = np.meshgrid(centres, centres, indexing="ij")
        per_cell = len(shapes)
        block = np.empty((cells, cells, per_cell, 4), dtype=np.float32)
        block[..., 0] = xx[..., None]
        block[..., 1] = yy[..., None]
        if options.fixed_anchor_size:
            block[..., 2:] = 1.0
        else:
            block[..., 2] = np.array([w for w, _ in shapes], dtype=np.float32)
            block[..., 3] = np.array([h for _, h in shapes], dtype=np.float32)
        rows.append(block.reshape(-1, 4))
        layer = last
    return np.concatenate(rows).astype(np.float32)
