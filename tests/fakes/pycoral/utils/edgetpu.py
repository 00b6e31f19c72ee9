"""Fake `pycoral.utils.edgetpu`, following pycoral 2.0's functions and their behaviour.

Real pycoral loads the delegate with tflite_runtime's `load_delegate(_EDGETPU_SHARED_LIB, options)`
and builds `tflite.Interpreter(model_path=..., experimental_delegates=[delegate])`; here both come
from fake_libedgetpu, whose devices are set by the environment variable EDGEPOSE_FAKE_EDGETPUS.
"""

from __future__ import annotations

from typing import Any

import fake_libedgetpu as tflite

_EDGETPU_SHARED_LIB = "libedgetpu.so.1"


def get_runtime_version() -> str:
    """The libedgetpu build string."""
    return "BuildLabel(COMPILER=fake,DATE=fake) RuntimeVersion(14)"


def list_edge_tpus() -> list[dict[str, str]]:
    """E.g. [{'type': 'usb', 'path': '/sys/bus/usb/devices/2-1'}]."""
    return tflite.attached()


def load_edgetpu_delegate(options: dict[str, Any] | None = None) -> Any:
    """Raises ValueError when no EdgeTPU matches options['device']."""
    return tflite.load_delegate(_EDGETPU_SHARED_LIB, options or {})


def make_interpreter(model_path_or_content: Any, device: str | None = None, delegate: Any = None) -> Any:
    """An interpreter (tensors not allocated) with the EdgeTPU delegate."""
    delegates = [delegate] if delegate else [load_edgetpu_delegate({"device": device} if device else {})]
    if isinstance(model_path_or_content, bytes):
        return tflite.FakeInterpreter(model_content=model_path_or_content, experimental_delegates=delegates)
    return tflite.FakeInterpreter(model_path=model_path_or_content, experimental_delegates=delegates)
