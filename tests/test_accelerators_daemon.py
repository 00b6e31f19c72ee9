"""The daemon with `accelerator = "edgetpu"` on a machine without a Coral: one warning, the CPU
models, and `"accelerator": "cpu"` in the stats topic; with a (fake) Coral attached it runs the
`*_edgetpu.tflite` files and says "edgetpu". Real `edgepose run --publish stdout` subprocesses on a
short clip of a person."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgepose.inference.models import float_models_dir

REPO = Path(__file__).resolve().parent.parent
FAKES = REPO / "tests" / "fakes"


def _config(tmp_path: Path, media: Path, on_missing: str, precision: str = "float") -> Path:
    path = tmp_path / "edgepose.toml"
    path.write_text(
        f"""
[source]
uri = "file:{media / "pan_zidane.avi"}"
loop = false
realtime = false

[model]
variant = "lite"
precision = "{precision}"
accelerator = "edgetpu"
threads = 2
num_poses = 1

[model.edgetpu]
device = "auto"
on_missing = "{on_missing}"

[service]
publish = "stdout"
state_directory = "{tmp_path / "state"}"
log_level = "info"
"""
    )
    return path


def _run(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEPOSE_FAKE")}
    env.pop("NOTIFY_SOCKET", None)
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "edgepose", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        env=env,
        check=False,
    )


def _messages(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _stats(messages: list[dict[str, object]]) -> list[dict[str, object]]:
    return [m["payload"] for m in messages if str(m["topic"]).endswith("/stats")]  # type: ignore[misc]


@pytest.mark.slow
def test_run_falls_back_to_cpu_without_coral(tmp_path: Path, media: Path) -> None:
    # No pycoral on the path and no libedgetpu on this machine: the real load_delegate path.
    out = _run(["run", "--config", str(_config(tmp_path, media, "cpu"))], {})
    assert out.returncode == 0, out.stderr
    warnings = [line for line in out.stderr.splitlines() if " WARNING " in line or line.startswith("WARNING")]
    fallback = [w for w in warnings if "on_missing" in w]
    assert len(fallback) == 1
    assert "no usable EdgeTPU" in fallback[0] and "libedgetpu1-std" in fallback[0]
    assert "running the CPU models instead" in fallback[0]
    assert "fallback: edgetpu not available" in out.stderr
    messages = _messages(out.stdout)
    stats = _stats(messages)
    assert stats and all(s["accelerator"] == "cpu" for s in stats)
    assert any(str(m["topic"]).endswith("/pose") for m in messages)


@pytest.mark.slow
def test_run_fails_with_fix_when_required(tmp_path: Path, media: Path) -> None:
    out = _run(["run", "--config", str(_config(tmp_path, media, "fail"))], {})
    assert out.returncode == 69
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("edgepose run: no usable EdgeTPU for [model.edgetpu] device = 'auto'")
    assert "fix: install the EdgeTPU runtime" in last
    assert not [m for m in _messages(out.stdout) if str(m["topic"]).endswith("/pose")]


@pytest.mark.slow
def test_run_on_fake_coral_uses_edgetpu_models(tmp_path: Path, media: Path) -> None:
    # Fake pycoral with one USB Coral; the "_edgetpu" files are the float models under the compiled
    # names (not compiled: the op split says so), enough to follow the file choice and the stats.
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(float_models_dir() / "pose_detection.tflite", models / "pose_detection_int8_edgetpu.tflite")
    shutil.copy(
        float_models_dir() / "pose_landmark_lite.tflite", models / "pose_landmark_lite_int8_edgetpu.tflite"
    )
    # EDGEPOSE_MODEL_DIR serves every bundled model, the activity pose model too.
    shutil.copy(REPO / "models" / "activity_poses.json", models / "activity_poses.json")
    env = {
        "PYTHONPATH": os.pathsep.join([str(FAKES), os.environ.get("PYTHONPATH", "")]),
        "EDGEPOSE_FAKE_EDGETPUS": json.dumps([{"type": "usb", "path": "/sys/bus/usb/devices/2-1"}]),
        "EDGEPOSE_MODEL_DIR": str(models),
    }
    out = _run(["run", "--config", str(_config(tmp_path, media, "fail", precision="int8"))], env)
    assert out.returncode == 0, out.stderr
    assert "EdgeTPU delegate through pycoral" in out.stderr
    # (the pipeline may load a derived copy of the landmark file, e.g. without the segmentation head)
    not_compiled = [line for line in out.stderr.splitlines() if "is not compiled for the EdgeTPU" in line]
    assert any("pose_detection_int8_edgetpu" in line for line in not_compiled)
    assert any("pose_landmark_lite_int8_edgetpu" in line for line in not_compiled)
    messages = _messages(out.stdout)
    stats = _stats(messages)
    assert stats and all(s["accelerator"] == "edgetpu" for s in stats)
    assert any(str(m["topic"]).endswith("/pose") for m in messages)


@pytest.mark.slow
def test_check_reports_fallback(tmp_path: Path, media: Path) -> None:
    out = _run(["check", "--config", str(_config(tmp_path, media, "cpu"))], {})
    lines = {line.split()[1]: line for line in out.stdout.splitlines() if len(line.split()) > 1}
    assert lines["accelerator"].startswith("warn") and "running on cpu" in lines["accelerator"]
    assert lines["edgetpu"].startswith("warn") and "EdgeTPUs found: none" in lines["edgetpu"]
    assert "libedgetpu1-std" in lines["edgetpu"]
