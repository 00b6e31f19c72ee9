"""The accelerator plugin interface: what a plugin offers, the settings it gets, its thread count.

A plugin decides which model files to use and makes interpreters for them; the pipeline takes
`accelerator.make_interpreter` as its interpreter factory. The registry is in `registry`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from edgepose.config.accelerators import AcceleratorKind, CpuConfig, EdgeTpuConfig, OnMissing
from edgepose.errors import ModelError
from edgepose.inference.edgetpu.devices import SystemPaths
from edgepose.inference.models import ModelRole
from edgepose.types import ModelVariant, Precision

log = logging.getLogger(__name__)

# XNNPACK's workers spin while they wait, so at a camera's rate every thread beyond two costs CPU
# for little: at 15 fps, 4 threads took 8-25 % more CPU than 1 (docs/pipeline.md, "What it costs
# to watch a room"); 2 keeps the latency headroom a Pi needs with several people in view.
MAX_AUTO_THREADS = 2


class AcceleratorUnavailableError(ModelError):
    """The configured accelerator is not there; the message names the fix."""


class Accelerator(Protocol):
    """What every plugin offers: model choice, interpreters, and what really runs them."""

    @property
    def kind(self) -> AcceleratorKind:
        """The plugin's config key."""
        ...

    @property
    def accelerator_in_use(self) -> str:
        """What actually runs the models ('cpu' or 'edgetpu'), for the stats topic."""
        ...

    def model_path(self, role: ModelRole, variant: ModelVariant, precision: Precision) -> Path:
        """The model file this accelerator runs for a role and variant."""
        ...

    def make_interpreter(self, model_path: Path) -> Any:
        """A ready interpreter (tensors allocated) for a model file."""
        ...

    def describe(self) -> str:
        """One line for logs and `edgepose check`."""
        ...

    def close(self) -> None:
        """Release the delegate; interpreters made by it must not be used afterwards."""
        ...


def auto_threads() -> int:
    """The CPUs this process may run on (systemd CPUAffinity and cgroups respected), at most 2."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_AUTO_THREADS))


def resolve_threads(threads: int) -> int:
    """`threads` from the config, 0 meaning auto."""
    return threads if threads > 0 else auto_threads()


@dataclass(frozen=True, slots=True)
class AcceleratorSettings:
    """Everything a plugin may need: its config block, the thread count, and injectable system access.

    `edgetpu_backend` (an `edgetpu.EdgeTpuBackend`) and `system_paths` exist for tests and
    diagnostics on fake trees; None means the real system.
    """

    cpu: CpuConfig = field(default_factory=CpuConfig)
    edgetpu: EdgeTpuConfig = field(default_factory=EdgeTpuConfig)
    threads: int = 0
    edgetpu_backend: Any = None
    system_paths: SystemPaths | None = None

    def on_missing(self, kind: AcceleratorKind) -> OnMissing:
        """The fallback policy of a plugin (the CPU is always there)."""
        return self.edgetpu.on_missing if kind is AcceleratorKind.EDGETPU else OnMissing.FAIL


AcceleratorFactory = Callable[[AcceleratorSettings], Accelerator]
