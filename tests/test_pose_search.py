"""The search for small people: zoomed regions, the motion gate, the sweep, the budget and the merge.

Real models, real people (cut out of the test photos and pasted small into vtest.avi's empty hall).
"""

from __future__ import annotations

import numpy as np
import pytest

from edgepose.pose.detector import Square
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.pose.motion import MotionGate, MotionSettings
from edgepose.pose.search import (
    PersonSearch,
    Region,
    RegionKind,
    SearchMode,
    SearchSettings,
    merge_detections,
    sweep_regions,
)
from edgepose.types import GateDecision, ImageArray, PoseResult, RunningMode
from tests.plugins.scene import holds_hips, noisy
from tools.evaluation.scale_sweep import Cutout, match, paste

FPS = 15
FRAME_MS = 1000 // FPS


def pixels(result: PoseResult) -> list[np.ndarray]:
    size = np.array([result.width, result.height], dtype=np.float32)
    return [p.landmarks[:33, :2] * size for p in result.poses]


def found(result: PoseResult, reference_px: np.ndarray) -> bool:
    return match(reference_px, pixels(result)) is not None


def test_a_far_person_is_found_with_zoom_and_not_with_the_whole_frame(
    scene: ImageArray, person: Cutout
) -> None:
    image, reference = paste(scene, person, 0.20, 200.0, 440.0)
    results = {}
    for mode in SearchMode:
        options = PoseLandmarkerOptions(RunningMode.IMAGE, num_poses=2, search=SearchSettings(mode=mode))
        with PoseLandmarker(options) as landmarker:
            results[mode] = landmarker.detect(image)
    assert not found(results[SearchMode.FULL_FRAME], reference)
    zoom = results[SearchMode.ZOOM]
    assert found(zoom, reference)
    assert zoom.timings.detector_runs == len(sweep_regions(640, 480, (2.0, 3.0), 0.25))


def test_the_gate_ignores_noise_and_light_drift_and_fires_on_a_person(
    scene: ImageArray, person: Cutout
) -> None:
    rng = np.random.default_rng(1)
    gate = MotionGate()
    # 10 s at 15 fps; the light drifts by 12 grey levels over it, as daylight does.
    for i in range(150):
        result = gate.update(noisy(scene, rng, offset=12.0 * i / 150), i * FRAME_MS)
        assert not result.changed, f"frame {i}: {result.regions}"
    image, reference = paste(scene, person, 0.15, 400.0, 430.0)
    result = gate.update(noisy(image, rng, offset=12.0), 150 * FRAME_MS)
    assert result.changed
    box = result.regions[0].scale(640, 480)
    assert holds_hips(box, reference)


