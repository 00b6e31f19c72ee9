"""`edgepose detect`: poses in still images, one JSON object per image on stdout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from edgepose.cli._pose import (
    add_pose_arguments,
    annotate_folder,
    pose_json,
    pose_options,
    read_image,
    write_annotated,
)


def register(subparsers: Any) -> None:
    """Add the `detect` parser."""
    parser = subparsers.add_parser("detect", help="find poses in images (JSON lines)", description=__doc__)
    add_pose_arguments(parser)
    parser.add_argument("--annotate", type=Path, metavar="DIR", help="write each image with skeletons drawn")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the IMAGE-mode pipeline on each image and print its JSON line."""
    from edgepose.draw import draw_result
    from edgepose.pose.landmarker import PoseLandmarker
    from edgepose.types import RunningMode

    options = pose_options(args, RunningMode.IMAGE)
    images = list(args.images)
    for path in images:  # a missing file fails before models load and anything is printed
        if not path.is_file():
            read_image(path)
    first = read_image(images[0])
    annotate = annotate_folder(args.annotate) if args.annotate is not None else None
    with PoseLandmarker(options) as landmarker:
        for index, path in enumerate(images):
            image = first if index == 0 else read_image(path)
            result = landmarker.detect(image)
            line = {
                "image": str(path),
                "width": result.width,
                "height": result.height,
                "poses": [pose_json(p, with_track=False) for p in result.poses],
            }
            print(json.dumps(line, allow_nan=False), flush=True)  # noqa: T201
            if annotate is not None:
                write_annotated(annotate / (path.stem + ".png"), draw_result(image, result))
    return 0
