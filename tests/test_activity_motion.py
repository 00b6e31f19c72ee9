"""Hip motion: a seated-looking pose whose hips travel is not taken for a seat (walkers from above)."""

from __future__ import annotations

import numpy as np
import pytest

from edgepose.activity.engine import ActivityEngine
from edgepose.activity.features import compute_features
from edgepose.activity.motion import MIN_SPAN_MS, HipMotion
from edgepose.activity.pose_model import MODEL_FILE, decide, load_pose_model
from edgepose.config.activity import ActivityConfig
from edgepose.paths import bundled_models_dir
from edgepose.types import FloatArray, PoseResult, Posture
from tools.evaluation import datasets
from tools.evaluation.body25 import to_pose

FRAME_MS = 100


@pytest.fixture(scope="module")
def seated() -> FloatArray:
    """A real seated person (development part) whom the shipped model reads as sitting."""
    model = load_pose_model(bundled_models_dir() / MODEL_FILE)
    cfg = ActivityConfig()
    for keypoints in datasets.load_class("Seated").keypoints:
        f = compute_features(to_pose(keypoints), 0, 640, 480)
        if decide(f, model, cfg)[0] is Posture.SITTING:
            return np.asarray(keypoints)
    raise AssertionError("no seated sample reads as sitting")


def _frames(body25: FloatArray, speed_px_per_s: float, n: int) -> list[PoseResult]:
    """The pose for n frames at 10 fps, its hips sliding right at the given speed."""
    out = []
    for i in range(n):
        x = 120.0 + speed_px_per_s * i * FRAME_MS / 1000.0
        pose = to_pose(body25, center_px=(x, 240.0))
        out.append(PoseResult(i * FRAME_MS, i, 640, 480, (pose,)))
    return out


def _postures(frames: list[PoseResult]) -> list[Posture]:
    engine = ActivityEngine(ActivityConfig(), id_prefix="t")
    out = []
    for result in frames:
        _, state = engine.update(result)
        out += [t.posture for t in state.tracks]
    return out


def test_a_still_seated_person_is_sitting(seated: FloatArray) -> None:
    assert _postures(_frames(seated, 0.0, 30))[-1] is Posture.SITTING


def test_the_same_pose_travelling_is_never_sitting(seated: FloatArray) -> None:
    # 150 px/s is a slow walk for a person whose torso is about 60 px long.
    postures = _postures(_frames(seated, 150.0, 30))
    assert Posture.SITTING not in postures, postures


def test_hip_speed_in_torso_sizes_per_second(seated: FloatArray) -> None:
    motion = HipMotion()
    speeds = []
    for result in _frames(seated, 200.0, 10):
        f = compute_features(result.poses[0], result.timestamp_ms, 640, 480)
        speeds.append((result.timestamp_ms, motion.update(f, result.timestamp_ms), f.scale_px))
    for t, speed, scale_px in speeds:
        if t < MIN_SPAN_MS:
            assert speed == 0.0  # too short a span to tell motion from jitter
        else:
            assert speed == pytest.approx(200.0 / scale_px, rel=1e-3)
