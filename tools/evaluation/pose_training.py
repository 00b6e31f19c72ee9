"""Training of the bundled pose model (edgepose.activity.pose_model) in numpy.

A one-hidden-layer network (ReLU, softmax over the model labels), trained with Adam and a little
weight decay on standardised features; every training pose is used plain and mirrored. Fixed
seed: the same samples give the same model.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from edgepose.activity.pose_model import LABELS, PoseModel
from edgepose.types import FloatArray

HIDDEN: Final = 32
EPOCHS: Final = 30
BATCH: Final = 512
LEARNING_RATE: Final = 0.01
WEIGHT_DECAY: Final = 1e-4


def train_network(
    x: FloatArray, labels: npt.NDArray[np.intp], *, hidden: int = HIDDEN, epochs: int = EPOCHS, seed: int = 0
) -> PoseModel:
    """A model from described poses (N x NUM_FEATURES) and their label indices into LABELS."""
    rng = np.random.default_rng(seed)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = (x.astype(np.float64) - mean) / scale
    n, d = z.shape
    k = len(LABELS)
    target = np.eye(k)[labels]
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
            g = (e / e.sum(axis=1, keepdims=True) - target[idx]) / len(idx)
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
