"""The `runtime` line of `edgepose check`: which TFLite runtime is in use, and whether it suits this machine.

The platform markers in pyproject.toml install ai-edge-litert on x86_64 and aarch64 (64-bit Pi OS) and
tflite-runtime on armv7l (32-bit Pi OS, the only runtime with an armv7l wheel). tflite-runtime 2.14 is
built against the numpy 1.x ABI: with numpy 2 it imports but cannot create an interpreter.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from dataclasses import dataclass

from edgepose.checks.base import CheckContext, CheckResult, Verdict
from edgepose.inference.runtime import RUNTIME_ENV, get_runtime

LITERT = "ai-edge-litert"
TFLITE_RUNTIME = "tflite-runtime"

_EXPECTED_BY_MACHINE: dict[str, str] = {
    "x86_64": LITERT,
    "aarch64": LITERT,
    "armv7l": TFLITE_RUNTIME,
}


@dataclass(frozen=True, slots=True)
class RuntimeFacts:
    """What the runtime check looks at, gathered once so the verdict is a pure function."""

    distribution: str
    version: str
    machine: str
    python_version: str
    numpy_version: str
    forced: bool


@dataclass(frozen=True, slots=True)
class RuntimeVerdict:
    """The outcome: `level` is "ok", "warn" or "FAIL" (the values of `edgepose.checks.Verdict`)."""

    level: str
    detail: str


def expected_distribution(machine: str) -> str | None:
    """The runtime pyproject.toml installs on this machine, or None for machines it has no wheel for."""
    return _EXPECTED_BY_MACHINE.get(machine)


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def runtime_verdict(facts: RuntimeFacts) -> RuntimeVerdict:
    """Judge the runtime in use for this machine."""
    detail = (
        f"{facts.distribution} {facts.version} on {facts.machine} "
        f"(Python {facts.python_version}, numpy {facts.numpy_version})"
    )
    if facts.distribution == TFLITE_RUNTIME and _major(facts.numpy_version) >= 2:
        return RuntimeVerdict(
            "FAIL", f"{detail}: tflite-runtime needs numpy 1.x, install it with: pip install 'numpy<2'"
        )
    expected = expected_distribution(facts.machine)
    if expected is None:
        return RuntimeVerdict("warn", f"{detail}: {facts.machine} is not a platform edgepose is tested on")
    if expected != facts.distribution and not facts.forced:
        return RuntimeVerdict("warn", f"{detail}: {expected} is the runtime tested on {facts.machine}")
    if facts.forced:
        detail += f", chosen by {RUNTIME_ENV}"
    return RuntimeVerdict("ok", detail)


def gather_facts() -> RuntimeFacts:
    """Import the runtime (a ModelError when there is none) and read the versions around it."""
    runtime = get_runtime()
    try:
        numpy_version = importlib.metadata.version("numpy")
    except importlib.metadata.PackageNotFoundError:
        numpy_version = "unknown"
    return RuntimeFacts(
        distribution=runtime.distribution,
        version=runtime.version,
        machine=platform.machine(),
        python_version=platform.python_version(),
        numpy_version=numpy_version,
        forced=bool(os.environ.get(RUNTIME_ENV)),
    )


def check_runtime(ctx: CheckContext) -> CheckResult:
    """The TFLite interpreter package and version, and whether it suits this machine."""
    verdict = runtime_verdict(gather_facts())
    return CheckResult(Verdict(verdict.level), verdict.detail)
