"""Train the bundled posture/gesture model (models/activity_poses.json) on real people's poses.

Uses the development part (first 85% of each class file) of pose-classification-kit 1.1.5's body
dataset, fetched into the edgepose cache; the held-out 15% is never loaded. Deterministic.

    python scripts/train_activity_poses.py [-o models/activity_poses.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from edgepose.activity.pose_model import LABELS
from tools.evaluation import datasets
from tools.evaluation.pose_training import AUGMENTED_COPIES, EPOCHS, HIDDEN, LABEL_WEIGHTS, SEEDS
from tools.evaluation.real_poses import MODEL_LABEL, features_of, train_on

REPO = Path(__file__).resolve().parent.parent
ABOUT = {
    "data": f"{datasets.PACKAGE} {datasets.VERSION} (PyPI), datasets/Body/*_body.json, "
    f"first {datasets.DEVELOPMENT_FRACTION:.0%} of each class file, plain and mirrored, "
    f"{AUGMENTED_COPIES} distorted copies per network",
    "model": f"{SEEDS} networks of one hidden layer of {HIDDEN} ReLU units (seeds 0-{SEEDS - 1}), logits "
    f"averaged: one layer of {SEEDS * HIDDEN} units; softmax; Adam, {EPOCHS} epochs; loss weights "
    f"{LABEL_WEIGHTS} (other labels 1)",
    "license": "data: MIT, Copyright (c) 2020 Arthur FINDELAIR; see models/LICENSE",
    "labels": {
        label: sorted(c for c, m in MODEL_LABEL.items() if m == label)
        for label in sorted(set(MODEL_LABEL.values()))
    },
    "command": "python scripts/train_activity_poses.py",
}


def main() -> None:
    """Train on every development sample and write the model file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=REPO / "models" / "activity_poses.json")
    args = parser.parse_args()
    data = {c: features_of(s) for c, s in datasets.load_all().items()}
    every = {c: np.arange(len(cf.features)) for c, cf in data.items()}
    model = train_on(data, every)
    args.output.write_text(json.dumps(model.to_json(ABOUT), separators=(",", ":")) + "\n", encoding="utf-8")
    print(
        f"{args.output}: {model.w1.shape[0]} features, {model.w1.shape[1]} hidden units, {len(LABELS)} labels"
    )


if __name__ == "__main__":
    main()
