"""`edgepose record`: save normalised landmark samples of a labelled pose (--label) or windows of a
labelled action (--sequence LABEL --window-ms N), for `edgepose train`."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgepose.errors import UsageError
from edgepose.types import PoseResult

if TYPE_CHECKING:
    from edgepose.activity.action_model import FrameParts

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def register(subparsers: Any) -> None:
    """Add the `record` subcommand."""
    from edgepose.cli._pose import add_pose_arguments

    parser = subparsers.add_parser("record", help="record labelled pose samples", description=__doc__)
    parser.add_argument("out", type=Path, metavar="OUT", help="samples file to write (JSON lines)")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--label", help="a pose's name, e.g. 'warrior' or 'squat_down'")
    what.add_argument(
        "--sequence", metavar="LABEL", help="an action's name, e.g. 'waving': save windows of frames"
    )
    parser.add_argument(
        "--window-ms", type=int, default=2000, help="--sequence: window length, ms (default: 2000)"
    )
    parser.add_argument(
        "--hop-ms",
        type=int,
        default=None,
        help="--sequence: a window starts every N ms (default: half a window)",
    )
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--source", metavar="URI", help="video or image file (or file:PATH) run through the pipeline"
    )
    src.add_argument(
        "--landmarks", type=Path, metavar="FILE", help="`edgepose track` output instead of a source"
    )
    parser.add_argument("--every", type=int, default=1, help="keep every Nth frame (default: 1)")
    parser.add_argument("--append", action="store_true", help="add to OUT instead of replacing it")
    add_pose_arguments(parser)
    parser.set_defaults(handler=run)


def _from_source(args: argparse.Namespace) -> Iterator[PoseResult]:
    """Run the pose pipeline over a file source."""
    from edgepose.cli._pose import pose_options, read_image, read_video
    from edgepose.pose.landmarker import PoseLandmarker
    from edgepose.types import RunningMode

    text: str = args.source
    path = Path(text.removeprefix("file://").removeprefix("file:"))
    if "://" in text and not text.startswith("file:"):
        raise UsageError(f"record reads files only; got {text}")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        image = read_image(path)
        with PoseLandmarker(pose_options(args, RunningMode.IMAGE)) as landmarker:
            yield landmarker.detect(image)
        return
    frames = read_video(path)
    with PoseLandmarker(pose_options(args, RunningMode.VIDEO)) as landmarker:
        for frame in frames:
            yield landmarker.detect_for_video(frame.image, frame.timestamp_ms)


def _rows(norm: Any) -> list[list[float] | None]:
    return [None if math.isnan(float(r[0])) else [round(float(v), 5) for v in r] for r in norm]


def run(args: argparse.Namespace) -> int:
    """Write one JSON line per pose per kept frame; prints how many samples were written."""
    from edgepose.activity.classifier import normalized_landmarks
    from edgepose.activity.features import compute_features
    from edgepose.cli._landmarks import read_landmarks

    if args.every < 1:
        raise UsageError("--every must be at least 1")
    label: str = args.label if args.label is not None else args.sequence
    if not label.strip():
        raise UsageError("--label/--sequence must not be empty")
    results = read_landmarks(args.landmarks) if args.landmarks is not None else _from_source(args)
    origin = str(args.landmarks or args.source)
    if args.sequence is not None:
        return _record_windows(args, results, origin)
    written = 0
    mode = "a" if args.append else "w"
    with args.out.open(mode, encoding="utf-8") as out:
        for i, result in enumerate(results):
            if i % args.every:
                continue
            for pose in result.poses:
                f = compute_features(pose, result.timestamp_ms, result.width, result.height)
                if f.visible_fraction < 0.5:
                    continue  # too little of the body to learn from
                sample = {
                    "v": 1,
                    "label": label,
                    "source": origin,
                    "frame": result.frame_index,
                    "timestamp_ms": result.timestamp_ms,
                    "track_id": pose.track_id,
                    "landmarks": _rows(normalized_landmarks(f)),
                }
                out.write(json.dumps(sample) + "\n")
                written += 1
    print(f"{written} samples of '{label}' -> {args.out}")  # noqa: T201
    return 0


def _record_windows(args: argparse.Namespace, results: Iterator[PoseResult], origin: str) -> int:
    """Write one JSON line per window per tracked person; prints how many windows were written."""
    from edgepose.activity.action_model import cut_windows, frame_parts
    from edgepose.activity.actions import MIN_VISIBLE_FRACTION
    from edgepose.activity.features import compute_features
    from edgepose.cli._sequence import window_record

    window_ms: int = args.window_ms
    hop_ms: int = args.hop_ms if args.hop_ms is not None else max(1, window_ms // 2)
    if window_ms < 200 or hop_ms < 1:
        raise UsageError("--window-ms must be at least 200 and --hop-ms at least 1")
    per_track: dict[int, list[FrameParts]] = {}
    for i, result in enumerate(results):
        if i % args.every:
            continue
        for pose in result.poses:
            f = compute_features(pose, result.timestamp_ms, result.width, result.height)
            if f.visible_fraction >= MIN_VISIBLE_FRACTION:  # as the run-time window does
                per_track.setdefault(pose.track_id, []).append(frame_parts(f))
    written = 0
    with args.out.open("a" if args.append else "w", encoding="utf-8") as out:
        for track_id, frames in sorted(per_track.items()):
            for window in cut_windows(frames, window_ms, hop_ms):
                record = window_record(args.sequence, origin, track_id, window_ms, window)
                out.write(json.dumps(record) + "\n")
                written += 1
    print(f"{written} windows of '{args.sequence}' ({window_ms} ms) -> {args.out}")  # noqa: T201
    return 0
