"""MoveNet family: crop geometry as the TFLite Raspberry Pi example does it, decoding, and the
estimator on a stand-in model with MoveNet's exact signature (real MoveNet weights are not available
here), on real photos and video of people."""

from __future__ import annotations

from dataclasses import astuple
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from edgepose.config.accelerators import EdgeTpuConfig
from edgepose.errors import ModelError
from edgepose.inference.accelerators.base import AcceleratorSettings
from edgepose.inference.accelerators.registry import open_accelerator
from edgepose.inference.models import float_models_dir
from edgepose.pose.movenet import (
    CropRegion,
    MoveNetOptions,
    MoveNetPoseEstimator,
    crop_and_resize,
    decode_keypoints,
    determine_crop_region,
    init_crop_region,
    pose_score,
    to_landmarks,
    torso_visible,
)
from edgepose.skeleton import CocoKeypoint, SkeletonKind
from edgepose.sources.jpeg import JpegImage
from tests.plugins.accelerators import FakeCoral

K = CocoKeypoint


def _keypoints(scores: float = 0.0) -> np.ndarray:
    kp = np.zeros((17, 3), np.float32)
    kp[:, 2] = scores
    return kp


def _person() -> np.ndarray:
    kp = _keypoints()
    kp[K.LEFT_HIP] = (0.6, 0.45, 0.9)
    kp[K.RIGHT_HIP] = (0.6, 0.55, 0.9)
    kp[K.LEFT_SHOULDER] = (0.3, 0.42, 0.9)
    kp[K.RIGHT_SHOULDER] = (0.3, 0.58, 0.9)
    kp[K.NOSE] = (0.2, 0.5, 0.5)
    kp[K.LEFT_ANKLE] = (0.95, 0.1, 0.1)  # below the crop threshold: ignored for the body range
    return kp


def _rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None
    return np.ascontiguousarray(image[:, :, ::-1])


def test_init_crop_region_pads_to_square() -> None:
    land = init_crop_region(480, 640)
    assert astuple(land) == pytest.approx((-1 / 6, 0.0, 7 / 6, 1.0))
    port = init_crop_region(640, 480)
    assert astuple(port) == pytest.approx((0.0, -1 / 6, 1.0, 7 / 6))
    assert init_crop_region(300, 300) == CropRegion(0.0, 0.0, 1.0, 1.0)


def test_torso_visible_needs_a_hip_and_a_shoulder() -> None:
    kp = _keypoints()
    assert not torso_visible(kp)
    kp[K.RIGHT_HIP, 2] = 0.3
    assert not torso_visible(kp)
    kp[K.LEFT_SHOULDER, 2] = 0.21
    assert torso_visible(kp)
    kp[K.LEFT_SHOULDER, 2] = 0.2  # strictly above 0.2, as the example
    assert not torso_visible(kp)


def test_determine_crop_region_by_hand() -> None:
    # Hips centre (288, 320) px on 640x480; torso y range 144 px -> half = 1.9 * 144 = 273.6 px.
    crop = determine_crop_region(_person(), 480, 640)
    assert crop.y_min == pytest.approx(14.4 / 480)
    assert crop.x_min == pytest.approx(46.4 / 640)
    assert crop.y_max == pytest.approx(561.6 / 480)
    assert crop.x_max == pytest.approx(593.6 / 640)


def test_determine_crop_region_body_range_wins() -> None:
    kp = _person()
    kp[K.LEFT_WRIST] = (0.6, 0.1, 0.8)  # arm out to the left: 256 px from the centre, x1.2 = 307.2
    crop = determine_crop_region(kp, 480, 640)
    assert (crop.x_max - crop.x_min) * 640 == pytest.approx(2 * 307.2, rel=1e-5)


def test_determine_crop_region_falls_back_to_full_frame() -> None:
    assert determine_crop_region(_keypoints(0.1), 480, 640) == init_crop_region(480, 640)
    # A torso near the left edge and nearly as tall as the frame: the crop would exceed half the
    # frame's long side, so the example goes back to the full frame.
    big = _person()
    big[[K.LEFT_SHOULDER, K.RIGHT_SHOULDER], 0] = 0.0
    big[[K.LEFT_HIP, K.RIGHT_HIP], 0] = 0.55
    big[[K.LEFT_SHOULDER, K.LEFT_HIP], 1] = 0.08
    big[[K.RIGHT_SHOULDER, K.RIGHT_HIP], 1] = 0.12
    big[K.NOSE, 1] = 0.1
    assert determine_crop_region(big, 480, 640) == init_crop_region(480, 640)
    # Centred, the same torso is clamped to the frame instead.
    centred = _person()
    centred[[K.LEFT_SHOULDER, K.RIGHT_SHOULDER], 0] = 0.0
    centred[[K.LEFT_HIP, K.RIGHT_HIP], 0] = 0.55
    crop = determine_crop_region(centred, 480, 640)
    assert (crop.x_max - crop.x_min) * 640 == pytest.approx(640.0)


