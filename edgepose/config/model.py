"""[model] config: which BlazePose models run where, and the confidence thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edgepose.config.accelerators import CpuConfig, EdgeTpuConfig
from edgepose.config.base import Float, Int, StrictModel
from edgepose.config.movenet import ModelFamily, MoveNetConfig
from edgepose.config.search import SearchConfig
from edgepose.types import ModelVariant, Precision


class ModelConfig(StrictModel):
    """The pose models and how they run."""

    variant: ModelVariant = Field(
        default=ModelVariant.FULL,
        description=(
            "Landmark model: lite (fastest), full (balanced), heavy (most accurate), or upper_body"
            " (legacy 25-landmark model for waist-up views; float only, no world landmarks)."
        ),
    )
    precision: Precision = Field(
        default=Precision.INT8,
        description="int8 (bundled, fast on the Pi and required by the EdgeTPU) or float (downloaded).",
    )
    accelerator: Literal["cpu", "edgetpu"] = Field(
        default="cpu", description="Where the models run: cpu (LiteRT/XNNPACK) or edgetpu (Coral)."
    )
    threads: Int = Field(
        default=0, ge=0, le=16, description="CPU threads per interpreter; 0 = auto (usable CPUs, at most 2)."
    )
    num_poses: Int = Field(default=2, ge=1, le=10, description="Most people tracked at once.")
    min_pose_detection_confidence: Float = Field(
        default=0.5, ge=0.0, le=1.0, description="Detector score needed to start tracking a person."
    )
    min_pose_presence_confidence: Float = Field(
        default=0.5, ge=0.0, le=1.0, description="Landmark model presence score needed to report a pose."
    )
    min_tracking_confidence: Float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Presence score needed to keep tracking without running the detector again.",
    )
    track_grace_frames: Int = Field(
        default=3,
        ge=0,
        le=30,
        description="Frames a tracked person may fall below min_tracking_confidence (ROI held, no pose "
        "reported) before the track ends; 0 ends it at once, as MediaPipe does.",
    )
    search: SearchConfig = Field(
        default_factory=SearchConfig, description="[model.search]: where and when the detector looks."
    )
    cpu: CpuConfig = Field(default_factory=CpuConfig, description="[model.cpu]: the CPU plugin.")
    edgetpu: EdgeTpuConfig = Field(
        default_factory=EdgeTpuConfig, description="[model.edgetpu]: the Coral EdgeTPU plugin."
    )
    family: ModelFamily = Field(
        default=ModelFamily.BLAZEPOSE,
        description="Pose model family: blazepose (bundled, 33 landmarks) or movenet (COCO-17, your file).",
    )
    movenet: MoveNetConfig = Field(
        default_factory=MoveNetConfig, description="[model.movenet]: your MoveNet single-pose model file."
    )

    @model_validator(mode="after")
    def _movenet_needs_its_file(self) -> ModelConfig:
        if self.family is ModelFamily.MOVENET and self.movenet.model_path is None:
            raise ValueError('family = "movenet" needs [model.movenet] model_path (your MoveNet .tflite)')
        return self
