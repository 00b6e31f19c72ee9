"""Fixtures for the accelerator tests: the fake Coral (pycoral + libedgetpu), stand-in models, fake sysfs."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

FAKES = Path(__file__).resolve().parent.parent / "fakes"
FAKE_DEVICES_ENV = "EDGEPOSE_FAKE_EDGETPUS"


def _drop_pycoral() -> None:
    for name in [n for n in sys.modules if n == "pycoral" or n.startswith("pycoral.")]:
        del sys.modules[name]


@dataclass
class FakeCoral:
    """Controls the fake EdgeTPUs that fake pycoral and the fake libedgetpu see."""

    monkeypatch: pytest.MonkeyPatch
    lib: ModuleType  # fake_libedgetpu
    builder: ModuleType  # tflite_builder

    def attach(self, *devices: tuple[str, str], busy: bool = False) -> None:
        """Plug fake EdgeTPUs in: ('usb', '/sys/bus/usb/devices/2-1'), ('pci', '/dev/apex_0').

        `busy`: listed but held by another process, so loading the delegate fails.
        """
        entries = [{"type": kind, "path": path, "busy": busy} for kind, path in devices]
        self.monkeypatch.setenv(FAKE_DEVICES_ENV, json.dumps(entries))

    def pycoral_edgetpu(self) -> ModuleType:
        """The fake `pycoral.utils.edgetpu`, imported the normal way."""
        import importlib

        return importlib.import_module("pycoral.utils.edgetpu")

    def runtime_backend(self, library: str = "libedgetpu.so.1") -> Any:
        """The no-pycoral backend on the fake runtime load_delegate and interpreter."""
        from edgepose.inference.edgetpu.accelerator import RuntimeBackend

        return RuntimeBackend(library, self.lib.load_delegate, self.lib.FakeInterpreter, "fake runtime")

    def pycoral_backend(self) -> Any:
        """The pycoral backend on the fake pycoral."""
        from edgepose.inference.edgetpu.accelerator import PycoralBackend

        return PycoralBackend(self.pycoral_edgetpu())


@pytest.fixture
def fake_coral(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCoral]:
    """Fake pycoral importable, no EdgeTPU attached until `attach`; pycoral forgotten afterwards."""
    monkeypatch.syspath_prepend(str(FAKES))
    _drop_pycoral()
    monkeypatch.setenv(FAKE_DEVICES_ENV, "[]")
    import fake_libedgetpu
    import tflite_builder

    fake_libedgetpu.LOADED.clear()
    yield FakeCoral(monkeypatch, fake_libedgetpu, tflite_builder)
    _drop_pycoral()


@pytest.fixture
def no_pycoral(monkeypatch: pytest.MonkeyPatch) -> None:
    """pycoral not importable (as on most Python 3.11 systems)."""
    _drop_pycoral()
    monkeypatch.setitem(sys.modules, "pycoral", None)


@pytest.fixture
def tflite_builder(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """tests/fakes/tflite_builder.py: tiny hand-built .tflite models."""
    monkeypatch.syspath_prepend(str(FAKES))
    import tflite_builder

    return tflite_builder


class FakeSys:
    """A fake root for sysfs, /dev, udev rules, the boot config and the device-tree model."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def usb(self, name: str, vendor: str, product: str, speed: int | None = 5000) -> None:
        base = f"sys/bus/usb/devices/{name}"
        self.write(f"{base}/idVendor", vendor + "\n")
        self.write(f"{base}/idProduct", product + "\n")
        if speed is not None:
            self.write(f"{base}/speed", f"{speed}\n")

    def apex(self, n: int, temp_millic: int | None = 45000) -> None:
        self.write(f"dev/apex_{n}", "")
        if temp_millic is not None:
            self.write(f"sys/class/apex/apex_{n}/temp", f"{temp_millic}\n")
        (self.root / "sys/module/apex").mkdir(parents=True, exist_ok=True)

    def udev_rule(self, name: str = "60-libedgetpu1-std.rules") -> None:
        self.write(
            f"lib/udev/rules.d/{name}",
            'SUBSYSTEM=="usb",ATTRS{idVendor}=="1a6e",GROUP="plugdev"\n'
            'SUBSYSTEM=="usb",ATTRS{idVendor}=="18d1",GROUP="plugdev"\n',
        )

    def paths(self) -> Any:
        from edgepose.inference.edgetpu.devices import SystemPaths

        return SystemPaths.under(self.root)


@pytest.fixture
def fake_sys(tmp_path: Path) -> FakeSys:
    """An empty fake system root (no devices, no rules, not a Pi)."""
    root = tmp_path / "root"
    (root / "sys/bus/usb/devices").mkdir(parents=True)
    (root / "dev").mkdir()
    return FakeSys(root)
