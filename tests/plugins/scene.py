"""An empty room and a person to paste into it (the motion gate and search tests share them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgepose.types import BBox, FloatArray, ImageArray
from tools.evaluation.scale_sweep import Cutout, cutouts, empty_scene


@pytest.fixture(scope="module")
def scene(media: Path) -> ImageArray:
    """A 640x480 room with nobody in it, from the sample media."""
    return empty_scene(media)


@pytest.fixture(scope="module")
def person(media: Path) -> Cutout:
    """basketball1.png's player, cut out with his reference landmarks."""
    return cutouts(media)[0]


def noisy(image: ImageArray, rng: np.random.Generator, offset: float = 0.0) -> ImageArray:
    """The image as a camera delivers it: sensor noise (sigma 2) and a brightness offset."""
    noise = rng.normal(offset, 2.0, image.shape[:2])[..., None]
    return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def holds_hips(box_px: BBox, reference_px: FloatArray) -> bool:
    """Whether a pixel box contains the centre of the reference pose's hips."""
    x, y = reference_px[23:25].mean(axis=0)
    return bool(box_px.xmin <= x <= box_px.xmax and box_px.ymin <= y <= box_px.ymax)
