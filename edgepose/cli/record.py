"""`edgepose record`: save normalised landmark samples of a labelled pose, for `edgepose train`."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgepose.errors import UsageError
from edgepose.types import PoseResult

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def register(subparsers: Any) -> None:
    """Add the `record` subcommand."""
    from edgepose.cli._pose import add_pose_arguments

    parser = subparsers.add_parser("record", help="record labelled pose samples", description=__doc__)
    parser.add_argument("out", type=Path, metavar="OUT", help="samples file to write (JSON lines)")
    parser.add_argument("--label", required=True, help="the pose's name, e.g. 'warrior' or 'squat_down'")
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
    if not args.label.strip():
        raise UsageError("--label must not be empty")
    results = read_landmarks(args.landmarks) if args.landmarks is not None else _from_source(args)
    origin = str(args.landmarks or args.source)
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
                    "label": args.label,
                    "source": origin,
                    "frame": result.frame_index,
                    "timestamp_ms": result.timestamp_ms,
                    "track_id": pose.track_id,
                    "landmarks": _rows(normalized_landmarks(f)),
                }
                out.write(json.dumps(sample) + "\n")
                written += 1
    print(f"{written} samples of '{args.label}' -> {args.out}")  # noqa: T201
    return 0
