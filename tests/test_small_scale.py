"""The small-scale activity evaluation: its noise model, its zero-noise baseline and its report.

Tiny samples of real poses (pose-classification-kit, development part through the loader); the
figures in docs/pipeline.md come from scripts/eval_small_scale.py on all of it.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgepose.activity.engine import ActivityEngine
from edgepose.activity.features import compute_features
from edgepose.activity.pose_model import MODEL_FILE, decide, load_pose_model
from edgepose.config.activity import ActivityConfig
from edgepose.paths import bundled_models_dir
from edgepose.types import EventType
from tools.evaluation import datasets
from tools.evaluation import real_poses as rp
from tools.evaluation import small_scale as ss
from tools.evaluation.body25 import to_pose
from tools.evaluation.fidelity import relative_distance


@pytest.fixture(scope="module")
def development() -> dict[str, datasets.BodySamples]:
    return datasets.load_all()


def test_noise_matches_the_sweeps_error_definition(development: dict[str, datasets.BodySamples]) -> None:
    pose = ss.pose_at_height(development["Stand"].keypoints[0], 15.0)
    seen = pose.landmarks[:, 3] > 0
    size = np.array([ss.WIDTH, ss.HEIGHT], dtype=np.float32)
    rng = np.random.default_rng(1)
    errors = []
    for _ in range(400):
        noisy = ss.with_noise(pose, 0.024, rng)
        assert np.array_equal(noisy.landmarks[~seen], pose.landmarks[~seen])  # missing stay missing
        errors.append(relative_distance(pose.landmarks[seen], noisy.landmarks[seen], size))
    # the sweep's figure is a median over frames of the per-frame mean distance / person size
    assert float(np.median(errors)) == pytest.approx(0.024, rel=0.05)
    assert ss.with_noise(pose, 0.0, rng) is pose


def test_standing_person_drawn_at_the_asked_height(development: dict[str, datasets.BodySamples]) -> None:
    heights = []
    for k in development["Stand"].keypoints[:50]:
        lm = ss.pose_at_height(k, 20.0).landmarks
        heights.append(float(np.ptp(lm[lm[:, 3] > 0, 1])))
    assert float(np.median(heights)) == pytest.approx(0.20, abs=0.03)


def test_zero_noise_equals_the_clean_decisions(development: dict[str, datasets.BodySamples]) -> None:
    cfg = ActivityConfig.model_validate({})
    model = load_pose_model(bundled_models_dir() / MODEL_FILE)
    idx = {c: list(range(0, len(s), 40)) for c, s in development.items()}
    clean = ss.empty_decisions(development)
    for c, s in development.items():
        for i in idx[c]:
            posture, gesture = decide(compute_features(to_pose(s.keypoints[i]), 0, 640, 480), model, cfg)
            clean.postures[c][posture.value] += 1
            clean.gestures[c][gesture or "none"] += 1
    for height in (70.0, 15.0):
        got = ss.empty_decisions(development)
        level = ss.Level(height, 0.0, True)
        ss.decide_samples(development, idx, model, level, rng=np.random.default_rng(0), into=got)
        assert got == clean
    noisy = ss.empty_decisions(development)
    stress = ss.Level(15.0, 12.0, False)
    ss.decide_samples(development, idx, model, stress, rng=np.random.default_rng(0), into=noisy)
    assert noisy != clean  # the noise reaches the decisions


def test_zero_noise_falls_equal_the_clean_clips(development: dict[str, datasets.BodySamples]) -> None:
    motions = rp.motions(development, 1)
    clean_found = clean_false = 0
    for m in motions:
        engine = ActivityEngine(ActivityConfig.model_validate({}), id_prefix="eval")
        falls = sum(
            1
            for r in rp.motion_results(m, m.keys[-1][0] + 4.0)
            for e in engine.update(r)[0]
            if e.type is EventType.FALL_DETECTED
        )
        clean_found += m.fall and falls > 0
        clean_false += not m.fall and falls > 0
    got = ss.fall_counts(motions, ss.Level(15.0, 0.0, True))
    assert (got.found, got.false, got.falls, got.others) == (clean_found, clean_false, 1, 4)


def test_report_runs_on_a_tiny_cross_validation(development: dict[str, datasets.BodySamples]) -> None:
    # the first 60 development samples of each class, as the loader gave them
    tiny = {c: datasets.BodySamples(c, s.keypoints[:60], s.file_entries) for c, s in development.items()}
    rows = [ss.Level(70.0, 1.8, True), ss.Level(15.0, 8.0, False)]
    decisions = ss.cross_validated(tiny, rows, stride=6)
    assert all(sum(sum(d.postures[c].values()) for c in tiny) > 0 for d in decisions)
    falls = [ss.FallCounts(1, 1, 0, 4), ss.FallCounts(0, 1, 1, 4)]
    table = ss.report(rows, decisions, falls).splitlines()
    assert len(table) == 4 and table[2].startswith("| 70% | 1.8% |")
    assert table[3].startswith("| 15% (stress) | 8.0% |")
    assert table[3].endswith("| 0/1 | 1/4 |")
