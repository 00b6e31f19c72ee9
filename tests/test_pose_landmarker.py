"""The PoseLandmarker API on real photos and video: modes, several people, tracking, hooks."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edgepose.inference.runtime import make_interpreter
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.types import ImageArray, PoseResult, Precision, Rect, RunningMode

FLOAT = Precision.FLOAT


def rgb(path: Path) -> ImageArray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def shifted_frames(image: ImageArray, count: int, step_px: float) -> list[ImageArray]:
    """The photo sliding sideways by `step_px` a frame (real people, smooth motion)."""
    frames = []
    for i in range(count):
        matrix = np.array([[1.0, 0.0, -step_px * i], [0.0, 1.0, 0.0]], dtype=np.float64)
        size = (image.shape[1], image.shape[0])
        frames.append(
            cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        )
    return frames


@pytest.fixture(scope="module")
def two_players(media: Path) -> ImageArray:
    """basketball2.png: two people indoors (the detector's score for both is about 0.7)."""
    return rgb(media / "basketball2.png")


@pytest.fixture(scope="module")
def messi(media: Path) -> ImageArray:
    return rgb(media / "messi5.jpg")


def test_image_mode_finds_several_distinct_people(two_players: ImageArray) -> None:
    options = PoseLandmarkerOptions(num_poses=5, precision=FLOAT)
    with PoseLandmarker(options) as landmarker:
        result = landmarker.detect(two_players)
    assert result.width == 640 and result.height == 480
    assert len(result.poses) == 2
    assert [p.track_id for p in result.poses] == [1, 2]
    hips = [p.landmarks[23:25, :2].mean(axis=0) * [640, 480] for p in result.poses]
    for i in range(len(hips)):
        for j in range(i + 1, len(hips)):
            assert np.linalg.norm(hips[i] - hips[j]) > 40  # different people, not duplicates
    for pose in result.poses:
        assert pose.landmarks.dtype == np.float32 and pose.landmarks.shape == (33, 5)
        assert 0.5 <= pose.score <= 1.0
        assert pose.coco17().shape == (17, 5)
        assert pose.roi is not None
    assert result.timings.detector_ran and result.timings.landmark_ms > 0


def test_single_pose_default_returns_the_most_confident_person(two_players: ImageArray) -> None:
    with PoseLandmarker(PoseLandmarkerOptions(precision=FLOAT)) as landmarker:
        result = landmarker.detect(two_players)
        best = landmarker.detector.detect(two_players)[0]
    assert len(result.poses) == 1
    hip_centre = result.poses[0].landmarks[23:25, :2].mean(axis=0)
    assert np.linalg.norm(hip_centre - best.keypoints[0]) < 0.1


def test_video_mode_tracks_several_people_with_stable_ids(two_players: ImageArray) -> None:
    frames = shifted_frames(two_players, 20, 3.0)
    options = PoseLandmarkerOptions(running_mode=RunningMode.VIDEO, num_poses=2, precision=FLOAT)
    tracks: dict[int, list[np.ndarray]] = {}
    with PoseLandmarker(options) as landmarker:
        for i, frame in enumerate(frames):
            result = landmarker.detect_for_video(frame, i * 100)
            for pose in result.poses:
                tracks.setdefault(pose.track_id, []).append(pose.landmarks[23:25, :2].mean(axis=0))
        runs = landmarker.detector_runs
    long_tracks = [t for t in tracks.values() if len(t) >= 15]
    assert len(long_tracks) == 2
    # A stable id follows one person: the body centre never jumps (the slide is 0.5% a frame).
    for centres in long_tracks:
        steps = np.linalg.norm(np.diff(np.array(centres), axis=0), axis=1)
        assert steps.max() < 0.05  # the two players stand ~0.4 apart
    assert sorted(tracks) == [1, 2]
    # Both people are tracked from the first frame on, so the detector never runs again.
    assert runs == 1


def test_tracking_skips_the_detector_and_recovers_after_loss(messi: ImageArray) -> None:
    blank = np.zeros_like(messi)
    options = PoseLandmarkerOptions(running_mode=RunningMode.VIDEO, precision=FLOAT, track_grace_frames=0)
    with PoseLandmarker(options) as landmarker:
        results = [landmarker.detect_for_video(messi, t) for t in (0, 33, 66)]
        assert [r.timings.detector_ran for r in results] == [True, False, False]
        assert all(r.poses and r.poses[0].track_id == 1 for r in results)
        # Identical frames: the ROI settles from the detector's to the landmarks' and the pose stays put.
        first, last = results[0].poses[0], results[2].poses[0]
        assert np.abs(first.landmarks[:, :2] - last.landmarks[:, :2]).mean() < 0.01
        assert first.roi != last.roi
        lost = landmarker.detect_for_video(blank, 100)
        assert lost.poses == ()
        again = landmarker.detect_for_video(messi, 133)
        assert again.timings.detector_ran
        assert again.poses and again.poses[0].track_id == 2
        with pytest.raises(ValueError, match="increase"):
            landmarker.detect_for_video(messi, 133)
        with pytest.raises(ValueError, match="running_mode"):
            landmarker.detect(messi)


def test_a_briefly_hidden_person_keeps_their_track_for_the_grace_frames(messi: ImageArray) -> None:
    blank = np.zeros_like(messi)
    options = PoseLandmarkerOptions(running_mode=RunningMode.VIDEO, precision=FLOAT, track_grace_frames=2)
    with PoseLandmarker(options) as landmarker:
        held_roi = landmarker.detect_for_video(messi, 0).poses[0].roi
        landmarker.detect_for_video(messi, 33)
        hidden = [landmarker.detect_for_video(blank, t) for t in (66, 100)]
        assert [r.poses for r in hidden] == [(), ()]  # held, but nothing reported
        assert [r.timings.detector_ran for r in hidden] == [False, False]  # the held track fills the slot
        back = landmarker.detect_for_video(messi, 133)
        assert not back.timings.detector_ran
        assert back.poses and back.poses[0].track_id == 1
        assert abs(back.poses[0].roi.x_center - held_roi.x_center) < 0.05
        # Hidden for longer than the grace: the track ends (at 233) and the detector finds a new person.
        gone = [landmarker.detect_for_video(blank, t) for t in (166, 200, 233)]
        assert [r.timings.detector_ran for r in gone] == [False, False, False]
        again = landmarker.detect_for_video(messi, 266)
        assert again.timings.detector_ran
        assert again.poses and again.poses[0].track_id == 2


def test_live_stream_calls_back_and_drops_frames_while_busy(messi: ImageArray) -> None:
    results: list[PoseResult] = []
    done = threading.Event()

    def on_result(result: PoseResult, image: ImageArray, timestamp_ms: int) -> None:
        assert image is not None and result.timestamp_ms == timestamp_ms
        results.append(result)
        done.set()

    options = PoseLandmarkerOptions(
        running_mode=RunningMode.LIVE_STREAM, result_callback=on_result, precision=FLOAT
    )
    with PoseLandmarker(options) as landmarker:
        accepted = [landmarker.detect_async(messi, t) for t in range(1, 11)]
        assert done.wait(timeout=30)
        assert accepted[0] is True
        # Ten frames offered back to back: the pipeline cannot keep up, so some were dropped.
        assert landmarker.dropped_frames == accepted.count(False) >= 1
    assert results and results[0].poses
    assert len(results) == accepted.count(True)


def test_segmentation_mask_covers_the_person(messi: ImageArray) -> None:
    options = PoseLandmarkerOptions(output_segmentation_masks=True, precision=FLOAT)
    with PoseLandmarker(options) as landmarker:
        pose = landmarker.detect(messi).poses[0]
    mask = pose.segmentation_mask
    assert mask is not None and mask.shape == messi.shape[:2]
    assert float(mask.min()) >= 0.0 and float(mask.max()) <= 1.0
    hip = (pose.landmarks[23:25, :2].mean(axis=0) * [messi.shape[1], messi.shape[0]]).astype(int)
    assert mask[hip[1], hip[0]] > 0.5
    assert float(mask[:10, :10].mean()) < 0.2  # corner of the pitch
    video = PoseLandmarkerOptions(
        output_segmentation_masks=True, precision=FLOAT, running_mode=RunningMode.VIDEO
    )
    with PoseLandmarker(video) as landmarker:
        masks = [landmarker.detect_for_video(messi, t).poses[0].segmentation_mask for t in (0, 33)]
    assert all(m is not None and m.shape == messi.shape[:2] for m in masks)
    assert masks[1] is not None and float(masks[1][hip[1], hip[0]]) > 0.5


def test_injected_interpreter_factory_and_crop_hook(messi: ImageArray, tmp_path: Path) -> None:
    opened: list[Path] = []
    crops: list[tuple[ImageArray, Rect]] = []
    detector_inputs: list[ImageArray] = []

    def factory(path: Path) -> Any:
        opened.append(path)
        return make_interpreter(path, num_threads=1)

    options = PoseLandmarkerOptions(
        precision=FLOAT,
        interpreter_factory=factory,
        landmark_input_hook=lambda crop, roi: crops.append((crop.copy(), roi)),
        detector_input_hook=lambda image: detector_inputs.append(image.copy()),
    )
    with PoseLandmarker(options) as landmarker:
        result = landmarker.detect(messi)
    assert opened[0].name == "pose_detection.tflite"
    # No masks asked for: the landmark model comes without its segmentation head (built copy).
    assert opened[1].name == "pose_landmark_full_nomask.tflite"
    assert len(crops) == 1 and crops[0][0].shape == (256, 256, 3)
    assert result.poses and crops[0][1] == result.poses[0].roi
    assert crops[0][0].std() > 10  # a real picture, not an empty buffer
    # The detector sees the 548x342 photo letterboxed into 224x224: black bars above and below.
    (letterboxed,) = detector_inputs
    assert letterboxed.shape == (224, 224, 3)
    assert letterboxed[:35].max() == 0 and letterboxed[-35:].max() == 0 and letterboxed[100:120].std() > 10


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="num_poses"):
        PoseLandmarker(PoseLandmarkerOptions(num_poses=0))
    with pytest.raises(ValueError, match="track_grace_frames"):
        PoseLandmarker(PoseLandmarkerOptions(track_grace_frames=-1))
    with pytest.raises(ValueError, match="result_callback"):
        PoseLandmarker(PoseLandmarkerOptions(running_mode=RunningMode.LIVE_STREAM))


