"""`[model] family` and `[model.movenet]`: the second model family, MoveNet single-pose."""

from __future__ import annotations

import enum

from pydantic import Field

from edgepose.config.base import ConfigPath, Float, StrictModel


class ModelFamily(enum.StrEnum):
    """Which pose model family runs: BlazePose (33 landmarks, bundled) or MoveNet (COCO-17, yours)."""

    BLAZEPOSE = "blazepose"
    MOVENET = "movenet"


class MoveNetConfig(StrictModel):
    """`[model.movenet]`: a MoveNet single-pose model file supplied by the user."""

    model_path: ConfigPath | None = Field(
        default=None,
        description=(
            "MoveNet single-pose .tflite: Lightning (192x192) or Thunder (256x256), int8 or its "
            "_edgetpu build for the Coral; required when [model] family = 'movenet'."
        ),
    )
    min_pose_score: Float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="Mean keypoint score (over keypoints above 0.1) a person needs to be reported.",
    )
