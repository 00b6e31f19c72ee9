"""Upper-body mode: the legacy 25-landmark model on real waist-up photos, its skeleton facts,
and what the activity features make of it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from edgepose.activity.features import to_blazepose_layout
from edgepose.config import load_config_text
from edgepose.inference.model_fetch import FLOAT_SOURCES
from edgepose.pose.body_spec import FULL_BODY, UPPER_BODY
from edgepose.pose.families import model_skeleton
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.publish.payloads import load_schema
from edgepose.service_reload import publisher_changed
from edgepose.skeleton import CocoKeypoint, PoseLandmark, SkeletonKind, connections_for, to_coco17
from edgepose.types import ModelVariant, Pose, Precision, Rect, RunningMode
from tests.plugins.daemon import run_edgepose
from tools.evaluation.media import rgb
from tools.evaluation.upper_body import COMPARED_ROWS, WAIST_UP_CROPS, write_crops

REPO = Path(__file__).resolve().parents[1]


def test_upper_body_skeleton_facts() -> None:
    landmarks = np.random.default_rng(0).random((25, 5)).astype(np.float32)
    coco = to_coco17(landmarks, SkeletonKind.BLAZEPOSE_UPPER_25)
    assert coco.shape == (17, 5)
    assert np.array_equal(coco[CocoKeypoint.LEFT_WRIST], landmarks[PoseLandmark.LEFT_WRIST])
    assert np.array_equal(coco[CocoKeypoint.RIGHT_HIP], landmarks[PoseLandmark.RIGHT_HIP])
    for missing in (
        CocoKeypoint.LEFT_KNEE,
        CocoKeypoint.RIGHT_KNEE,
        CocoKeypoint.LEFT_ANKLE,
        CocoKeypoint.RIGHT_ANKLE,
    ):
        assert coco[missing, 3] == 0.0 and coco[missing, 4] == 0.0
    bones = connections_for(SkeletonKind.BLAZEPOSE_UPPER_25)
    assert bones and all(a < 25 and b < 25 for a, b in bones)
    assert (int(PoseLandmark.LEFT_SHOULDER), int(PoseLandmark.LEFT_ELBOW)) in bones


def test_upper_body_pose_has_no_legs_for_the_activity_features() -> None:
    landmarks = np.ones((25, 5), dtype=np.float32)
    pose = Pose(landmarks, None, 1.0, 1, skeleton=SkeletonKind.BLAZEPOSE_UPPER_25)
    full, world = to_blazepose_layout(pose)
    assert full.shape == (33, 5) and world is None
    assert np.all(full[:25, 3] == 1.0)
    assert np.all(full[25:, 3] == 0.0)  # knees, ankles, heels, feet: missing


def test_the_upper_body_models_are_pinned() -> None:
    names = {s.name: s for s in FLOAT_SOURCES}
    model = names["pose_landmark_upper_body.tflite"]
    assert model.version == "0.1.1612239201" and model.byte_range == (0, 6914704)
    assert names["pose_detection_upper_body.tflite"].byte_range == (13921648, 17001984)


@pytest.fixture(scope="module")
def crops(tmp_path_factory: pytest.TempPathFactory, media: Path) -> list[Path]:
    return write_crops(media, tmp_path_factory.mktemp("waist_up"))


@pytest.mark.parametrize("num_poses", [[], ["--num-poses", "2"]], ids=["default", "two"])
def test_detect_cli_on_zidane_gives_25_landmarks(media: Path, num_poses: list[str]) -> None:
    """Default options find Zidane although the detector's best candidate is rejected."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgepose",
            "detect",
            "--model",
            "upper_body",
            *num_poses,
            str(media / "zidane.jpg"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    poses = json.loads(proc.stdout.splitlines()[0])["poses"]
    assert len(poses) == 1
    assert poses[0]["skeleton"] == "blazepose_upper_25"
    assert len(poses[0]["landmarks"]) == 25 and poses[0]["world_landmarks"] is None
    assert poses[0]["score"] > 0.9
    # Zidane stands in the right half of the photo; his nose above his shoulders.
    nose, left_shoulder = poses[0]["landmarks"][0], poses[0]["landmarks"][11]
    assert nose[0] > 0.5 and nose[1] < left_shoulder[1]


def _landmark_runs(
    image: np.ndarray, running_mode: RunningMode = RunningMode.IMAGE
) -> tuple[int, tuple[Pose, ...]]:
    """How often the landmark model ran on one image (VIDEO: two frames of it), and the poses."""
    calls: list[Rect] = []
    options = PoseLandmarkerOptions(
        model=ModelVariant.UPPER_BODY,
        precision=Precision.FLOAT,
        running_mode=running_mode,
        landmark_input_hook=lambda _crop, roi: calls.append(roi),
    )
    with PoseLandmarker(options) as landmarker:
        if running_mode is RunningMode.IMAGE:
            poses = landmarker.detect(image).poses
        else:
            first = landmarker.detect_for_video(image, 0).poses
            poses = landmarker.detect_for_video(image, 33).poses
            assert [p.track_id for p in first] == [p.track_id for p in poses]
            assert landmarker.detector_runs == 1  # the second frame tracked, no re-detection
    return len(calls), poses


def test_a_rejected_best_candidate_gives_way_to_the_next(media: Path) -> None:
    """zidane.jpg: the detector's best candidate fails the landmark model, the second is Zidane."""
    image = rgb(media / "zidane.jpg")
    for mode, expected_runs in ((RunningMode.IMAGE, 2), (RunningMode.VIDEO, 3)):
        runs, poses = _landmark_runs(image, mode)
        assert runs == expected_runs, mode  # VIDEO: two candidates, then one tracked frame
        assert [p.track_id for p in poses] == [1]
        assert poses[0].score > 0.9 and poses[0].landmarks[0, 0] > 0.5  # Zidane, right half
    assert UPPER_BODY.spare_candidates == 2 and FULL_BODY.spare_candidates == 0


def test_spare_candidates_are_not_run_once_enough_people_pass(media: Path) -> None:
    """messi5.jpg's best candidate passes: one landmark run, as in MediaPipe."""
    runs, poses = _landmark_runs(rgb(media / "messi5.jpg"))
    assert len(poses) == 1 and poses[0].score > 0.9
    assert runs == 1


def test_the_daemon_announces_and_publishes_the_upper_body_skeleton(
    daemon_config: Callable[..., Path],
) -> None:
    """`[model] variant = "upper_body"`: discovery's Skeleton sensor and the pose payloads name it."""
    model = {"variant": "upper_body", "precision": "float", "threads": 2}
    config = daemon_config(model=model, mqtt={"device_id": "desk", "discovery": True})
    proc = run_edgepose("run", "--config", str(config), timeout_s=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    (discovery,) = [m["payload"] for m in lines if m["topic"] == "homeassistant/device/desk/config"]
    Draft202012Validator(load_schema("ha_discovery")).validate(discovery)
    sensor = discovery["cmps"]["skeleton"]
    assert sensor["val_tpl"] == "{{ 'blazepose_upper_25' }}" and sensor["ent_cat"] == "diagnostic"
    poses = [p for m in lines if m["topic"] == "edgepose/desk/pose" for p in m["payload"]["poses"]]
    assert poses, "nobody found in pan_zidane.avi"
    pose_schema = Draft202012Validator(load_schema("pose"))
    for m in lines:
        if m["topic"] == "edgepose/desk/pose":
            pose_schema.validate(m["payload"])
    assert {p["skeleton"] for p in poses} == {"blazepose_upper_25"}
    assert all(len(p["landmarks"]) == 25 for p in poses)


def test_a_model_with_another_skeleton_rebuilds_the_publisher() -> None:
    """A reload to upper-body mode re-announces discovery, since the Skeleton sensor changes."""
    full = load_config_text('[model]\nvariant = "full"\n', "a.toml")
    upper = load_config_text('[model]\nvariant = "upper_body"\n', "b.toml")
    heavy = load_config_text('[model]\nvariant = "heavy"\n', "c.toml")
    assert model_skeleton(upper.model) is SkeletonKind.BLAZEPOSE_UPPER_25
    assert model_skeleton(full.model) is SkeletonKind.BLAZEPOSE_33
    assert publisher_changed(full, upper) and not publisher_changed(full, heavy)


@pytest.mark.reference
def test_upper_body_lands_near_mediapipe_full(crops: list[Path], reference_run: object) -> None:
    """Face, shoulders, elbows, wrists within 10 % of the person's extent of MediaPipe full's."""
    assert callable(reference_run)
    refs = reference_run("--complexity", "1", *map(str, crops))
    options = PoseLandmarkerOptions(model=ModelVariant.UPPER_BODY, precision=Precision.FLOAT)
    compared = 0
    with PoseLandmarker(options) as landmarker:
        for path, ref in zip(crops, refs, strict=True):
            image = rgb(path)
            poses = landmarker.detect(image).poses
            if ref["landmarks"] is None or not poses:
                continue
            size = np.array([image.shape[1], image.shape[0]], dtype=np.float32)
            a = np.asarray(ref["landmarks"], dtype=np.float32)[COMPARED_ROWS, :2] * size
            b = poses[0].landmarks[COMPARED_ROWS, :2] * size
            extent = max(float(np.ptp(a[:, 0])), float(np.ptp(a[:, 1])))
            error = float(np.linalg.norm(a - b, axis=1).mean()) / extent
            print(f"{path.name}: {error * 100:.2f} %")
            assert error < 0.10, path.name
            compared += 1
    assert compared >= 3, f"only {compared} of {len(WAIST_UP_CROPS)} crops found by both"


def test_folding_the_upper_body_models_keeps_their_outputs_and_names_their_operators() -> None:
    """The 2021 models leave `builtin_code` 0 (ADD); the fold writes the real code there too (the
    quantizer reads only that field), and the folded model computes the same outputs."""
    from ai_edge_litert.interpreter import Interpreter

    from edgepose.inference.models import ModelRole, model_path
    from tools.modelbuild import tflite_edit as te

    rng = np.random.default_rng(3)
    for role in (ModelRole.LANDMARK, ModelRole.DETECTOR):
        original = model_path(role, ModelVariant.UPPER_BODY, Precision.FLOAT).read_bytes()
        old_codes = te.read_model(original).operatorCodes
        assert any(int(c.builtinCode) == 0 < int(c.deprecatedBuiltinCode) for c in old_codes)
        folded, _ = te.fold_weights(original)
        codes = te.read_model(folded).operatorCodes
        assert all(int(c.builtinCode) == int(c.deprecatedBuiltinCode) for c in codes)
        assert "CONV_2D" in te.operator_names(te.read_model(folded))
        image: np.ndarray | None = None
        outputs = []
        for data in (original, folded):
            interpreter = Interpreter(model_content=data)
            interpreter.allocate_tensors()
            detail = interpreter.get_input_details()[0]
            if image is None:
                image = rng.random(tuple(detail["shape"]), dtype=np.float32)
            interpreter.set_tensor(detail["index"], image)
            interpreter.invoke()
            outputs.append([interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()])
        for a, b in zip(*outputs, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)