def test_following_samples_a_frame_per_interval_and_keeps_the_background_current(
    scene: ImageArray, person: Cutout
) -> None:
    rng = np.random.default_rng(4)
    sparse, every = MotionGate(), MotionGate(MotionSettings(follow_interval_ms=0.0))
    for i in range(30):
        frame = noisy(scene, rng)
        sparse.update(frame, i * FRAME_MS)
        every.update(frame, i * FRAME_MS)
    # Someone is tracked for 6 s (3 time constants): the gates only follow the background.
    image, _ = paste(scene, person, 0.15, 400.0, 430.0)
    samples = 0
    for i in range(30, 120):
        frame = noisy(image, rng)
        before = sparse.background.copy()
        sparse.follow(frame, i * FRAME_MS)
        every.follow(frame, i * FRAME_MS)
        samples += not np.array_equal(before, sparse.background)
    frames_apart = -(-sparse.settings.follow_interval_ms // FRAME_MS)  # 400 ms: every 7th frame
    assert samples in (90 // frames_apart, 90 // frames_apart + 1)
    assert float(np.abs(sparse.background - every.background).mean()) < 0.5
    # Once tracking ends both compare as usual: the person standing there is no longer news.
    frame = noisy(image, rng)
    assert not sparse.update(frame, 120 * FRAME_MS).changed
    assert not every.update(frame, 120 * FRAME_MS).changed


def test_an_empty_still_room_costs_only_the_sweep(scene: ImageArray) -> None:
    rng = np.random.default_rng(2)
    search = SearchSettings(mode=SearchMode.ZOOM, motion_gate=True, sweep_interval_ms=10_000)
    options = PoseLandmarkerOptions(RunningMode.VIDEO, num_poses=2, search=search)
    with PoseLandmarker(options) as landmarker:
        frames = 90  # 6 s
        for i in range(frames):
            result = landmarker.detect_for_video(noisy(scene, rng), i * FRAME_MS)
            assert not result.poses
        decisions = landmarker.search.decisions
        regions = len(landmarker.search.sweep(640, 480))
        # The first frame searches at once (budget 2); then the sweep's regions spread over 10 s.
        assert landmarker.detector_runs <= 2 + regions * (frames * FRAME_MS) / 10_000 + 1
        assert decisions[GateDecision.MOTION] == 0
        assert decisions[GateDecision.SKIPPED] > frames / 2


def test_the_sweep_finds_a_person_standing_still_from_the_start(scene: ImageArray, person: Cutout) -> None:
    rng = np.random.default_rng(3)
    image, reference = paste(scene, person, 0.20, 480.0, 440.0)
    search = SearchSettings(mode=SearchMode.ZOOM, motion_gate=True, sweep_interval_ms=3_000)
    options = PoseLandmarkerOptions(RunningMode.VIDEO, num_poses=1, search=search)
    with PoseLandmarker(options) as landmarker:
        first = None
        for i in range(60):  # 4 s: more than one sweep
            result = landmarker.detect_for_video(noisy(image, rng), i * FRAME_MS)
            if found(result, reference) and first is None:
                first = i
        assert first is not None, "the sweep never found the still person"
        assert found(result, reference), "the person was found, then lost"
        assert landmarker.search.decisions[GateDecision.MOTION] == 0
        assert landmarker.search.decisions[GateDecision.SWEEP] >= 1


def test_a_walking_far_person_is_found_through_motion_within_the_budget(
    scene: ImageArray, person: Cutout
) -> None:
    rng = np.random.default_rng(4)
    search = SearchSettings(mode=SearchMode.ZOOM, motion_gate=True, detector_budget=2)
    options = PoseLandmarkerOptions(RunningMode.VIDEO, num_poses=2, search=search)
    hits = 0
    with PoseLandmarker(options) as landmarker:
        for i in range(8):
            landmarker.detect_for_video(noisy(scene, rng), i * FRAME_MS)
        for i in range(30):
            image, reference = paste(scene, person, 0.15, 150.0 + 10.0 * i, 440.0)
            result = landmarker.detect_for_video(noisy(image, rng), (8 + i) * FRAME_MS)
            assert result.timings.detector_runs <= 2
            hits += found(result, reference)
        assert landmarker.search.decisions[GateDecision.MOTION] >= 1
    assert hits >= 27


def test_the_budget_caps_detector_runs_in_every_frame_and_the_sweep_goes_on(scene: ImageArray) -> None:
    rng = np.random.default_rng(5)
    search = SearchSettings(mode=SearchMode.ZOOM, motion_gate=False, detector_budget=3)
    options = PoseLandmarkerOptions(RunningMode.VIDEO, num_poses=1, search=search)
    with PoseLandmarker(options) as landmarker:
        runs = [
            landmarker.detect_for_video(noisy(scene, rng), i * FRAME_MS).timings.detector_runs
            for i in range(10)
        ]
        assert runs == [3] * 10  # nobody found: every frame searches, never more than the budget
        assert landmarker.search._next_sweep == 30 % len(landmarker.search.sweep(640, 480))


def test_nms_merges_one_person_seen_from_overlapping_regions(scene: ImageArray, person: Cutout) -> None:
    image, _ = paste(scene, person, 0.25, 320.0, 400.0)
    # Two overlapping zoomed squares that both hold the whole person, and the whole frame.
    regions = [
        Region(Square(180.0, 160.0, 280.0), RegionKind.MOTION),
        Region(Square(200.0, 170.0, 260.0), RegionKind.TILE),
        Region(Square(150.0, 120.0, 340.0), RegionKind.TILE),
    ]
    options = PoseLandmarkerOptions(RunningMode.IMAGE)
    with PoseLandmarker(options) as landmarker:
        detector = landmarker.detector
        per_region = []
        for region in regions:
            pad = detector.preprocess(image, region.square)
            detector.io.invoke()
            per_region.append((region, detector.postprocess(pad)))
    assert all(len(d) >= 1 for _, d in per_region), [len(d) for _, d in per_region]
    merged = merge_detections(per_region, 640, 480)
    assert len(merged) == 1
    assert merged[0].score == max(d.score for _, ds in per_region for d in ds)


def test_search_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="zoom"):
        PersonSearch(SearchSettings(zoom_levels=(1.0,)))
    with pytest.raises(ValueError, match="detector_budget"):
        PersonSearch(SearchSettings(detector_budget=0))
