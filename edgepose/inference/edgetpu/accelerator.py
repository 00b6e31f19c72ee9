"""The Coral EdgeTPU plugin: the libedgetpu delegate through pycoral or the runtime's `load_delegate`.

pycoral (`pycoral.utils.edgetpu`) is used when it imports; its wheels lag behind Python releases, so
without it the delegate comes from the interpreter runtime's own `load_delegate("libedgetpu.so.1",
{"device": ...})`, which is all pycoral does underneath. The delegate is loaded once when the plugin
opens, so a missing device is known before any model is built; as Coral's own examples do, every
further interpreter gets its own delegate for the same device (libedgetpu shares the device).
"""

from __future__ import annotations

import ctypes
import importlib
import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from edgepose.config.accelerators import AcceleratorKind, EdgeTpuConfig
from edgepose.errors import ModelError
from edgepose.inference import runtime
from edgepose.inference.accelerators.base import (
    AcceleratorSettings,
    AcceleratorUnavailableError,
    resolve_threads,
)
from edgepose.inference.edgetpu.devices import SystemPaths
from edgepose.inference.edgetpu.diagnosis import FIX_POWER_CABLE, Diagnosis, diagnose
from edgepose.inference.edgetpu.opsplit import OpSplit, op_split
from edgepose.inference.models import ModelRole, model_path
from edgepose.types import ModelVariant, Precision

log = logging.getLogger(__name__)

PYCORAL_MODULE = "pycoral.utils.edgetpu"
FIX_BUSY = (
    "only one process can use an EdgeTPU: stop the other user (Frigate, another edgepose, a test "
    "script) or give each its own device; if none, unplug and replug it (USB) or reboot (PCIe)"
)
FIX_COMPILE = "compile the full-integer models with scripts/compile_edgetpu.sh (needs edgetpu_compiler)"


class EdgeTpuBackend(Protocol):
    """How the delegate is loaded and interpreters are made with it."""

    @property
    def name(self) -> str:
        """For logs: 'pycoral 2.0.0' or 'libedgetpu.so.1 via ai-edge-litert 2.3.0'."""
        ...

    @property
    def pycoral_edgetpu(self) -> ModuleType | None:
        """pycoral's edgetpu module when this backend uses it (for `list_edge_tpus`)."""
        ...

    def load_delegate(self, device: str | None) -> Any:
        """The EdgeTPU delegate; ValueError when no such device can be opened."""
        ...

    def make_interpreter(self, model_path: Path, delegate: Any, threads: int) -> Any:
        """An interpreter (not yet allocated) running `model_path` with the delegate."""
        ...


def _device_options(device: str | None) -> dict[str, str]:
    return {"device": device} if device else {}


