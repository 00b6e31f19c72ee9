"""Per-accelerator config blocks, `[model.cpu]` and `[model.edgetpu]`, each owned by its plugin."""

from __future__ import annotations

import enum
import re

from pydantic import Field, field_validator

from edgepose.config.base import Bool, Str, StrictModel

EDGETPU_DEVICE_PATTERN = re.compile(r"^(auto|usb|pci)(:\d+)?$|^:\d+$")


class AcceleratorKind(enum.StrEnum):
    """The value of `[model] accelerator`: which plugin makes the interpreters."""

    CPU = "cpu"
    EDGETPU = "edgetpu"


class OnMissing(enum.StrEnum):
    """What to do when the configured accelerator is not there."""

    FAIL = "fail"
    CPU = "cpu"


class CpuConfig(StrictModel):
    """`[model.cpu]`: the CPU plugin (XNNPACK kernels by default; threads are `[model] threads`)."""

    xnnpack: Bool = Field(
        default=True,
        description="Use the XNNPACK delegate (fast int8 and float kernels); false = builtin kernels only.",
    )


class EdgeTpuConfig(StrictModel):
    """`[model.edgetpu]`: the Coral EdgeTPU plugin (libedgetpu delegate, `*_edgetpu.tflite` models)."""

    device: Str = Field(
        default="auto",
        description=(
            "Which EdgeTPU: 'auto' (the first found), 'usb', 'usb:N', 'pci', 'pci:N' or ':N' "
            "(the Nth of any kind), as libedgetpu and pycoral name them."
        ),
    )
    on_missing: OnMissing = Field(
        default=OnMissing.FAIL,
        description=(
            "No usable EdgeTPU: 'fail' stops with the fix named; 'cpu' warns once and runs on the CPU."
        ),
    )
    library: Str = Field(
        default="libedgetpu.so.1",
        min_length=1,
        description="The delegate library loaded when pycoral is not installed (libedgetpu1-std or -max).",
    )

    @field_validator("device")
    @classmethod
    def _device_form(cls, value: str) -> str:
        if not EDGETPU_DEVICE_PATTERN.match(value):
            raise ValueError("must be auto, usb, usb:N, pci, pci:N or :N")
        return value

    def delegate_device(self) -> str | None:
        """The `device` option for libedgetpu, or None to let it pick the first EdgeTPU."""
        return None if self.device == "auto" else self.device
