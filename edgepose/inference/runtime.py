"""The TFLite interpreter runtime: ai_edge_litert when installed, tflite_runtime otherwise, chosen once."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import logging
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from edgepose.errors import ModelError

log = logging.getLogger(__name__)

_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("ai_edge_litert.interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "tflite-runtime"),
)


@dataclass(frozen=True, slots=True)
class Runtime:
    """The interpreter module in use, with its distribution name and version."""

    module: ModuleType
    distribution: str
    version: str

    def describe(self) -> str:
        """A short line such as 'ai-edge-litert 2.3.0'."""
        return f"{self.distribution} {self.version}"


@functools.cache
def get_runtime() -> Runtime:
    """Import the first available runtime (cached) and log which one it is."""
    errors: list[str] = []
    for module_name, dist in _CANDIDATES:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            errors.append(f"{module_name}: {exc}")
            continue
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        runtime = Runtime(module=module, distribution=dist, version=version)
        log.info("TFLite runtime: %s", runtime.describe())
        return runtime
    raise ModelError(
        "no TFLite runtime: install ai-edge-litert or tflite-runtime (" + "; ".join(errors) + ")"
    )


def make_interpreter(model_path: Path, num_threads: int = 2, delegates: list[Any] | None = None) -> Any:
    """A ready interpreter (tensors allocated) for a model file, or a ModelError naming the file."""
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    runtime = get_runtime()
    try:
        interpreter = runtime.module.Interpreter(
            model_path=str(model_path),
            num_threads=num_threads,
            experimental_delegates=delegates or None,
        )
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot load model {model_path}: {exc}") from exc
    return interpreter
