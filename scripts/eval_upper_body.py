#!/usr/bin/env python3
"""Upper-body mode against MediaPipe 0.10.21's full-body model on waist-up crops of the test photos.

  python scripts/eval_upper_body.py [--media DIR] [--out DIR]

Needs the MediaPipe reference virtualenv (bash scripts/setup_reference.sh). Prints a Markdown
table: per crop, whether each pipeline found the person and the error of landmarks 0-16.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from edgepose.paths import cache_dir
from tools.evaluation.upper_body import compare, reference_landmarks, upper_body_landmarks, write_crops

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    """Write the crops, run both pipelines, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--media", type=Path, default=cache_dir() / "media")
    parser.add_argument("--out", type=Path, help="keep the crops here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgepose-upper-") as tmp:
        paths = write_crops(args.media, args.out or Path(tmp))
        refs = reference_landmarks(
            cache_dir() / "mediapipe-ref" / "bin" / "python", REPO / "scripts" / "reference_pose.py", paths
        )
        results = compare(paths, refs, upper_body_landmarks(paths))
    print("| crop | MediaPipe full finds | upper_body finds | error, landmarks 0-16 |")
    print("|---|---|---|---:|")
    for r in results:
        error = f"{r.error * 100:.2f} %" if r.error is not None else "-"
        ref, mine = ("yes" if found else "no" for found in (r.reference_found, r.upper_found))
        print(f"| {r.name} | {ref} | {mine} | {error} |")
    errors = [r.error for r in results if r.error is not None]
    if errors:
        print(f"\nmean over {len(errors)} crops both found: {sum(errors) / len(errors) * 100:.2f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