def test_crop_and_resize_pads_black_outside_the_frame() -> None:
    image = np.full((480, 640, 3), 200, np.uint8)
    out = crop_and_resize(image, init_crop_region(480, 640), 192)
    # The frame covers rows 24..168 of the 192-px square (1/8 padding above and below).
    assert out[:22].max() == 0 and out[-22:].max() == 0
    assert out[26:166].min() == 200
    # A crop inside the frame shows only frame content, placed where the crop says.
    image[:, 320:] = 50
    inner = crop_and_resize(image, CropRegion(0.25, 0.25, 0.75, 0.75), 100)
    assert inner[:, :45].min() == 200 and inner[:, 55:].max() == 50


def test_decode_and_landmarks() -> None:
    raw = np.zeros((1, 1, 17, 3), np.float32)
    raw[0, 0, :, 0] = 0.5
    raw[0, 0, :, 1] = 0.25
    raw[0, 0, :, 2] = np.linspace(0, 1, 17)
    crop = CropRegion(0.1, 0.2, 0.5, 0.6)
    kp = decode_keypoints(raw, crop)
    np.testing.assert_allclose(kp[:, 0], 0.1 + 0.4 * 0.5)
    np.testing.assert_allclose(kp[:, 1], 0.2 + 0.4 * 0.25)
    lm = to_landmarks(kp)
    assert lm.shape == (17, 5) and lm.dtype == np.float32
    np.testing.assert_allclose(lm[:, 0], kp[:, 1])
    np.testing.assert_allclose(lm[:, 1], kp[:, 0])
    assert not lm[:, 2].any()
    np.testing.assert_allclose(lm[:, 3], kp[:, 2])
    np.testing.assert_allclose(lm[:, 4], kp[:, 2])
    assert pose_score(kp) == pytest.approx(float(kp[kp[:, 2] > 0.1, 2].mean()))
    assert pose_score(_keypoints(0.05)) == 0.0


def _example_crop_mean(image: np.ndarray, crop: CropRegion, size: int) -> float:
    """The example's own crop: slice, pad with copyMakeBorder, cv2.resize; the stand-in's score."""
    h, w = image.shape[:2]
    top, bottom = int(max(crop.y_min, 0) * h), int(h if crop.y_max >= 1 else crop.y_max * h)
    left, right = int(max(crop.x_min, 0) * w), int(w if crop.x_max >= 1 else crop.x_max * w)
    pads = [
        int(-crop.y_min * h if crop.y_min < 0 else 0),
        int((crop.y_max - 1) * h if crop.y_max >= 1 else 0),
        int(-crop.x_min * w if crop.x_min < 0 else 0),
        int((crop.x_max - 1) * w if crop.x_max >= 1 else 0),
    ]
    padded = cv2.copyMakeBorder(image[top:bottom, left:right], *pads, cv2.BORDER_CONSTANT)
    return float(cv2.resize(padded, (size, size)).mean() / 255.0)


@pytest.mark.parametrize(("size", "dtype"), [(192, np.uint8), (256, np.int32)])
def test_estimator_on_real_photo(
    tflite_builder: ModuleType, tmp_path: Path, media: Path, size: int, dtype: type
) -> None:
    model = tmp_path / f"movenet_{size}.tflite"
    model.write_bytes(tflite_builder.movenet_standin(size, size, dtype))
    image = _rgb(media / "messi5.jpg")
    h, w = image.shape[:2]
    with MoveNetPoseEstimator(MoveNetOptions(model, min_pose_score=0.1)) as est:
        assert est.input_size == size
        result = est.detect(image)
    assert (result.width, result.height, result.frame_index) == (w, h, 0)
    [pose] = result.poses
    assert pose.skeleton is SkeletonKind.COCO_17 and pose.world_landmarks is None
    assert pose.landmarks.shape == (17, 5)
    crop = init_crop_region(h, w)
    expected = _example_crop_mean(image, crop, size)
    np.testing.assert_allclose(pose.landmarks[:, 3], expected, atol=0.01)
    assert 0.1 < expected < 0.9
    assert pose.score == pytest.approx(float(pose.landmarks[0, 3]), abs=1e-6)
    kx = np.linspace(0.3, 0.7, 17)
    np.testing.assert_allclose(pose.landmarks[:, 0], crop.x_min + crop.width * kx, atol=1e-5)
    assert pose.roi is not None and pose.roi.width == pytest.approx(crop.width)
    np.testing.assert_array_equal(pose.coco17(), pose.landmarks)
    assert result.timings.landmark_ms > 0.0


