#!/usr/bin/env python3
"""Print the accuracy table: every model's error against MediaPipe 0.10.21 heavy (float), and the int8 rule.

    python scripts/accuracy_table.py                       # lite, full, heavy; MediaPipe lite and full
    python scripts/accuracy_table.py --variants full --no-mediapipe

Rows: edgepose lite, full and heavy in float and int8, MediaPipe's own lite and full. Columns: mean
landmark error in % of the person's size on the held-out photos (static mode) and clips (tracking
mode), persons found and missed. The metric is in tools/evaluation/accuracy.py. Needs the MediaPipe
reference (bash scripts/setup_reference.sh) and the media (python scripts/fetch_media.py); its
outputs are cached, so a second run costs only edgepose's. Exits 1 when an int8 variant breaks
the rule (tests/test_int8_accuracy.py asserts it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgepose.paths import media_dir  # noqa: E402
from edgepose.types import ModelVariant  # noqa: E402
from tools.evaluation.accuracy import accuracy_table  # noqa: E402
from tools.evaluation.reference import MediaPipeReferenceError  # noqa: E402


def main() -> int:
    """Compute and print the table and the rule's verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="lite,full,heavy", help="edgepose variants, comma-separated")
    parser.add_argument(
        "--no-mediapipe", action="store_true", help="leave out MediaPipe's lite and full rows"
    )
    args = parser.parse_args()
    variants = [ModelVariant(v) for v in args.variants.split(",") if v]
    media = media_dir()
    if not (media / "pan_zidane.avi").is_file():
        print(f"accuracy_table: no media in {media} (run python scripts/fetch_media.py)", file=sys.stderr)
        return 66
    mediapipe = () if args.no_mediapipe else (ModelVariant.LITE, ModelVariant.FULL)
    try:
        table = accuracy_table(media, variants=variants, mediapipe=mediapipe)
    except MediaPipeReferenceError as exc:
        print(f"accuracy_table: {exc}", file=sys.stderr)
        return 69
    print(table.render())
    print()
    verdicts = table.verdicts()
    for met, text in verdicts:
        print(f"{'ok  ' if met else 'FAIL'} {text}")
    return 0 if all(met for met, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
