"""`edgepose train`: build a k-NN pose classifier (classifier.json) from recorded pose samples and an
action model (actions.json, beside it) from recorded sequence windows."""

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
    parser.add_argument(
        "--actions-output",
        type=Path,
        metavar="FILE",
        help="action model to write (default: OUTPUT itself when there are only sequence windows, "
        "else actions.json beside it)",
    )
    parser.set_defaults(handler=run)


def _read_samples(path: Path, windows: list[tuple[str, int, Any]]) -> list[tuple[str, Any]]:
    """Pose samples of a file; sequence windows are appended to `windows` as (label, window_ms, frames)."""
    import numpy as np

    from edgepose.cli._sequence import KIND, parse_window

    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    out: list[tuple[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if isinstance(obj, dict) and obj.get("kind") == KIND:
                    windows.append(parse_window(obj))
                    continue
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

    windows: list[tuple[str, int, Any]] = []
    samples = [s for path in args.samples for s in _read_samples(path, windows)]
    if not samples and not windows:
        raise InputError("no samples in the given files")
    if windows:
        default = args.output if not samples else args.output.parent / "actions.json"
        _train_actions(windows, args.actions_output or default)
    if not samples:
        return 0
    classifier = train(samples)
    if len(classifier.classes) < 2:
        raise UsageError(f"need at least two classes, got {list(classifier.classes)}")
    args.output.write_text(json.dumps(classifier.to_json()), encoding="utf-8")
    for name in classifier.classes:
        print(f"{name}: {classifier.labels.count(name)} samples")  # noqa: T201
    print(f"classifier -> {args.output}")  # noqa: T201
    return 0


def _train_actions(windows: list[tuple[str, int, Any]], path: Path) -> None:
    """Fit the action model on the windows' features and write it; prints the windows per class."""
    from edgepose.activity.action_model import parts_features, train_actions

    lengths = sorted({window_ms for _, window_ms, _ in windows})
    if len(lengths) != 1:
        raise UsageError(
            f"sequence windows of different lengths {lengths} ms: record them with one --window-ms"
        )
    labels = [label for label, _, _ in windows]
    if len(set(labels)) < 2:
        raise UsageError(f"need at least two actions, got {sorted(set(labels))}")
    # Mirrored copies: an action recorded with one hand is recognised done with the other.
    features = [(label, parts_features(frames, m)) for label, _, frames in windows for m in (False, True)]
    model = train_actions(features, lengths[0])
    path.write_text(json.dumps(model.to_json()), encoding="utf-8")
    for name in model.classes:
        print(f"{name}: {labels.count(name)} windows")  # noqa: T201
    print(f"action model ({lengths[0]} ms windows) -> {path}")  # noqa: T201
