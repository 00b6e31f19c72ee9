"""Accelerator plugins keyed by the config value `accelerator`: each makes interpreters.

`open_accelerator(kind, settings)` returns an `Accelerator`; `cpu` and `edgetpu` are built in.
"""

from edgepose.inference.accelerators.base import (
    Accelerator,
    AcceleratorSettings,
    AcceleratorUnavailableError,
    auto_threads,
    open_accelerator,
    register_accelerator,
    registered_accelerators,
    resolve_threads,
)

__all__ = [
    "Accelerator",
    "AcceleratorSettings",
    "AcceleratorUnavailableError",
    "auto_threads",
    "open_accelerator",
    "register_accelerator",
    "registered_accelerators",
    "resolve_threads",
]
