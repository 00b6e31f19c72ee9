"""`edgepose train`: build a k-NN pose classifier (classifier.json) from recorded samples."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from edgepose.errors import InputError, UsageError


def register(subparsers: Any) -> None:
    """Add the `train` subcommand."""
    parser = subparsers.add_parser("train", help="train a custom pose classifier", description=__doc__)
    parser.add_argument(
        "samples", type=Path, nargs="+", metavar="SAMPLES", help="files from `edgepose record`"
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help="classifier.json to write"
    )
    parser.set_defaults(handler=run)


def _read_samples(path: Path) -> list[tuple[str, Any]]:
    import numpy as np

    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    out: list[tuple[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                rows = [[math.nan] * 3 if r is None else [float(v) for v in r] for r in obj["landmarks"]]
                norm = np.asarray(rows, dtype=np.float32)
                if norm.shape != (33, 3):
                    raise ValueError("landmarks must be 33 rows of [x, y, z] or null")
                out.append((str(obj["label"]), norm))
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"{path}:{number}: not a pose sample: {exc}") from None
    return out


def run(args: argparse.Namespace) -> int:
    """Read every sample, write the classifier, print the sample count per class."""
    from edgepose.activity.classifier import train

    samples = [s for path in args.samples for s in _read_samples(path)]
    if not samples:
        raise InputError("no samples in the given files")
    classifier = train(samples)
    if len(classifier.classes) < 2:
        raise UsageError(f"need at least two classes, got {list(classifier.classes)}")
    args.output.write_text(json.dumps(classifier.to_json()), encoding="utf-8")
    for name in classifier.classes:
        print(f"{name}: {classifier.labels.count(name)} samples")  # noqa: T201
    print(f"classifier -> {args.output}")  # noqa: T201
    return 0
