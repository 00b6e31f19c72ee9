"""`edgepose bench`: speed of the tracking pipeline on a clip, one JSON object on stdout.

`--threads 1,2,4` runs the clip once per thread count and prints one object (line) for each.

`run_bench(options, video, max_frames)` is the reusable part: frames are decoded up front, then
each frame's `detect_for_video` wall time and the models' invoke times are collected.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgepose.cli._pose import add_pose_arguments, pose_options, read_video
from edgepose.types import RunningMode


@dataclass(frozen=True, slots=True)
class BenchResult:
    """Speed figures for one configuration over one clip."""

    model: str
    precision: str
    threads: int
    frames: int
    fps: float
    frame_ms_median: float
    frame_ms_p90: float
    detector_invoke_ms_median: float | None
    landmark_invoke_ms_median: float
    detector_runs: int
    poses_found: int
    rss_mb: float


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_bench(options: Any, video: Path, max_frames: int = 0) -> BenchResult:
    """Run the VIDEO-mode pipeline with `options` over `video` and measure it."""
    from edgepose.pose.landmarker import PoseLandmarker

    frames = list(read_video(video, max_frames))
    frame_ms: list[float] = []
    detector_ms: list[float] = []
    landmark_ms: list[float] = []
    poses = 0
    with PoseLandmarker(options) as landmarker:
        for frame in frames:
            start = time.perf_counter()
            result = landmarker.detect_for_video(frame.image, frame.timestamp_ms)
            frame_ms.append((time.perf_counter() - start) * 1000.0)
            if result.timings.detector_ran:
                detector_ms.append(result.timings.detector_ms)
            if result.poses:
                landmark_ms.append(result.timings.landmark_ms / max(1, len(result.poses)))
            poses += len(result.poses)
        runs = landmarker.detector_runs
    total_s = sum(frame_ms) / 1000.0
    return BenchResult(
        model=str(options.model),
        precision=str(options.precision),
        threads=int(options.threads),
        frames=len(frames),
        fps=len(frames) / total_s if total_s > 0 else 0.0,
        frame_ms_median=statistics.median(frame_ms),
        frame_ms_p90=_percentile(frame_ms, 0.9),
        detector_invoke_ms_median=statistics.median(detector_ms) if detector_ms else None,
        landmark_invoke_ms_median=statistics.median(landmark_ms) if landmark_ms else 0.0,
        detector_runs=runs,
        poses_found=poses,
        rss_mb=_rss_mb(),
    )


def register(subparsers: Any) -> None:
    """Add the `bench` parser."""
    parser = subparsers.add_parser(
        "bench", help="measure pipeline speed on a clip (JSON)", description=__doc__
    )
    add_pose_arguments(parser)
    parser.add_argument("--max-frames", default="0", help="stop after N frames (0: all)")
    parser.add_argument("video", type=Path, metavar="VIDEO")
    parser.set_defaults(handler=run)


def thread_counts(text: str) -> list[int]:
    """`--threads 2` or a list such as `1,2,4` (to see how the pipeline scales), or a UsageError."""
    from edgepose.cli._pose import parse_number

    return [parse_number(part.strip(), "--threads", int, 1, 64) for part in str(text).split(",")]


def run(args: argparse.Namespace) -> int:
    """Benchmark and print one JSON object per thread count (`--threads 1,2,4`: one line each)."""
    from edgepose.cli._pose import parse_number

    counts = thread_counts(args.threads)
    max_frames = parse_number(args.max_frames, "--max-frames", int, 0, 10**9)
    for threads in counts:
        options = pose_options(args, RunningMode.VIDEO, threads=threads)
        result = run_bench(options, args.video, max_frames)
        figures = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(result).items()}
        print(json.dumps(figures), flush=True)  # noqa: T201
    return 0
