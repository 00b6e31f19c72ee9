"""Measure the action classifier on generated motions: train on some seeds, test on held-out seeds.

Prints Markdown: the held-out confusion matrix (rows: truth, columns: predicted) with world
landmarks at the training frame rate, then at half the frame rate and with 2D landmarks only
(the model trained the same way each time).

With --real: clips built from real people's poses (tools/evaluation/real_actions.py,
pose-classification-kit development part, people split block-wise): the model is trained on
generated 2D clips plus the real training block and tested on the real test block and on
held-out generated 2D clips; and, for comparison, trained on generated clips alone.

    python scripts/eval_actions.py [--train-seeds 6] [--test-seeds 4] [--per-seed 4]
    python scripts/eval_actions.py --real [--real-train 40] [--real-test 40]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgepose.activity.action_model import ActionModel, train_actions  # noqa: E402
from edgepose.types import FloatArray  # noqa: E402
from tools.evaluation.activity_sim.actions import ACTIONS, action_windows  # noqa: E402
from tools.evaluation.datasets import load_class  # noqa: E402
from tools.evaluation.real_actions import CLASSES, block_split, real_action_windows  # noqa: E402

TEST_SEED_BASE = 10_000  # held-out seeds start here; training seeds start at 0


def confusion(model: ActionModel, windows: list[tuple[str, FloatArray]]) -> np.ndarray:
    """Counts[truth, predicted] in ACTIONS order."""
    cm = np.zeros((len(ACTIONS), len(ACTIONS)), dtype=int)
    for label, features in windows:
        p = model.probabilities(features)
        cm[ACTIONS.index(label), ACTIONS.index(max(p, key=lambda k: p[k]))] += 1
    return cm


def print_matrix(title: str, cm: np.ndarray) -> None:
    """A Markdown confusion matrix with per-class recall and overall accuracy."""
    print(f"\n#### {title}\n")
    print("| truth \\ predicted | " + " | ".join(ACTIONS) + " | recall |")
    print("|---|" + "---:|" * (len(ACTIONS) + 1))
    for i, name in enumerate(ACTIONS):
        row = " | ".join(str(v) for v in cm[i])
        print(f"| {name} | {row} | {cm[i, i] / max(1, cm[i].sum()):.2f} |")
    print(f"\naccuracy {np.trace(cm)}/{cm.sum()} = {np.trace(cm) / max(1, cm.sum()):.3f}")


def real(args: argparse.Namespace) -> None:
    """Generated + real-train against real-test and generated held-out, 2D at 30 fps."""
    samples = {c: load_class(c) for c in CLASSES}
    train_split, test_split = block_split(samples)
    generated = action_windows(range(args.train_seeds), args.per_seed, args.window_ms, 30.0, False)
    real_train = real_action_windows(samples, train_split, args.real_train, seed=1, window_ms=args.window_ms)
    real_test = real_action_windows(samples, test_split, args.real_test, seed=2, window_ms=args.window_ms)
    held_out = action_windows(
        range(TEST_SEED_BASE, TEST_SEED_BASE + args.test_seeds), args.per_seed, args.window_ms, 30.0, False
    )
    print(
        f"\n### Actions between real poses (2D, 30 fps; {len(generated) // len(ACTIONS)} generated and "
        f"{len(real_train) // len(ACTIONS)} real training clips per action, "
        f"{len(real_test) // len(ACTIONS)} real test clips per action)"
    )
    model = train_actions(generated + real_train, args.window_ms)
    print_matrix("Real test people, trained on generated + real training people", confusion(model, real_test))
    print_matrix("Generated held-out seeds, the same model", confusion(model, held_out))
    alone = train_actions(generated, args.window_ms)
    print_matrix("Real test people, trained on generated clips only", confusion(alone, real_test))


def main() -> int:
    """Train, test, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-seeds", type=int, default=6)
    parser.add_argument("--test-seeds", type=int, default=4)
    parser.add_argument("--per-seed", type=int, default=4, help="clips per action per seed")
    parser.add_argument("--window-ms", type=int, default=2000)
    parser.add_argument("--real", action="store_true", help="clips between real people's poses")
    parser.add_argument("--real-train", type=int, default=40, help="real training clips per action")
    parser.add_argument("--real-test", type=int, default=40, help="real test clips per action")
    args = parser.parse_args()
    if args.real:
        real(args)
        return 0
    train_range = range(args.train_seeds)
    test_range = range(TEST_SEED_BASE, TEST_SEED_BASE + args.test_seeds)
    n_train = args.train_seeds * args.per_seed
    n_test = args.test_seeds * args.per_seed
    print(f"\n### Actions (generated; {n_train} training and {n_test} held-out clips per action)")
    for title, fps, world in (
        ("World landmarks, 30 fps", 30.0, True),
        ("World landmarks, 15 fps", 15.0, True),
        ("2D only, 30 fps", 30.0, False),
    ):
        train = action_windows(train_range, args.per_seed, args.window_ms, fps, world)
        model = train_actions(train, args.window_ms)
        test = action_windows(test_range, args.per_seed, args.window_ms, fps, world)
        print_matrix(title, confusion(model, test))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
