"""The TFLite interpreter runtime: ai_edge_litert when installed, tflite_runtime otherwise, chosen once.

`EDGEPOSE_TFLITE_RUNTIME=tflite_runtime` (or `ai_edge_litert`) forces one of them, for a Pi where both
are installed and one misbehaves (e.g. a pycoral build that wants tflite_runtime's delegate type).
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from edgepose.errors import ModelError

log = logging.getLogger(__name__)

RUNTIME_ENV = "EDGEPOSE_TFLITE_RUNTIME"

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

    def supports_op_resolver(self) -> bool:
        """Whether this runtime can turn the default XNNPACK delegate off (both current ones can)."""
        return hasattr(self.module, "OpResolverType")


def select_runtime(candidates: Sequence[tuple[str, str]], forced: str | None = None) -> Runtime:
    """Import the first importable candidate (or only the forced one) and log which it is."""
    chosen = [c for c in candidates if forced is None or c[0].split(".")[0] == forced]
    if not chosen:
        names = ", ".join(c[0].split(".")[0] for c in candidates)
        raise ModelError(f"{RUNTIME_ENV}={forced} is not one of: {names}")
    errors: list[str] = []
    for module_name, dist in chosen:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            errors.append(f"{module_name}: {exc}")
            log.debug("TFLite runtime %s not usable: %s", module_name, exc)
            continue
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        runtime = Runtime(module=module, distribution=dist, version=version)
        log.info(
            "TFLite runtime: %s (%s)",
            runtime.describe(),
            "forced by " + RUNTIME_ENV if forced else "first of " + ", ".join(c[1] for c in candidates),
        )
        return runtime
    raise ModelError(
        "no TFLite runtime: install ai-edge-litert or tflite-runtime (" + "; ".join(errors) + ")"
    )


@functools.cache
def get_runtime() -> Runtime:
    """The runtime of this process (cached): ai_edge_litert, else tflite_runtime."""
    forced = os.environ.get(RUNTIME_ENV) or None
    return select_runtime(_CANDIDATES, forced)


def op_resolver_kwargs(runtime: Runtime, xnnpack: bool) -> dict[str, Any]:
    """Interpreter keyword arguments that switch the default XNNPACK delegate off when asked."""
    if xnnpack:
        return {}
    if not runtime.supports_op_resolver():
        log.warning("%s cannot disable XNNPACK; running with it", runtime.describe())
        return {}
    resolver = runtime.module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    return {"experimental_op_resolver_type": resolver}


def make_interpreter(
    model_path: Path,
    num_threads: int = 2,
    delegates: list[Any] | None = None,
    *,
    xnnpack: bool = True,
) -> Any:
    """A ready interpreter (tensors allocated) for a model file, or a ModelError naming the file."""
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    runtime = get_runtime()
    try:
        interpreter = runtime.module.Interpreter(
            model_path=str(model_path),
            num_threads=num_threads,
            experimental_delegates=delegates or None,
            **op_resolver_kwargs(runtime, xnnpack),
        )
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot load model {model_path}: {exc}") from exc
    return interpreter
