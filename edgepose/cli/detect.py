"""`edgepose detect`: poses in still images, one JSON object per image on stdout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from edgepose.cli._pose import add_pose_arguments, pose_json, pose_options, read_image


def register(subparsers: Any) -> None:
    """Add the `detect` parser."""
    parser = subparsers.add_parser("detect", help="find poses in images (JSON lines)", description=__doc__)
    add_pose_arguments(parser)
    parser.add_argument("--annotate", type=Path, metavar="DIR", help="write each image with skeletons drawn")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the IMAGE-mode pipeline on each image and print its JSON line."""
    import cv2

    from edgepose.draw import draw_result
    from edgepose.pose.landmarker import PoseLandmarker
    from edgepose.types import RunningMode

    options = pose_options(args, RunningMode.IMAGE)
    images = list(args.images)
    for path in images:  # a missing file fails before models load and anything is printed
        if not path.is_file():
            read_image(path)
    first = read_image(images[0])
    if args.annotate is not None:
        args.annotate.mkdir(parents=True, exist_ok=True)
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
            print(json.dumps(line), flush=True)  # noqa: T201
            if args.annotate is not None:
                drawn = draw_result(image, result)
                target = args.annotate / (path.stem + ".png")
                cv2.imwrite(str(target), cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
    return 0