def test_nomask_landmark_model_gives_identical_outputs(messi: ImageArray) -> None:
    """The build-time copy without the segmentation head changes nothing else, bit for bit."""
    from edgepose.inference.models import ModelRole, model_path
    from edgepose.pose.landmarks import crop_roi
    from edgepose.types import ModelVariant

    source = model_path(ModelRole.LANDMARK, ModelVariant.LITE, FLOAT, masks=True)
    pruned_path = model_path(ModelRole.LANDMARK, ModelVariant.LITE, FLOAT)
    assert source.name == "pose_landmark_lite.tflite"
    assert pruned_path.name == "pose_landmark_lite_nomask.tflite"
    full, pruned = make_interpreter(source, 1), make_interpreter(pruned_path, 1)
    assert len(full.get_output_details()) == 5 and len(pruned.get_output_details()) == 4
    with PoseLandmarker(PoseLandmarkerOptions(precision=FLOAT)) as landmarker:
        roi = landmarker.detect(messi).poses[0].roi
    assert roi is not None
    crop = crop_roi(messi, roi).astype(np.float32)[None] / 255.0
    outputs = []
    for interpreter in (full, pruned):
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], crop)
        interpreter.invoke()
        outputs.append(
            {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}
        )
    assert set(outputs[1]) < set(outputs[0])
    for name, value in outputs[1].items():
        assert np.array_equal(value, outputs[0][name]), name
