"""Accelerator plugins: runtime choice, CPU options, EdgeTPU device selection and the CPU fallback.

The EdgeTPU side runs against the fake pycoral and fake libedgetpu in tests/fakes (no Coral here);
the CPU side and the no-pycoral/no-libedgetpu path run for real.
"""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from edgepose.config.accelerators import CpuConfig, EdgeTpuConfig, OnMissing
from edgepose.errors import ConfigError, ModelError
from edgepose.inference import runtime
from edgepose.inference.accelerators.base import (
    AcceleratorSettings,
    AcceleratorUnavailableError,
    auto_threads,
)
from edgepose.inference.accelerators.cpu import CpuAccelerator
from edgepose.inference.accelerators.registry import open_accelerator
from edgepose.inference.edgetpu.accelerator import EdgeTpuAccelerator, PycoralBackend, RuntimeBackend
from edgepose.inference.edgetpu.opsplit import op_split, op_split_from_bytes
from edgepose.inference.models import ModelRole, float_models_dir
from edgepose.types import ModelVariant, Precision
from tests.plugins.accelerators import FakeCoral, FakeSys

THREE = (("usb", "/sys/bus/usb/devices/2-1"), ("usb", "/sys/bus/usb/devices/2-2"), ("pci", "/dev/apex_0"))


def _run_standin(interpreter: Any, fill: int) -> np.ndarray:
    inp = interpreter.get_input_details()[0]
    interpreter.set_tensor(inp["index"], np.full(inp["shape"], fill, inp["dtype"]))
    interpreter.invoke()
    out = interpreter.get_output_details()[0]
    return np.asarray(interpreter.get_tensor(out["index"]))


# --- runtime choice -----------------------------------------------------------------------------


def _fake_runtime_module(monkeypatch: pytest.MonkeyPatch, name: str) -> types.ModuleType:
    package, _, leaf = name.partition(".")
    pkg = types.ModuleType(package)
    mod = types.ModuleType(name)
    mod.Interpreter = object
    setattr(pkg, leaf, mod)
    monkeypatch.setitem(sys.modules, package, pkg)
    monkeypatch.setitem(sys.modules, name, mod)
    return mod


def test_runtime_prefers_first_and_logs_choice(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "first_rt", None)  # not importable
    second = _fake_runtime_module(monkeypatch, "second_rt.interpreter")
    caplog.set_level(logging.INFO, logger="edgepose.inference.runtime")
    chosen = runtime.select_runtime(
        (("first_rt.interpreter", "first-rt"), ("second_rt.interpreter", "second-rt"))
    )
    assert chosen.module is second
    assert chosen.distribution == "second-rt"
    assert "TFLite runtime: second-rt unknown" in caplog.text


def test_runtime_forced_and_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    a = _fake_runtime_module(monkeypatch, "rt_a.interpreter")
    b = _fake_runtime_module(monkeypatch, "rt_b.interpreter")
    cands = (("rt_a.interpreter", "rt-a"), ("rt_b.interpreter", "rt-b"))
    assert runtime.select_runtime(cands).module is a
    assert runtime.select_runtime(cands, forced="rt_b").module is b
    with pytest.raises(ModelError, match="not one of: rt_a, rt_b"):
        runtime.select_runtime(cands, forced="other")
    for name in ("rt_a", "rt_a.interpreter", "rt_b", "rt_b.interpreter"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ModelError, match="no TFLite runtime"):
        runtime.select_runtime(cands)


def test_real_runtime_is_ai_edge_litert() -> None:
    assert runtime.get_runtime().distribution == "ai-edge-litert"
    assert runtime.get_runtime().supports_op_resolver()


# --- CPU plugin ---------------------------------------------------------------------------------


def test_auto_threads_is_cores_capped_at_two() -> None:
    import os

    assert auto_threads() == min(len(os.sched_getaffinity(0)), 2)
    cpu = open_accelerator("cpu", AcceleratorSettings(threads=0))
    assert isinstance(cpu, CpuAccelerator)
    assert cpu.threads == auto_threads()
    assert open_accelerator("cpu", AcceleratorSettings(threads=3)).threads == 3


