"""Activity on real people's poses (pose-classification-kit, development part only).

The dataset loader never hands out the held-out last 15% of a class file; BODY25 maps to
BlazePose-33 and COCO-17 with missing keypoints not visible; the shipped pose model keeps its
accuracy on a block-wise cross-validation computed here; falls and squats built between real
poses are found. The dataset is fetched with pip into the edgepose cache on first use.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from edgepose.activity.engine import ActivityEngine
from edgepose.activity.features import compute_features
from edgepose.activity.pose_model import LABELS, MODEL_FILE, decide, load_pose_model
from edgepose.config.activity import ActivityConfig
from edgepose.errors import ConfigError
from edgepose.paths import bundled_models_dir
from edgepose.skeleton import SkeletonKind
from edgepose.types import EventType
from tools.evaluation import datasets
from tools.evaluation import real_poses as rp
from tools.evaluation.body25 import to_blazepose33, to_coco17_rows, to_pose


@pytest.fixture(scope="module")
def development() -> dict[str, datasets.BodySamples]:
    return datasets.load_all()


def test_loader_never_returns_the_held_out_part(tmp_path: Path) -> None:
    entries = [{"x": [float(i)] * 25, "y": [0.0] * 25, "a": [1.0] * 25} for i in range(20)]
    (tmp_path / "Probe_body.json").write_text(json.dumps({"info": {}, "data": entries}))
    got = datasets.load_class("Probe", tmp_path)
    assert len(got) == 17 and got.file_entries == 20
    assert sorted({float(v) for v in got.keypoints[:, 0, 0]}) == [float(i) for i in range(17)]


def test_real_class_files_are_cut_at_85_percent(development: dict[str, datasets.BodySamples]) -> None:
    for label, s in development.items():
        assert len(s) == int(s.file_entries * 0.85) < s.file_entries, label


def test_body25_mapping_fixture(repo_root: Path) -> None:
    fx = json.loads((repo_root / "tests" / "data" / "body25_mapping.json").read_text())
    body = np.array(fx["body25"], dtype=np.float32)
    blaze = to_blazepose33(body)
    assert np.flatnonzero(blaze[:, 3]).tolist() == fx["blazepose_visible"]
    assert np.flatnonzero(to_coco17_rows(body)[:, 3]).tolist() == fx["coco17_visible"]
    assert blaze[11, :2].tolist() == pytest.approx([0.2, 0.6])  # left shoulder <- LShoulder (5)
    assert blaze[16, 3] == 0.0 and blaze[31, 3] == 0.0  # right wrist, left toe not found
    pose = to_pose(body, width=640, height=480, center_px=(320, 240), px_per_unit=100)
    assert pose.landmarks[0, 1] < pose.landmarks[27, 1]  # y up -> image y down: nose above ankle
    assert pose.world_landmarks is None and np.all(pose.landmarks[:, 2] == 0.0)
    coco = to_pose(body, skeleton=SkeletonKind.COCO_17)
    f = compute_features(coco, 0, 640, 480)
    assert f.angles.knee_left == pytest.approx(180.0, abs=1.0)


def _cross_validate(
    development: dict[str, datasets.BodySamples],
) -> tuple[dict[str, float], dict[str, float], float]:
    cfg = ActivityConfig()
    data = {c: rp.features_of(s) for c, s in development.items()}
    box = rp.front_stop_box(data)
    posture: dict[str, Counter[str]] = {}
    gesture: dict[str, Counter[str]] = {}
    false = total_other = 0
    front_stop: Counter[bool] = Counter()
    outside_box: Counter[bool] = Counter()
    for k in range(rp.FOLDS):
        splits = {c: list(rp.block_folds(len(cf.features), rp.FOLDS, rp.GAP))[k] for c, cf in data.items()}
        model = rp.train_on(data, {c: sp[0] for c, sp in splits.items()})
        for c, cf in data.items():
            for i in splits[c][1]:
                p, g = decide(cf.features[i], model, cfg)
                pt, gt = rp.POSTURE_TRUTH.get(c), rp.GESTURE_TRUTH[c]
                if pt is not None:
                    posture.setdefault(pt, Counter())[p.value == pt] += 1
                if gt == "none":
                    total_other += 1
                    false += g is not None
                    if c == "Traffic_FrontStop":
                        front_stop[g is not None] += 1
                else:
                    gesture.setdefault(gt, Counter())[g == gt] += 1
                if c == "Stand_RightArmRaised" and int(i) not in box.inside:
                    outside_box[g == gt] += 1
    share = {k: v[True] / sum(v.values()) for k, v in posture.items()}
    g_share = {k: v[True] / sum(v.values()) for k, v in gesture.items()}
    g_share["false_on_front_stop"] = front_stop[True] / sum(front_stop.values())
    g_share["right_arm_raised_outside_front_stop"] = outside_box[True] / sum(outside_box.values())
    return share, g_share, false / total_other


@pytest.fixture(scope="module")
def cv(development: dict[str, datasets.BodySamples]) -> tuple[dict[str, float], dict[str, float], float]:
    return _cross_validate(development)


def test_posture_and_gestures_on_real_people_block_wise(
    cv: tuple[dict[str, float], dict[str, float], float],
) -> None:
    posture, gesture, false = cv
    for name in ("standing", "sitting", "squatting", "lying"):
        assert posture[name] >= 0.95, (name, posture)
    for name in ("left_arm_raised", "t_pose", "both_hands_up"):
        assert gesture[name] >= 0.95, (name, gesture)
    assert false <= 0.02


def test_right_arm_raised_outside_the_traffic_stop_pose(
    cv: tuple[dict[str, float], dict[str, float], float],
) -> None:
    """The right arm's goal as docs/activity.md restates it: 95 % outside Traffic_FrontStop's box.

    Inside the box the same pose is "raised arm" in one class and "no gesture" in the other; a
    floor a little under the measured 89.9 % overall keeps a worse model from passing, and
    Traffic_FrontStop read as a raised arm (measured 1.3 %) stays under 3 %.
    """
    _, gesture, _ = cv
    assert gesture["right_arm_raised_outside_front_stop"] >= 0.95, gesture
    assert gesture["right_arm_raised"] >= 0.88, gesture
    assert gesture["false_on_front_stop"] <= 0.03, gesture


def test_shipped_model_is_the_trained_one(development: dict[str, datasets.BodySamples]) -> None:
    shipped = load_pose_model(bundled_models_dir() / MODEL_FILE)
    assert set(LABELS) == set(rp.MODEL_LABEL.values())
    data = {c: rp.features_of(s) for c, s in development.items()}
    retrained = rp.train_on(data, {c: np.arange(len(cf.features)) for c, cf in data.items()})
    x = np.concatenate([cf.described[cf.usable] for cf in data.values()])
    agree = float(np.mean(shipped.probabilities(x).argmax(1) == retrained.probabilities(x).argmax(1)))
    assert agree >= 0.995, agree  # the training script's model (weights rounded in the file)


def test_a_pose_model_file_of_another_kind_is_a_config_error(tmp_path: Path) -> None:
    good = json.loads((bundled_models_dir() / MODEL_FILE).read_text())
    for broken in ({**good, "v": 1}, {**good, "labels": good["labels"][::-1]}, {**good, "b2": [0.0]}):
        path = tmp_path / "poses.json"
        path.write_text(json.dumps(broken))
        with pytest.raises(ConfigError, match=r"activity\.pose_model\.path"):
            load_pose_model(path)


def test_falls_and_squats_between_real_poses(development: dict[str, datasets.BodySamples]) -> None:
    found = false = 0
    squat_reps = expected_squats = false_reps = 0
    for m in rp.motions(development, 6):
        engine = ActivityEngine(ActivityConfig(), id_prefix="t")
        events = []
        for result in rp.motion_results(m, m.keys[-1][0] + 4.0):
            events += engine.update(result)[0]
        falls = sum(1 for e in events if e.type is EventType.FALL_DETECTED)
        if m.fall:
            found += falls == 1
        else:
            false += falls
        reps = Counter(str(e.attributes["exercise"]) for e in events if e.type is EventType.REP)
        squat_reps += reps.pop("squat", 0) if m.squats else 0
        expected_squats += m.squats
        false_reps += sum(reps.values())  # any other exercise, and squats where there are none
    # Measured: 5 of 6 falls, no false fall in 18 look-alikes (lying down slowly through a squat is
    # no fall), 31 of 36 squats (one shallow set of an odd squat reads as standing) and no other
    # repetition (see docs/activity.md); the squat bound leaves room for one more missed squat.
    assert found >= 5
    assert false == 0
    assert expected_squats == 36
    assert 30 <= squat_reps <= expected_squats
    assert false_reps == 0
