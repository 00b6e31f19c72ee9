"""The daemon with `[model] family = "movenet"`: MQTT payloads and activity events work unchanged on
COCO-17 poses. Uses the stand-in model with MoveNet's signature (real MoveNet weights are not
available here) through a real `edgepose run --publish stdout` on a clip of a person."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_run_with_movenet_family(tflite_builder: ModuleType, tmp_path: Path, media: Path) -> None:
    model = tmp_path / "movenet_single_pose_lightning_standin.tflite"
    person = np.stack([np.linspace(0.35, 0.65, 17), np.linspace(0.4, 0.6, 17)], axis=1)
    model.write_bytes(tflite_builder.movenet_standin(keypoints_yx=person, score_scale=3.0))
    config = tmp_path / "edgepose.toml"
    config.write_text(
        f"""
[source]
uri = "file:{media / "pan_zidane.avi"}"
loop = false
realtime = false

[model]
family = "movenet"
accelerator = "cpu"
threads = 2

[model.movenet]
model_path = "{model}"

[service]
publish = "stdout"
state_directory = "{tmp_path / "state"}"
"""
    )
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    out = subprocess.run(
        [sys.executable, "-m", "edgepose", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "models: movenet" in out.stderr
    messages = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    poses = [p for m in messages if m["topic"].endswith("/pose") for p in m["payload"]["poses"]]
    assert poses
    for pose in poses:
        assert pose["skeleton"] == "coco_17"
        assert len(pose["landmarks"]) == 17 and all(len(row) == 5 for row in pose["landmarks"])
        assert pose["world_landmarks"] is None
    events = [m["payload"]["type"] for m in messages if m["topic"].endswith("/event")]
    assert "person_entered" in events
    stats = [m["payload"] for m in messages if m["topic"].endswith("/stats")]
    assert stats and stats[-1]["accelerator"] == "cpu"
