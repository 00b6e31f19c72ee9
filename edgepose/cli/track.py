"""`edgepose track`: poses through a video with tracking and smoothing, one JSON object per frame."""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

from edgepose.cli._pose import (
    add_pose_arguments,
    annotate_folder,
    pose_json,
    pose_options,
    read_video,
    write_annotated,
)


def register(subparsers: Any) -> None:
    """Add the `track` parser."""
    parser = subparsers.add_parser(
        "track", help="follow poses through a video (JSON lines)", description=__doc__
    )
    add_pose_arguments(parser)
    parser.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0: all)")
    parser.add_argument("--annotate", type=Path, metavar="DIR", help="write each frame with skeletons drawn")
    parser.add_argument("video", type=Path, metavar="VIDEO")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the VIDEO-mode pipeline over the clip and print a JSON line per frame."""
    from edgepose.draw import draw_result
    from edgepose.pose.landmarker import PoseLandmarker
    from edgepose.types import RunningMode

    options = pose_options(args, RunningMode.VIDEO)
    frames = read_video(args.video, args.max_frames)
    first = next(frames)  # a bad file fails here, before any model is loaded
    annotate = annotate_folder(args.annotate) if args.annotate is not None else None
    with PoseLandmarker(options) as landmarker:
        for frame in itertools.chain([first], frames):
            result = landmarker.detect_for_video(frame.image, frame.timestamp_ms)
            line = {
                "frame": frame.index,
                "timestamp_ms": frame.timestamp_ms,
                "width": result.width,
                "height": result.height,
                "poses": [pose_json(p, with_track=True) for p in result.poses],
            }
            print(json.dumps(line, allow_nan=False), flush=True)  # noqa: T201
            if annotate is not None:
                write_annotated(annotate / f"frame_{frame.index:06d}.jpg", draw_result(frame.image, result))
    return 0
