"""The cost benchmark's figures (fields and arithmetic, never timing) and the watched-room clips."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.types import RunningMode
from edgepose.watch_cost import CostTally, CpuSample, cost_report
from tools.evaluation.room_clips import (
    DRIFT_GAIN,
    DRIFT_PERIOD_S,
    FPS,
    WALK_IN,
    camera_effects,
    make_short_clips,
)

SHORT_S = {"empty_room.avi": 3.0, "walk_in.avi": WALK_IN.fully_in_s + 1.0}


@pytest.fixture(scope="module")
def clips(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Short versions of the derived clips (same scene, person, noise and drift as the full ones)."""
    folder = tmp_path_factory.mktemp("room")
    make_short_clips(media, folder, SHORT_S)
    return folder


def frames_of(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def poses_in(frames: list[np.ndarray]) -> list[int]:
    with PoseLandmarker(PoseLandmarkerOptions(running_mode=RunningMode.IMAGE, num_poses=2)) as landmarker:
        return [len(landmarker.detect(image).poses) for image in frames]


def test_cost_report_arithmetic() -> None:
    tally = CostTally(
        frames=30,
        video_ms=2000,
        start=CpuSample(wall_s=100.0, user_s=1.0, system_s=0.5),
        end=CpuSample(wall_s=102.1, user_s=1.24, system_s=0.56),
        capture_cpu_s=0.06,
        capture_reads=32,
        pipeline_cpu_s=0.2,
        detector_invoke_ms=(4.0, 5.0, 6.0),
        landmark_invoke_ms=(8.0,) * 20 + (12.0,) * 10,
        landmark_invoke_cpu_ms=(7.0,) * 20 + (9.0,) * 10,
        lag_ms=tuple(float(i) for i in range(30)),
        people=30,
        dropped_frames=0,
        first_pose_ms=5300,
        person_entered_ms=5733,
    )
    report = cost_report(tally, source="file:x.avi", rate_fps=15.0, threads=1, entered_at_s=5.4)
    assert report.video_s == pytest.approx(2.0)
    assert report.wall_s == pytest.approx(2.1)
    assert report.user_s == pytest.approx(0.24)
    assert report.system_s == pytest.approx(0.06)
    assert report.cpu_s == pytest.approx(0.30)
    assert report.cpu_per_video_s == pytest.approx(0.15)  # 15 % of one core
    assert report.cpu_ms_per_frame == pytest.approx(10.0)
    assert report.capture_cpu_ms_per_frame == pytest.approx(60.0 / 32)
    assert report.pipeline_thread_cpu_ms_per_frame == pytest.approx(200.0 / 30)
    assert report.detector_runs_per_s == pytest.approx(1.5)
    assert report.landmark_runs_per_s == pytest.approx(15.0)
    assert report.detector_invoke_ms_median == pytest.approx(5.0)
    assert report.landmark_invoke_ms_median == pytest.approx(8.0)
    assert report.landmark_invoke_cpu_ms_median == pytest.approx(7.0)
    assert report.cpu_per_frame_over_landmark_invoke == pytest.approx(10.0 / 7.0)
    assert report.people_per_frame == pytest.approx(1.0)
    assert report.lag_ms_p90 == pytest.approx(26.0)
    assert report.first_pose_s == pytest.approx(5.3)
    assert report.enter_latency_s == pytest.approx(5.733 - 5.4)


def test_cost_report_without_people_or_entry() -> None:
    idle = CpuSample(wall_s=0.0, user_s=0.0, system_s=0.0)
    tally = CostTally(30, 2000, idle, idle, 0.0, 0, 0.0, (), (), (), (), 0, 0, None, None)
    report = cost_report(tally, source="file:x.avi", rate_fps=15.0, threads=2, entered_at_s=5.0)
    assert report.landmark_invoke_ms_median is None
    assert report.cpu_per_frame_over_landmark_invoke is None
    assert report.person_entered_s is None
    assert report.enter_latency_s is None


def test_bench_rate_reports_consistent_figures(clips: Path) -> None:
    """`edgepose bench --rate` on a short clip: every field, and figures that agree with each other."""
    rate, seconds = 30.0, 1.0
    entered_at = 0.5
    command = [sys.executable, "-m", "edgepose", "bench", "--rate", str(rate), "--seconds", str(seconds)]
    command += ["--threads", "1", "--entered-at", str(entered_at), str(clips / "empty_room.avi")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["source"] == f"file:{clips / 'empty_room.avi'}"
    assert report["rate_fps"] == rate
    assert report["threads"] == 1
    assert report["frames"] == round(rate * seconds)
    assert report["video_s"] == pytest.approx(report["frames"] / rate, abs=1e-3)  # media time
    assert report["cpu_s"] == pytest.approx(report["user_s"] + report["system_s"], abs=2e-3)
    assert report["cpu_s"] > 0
    assert report["cpu_per_video_s"] == pytest.approx(report["cpu_s"] / report["video_s"], rel=1e-2)
    assert report["cpu_ms_per_frame"] == pytest.approx(report["cpu_s"] * 1000 / report["frames"], rel=1e-2)
    # Runs per second are counts over the video time (how many the search makes is its business).
    detector_runs = report["detector_runs_per_s"] * report["video_s"]
    assert detector_runs >= 0
    assert detector_runs == pytest.approx(round(detector_runs), abs=0.05)
    # Nobody in the room: nobody is reported and nobody enters. The zoomed search's first sweep may
    # hand the landmark model a false candidate, which it rejects: a run or two, never a pose.
    assert report["landmark_runs_per_s"] * report["video_s"] <= 2
    assert report["people_per_frame"] == 0
    assert report["capture_cpu_ms_per_frame"] > 0
    assert report["person_entered_s"] is None
    assert report["enter_latency_s"] is None
    assert report["entered_at_s"] == entered_at


def test_bench_rate_rejects_a_bad_rate(clips: Path) -> None:
    command = [sys.executable, "-m", "edgepose", "bench", "--rate", "0", str(clips / "empty_room.avi")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 64
    assert "--rate" in done.stderr


def test_empty_room_has_sensor_noise_and_light_drift_and_nobody(clips: Path) -> None:
    frames = frames_of(clips / "empty_room.avi")
    assert len(frames) == round(SHORT_S["empty_room.avi"] * FPS)
    stack = np.stack(frames[:15]).astype(np.float32)
    # Noise: a still scene whose pixels still change from frame to frame, by a camera's amount.
    temporal_std = float(np.median(stack.std(axis=0)))
    assert 0.7 < temporal_std < 6.0
    # Drift: the whole picture brightens slowly (+sin over DRIFT_PERIOD_S), far beyond the noise.
    first = np.stack(frames[:5]).astype(np.float32).mean()
    last = np.stack(frames[-5:]).astype(np.float32).mean()
    t_last = (len(frames) - 3) / FPS
    expected = first * DRIFT_GAIN * math.sin(2 * math.pi * t_last / DRIFT_PERIOD_S)
    assert last - first == pytest.approx(expected, rel=0.4)
    assert poses_in(frames[::15]) == [0] * len(frames[::15])


def test_camera_effects_drift_gain_over_a_period() -> None:
    flat = np.full((8, 8, 3), 100, np.uint8)
    rng = np.random.default_rng(0)
    quarter = camera_effects(flat, DRIFT_PERIOD_S / 4, rng).astype(np.float32)
    three_quarters = camera_effects(flat, 3 * DRIFT_PERIOD_S / 4, rng).astype(np.float32)
    assert quarter[..., 1].mean() == pytest.approx(100 * (1 + DRIFT_GAIN), abs=1.5)
    assert three_quarters[..., 1].mean() == pytest.approx(100 * (1 - DRIFT_GAIN), abs=1.5)


def test_walk_in_has_nobody_before_and_a_person_after_the_entry(clips: Path) -> None:
    frames = frames_of(clips / "walk_in.avi")
    before = frames[: round(WALK_IN.first_visible_s * FPS) : 15]
    after = frames[math.ceil(WALK_IN.fully_in_s * FPS) :: 5]
    assert before and after
    assert poses_in(before) == [0] * len(before)
    assert poses_in(after) == [1] * len(after)
    # The scene around the person is the empty room's: only the person changed.
    empty = frames_of(clips / "empty_room.avi")[0].astype(np.float32)
    assert float(np.abs(frames[0].astype(np.float32) - empty).mean()) < 4.0
