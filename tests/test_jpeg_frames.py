"""MJPEG frames decoded on demand: a reduced grey for the gate, the full frame once when a model runs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgepose.config.source import SourceConfig
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.pose.motion import MotionGate
from edgepose.pose.search import SearchMode, SearchSettings
from edgepose.sources import create_source, parse_source_uri
from edgepose.sources.base import rotate_image
from edgepose.sources.jpeg import JpegImage
from edgepose.types import Frame, GateDecision, ImageArray, RunningMode, image_size
from tests.plugins.scene import holds_hips, noisy
from tools.evaluation.scale_sweep import Cutout, paste

FRAME_MS = 1000 // 15


def jpeg(image_rgb: ImageArray, quality: int = 90) -> JpegImage:
    ok, data = cv2.imencode(".jpg", image_rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    height, width = image_rgb.shape[:2]
    return JpegImage(np.asarray(data, np.uint8), width, height)


class Counting:
    """A JpegImage that counts its full decodes."""

    def __init__(self, inner: JpegImage) -> None:
        self.inner = inner
        self.rgb_calls = 0

    @property
    def width(self) -> int:
        return self.inner.width

    @property
    def height(self) -> int:
        return self.inner.height

    def rgb(self) -> ImageArray:
        self.rgb_calls += 1
        return self.inner.rgb()

    def grey(self, min_width_px: int) -> ImageArray:
        return self.inner.grey(min_width_px)


def test_reduced_grey_is_the_block_average_of_the_full_frame(scene: ImageArray) -> None:
    image = jpeg(scene)
    grey = image.grey(160)
    assert not image.decoded, "the reduced grey must not decode the full frame"
    assert grey.shape == (120, 160)
    full = cv2.cvtColor(image.rgb(), cv2.COLOR_RGB2GRAY)
    area = cv2.resize(full, (160, 120), interpolation=cv2.INTER_AREA)
    diff = np.abs(grey.astype(np.int16) - area.astype(np.int16))
    assert float(diff.mean()) < 2.0 and int(diff.max()) <= 12
    # Asked for more than a quarter of the width: half scale; more than the frame: full width.
    assert jpeg(scene).grey(200).shape == (240, 320)
    assert jpeg(scene).grey(1000).shape == (480, 640)


def test_the_full_frame_is_decoded_once_and_rotated(scene: ImageArray) -> None:
    plain = jpeg(scene, quality=95)
    rgb = plain.rgb()
    assert rgb is plain.rgb()
    assert rgb.shape == (480, 640, 3) and rgb.flags.c_contiguous
    assert float(np.abs(rgb.astype(np.int16) - scene.astype(np.int16)).mean()) < 3.0
    data = np.asarray(cv2.imencode(".jpg", scene[:, :, ::-1])[1], np.uint8)
    turned = JpegImage(data, 640, 480, rotation_deg=90)
    assert (turned.width, turned.height) == (480, 640)
    assert turned.grey(160).shape == (320, 240)  # 160 of the turned frame's 480: half scale
    assert turned.grey(120).shape == (160, 120)  # 120: a quarter
    np.testing.assert_array_equal(turned.rgb(), rotate_image(JpegImage(data, 640, 480).rgb(), 90))


def test_undecodable_data_gives_a_black_frame_of_the_declared_size() -> None:
    data = np.frombuffer(b"\xff\xd8 not really a jpeg", np.uint8).copy()
    assert JpegImage(data, 64, 48).grey(16).shape == (12, 16)
    broken = JpegImage(data, 64, 48)
    assert broken.rgb().shape == (48, 64, 3) and not broken.rgb().any()


def test_mjpeg_files_give_compressed_frames_other_codecs_arrays(media: Path) -> None:
    for name, deferred in (("pan_zidane.avi", True), ("vtest.avi", False)):
        uri = parse_source_uri(f"file:{media / name}")
        with create_source(uri, SourceConfig()) as source:
            frame = source.read()
        assert frame is not None
        assert isinstance(frame.pixels, JpegImage) is deferred, name
        assert (frame.width, frame.height) == image_size(frame.image)


def test_the_gate_sees_a_compressed_frame_as_it_sees_the_array(scene: ImageArray, person: Cutout) -> None:
    rng = np.random.default_rng(4)
    arrays, compressed = MotionGate(), MotionGate()
    for i in range(30):
        image = noisy(scene, rng)
        a = arrays.update(jpeg(image).rgb(), i * FRAME_MS)
        b = compressed.update(jpeg(image), i * FRAME_MS)
        assert not a.changed and not b.changed
    image, reference = paste(scene, person, 0.25, 320.0, 440.0)
    moved = compressed.update(jpeg(noisy(image, rng)), 30 * FRAME_MS)
    assert moved.changed
    box = moved.regions[0].scale(640, 480)
    assert holds_hips(box, reference)


def test_an_empty_room_is_decoded_in_full_only_when_the_detector_runs(
    scene: ImageArray, person: Cutout
) -> None:
    rng = np.random.default_rng(5)
    search = SearchSettings(mode=SearchMode.ZOOM, motion_gate=True, sweep_interval_ms=10_000)
    options = PoseLandmarkerOptions(RunningMode.VIDEO, num_poses=1, search=search)
    with PoseLandmarker(options) as landmarker:
        decoded_frames = detector_frames = 0
        for i in range(45):
            image = Counting(jpeg(noisy(scene, rng)))
            result = landmarker.detect_for_video(Frame(image, i * FRAME_MS, i).pixels, i * FRAME_MS)
            assert not result.poses
            assert image.rgb_calls <= 1
            decoded_frames += image.rgb_calls
            detector_frames += result.timings.detector_ran
        assert landmarker.search.decisions[GateDecision.SKIPPED] > 30
        assert decoded_frames == detector_frames
        # Someone steps in: found on the compressed frames, tracked from then on.
        image_rgb, _ = paste(scene, person, 0.6, 320.0, 440.0)
        poses = [
            landmarker.detect_for_video(jpeg(noisy(image_rgb, rng)), (45 + i) * FRAME_MS).poses
            for i in range(10)
        ]
        assert all(len(p) == 1 for p in poses[2:])
