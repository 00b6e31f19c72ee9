"""A fake libedgetpu: the runtime's `load_delegate` and an `Interpreter` that honours its delegate.

Follows the real behaviour: `load_delegate("libedgetpu.so.1", {"device": spec})` returns a delegate
when an EdgeTPU matches `spec` ('usb', 'usb:N', 'pci', 'pci:N', ':N' or none for the first) and
raises `ValueError("Failed to load delegate from libedgetpu.so.1")` when none does; another library
name raises OSError, as ctypes does. The attached devices are pycoral's `list_edge_tpus()` entries,
read from the environment variable EDGEPOSE_FAKE_EDGETPUS (a JSON list such as
'[{"type": "usb", "path": "/sys/bus/usb/devices/2-1"}]'), so subprocesses see the same devices; an
entry with "busy": true is listed but cannot be opened, as when another process holds it.

`FakeInterpreter` wraps the real LiteRT interpreter. A real delegate claims the `edgetpu-custom-op`
nodes and runs their compiled program on the chip; the fake delegate runs the builtin op whose code
the test model stored in the custom options (see tflite_builder.py). Without a delegate a model with
that custom op fails to load, as it does for real.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_edge_litert.interpreter import Interpreter
from tflite_builder import resolve_edgetpu_ops

ENV = "EDGEPOSE_FAKE_EDGETPUS"
LIBRARY = "libedgetpu.so.1"
LOADED: list[FakeDelegate] = []


def _devices() -> list[dict[str, str]]:
    return [dict(d) for d in json.loads(os.environ.get(ENV, "[]"))]


def attached() -> list[dict[str, str]]:
    """The fake devices, as pycoral's list_edge_tpus() entries ({'type', 'path'} only)."""
    return [{"type": d["type"], "path": d["path"]} for d in _devices()]


def select(device: str | None) -> dict[str, str] | None:
    """The device a libedgetpu device spec opens, or None."""
    devices = _devices()
    if not device:
        return devices[0] if devices else None
    match = re.fullmatch(r"(usb|pci)?(?::(\d+))?", device)
    if match is None:
        return None
    kind, index = match.group(1), int(match.group(2) or 0)
    pool = [d for d in devices if kind is None or d["type"] == kind]
    return pool[index] if index < len(pool) else None


@dataclass
class FakeDelegate:
    """What load_delegate returns; remembers the device it opened."""

    library: str
    options: dict[str, str]
    device: dict[str, str]
    interpreters: int = 0
    models: list[str] = field(default_factory=list)


def load_delegate(library: str, options: dict[str, Any] | None = None) -> FakeDelegate:
    """The runtime's load_delegate, for libedgetpu."""
    if Path(library).name not in (LIBRARY, "libedgetpu.so"):
        raise OSError(f"{library}: cannot open shared object file: No such file or directory")
    opts = {str(k): str(v) for k, v in (options or {}).items()}
    device = select(opts.get("device"))
    if device is None or device.get("busy"):  # libedgetpu fails the same way for a device held elsewhere
        raise ValueError(f"Failed to load delegate from {library}\n")
    delegate = FakeDelegate(library, opts, device)
    LOADED.append(delegate)
    return delegate


class FakeInterpreter:
    """`Interpreter(model_path=..., model_content=..., experimental_delegates=[...], num_threads=...)`."""

    def __init__(
        self,
        model_path: str | None = None,
        model_content: bytes | None = None,
        experimental_delegates: list[Any] | None = None,
        num_threads: int | None = None,
        **kwargs: Any,
    ) -> None:
        data = model_content if model_content is not None else Path(str(model_path)).read_bytes()
        delegates = [d for d in experimental_delegates or [] if isinstance(d, FakeDelegate)]
        if experimental_delegates and len(delegates) != len(experimental_delegates):
            raise ValueError("Failed to apply delegate: not an EdgeTPU delegate")
        self.delegates = delegates
        if delegates:
            data = resolve_edgetpu_ops(data)
            for d in delegates:
                d.interpreters += 1
                d.models.append(str(model_path))
        self._inner = Interpreter(model_content=data, num_threads=num_threads, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