def _accepts_keyword(fn: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a native function without a signature
        return False


class PycoralBackend:
    """pycoral's `load_edgetpu_delegate` and `make_interpreter(model, device=None, delegate=None)`.

    pycoral releases before the `delegate` argument load their own delegate from `device` instead.
    """

    def __init__(self, edgetpu_module: ModuleType) -> None:
        """`edgetpu_module` is `pycoral.utils.edgetpu`."""
        self._module = edgetpu_module
        self._takes_delegate = _accepts_keyword(edgetpu_module.make_interpreter, "delegate")
        self._device: str | None = None

    @property
    def name(self) -> str:
        """'pycoral' and its EdgeTPU runtime version when it tells."""
        version = getattr(self._module, "get_runtime_version", None)
        return "pycoral" + (f" ({version()})" if callable(version) else "")

    @property
    def pycoral_edgetpu(self) -> ModuleType | None:
        """The pycoral module."""
        return self._module

    def load_delegate(self, device: str | None) -> Any:
        """pycoral's `load_edgetpu_delegate({'device': ...})`."""
        self._device = device
        return self._module.load_edgetpu_delegate(_device_options(device))

    def make_interpreter(self, model_path: Path, delegate: Any, threads: int) -> Any:
        """pycoral picks the interpreter class; it has no thread option."""
        if self._takes_delegate:
            return self._module.make_interpreter(str(model_path), delegate=delegate)
        return self._module.make_interpreter(str(model_path), device=self._device)


class RuntimeBackend:
    """The runtime's `load_delegate(library, options)` and `Interpreter(..., experimental_delegates=...)`."""

    def __init__(
        self,
        library: str,
        load_delegate: Callable[[str, dict[str, str]], Any],
        interpreter_cls: Callable[..., Any],
        runtime_name: str,
        check_library: bool = False,
    ) -> None:
        """Usually built by `RuntimeBackend.from_runtime`; tests pass a fake loader and class."""
        self._check_library = check_library
        self._library = library
        self._load = load_delegate
        self._interpreter_cls = interpreter_cls
        self._runtime_name = runtime_name

    @classmethod
    def from_runtime(cls, library: str) -> RuntimeBackend:
        """The backend on the process's TFLite runtime."""
        rt = runtime.get_runtime()
        return cls(library, rt.module.load_delegate, rt.module.Interpreter, rt.describe(), check_library=True)

    @property
    def name(self) -> str:
        """E.g. 'libedgetpu.so.1 via ai-edge-litert 2.3.0'."""
        return f"{self._library} via {self._runtime_name}"

    @property
    def pycoral_edgetpu(self) -> ModuleType | None:
        """None: devices are listed from sysfs."""
        return None

    def load_delegate(self, device: str | None) -> Any:
        """The runtime's `load_delegate`; OSError first when the library itself is missing."""
        if self._check_library:
            # The runtime's Delegate prints a traceback from __del__ when the library is missing.
            ctypes.CDLL(self._library)
        return self._load(self._library, _device_options(device))

    def make_interpreter(self, model_path: Path, delegate: Any, threads: int) -> Any:
        """`threads` serve the ops the compiler left on the CPU."""
        return self._interpreter_cls(
            model_path=str(model_path), experimental_delegates=[delegate], num_threads=threads
        )


def import_pycoral() -> ModuleType | None:
    """`pycoral.utils.edgetpu`, or None when it is not installed or cannot load its native part."""
    try:
        return importlib.import_module(PYCORAL_MODULE)
    except ImportError as exc:
        log.debug("pycoral not usable: %s", exc)
        return None


def find_backend(library: str) -> EdgeTpuBackend:
    """pycoral when importable, else the runtime's load_delegate; the choice is logged."""
    module = import_pycoral()
    backend: EdgeTpuBackend = PycoralBackend(module) if module else RuntimeBackend.from_runtime(library)
    log.info("EdgeTPU delegate through %s", backend.name)
    return backend


def _unavailable_message(config: EdgeTpuConfig, error: Exception, diagnosis: Diagnosis) -> str:
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    found = [d.device_spec for d in diagnosis.devices]
    text = f"no usable EdgeTPU for [model.edgetpu] device = {config.device!r} ({reason}); "
    if found and config.device not in ("auto", "usb", "pci") and config.device not in found:
        return text + f"found {', '.join(found)}: set [model.edgetpu] device to one of them"
    kind = config.device.split(":")[0]
    wanted = [f for f in found if kind in ("auto", "") or f.startswith(kind + ":") or f == config.device]
    if wanted and isinstance(error, ValueError):
        # Listed but not opened: most often another process (Frigate, a second edgepose) holds it.
        return (
            text
            + f"found {', '.join(found)} but could not open it; fix: {FIX_BUSY}; details: edgepose devices"
        )
    text += f"found {', '.join(found)}" if found else "none found"
    return text + f"; fix: {diagnosis.first_fix() or FIX_POWER_CABLE}; details: edgepose devices"


class EdgeTpuAccelerator:
    """Runs `*_edgetpu.tflite` models with the libedgetpu delegate; ops the compiler left run on the CPU."""

    def __init__(
        self,
        config: EdgeTpuConfig,
        threads: int = 0,
        backend: EdgeTpuBackend | None = None,
        paths: SystemPaths | None = None,
    ) -> None:
        """Load the delegate now; AcceleratorUnavailableError (with the fix) when no EdgeTPU answers."""
        self._config = config
        self._backend = backend or find_backend(config.library)
        self.threads = resolve_threads(threads)
        self.splits: dict[str, OpSplit] = {}
        self._delegates: list[Any] = []
        self._closed = False
        try:
            self._spare: Any = self._backend.load_delegate(config.delegate_device())
        except (ValueError, OSError, RuntimeError) as exc:
            # A ValueError comes from a library that loaded but found no device.
            diagnosis = diagnose(
                paths,
                pycoral_edgetpu=self._backend.pycoral_edgetpu,
                libedgetpu_found=not isinstance(exc, OSError),
            )
            raise AcceleratorUnavailableError(_unavailable_message(config, exc, diagnosis)) from exc

    @classmethod
    def from_settings(cls, settings: AcceleratorSettings) -> EdgeTpuAccelerator:
        """The registry's factory."""
        return cls(settings.edgetpu, settings.threads, settings.edgetpu_backend, settings.system_paths)

    @property
    def kind(self) -> AcceleratorKind:
        """Always edgetpu."""
        return AcceleratorKind.EDGETPU

    @property
    def accelerator_in_use(self) -> str:
        """'edgetpu'."""
        return AcceleratorKind.EDGETPU.value

    def model_path(self, role: ModelRole, variant: ModelVariant, precision: Precision) -> Path:
        """The compiled `*_int8_edgetpu.tflite` file: the EdgeTPU runs integer models only."""
        if precision is not Precision.INT8:
            log.info("the EdgeTPU runs int8 models only; [model] precision = %s ignored", precision.value)
        try:
            return model_path(role, variant, Precision.INT8, edgetpu=True)
        except ModelError as exc:
            raise ModelError(f"{exc}; for the EdgeTPU: {FIX_COMPILE}") from exc

    def make_interpreter(self, model_path: Path) -> Any:
        """An allocated interpreter with the shared delegate; logs how much runs on the EdgeTPU."""
        if self._closed:
            raise ModelError("EdgeTPU accelerator is closed")
        split = op_split(model_path)
        self.splits[model_path.name] = split
        if not split.compiled:
            log.warning(
                "%s is not compiled for the EdgeTPU: it all runs on the CPU (%s)",
                model_path.name,
                FIX_COMPILE,
            )
        elif split.fully_mapped:
            log.info("%s: %s", model_path.name, split.describe())
        else:
            log.info("%s: partly on the EdgeTPU: %s", model_path.name, split.describe())
        try:
            interpreter = self._backend.make_interpreter(model_path, self._next_delegate(), self.threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load {model_path} on the EdgeTPU: {exc}") from exc
        return interpreter

    def _next_delegate(self) -> Any:
        """The delegate loaded at open for the first interpreter, a new one for each further one."""
        if self._spare is not None:
            delegate, self._spare = self._spare, None
        else:
            try:
                delegate = self._backend.load_delegate(self._config.delegate_device())
            except (ValueError, OSError, RuntimeError) as exc:
                raise ModelError(f"EdgeTPU {self._config.device} stopped answering: {exc}") from exc
        self._delegates.append(delegate)
        return delegate

    def describe(self) -> str:
        """E.g. 'edgetpu: device auto through libedgetpu.so.1 via ai-edge-litert 2.3.0'."""
        return f"edgetpu: device {self._config.device} through {self._backend.name}"

    def close(self) -> None:
        """Drop the delegates (libedgetpu closes the device when the last reference goes)."""
        self._closed = True
        self._spare = None
        self._delegates.clear()