def test_crop_is_carried_through_video(tflite_builder: ModuleType, tmp_path: Path, media: Path) -> None:
    model = tmp_path / "lightning.tflite"
    person = np.stack([np.linspace(0.35, 0.65, 17), np.linspace(0.4, 0.6, 17)], axis=1)
    model.write_bytes(tflite_builder.movenet_standin(keypoints_yx=person, score_scale=3.0))
    cap = cv2.VideoCapture(str(media / "pan_zidane.avi"))
    frames = []
    for _ in range(4):
        ok, bgr = cap.read()
        assert ok
        frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    cap.release()
    h, w = frames[0].shape[:2]
    est = MoveNetPoseEstimator(MoveNetOptions(model))
    rois = []
    previous = None
    for i, frame in enumerate(frames):
        result = est.detect_for_video(frame, i * 33)
        [pose] = result.poses
        rois.append(pose.roi)
        if previous is None:
            assert pose.roi == init_crop_region(h, w).to_rect()
        else:
            assert pose.roi == determine_crop_region(previous, h, w).to_rect()
        previous = np.stack([pose.landmarks[:, 1], pose.landmarks[:, 0], pose.landmarks[:, 3]], axis=1)
        assert pose.track_id == 1
        assert result.timestamp_ms == i * 33 and result.frame_index == i
    # The stand-in's torso is visible (scores = 3 x brightness > 0.2), so the crop left the full frame.
    assert rois[1] != rois[0]
    # A black frame: no person, the crop resets; the next person gets a new track id.
    black = np.zeros_like(frames[0])
    assert est.detect_for_video(black, 200).poses == ()
    assert est.crop_region == init_crop_region(h, w)
    [again] = est.detect_for_video(frames[0], 233).poses
    assert again.track_id == 2
    est.close()


def test_not_a_movenet_model_is_rejected() -> None:
    with pytest.raises(ModelError, match="not a single-pose MoveNet model"):
        MoveNetPoseEstimator(MoveNetOptions(float_models_dir() / "pose_detection.tflite"))


def test_movenet_on_fake_edgetpu(fake_coral: FakeCoral, tmp_path: Path, media: Path) -> None:
    fake_coral.attach(("usb", "/sys/bus/usb/devices/2-1"))
    model = tmp_path / "movenet_single_pose_lightning_ptq_edgetpu.tflite"
    model.write_bytes(fake_coral.builder.movenet_standin(edgetpu=True))
    acc = open_accelerator(
        "edgetpu",
        AcceleratorSettings(
            edgetpu=EdgeTpuConfig(device="usb:0"), edgetpu_backend=fake_coral.pycoral_backend()
        ),
    )
    est = MoveNetPoseEstimator(
        MoveNetOptions(model, min_pose_score=0.1), interpreter_factory=acc.make_interpreter
    )
    [pose] = est.detect(_rgb(media / "zidane.jpg")).poses
    assert 0.0 < pose.score < 1.0
    assert fake_coral.lib.LOADED[0].interpreters == 1


def test_family_from_config(tflite_builder: ModuleType, tmp_path: Path, media: Path) -> None:
    from edgepose.config.model import ModelConfig
    from edgepose.config.movenet import ModelFamily, MoveNetConfig
    from edgepose.errors import ConfigError
    from edgepose.pose.families import build_estimator
    from edgepose.pose.landmarker import DEFAULT_TRACK_GRACE_FRAMES, PoseLandmarker

    model = tmp_path / "movenet_thunder.tflite"
    model.write_bytes(tflite_builder.movenet_standin(256, 256))
    cpu = open_accelerator("cpu", AcceleratorSettings(threads=1))
    config = ModelConfig(
        family=ModelFamily.MOVENET, movenet=MoveNetConfig(model_path=model, min_pose_score=0.1)
    )
    cv2.setNumThreads(2)
    with build_estimator(config, cpu) as est:
        assert cv2.getNumThreads() == 1  # the daemon's OpenCV calls run on the calling thread
        assert isinstance(est, MoveNetPoseEstimator) and est.input_size == 256
        image = _rgb(media / "zidane.jpg")
        [pose] = est.detect_for_video(image, 0).poses
        assert pose.skeleton is SkeletonKind.COCO_17
        # A compressed frame (MJPEG sources) is decoded for the model, which runs on every frame.
        data = np.asarray(cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])[1])
        compressed = JpegImage(data, image.shape[1], image.shape[0])
        assert len(est.detect_for_video(compressed, 33).poses) == 1 and compressed.decoded
    with pytest.raises(ValidationError, match=r"needs \[model.movenet\] model_path"):
        ModelConfig(family=ModelFamily.MOVENET)
    with pytest.raises(ConfigError, match=r"\[model.movenet\] model_path is required"):
        build_estimator(ModelConfig.model_construct(family=ModelFamily.MOVENET), cpu)
    blaze = ModelConfig(variant="lite", precision="float", num_poses=1, track_grace_frames=5)  # type: ignore[arg-type]
    with build_estimator(blaze, cpu) as landmarker:
        assert isinstance(landmarker, PoseLandmarker)
        assert landmarker.options.track_grace_frames == 5
    assert ModelConfig().track_grace_frames == DEFAULT_TRACK_GRACE_FRAMES  # the daemon and the API agree
