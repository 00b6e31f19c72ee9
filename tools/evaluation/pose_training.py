"""Training of the bundled pose model (edgepose.activity.pose_model) in numpy.

A one-hidden-layer network (ReLU, softmax over the model labels), trained with Adam and a little
weight decay on standardised features; every training pose is used plain and mirrored, and also
in AUGMENTED_COPIES randomly distorted copies (turned, stretched, jittered: other people, other
cameras). SEEDS networks trained from different seeds are merged into one wider network that
averages their logits. Labels are weighted in the loss (LABEL_WEIGHTS): "standing" gathers ten
dataset classes and seated people are few, so unweighted the network read a seat seen from the
front (thighs foreshortened) as standing. Fixed seeds: the same samples give the same model.
"""

from __future__ import annotations

import warnings
from typing import Final

import numpy as np
import numpy.typing as npt

from edgepose.activity.pose_model import LABELS, PoseModel
from edgepose.skeleton import PoseLandmark as L
from edgepose.types import FloatArray

HIDDEN: Final = 32
EPOCHS: Final = 30
BATCH: Final = 512
LEARNING_RATE: Final = 0.01
WEIGHT_DECAY: Final = 1e-4
#: Distorted copies of every training pose, and networks (seeds) merged into the model.
AUGMENTED_COPIES: Final = 2
SEEDS: Final = 5
#: Loss weight per label (others 1): seated and squatting people are one dataset class each, and
#: raised arms compete with nine standing classes (the jitter made the network shy of them).
LABEL_WEIGHTS: Final = {"sitting": 3.0, "squatting": 1.5, "arm_raised": 1.5}
#: Distortions about the hip centre: rotation (degrees, s.d.), horizontal and vertical stretch
#: ranges (turning and camera height), joint jitter (torso lengths, s.d.).
ROTATION_SD_DEG: Final = 8.0
STRETCH_X: Final = (0.85, 1.15)
STRETCH_Y: Final = (0.9, 1.1)
JITTER_TORSO: Final = 0.06
_HIPS: Final = [int(L.LEFT_HIP), int(L.RIGHT_HIP)]
_SHOULDERS: Final = [int(L.LEFT_SHOULDER), int(L.RIGHT_SHOULDER)]


def augment(points_px: FloatArray, rng: np.random.Generator) -> FloatArray:
    """N x 33 x 2 image points (NaN where missing), each turned, stretched and jittered at random."""
    n = len(points_px)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no hips: the pose stays NaN, unusable
        hip = np.nanmean(points_px[:, _HIPS], axis=1)
        torso = np.linalg.norm(np.nanmean(points_px[:, _SHOULDERS], axis=1) - hip, axis=1)
    angle = np.deg2rad(rng.normal(0.0, ROTATION_SD_DEG, n))[:, None]
    d = (points_px - hip[:, None, :]) * np.stack(
        [rng.uniform(*STRETCH_X, n), rng.uniform(*STRETCH_Y, n)], axis=1
    )[:, None, :]
    turned = np.stack(
        [
            np.cos(angle) * d[..., 0] - np.sin(angle) * d[..., 1],
            np.sin(angle) * d[..., 0] + np.cos(angle) * d[..., 1],
        ],
        axis=-1,
    )
    noise = rng.normal(0.0, 1.0, points_px.shape) * (JITTER_TORSO * torso)[:, None, None]
    return np.asarray(turned + hip[:, None, :] + noise)


def merge(models: list[PoseModel]) -> PoseModel:
    """One network whose logits are the mean of the given networks' (same standardisation)."""
    k = len(models)
    return PoseModel(
        models[0].mean,
        models[0].scale,
        np.concatenate([m.w1 for m in models], axis=1),
        np.concatenate([m.b1 for m in models]),
        np.asarray(np.concatenate([m.w2 for m in models], axis=0) / k, dtype=np.float32),
        np.asarray(np.mean([m.b2 for m in models], axis=0), dtype=np.float32),
    )


def train_network(
    x: FloatArray,
    labels: npt.NDArray[np.intp],
    *,
    hidden: int = HIDDEN,
    epochs: int = EPOCHS,
    seed: int = 0,
    standardise: tuple[FloatArray, FloatArray] | None = None,
) -> PoseModel:
    """A model from described poses (N x NUM_FEATURES) and their label indices into LABELS.

    `standardise`: (mean, scale) of the features, by default those of `x`.
    """
    rng = np.random.default_rng(seed)
    mean, scale = standardise or (x.mean(axis=0), x.std(axis=0) + 1e-6)
    z = (x.astype(np.float64) - mean) / scale
    n, d = z.shape
    k = len(LABELS)
    target = np.eye(k)[labels]
    per_label = np.array([LABEL_WEIGHTS.get(label, 1.0) for label in LABELS])[labels]
    weight = per_label / per_label.mean()
    params = [
        rng.normal(0.0, np.sqrt(2.0 / d), (d, hidden)),
        np.zeros(hidden),
        rng.normal(0.0, np.sqrt(1.0 / hidden), (hidden, k)),
        np.zeros(k),
    ]
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, BATCH):
            idx = order[start : start + BATCH]
            w1, b1, w2, b2 = params
            h = np.maximum(z[idx] @ w1 + b1, 0.0)
            o = h @ w2 + b2
            e = np.exp(o - o.max(axis=1, keepdims=True))
            g = (e / e.sum(axis=1, keepdims=True) - target[idx]) * weight[idx, None] / len(idx)
            gh = (g @ w2.T) * (h > 0.0)
            grads = [z[idx].T @ gh + WEIGHT_DECAY * w1, gh.sum(0), h.T @ g + WEIGHT_DECAY * w2, g.sum(0)]
            step += 1
            for j, grad in enumerate(grads):
                m1[j] = 0.9 * m1[j] + 0.1 * grad
                m2[j] = 0.999 * m2[j] + 0.001 * grad * grad
                params[j] = params[j] - LEARNING_RATE * (m1[j] / (1 - 0.9**step)) / (
                    np.sqrt(m2[j] / (1 - 0.999**step)) + 1e-8
                )
    f32 = [np.asarray(a, dtype=np.float32) for a in (mean, scale, *params)]
    return PoseModel(*f32)
