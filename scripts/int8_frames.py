#!/usr/bin/env python3
"""Frame by frame, which people two VIDEO pipelines follow: where they part, and why a pose is "lost".

    python scripts/int8_frames.py heavy vtest.avi 560 620            # int8 against float
    python scripts/int8_frames.py heavy vtest.avi 560 620 --noise 0  # float+noise (seed 0) against float

Each line: frame index, LOST when a float pose has no match (same matching as
tests/test_int8_accuracy.py), then each pipeline's poses as `#track_id (hip x, hip y px) presence`,
and `det` when that pipeline ran its detector on the frame. Smoothing off, four poses, as in the test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from test_int8_accuracy import Tally, clip, jitter, options, unchanged  # noqa: E402

from edgepose.paths import media_dir  # noqa: E402
from edgepose.pose.landmarker import PoseLandmarker  # noqa: E402
from edgepose.types import ModelVariant, PoseResult, Precision, RunningMode  # noqa: E402


def people(result: PoseResult) -> str:
    """The poses of one result as `#id (x, y) presence`, hip centre in pixels."""
    rows = []
    for pose in result.poses:
        x, y = pose.landmarks[23:25, :2].mean(axis=0) * (result.width, result.height)
        rows.append(f"#{pose.track_id} ({x:.0f},{y:.0f}) {pose.score:.2f}")
    ran = " det" if result.timings.detector_ran else ""
    return (" ".join(rows) or "-") + ran


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variant", choices=[v.value for v in ModelVariant])
    parser.add_argument("clip", help="a file in the media cache, e.g. vtest.avi")
    parser.add_argument("start", type=int, help="first frame index")
    parser.add_argument("stop", type=int, help="frame index to stop before")
    parser.add_argument("--noise", type=int, metavar="SEED", help="float+noise instead of int8")
    args = parser.parse_args()
    variant = ModelVariant(args.variant)
    precision = Precision.INT8 if args.noise is None else Precision.FLOAT
    change = unchanged if args.noise is None else jitter(args.noise)
    label = "int8" if args.noise is None else f"float+noise s{args.noise}"
    lost = 0
    with (
        PoseLandmarker(options(variant, Precision.FLOAT, RunningMode.VIDEO)) as ref,
        PoseLandmarker(options(variant, precision, RunningMode.VIDEO)) as got,
    ):
        frames = clip(media_dir() / args.clip, args.start, args.stop, 1)
        for index, (timestamp_ms, frame) in enumerate(frames, start=args.start):
            a = ref.detect_for_video(frame, timestamp_ms)
            b = got.detect_for_video(change(frame), timestamp_ms)
            tally = Tally([], [], [], [])
            tally.add(a, b)
            lost += tally.lost
            mark = "LOST" if tally.lost else "    "
            print(f"{index:5} {mark} float: {people(a)} | {label}: {people(b)}", flush=True)
    print(f"{lost} float poses lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
