"""The CPU plugin: LiteRT (or tflite_runtime) interpreters with XNNPACK on or off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgepose.config.accelerators import AcceleratorKind, CpuConfig
from edgepose.inference import runtime
from edgepose.inference.accelerators.base import AcceleratorSettings, resolve_threads
from edgepose.inference.models import ModelRole, model_path
from edgepose.types import ModelVariant, Precision


class CpuAccelerator:
    """Runs the plain (non-EdgeTPU) models on the CPU; also the fallback when an EdgeTPU is missing."""

    def __init__(
        self, config: CpuConfig, threads: int = 0, fallback_from: AcceleratorKind | None = None
    ) -> None:
        """`threads` 0 means auto; `fallback_from` names the accelerator this one stands in for."""
        self._config = config
        self.threads = resolve_threads(threads)
        self.fallback_from = fallback_from

    @classmethod
    def from_settings(cls, settings: AcceleratorSettings) -> CpuAccelerator:
        """The registry's factory."""
        return cls(settings.cpu, settings.threads)

    @property
    def kind(self) -> AcceleratorKind:
        """Always cpu."""
        return AcceleratorKind.CPU

    @property
    def accelerator_in_use(self) -> str:
        """'cpu', also when standing in for a missing EdgeTPU."""
        return AcceleratorKind.CPU.value

    @property
    def xnnpack(self) -> bool:
        """Whether the XNNPACK delegate is on."""
        return self._config.xnnpack

    def model_path(self, role: ModelRole, variant: ModelVariant, precision: Precision) -> Path:
        """The CPU model file of the configured precision."""
        return model_path(role, variant, precision, edgetpu=False)

    def make_interpreter(self, model_path: Path) -> Any:
        """An allocated interpreter with this plugin's threads and XNNPACK setting."""
        return runtime.make_interpreter(model_path, self.threads, xnnpack=self._config.xnnpack)

    def describe(self) -> str:
        """E.g. 'cpu: 4 threads, XNNPACK on, ai-edge-litert 2.3.0'."""
        text = f"cpu: {self.threads} thread{'s' if self.threads != 1 else ''}, "
        text += f"XNNPACK {'on' if self._config.xnnpack else 'off'}, {runtime.get_runtime().describe()}"
        if self.fallback_from is not None:
            text += f" (fallback: {self.fallback_from.value} not available)"
        return text

    def close(self) -> None:
        """Nothing to release: interpreters free themselves."""