@pytest.mark.parametrize("xnnpack", [True, False])
def test_cpu_interpreter_xnnpack_switch(
    xnnpack: bool, tflite_builder: types.ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(tflite_builder.movenet_standin())
    real = runtime.get_runtime()
    seen: list[dict[str, object]] = []

    class Spy(real.module.Interpreter):
        def __init__(self, **kwargs: object) -> None:
            seen.append(kwargs)
            super().__init__(**kwargs)

    spy_module = types.SimpleNamespace(Interpreter=Spy, OpResolverType=real.module.OpResolverType)
    monkeypatch.setattr(runtime, "get_runtime", lambda: runtime.Runtime(spy_module, "spy", "1"))
    acc = open_accelerator("cpu", AcceleratorSettings(cpu=CpuConfig(xnnpack=xnnpack), threads=2))
    out = _run_standin(acc.make_interpreter(model), 255)
    assert out.shape == (1, 1, 17, 3)
    np.testing.assert_allclose(out[0, 0, :, 2], 1.0, atol=5e-3)
    resolver = seen[0].get("experimental_op_resolver_type")
    if xnnpack:
        assert resolver is None
    else:
        assert resolver is real.module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    assert seen[0]["num_threads"] == 2
    assert ("XNNPACK on" if xnnpack else "XNNPACK off") in acc.describe()


def test_cpu_model_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPOSE_MODEL_DIR", str(tmp_path))
    (tmp_path / "pose_landmark_lite_int8.tflite").write_bytes(b"x")
    cpu = open_accelerator("cpu")
    assert (
        cpu.model_path(ModelRole.LANDMARK, ModelVariant.LITE, Precision.INT8).name
        == "pose_landmark_lite_int8.tflite"
    )
    assert (
        cpu.model_path(ModelRole.DETECTOR, ModelVariant.LITE, Precision.FLOAT)
        == float_models_dir() / "pose_detection.tflite"
    )


def test_unknown_accelerator_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown value 'gpu'"):
        open_accelerator("gpu")


# --- EdgeTPU plugin: device selection -------------------------------------------------------------


@pytest.mark.parametrize("backend_kind", ["pycoral", "runtime"])
@pytest.mark.parametrize(
    ("device", "expected_path"),
    [
        ("auto", "/sys/bus/usb/devices/2-1"),
        ("usb", "/sys/bus/usb/devices/2-1"),
        ("usb:0", "/sys/bus/usb/devices/2-1"),
        ("usb:1", "/sys/bus/usb/devices/2-2"),
        ("pci", "/dev/apex_0"),
        ("pci:0", "/dev/apex_0"),
        (":2", "/dev/apex_0"),
    ],
)
def test_edgetpu_device_present(
    fake_coral: FakeCoral, backend_kind: str, device: str, expected_path: str
) -> None:
    fake_coral.attach(*THREE)
    backend = fake_coral.pycoral_backend() if backend_kind == "pycoral" else fake_coral.runtime_backend()
    acc = open_accelerator(
        "edgetpu", AcceleratorSettings(edgetpu=EdgeTpuConfig(device=device), edgetpu_backend=backend)
    )
    assert isinstance(acc, EdgeTpuAccelerator)
    assert acc.accelerator_in_use == "edgetpu"
    [delegate] = fake_coral.lib.LOADED
    assert delegate.device["path"] == expected_path
    assert delegate.options == ({} if device == "auto" else {"device": device})
    assert delegate.library == "libedgetpu.so.1"


@pytest.mark.parametrize("backend_kind", ["pycoral", "runtime"])
@pytest.mark.parametrize("device", ["usb:2", "pci:1", ":3"])
def test_edgetpu_device_absent_names_what_exists(
    fake_coral: FakeCoral,
    fake_sys: FakeSys,
    backend_kind: str,
    device: str,
) -> None:
    fake_coral.attach(*THREE)
    fake_sys.usb("2-1", "18d1", "9302")
    fake_sys.usb("2-2", "18d1", "9302")
    fake_sys.apex(0)
    backend = fake_coral.pycoral_backend() if backend_kind == "pycoral" else fake_coral.runtime_backend()
    settings = AcceleratorSettings(
        edgetpu=EdgeTpuConfig(device=device), edgetpu_backend=backend, system_paths=fake_sys.paths()
    )
    with pytest.raises(AcceleratorUnavailableError) as err:
        open_accelerator("edgetpu", settings)
    msg = str(err.value)
    assert "Failed to load delegate from libedgetpu.so.1" in msg
    assert "found usb:0, usb:1, pci:0: set [model.edgetpu] device to one of them" in msg
    assert err.value.exit_code == 69


@pytest.mark.parametrize("device", ["auto", "usb", "usb:0"])
def test_edgetpu_listed_but_busy_names_the_other_process(fake_coral: FakeCoral, device: str) -> None:
    fake_coral.attach(("usb", "/sys/bus/usb/devices/2-1"), busy=True)
    settings = AcceleratorSettings(
        edgetpu=EdgeTpuConfig(device=device), edgetpu_backend=fake_coral.pycoral_backend()
    )
    with pytest.raises(AcceleratorUnavailableError) as err:
        open_accelerator("edgetpu", settings)
    assert "found usb:0 but could not open it; fix: only one process can use an EdgeTPU" in str(err.value)


def test_edgetpu_listed_wrong_kind_is_not_called_busy(fake_coral: FakeCoral, fake_sys: FakeSys) -> None:
    fake_coral.attach(("pci", "/dev/apex_0"))
    settings = AcceleratorSettings(
        edgetpu=EdgeTpuConfig(device="usb"),
        edgetpu_backend=fake_coral.pycoral_backend(),
        system_paths=fake_sys.paths(),
    )
    with pytest.raises(AcceleratorUnavailableError) as err:
        open_accelerator("edgetpu", settings)
    msg = str(err.value)
    assert "found pci:0; fix:" in msg and "could not open" not in msg


def test_each_interpreter_gets_its_own_delegate_on_the_same_device(
    fake_coral: FakeCoral, tmp_path: Path
) -> None:
    fake_coral.attach(("usb", "/sys/bus/usb/devices/2-1"), ("usb", "/sys/bus/usb/devices/2-2"))
    model = tmp_path / "m_edgetpu.tflite"
    model.write_bytes(fake_coral.builder.movenet_standin(edgetpu=True))
    acc = open_accelerator(
        "edgetpu",
        AcceleratorSettings(
            edgetpu=EdgeTpuConfig(device="usb:1"), edgetpu_backend=fake_coral.runtime_backend()
        ),
    )
    assert len(fake_coral.lib.LOADED) == 1  # the probe at open
    acc.make_interpreter(model)
    acc.make_interpreter(model)
    loaded = fake_coral.lib.LOADED
    assert len(loaded) == 2 and loaded[0] is not loaded[1]
    assert [d.interpreters for d in loaded] == [1, 1]
    assert {d.device["path"] for d in loaded} == {"/sys/bus/usb/devices/2-2"}
    # The device goes away between models: a ModelError, not a crash.
    fake_coral.attach()
    with pytest.raises(ModelError, match="EdgeTPU usb:1 stopped answering"):
        acc.make_interpreter(model)


def test_older_pycoral_without_delegate_argument(
    fake_coral: FakeCoral, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pycoral 2.0.0 as released: make_interpreter(model_path_or_content, device=None).
    module = fake_coral.pycoral_edgetpu()
    calls: list[str | None] = []

    def make_interpreter(model_path_or_content: Any, device: str | None = None) -> Any:
        calls.append(device)
        delegates = [module.load_edgetpu_delegate({"device": device} if device else {})]
        return fake_coral.lib.FakeInterpreter(
            model_path=model_path_or_content, experimental_delegates=delegates
        )

    monkeypatch.setattr(module, "make_interpreter", make_interpreter)
    fake_coral.attach(("usb", "/sys/bus/usb/devices/2-1"), ("pci", "/dev/apex_0"))
    model = tmp_path / "m_edgetpu.tflite"
    model.write_bytes(fake_coral.builder.movenet_standin(edgetpu=True))
    acc = open_accelerator(
        "edgetpu",
        AcceleratorSettings(edgetpu=EdgeTpuConfig(device="pci:0"), edgetpu_backend=PycoralBackend(module)),
    )
    out = _run_standin(acc.make_interpreter(model), 255)
    assert out.shape == (1, 1, 17, 3)
    assert calls == ["pci:0"]
    assert fake_coral.lib.LOADED[-1].device["path"] == "/dev/apex_0"


def test_find_backend_uses_pycoral_when_importable(
    fake_coral: FakeCoral, caplog: pytest.LogCaptureFixture
) -> None:
    fake_coral.attach(("usb", "/sys/bus/usb/devices/2-1"))
    caplog.set_level(logging.INFO)
    acc = open_accelerator("edgetpu")
    assert "through pycoral (BuildLabel" in acc.describe()
    assert "EdgeTPU delegate through pycoral" in caplog.text
    assert isinstance(acc._backend, PycoralBackend)


def test_without_pycoral_uses_runtime_load_delegate_for_real(no_pycoral: None, fake_sys: FakeSys) -> None:
    # Real ai-edge-litert, real dlopen of libedgetpu.so.1, which this machine does not have.
    settings = AcceleratorSettings(system_paths=fake_sys.paths())
    with pytest.raises(AcceleratorUnavailableError) as err:
        open_accelerator("edgetpu", settings)
    msg = str(err.value)
    assert "libedgetpu.so.1" in msg
    assert "fix: install the EdgeTPU runtime" in msg and "libedgetpu1-std" in msg


# --- EdgeTPU plugin: fallback policy ------------------------------------------------------------


@pytest.mark.parametrize("backend_kind", ["pycoral", "runtime"])
def test_on_missing_fail_raises_with_fix(fake_coral: FakeCoral, fake_sys: FakeSys, backend_kind: str) -> None:
    backend = fake_coral.pycoral_backend() if backend_kind == "pycoral" else fake_coral.runtime_backend()
    settings = AcceleratorSettings(
        edgetpu=EdgeTpuConfig(on_missing=OnMissing.FAIL),
        edgetpu_backend=backend,
        system_paths=fake_sys.paths(),
    )
    with pytest.raises(ModelError) as err:
        open_accelerator("edgetpu", settings)
    msg = str(err.value)
    assert "no usable EdgeTPU" in msg and "none found" in msg
    assert "fix: USB: plug the Coral USB into a USB 3 port" in msg
    assert "gasket-dkms" in msg


def test_on_missing_cpu_warns_once_and_runs_cpu_models(
    fake_coral: FakeCoral,
    fake_sys: FakeSys,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EDGEPOSE_MODEL_DIR", str(tmp_path))
    for name in ("pose_landmark_full_int8.tflite", "pose_landmark_full_int8_edgetpu.tflite"):
        (tmp_path / name).write_bytes(b"x")
    caplog.set_level(logging.INFO)
    settings = AcceleratorSettings(
        edgetpu=EdgeTpuConfig(on_missing=OnMissing.CPU),
        edgetpu_backend=fake_coral.runtime_backend(),
        system_paths=fake_sys.paths(),
        threads=1,
    )
    acc = open_accelerator("edgetpu", settings)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert 'on_missing = "cpu": running the CPU models instead' in warnings[0].getMessage()
    assert isinstance(acc, CpuAccelerator)
    assert acc.accelerator_in_use == "cpu"
    assert "fallback: edgetpu not available" in acc.describe()
    path = acc.model_path(ModelRole.LANDMARK, ModelVariant.FULL, Precision.INT8)
    assert path.name == "pose_landmark_full_int8.tflite"


# --- EdgeTPU plugin: models and the op split ------------------------------------------------------


def test_edgetpu_picks_compiled_models(
    fake_coral: FakeCoral, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_coral.attach(("usb", "/sys/bus/usb/devices/2-1"))
    monkeypatch.setenv("EDGEPOSE_MODEL_DIR", str(tmp_path))
    acc = open_accelerator("edgetpu", AcceleratorSettings(edgetpu_backend=fake_coral.runtime_backend()))
    with pytest.raises(ModelError, match=r"pose_detection_int8_edgetpu.tflite not found.*compile_edgetpu.sh"):
        acc.model_path(ModelRole.DETECTOR, ModelVariant.LITE, Precision.INT8)
    (tmp_path / "pose_detection_int8_edgetpu.tflite").write_bytes(b"x")
    (tmp_path / "pose_landmark_heavy_int8_edgetpu.tflite").write_bytes(b"x")
    assert (
        acc.model_path(ModelRole.DETECTOR, ModelVariant.LITE, Precision.INT8).name
        == "pose_detection_int8_edgetpu.tflite"
    )
    # The EdgeTPU runs integer models only: a float setting still gets the compiled int8 file.
    assert acc.model_path(ModelRole.LANDMARK, ModelVariant.HEAVY, Precision.FLOAT).name == (
        "pose_landmark_heavy_int8_edgetpu.tflite"
    )


@pytest.mark.parametrize("backend_kind", ["pycoral", "runtime"])
def test_partly_mapped_model_runs_and_split_is_reported(
    fake_coral: FakeCoral,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    backend_kind: str,
) -> None:
    fake_coral.attach(("pci", "/dev/apex_0"))
    model = tmp_path / "movenet_standin_edgetpu.tflite"
    model.write_bytes(fake_coral.builder.movenet_standin(edgetpu=True))
    backend = fake_coral.pycoral_backend() if backend_kind == "pycoral" else fake_coral.runtime_backend()
    acc = open_accelerator(
        "edgetpu", AcceleratorSettings(edgetpu_backend=backend, edgetpu=EdgeTpuConfig(device="pci"))
    )
    caplog.set_level(logging.INFO)
    interpreter = acc.make_interpreter(model)
    assert "partly on the EdgeTPU: 1 op on EdgeTPU, 3 on CPU (ADD, MEAN, MUL)" in caplog.text
    split = acc.splits[model.name]
    assert (split.edgetpu_ops, len(split.cpu_ops), split.fully_mapped) == (1, 3, False)
    out = _run_standin(interpreter, 51)
    np.testing.assert_allclose(out[0, 0, :, 2], 51 / 255, atol=1e-6)
    assert fake_coral.lib.LOADED[0].interpreters == 1
    # The same file without the delegate fails, as a compiled model does on a plain CPU runtime.
    with pytest.raises(ModelError, match="edgetpu-custom-op"):
        runtime.make_interpreter(model, 1)


def test_uncompiled_model_on_edgetpu_warns(
    fake_coral: FakeCoral, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake_coral.attach(("usb", "/sys/bus/usb/devices/2-1"))
    model = tmp_path / "plain.tflite"
    model.write_bytes(fake_coral.builder.movenet_standin())
    acc = open_accelerator("edgetpu", AcceleratorSettings(edgetpu_backend=fake_coral.runtime_backend()))
    caplog.set_level(logging.INFO)
    acc.make_interpreter(model)
    assert "plain.tflite is not compiled for the EdgeTPU: it all runs on the CPU" in caplog.text
    acc.close()
    with pytest.raises(ModelError, match="closed"):
        acc.make_interpreter(model)


def test_op_split_of_real_models_and_garbage(tmp_path: Path) -> None:
    split = op_split(float_models_dir() / "pose_landmark_lite.tflite")
    assert split.edgetpu_ops == 0 and not split.compiled
    assert "CONV_2D" in split.cpu_ops and len(split.cpu_ops) > 100
    with pytest.raises(ModelError, match="not a TFLite model"):
        op_split_from_bytes(b"\x00" * 64)
    bad = tmp_path / "trunc.tflite"
    bad.write_bytes((float_models_dir() / "pose_landmark_lite.tflite").read_bytes()[:2000])
    with pytest.raises(ModelError, match=r"trunc\.tflite"):
        op_split(bad)


# --- config blocks ------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["auto", "usb", "usb:0", "usb:3", "pci", "pci:1", ":0"])
def test_edgetpu_device_forms_accepted(device: str) -> None:
    cfg = EdgeTpuConfig(device=device)
    assert cfg.delegate_device() == (None if device == "auto" else device)


@pytest.mark.parametrize("device", ["usb2", "pcie", "usb:x", "USB", "usb:", "/dev/apex_0", ""])
def test_edgetpu_device_forms_rejected(device: str) -> None:
    with pytest.raises(ValidationError, match="must be auto, usb, usb:N, pci, pci:N or :N"):
        EdgeTpuConfig(device=device)


def test_config_blocks_reject_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        EdgeTpuConfig(on_missing="skip")
    with pytest.raises(ValidationError):
        CpuConfig(xnnpak=False)


def test_runtime_backend_reports_missing_library_before_delegate(fake_coral: FakeCoral) -> None:
    backend = RuntimeBackend.from_runtime("libedgetpu-does-not-exist.so.1")
    with pytest.raises(OSError):
        backend.load_delegate(None)
