"""Which model file serves which role, variant, precision and accelerator, and where it lives.

Layout (the names are a contract with scripts/build_models.py):
- float models, fetched from the registries on first use, in `cache_dir()/models/float/`:
  `pose_detection.tflite`, `pose_landmark_{lite,full,heavy}.tflite`.
- int8 models, committed, in `bundled_models_dir()`: `pose_detection_int8.tflite`,
  `pose_landmark_{variant}_int8.tflite`; EdgeTPU-compiled files add `_edgetpu` before `.tflite`.
"""

from __future__ import annotations

import enum
from pathlib import Path

from edgepose.errors import ModelError
from edgepose.paths import bundled_models_dir, cache_dir
from edgepose.types import ModelVariant, Precision


class ModelRole(enum.StrEnum):
    """What a model file does in the pipeline."""

    DETECTOR = "detector"
    LANDMARK = "landmark"


def model_filename(
    role: ModelRole, variant: ModelVariant, precision: Precision, edgetpu: bool = False
) -> str:
    """The file name for a role, variant and precision (the detector has no variant)."""
    stem = "pose_detection" if role is ModelRole.DETECTOR else f"pose_landmark_{variant.value}"
    if precision is Precision.INT8:
        stem += "_int8"
    if edgetpu:
        stem += "_edgetpu"
    return stem + ".tflite"


def float_models_dir() -> Path:
    """Where float models are cached after their first download."""
    return cache_dir() / "models" / "float"


def model_path(role: ModelRole, variant: ModelVariant, precision: Precision, edgetpu: bool = False) -> Path:
    """The path of a model file that exists, or a ModelError saying how to get it."""
    name = model_filename(role, variant, precision, edgetpu)
    folder = float_models_dir() if precision is Precision.FLOAT else bundled_models_dir()
    path = folder / name
    if not path.is_file():
        raise ModelError(
            f"model {name} not found in {folder}: run scripts/build_models.py --precision {precision}"
        )
    return path
