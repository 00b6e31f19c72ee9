#!/usr/bin/env python3
"""Where posture and fall accuracy end as people get smaller (% of frame height).

  python scripts/eval_small_scale.py [--stride 1] [--seeds 3] [--people 6] [--no-stress]

Real people's poses (pose-classification-kit, development part) drawn at each height of the scale
sweep, with per-landmark Gaussian noise matched to the landmark error the sweep measured there
(tools/evaluation/small_scale.py). Prints a Markdown table: posture accuracy per truth class and
gesture accuracy (block-wise 5-fold CV, models trained on clean poses, every `stride`-th test
sample), falls found and false falls on the real-pose clips (`seeds` noise draws each).
"""

from __future__ import annotations

import argparse

from tools.evaluation import datasets
from tools.evaluation import real_poses as rp
from tools.evaluation import small_scale as ss


def main() -> None:
    """Parse arguments, evaluate every level, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stride", type=int, default=1, help="every n-th CV test sample (1: all)")
    parser.add_argument("--seeds", type=int, default=3, help="noise draws per fall clip")
    parser.add_argument("--people", type=int, default=6, help="people per real-pose motion")
    parser.add_argument("--no-stress", action="store_true", help="only the sweep's measured heights")
    args = parser.parse_args()
    samples = datasets.load_all()
    rows = ss.levels(stress=not args.no_stress)
    decisions = ss.cross_validated(samples, rows, stride=args.stride)
    motions = rp.motions(samples, args.people)
    falls = [ss.fall_counts(motions, level, seeds=args.seeds) for level in rows]
    print(ss.report(rows, decisions, falls))


if __name__ == "__main__":
    main()
