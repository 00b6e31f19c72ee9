#!/usr/bin/env python3
"""int8 against float in VIDEO mode, on all float poses and on those float reproduces under noise.

    python scripts/int8_reproducible.py           # the test's clips (tests/test_int8_accuracy.py)
    python scripts/int8_reproducible.py --wide    # a wider held-out sample: pan_zidane.avi 0-199,
                                                  # vtest.avi 400-794, every frame

A float pose is "reproducible" when the float pipeline, run against itself with +-1 grey level of
noise added to each frame (seeds 0, 1, 2), finds it again within the 2% bound every time; the test
asserts the issue's bound on those poses for the test's clips.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from test_int8_accuracy import NOISE_SEEDS, VIDEO_CLIPS, jitter, reproducible, run_video  # noqa: E402

from edgepose.paths import media_dir  # noqa: E402
from edgepose.types import ModelVariant, Precision  # noqa: E402

WIDE_CLIPS = (("pan_zidane.avi", 0, 200, 1), ("vtest.avi", 400, 795, 1))


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="lite,full,heavy")
    parser.add_argument("--wide", action="store_true", help="the wider held-out sample")
    args = parser.parse_args()
    clips = WIDE_CLIPS if args.wide else VIDEO_CLIPS
    for variant in (ModelVariant(v) for v in args.variants.split(",")):
        got = run_video(media_dir(), variant, clips=clips)
        noisy = [run_video(media_dir(), variant, Precision.FLOAT, jitter(s), clips) for s in NOISE_SEEDS]
        keep = reproducible(noisy)
        chosen = [d for d, k in zip(got.per_pose, keep, strict=True) if k]
        found = [d for d in chosen if d is not None]
        floor = " ".join(f"lost {r.lost} {100 * np.mean(r.distances):.2f}%" for r in noisy)
        print(
            f"{variant.value:5} int8: lost {got.lost}/{got.float_poses} {100 * np.mean(got.distances):.2f}% "
            f"| float+noise: {floor} | reproducible {len(chosen)}: int8 lost {len(chosen) - len(found)} "
            f"{100 * np.mean(found):.2f}% (max {100 * max(found):.2f}%)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
