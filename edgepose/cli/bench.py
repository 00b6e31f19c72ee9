"""`edgepose bench`: speed of the tracking pipeline on a clip, one JSON object on stdout.

`--threads 1,2,4` runs the clip once per thread count and prints one object (line) for each.

`--rate FPS` measures cost instead of speed: the clip (or a camera: `picamera2`, `v4l2:/dev/video0`)
plays in real time at FPS through the daemon's stages, built from its config (`--config`, else the
daemon's default lookup; `--threads`, `--num-poses`, `--model` and `--precision` given here override
[model]), and the line reports CPU seconds per second of video, user and system time, detector and
landmark runs per second, the capture share, and, with `--entered-at`, the delay to person_entered
(see edgepose.watch_cost).

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
from edgepose.types import GateDecision, ModelVariant, Precision, RunningMode

# Pose flags whose command-line defaults apply only without --rate (with it, the config's do).
_MODEL_FLAGS = ("threads", "num_poses", "model", "precision")


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
    detector_runs_per_frame: float
    gate_skipped_frames: int
    gate_motion_frames: int
    gate_sweep_frames: int
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
        decisions = dict(landmarker.search.decisions)
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
        detector_runs_per_frame=runs / len(frames) if frames else 0.0,
        gate_skipped_frames=decisions[GateDecision.SKIPPED],
        gate_motion_frames=decisions[GateDecision.MOTION],
        gate_sweep_frames=decisions[GateDecision.SWEEP],
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
    parser.add_argument("--rate", help="measure cost: play in real time at this frame rate (fps)")
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="with --rate: the daemon config to measure"
    )
    parser.add_argument(
        "--entered-at", help="with --rate: media time (s) a person steps in; reports the person_entered delay"
    )
    parser.add_argument("--seconds", default="0", help="with --rate: stop after S seconds of video (0: all)")
    parser.add_argument("video", metavar="VIDEO", help="a video file (with --rate also a source URI)")
    # With --rate the config's [model] applies unless these are given; None tells the two apart.
    flat_out = {name: parser.get_default(name) for name in _MODEL_FLAGS}
    for action in parser._actions:
        if action.dest in flat_out and action.help:
            action.help = action.help.replace(
                "%(default)s", f"{flat_out[action.dest]}; with --rate: [model]'s"
            )
    parser.set_defaults(handler=run, flat_out_defaults=flat_out, **dict.fromkeys(_MODEL_FLAGS))


def thread_counts(text: str) -> list[int]:
    """`--threads 2` or a list such as `1,2,4` (to see how the pipeline scales), or a UsageError."""
    from edgepose.cli._pose import parse_number

    return [parse_number(part.strip(), "--threads", int, 1, 64) for part in str(text).split(",")]


def _print(result: Any) -> None:
    figures = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(result).items()}
    print(json.dumps(figures), flush=True)  # noqa: T201


def run(args: argparse.Namespace) -> int:
    """Benchmark and print one JSON object per thread count (`--threads 1,2,4`: one line each)."""
    from edgepose.cli._pose import parse_number

    if args.rate is not None:
        return run_cost(args)
    for name, default in args.flat_out_defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    counts = thread_counts(args.threads)
    max_frames = parse_number(args.max_frames, "--max-frames", int, 0, 10**9)
    for threads in counts:
        options = pose_options(args, RunningMode.VIDEO, threads=threads)
        _print(run_bench(options, Path(args.video), max_frames))
    return 0


def cost_config(args: argparse.Namespace) -> Any:
    """The daemon config measured by `--rate`: file or defaults, VIDEO as the source, [model] overrides."""
    from edgepose.cli._pose import _enum, parse_number
    from edgepose.config import default_config_path, load_config
    from edgepose.service_reload import apply_overrides

    path = args.config if args.config is not None else default_config_path()
    video = Path(args.video)
    uri = f"file:{video}" if video.is_file() else str(args.video)
    config = apply_overrides(load_config(path), source_uri=uri)
    model: dict[str, Any] = {}
    if args.threads is not None:
        model["threads"] = parse_number(args.threads, "--threads", int, 0, 16)
    if args.num_poses is not None:
        model["num_poses"] = parse_number(args.num_poses, "--num-poses", int, 1, 10)
    if args.model is not None:
        model["variant"] = _enum(ModelVariant, args.model, "--model")
    if args.precision is not None:
        model["precision"] = _enum(Precision, args.precision, "--precision")
    return config.model_copy(update={"model": config.model.model_copy(update=model)})


def run_cost(args: argparse.Namespace) -> int:
    """`--rate`: play the clip at the rate and print its cost as one JSON object."""
    from edgepose.cli._pose import parse_number
    from edgepose.watch_cost import measure_watch_cost

    rate = parse_number(args.rate, "--rate", float, 0.1, 240.0)
    entered_at = (
        None if args.entered_at is None else parse_number(args.entered_at, "--entered-at", float, 0, 1e6)
    )
    seconds = parse_number(args.seconds, "--seconds", float, 0, 1e6)
    _print(measure_watch_cost(cost_config(args), rate, entered_at_s=entered_at, max_seconds=seconds))
    return 0
