"""Actions from sequences of poses: per-window features and a numpy softmax-regression classifier.

A frame of a person becomes 36 channels: the 13 body joints' normalised x, y (the k-NN
classifier's normalisation: centred on the hips, divided by the pose size), the 8 joint angles
(world landmarks when the model has them) divided by 180, and the hip centre in torso lengths
(only its motion is used: where a person stands says nothing about what they do). A window of
frames becomes 144 features per channel group: mean, standard deviation, mean absolute velocity
and standard deviation of velocity (per second, so the frame rate does not matter). Missing
landmarks are NaN and are left out; a channel missing for the whole window is set to the
training mean. The classifier is multinomial logistic regression on standardised features,
trained by full-batch gradient descent with L2 regularisation: a few kilobytes of weights and
one matrix product per classification, so it runs on a Pi without scikit-learn.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgepose.activity.classifier import normalized_landmarks
from edgepose.activity.features import BODY_JOINTS, PoseFeatures
from edgepose.errors import ConfigError
from edgepose.skeleton import PoseLandmark as L
from edgepose.types import FloatArray

FORMAT = "edgepose-action-classifier"
ANGLE_NAMES = (
    "knee_left",
    "knee_right",
    "hip_left",
    "hip_right",
    "elbow_left",
    "elbow_right",
    "shoulder_left",
    "shoulder_right",
)
N_JOINTS = len(BODY_JOINTS)
N_CHANNELS = 2 * N_JOINTS + len(ANGLE_NAMES) + 2
HIP_CHANNELS = slice(N_CHANNELS - 2, N_CHANNELS)
N_FEATURES = 4 * N_CHANNELS

# Mirroring a person swaps their left and right (joint rows, angle pairs) and negates x.
_MIRROR_LANDMARK = {
    int(a): int(b)
    for a, b in (
        (L.LEFT_SHOULDER, L.RIGHT_SHOULDER),
        (L.LEFT_ELBOW, L.RIGHT_ELBOW),
        (L.LEFT_WRIST, L.RIGHT_WRIST),
        (L.LEFT_HIP, L.RIGHT_HIP),
        (L.LEFT_KNEE, L.RIGHT_KNEE),
        (L.LEFT_ANKLE, L.RIGHT_ANKLE),
    )
}
_MIRROR_LANDMARK.update({b: a for a, b in list(_MIRROR_LANDMARK.items())})


def _mirror_permutation() -> np.ndarray:
    joints = [BODY_JOINTS.index(_MIRROR_LANDMARK.get(int(j), int(j))) for j in BODY_JOINTS]
    xy = [2 * j + k for j in joints for k in (0, 1)]
    angles = [2 * N_JOINTS + (i ^ 1) for i in range(len(ANGLE_NAMES))]  # pairs are (left, right)
    return np.array(xy + angles + [N_CHANNELS - 2, N_CHANNELS - 1], dtype=np.intp)


_MIRROR_PERM = _mirror_permutation()
_MIRROR_SIGN = np.ones(N_CHANNELS, dtype=np.float32)
_MIRROR_SIGN[0 : 2 * N_JOINTS : 2] = -1.0
_MIRROR_SIGN[N_CHANNELS - 2] = -1.0


@dataclass(frozen=True, slots=True)
class FrameParts:
    """What is recorded of one person in one frame (NaN where missing)."""

    timestamp_ms: int
    landmarks: FloatArray  # 33 x 3 normalised landmarks (classifier.normalized_landmarks)
    angles_deg: FloatArray  # 8, in ANGLE_NAMES order
    hip: FloatArray  # 2, hip centre in torso lengths (pixel-true)


def frame_parts(f: PoseFeatures) -> FrameParts:
    """The recorded parts of one pose's features."""
    a = f.angles
    angles = np.array([getattr(a, name) for name in ANGLE_NAMES], dtype=np.float32)
    hip = np.asarray(f.hip_center_px / f.scale_px, dtype=np.float32)
    return FrameParts(f.timestamp_ms, normalized_landmarks(f), angles, hip)


def frame_vector(parts: FrameParts) -> FloatArray:
    """The N_CHANNELS channels of one frame."""
    xy = parts.landmarks[list(BODY_JOINTS), :2].reshape(-1)
    return np.concatenate([xy, parts.angles_deg / 180.0, parts.hip]).astype(np.float32)


def mirror_vectors(vectors: FloatArray) -> FloatArray:
    """Frame vectors (T x N_CHANNELS) of the same motion done by the mirror image of the person."""
    return np.asarray(vectors[:, _MIRROR_PERM] * _MIRROR_SIGN, dtype=np.float32)


def _nan_stat(values: FloatArray, fn: str) -> FloatArray:
    """Column mean or std ignoring NaN; NaN for an all-NaN column (without numpy's warning)."""
    valid = ~np.isnan(values)
    n = valid.sum(axis=0)
    filled = np.where(valid, values, 0.0)
    mean = filled.sum(axis=0) / np.maximum(n, 1)
    if fn == "mean":
        out = mean
    else:
        out = np.sqrt(np.where(valid, (values - mean) ** 2, 0.0).sum(axis=0) / np.maximum(n, 1))
    return np.where(n > 0, out, np.nan).astype(np.float32)


def window_features(timestamps_ms: Sequence[int], vectors: FloatArray) -> FloatArray:
    """The N_FEATURES features of a window of frames (T x N_CHANNELS, T >= 2); NaN where unknown."""
    v = np.asarray(vectors, dtype=np.float32).copy()
    # Only the hips' motion counts: their position is centred on the window.
    v[:, HIP_CHANNELS] -= _nan_stat(v[:, HIP_CHANNELS], "mean")
    t_s = np.asarray(timestamps_ms, dtype=np.float64) / 1000.0
    dt = np.diff(t_s)[:, None]
    velocity = (np.diff(v, axis=0) / np.where(dt > 0, dt, np.nan)).astype(np.float32)
    return np.concatenate(
        [
            _nan_stat(v, "mean"),
            _nan_stat(v, "std"),
            _nan_stat(np.abs(velocity), "mean"),
            _nan_stat(velocity, "std"),
        ]
    )


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


@dataclass(frozen=True, slots=True)
class ActionModel:
    """Softmax regression over standardised window features."""

    window_ms: int
    classes: tuple[str, ...]
    feature_mean: FloatArray  # N_FEATURES
    feature_std: FloatArray  # N_FEATURES
    weights: FloatArray  # N_FEATURES x classes
    bias: FloatArray  # classes

    def probabilities(self, features: FloatArray) -> dict[str, float]:
        """Class probabilities of one window's features."""
        x = (features - self.feature_mean) / self.feature_std
        x = np.where(np.isnan(x), 0.0, x)  # unknown = the training mean
        p = _softmax(x @ self.weights + self.bias)
        return {c: float(v) for c, v in zip(self.classes, p, strict=True)}

    def to_json(self) -> dict[str, Any]:
        """The model file's content."""

        def rounded(a: FloatArray) -> list[Any]:
            return np.round(a.astype(np.float64), 6).tolist()  # type: ignore[no-any-return]

        return {
            "format": FORMAT,
            "v": 1,
            "window_ms": self.window_ms,
            "channels": N_CHANNELS,
            "classes": list(self.classes),
            "feature_mean": rounded(self.feature_mean),
            "feature_std": rounded(self.feature_std),
            "weights": rounded(self.weights),
            "bias": rounded(self.bias),
        }


def train_actions(
    windows: Sequence[tuple[str, FloatArray]],
    window_ms: int,
    l2: float = 1e-3,
    iterations: int = 400,
    learning_rate: float = 0.5,
) -> ActionModel:
    """A model from (label, window features) pairs, by full-batch gradient descent."""
    if not windows:
        raise ValueError("no windows")
    classes = tuple(sorted({label for label, _ in windows}))
    x = np.stack([f for _, f in windows]).astype(np.float64)
    y = np.array([classes.index(label) for label, _ in windows])
    mean = np.nanmean(np.where(np.isnan(x).all(axis=0), 0.0, x), axis=0)
    std = np.nanstd(np.where(np.isnan(x).all(axis=0), 0.0, x), axis=0)
    std = np.maximum(std, 1e-3)  # a constant feature must not blow up at run time
    xs = np.where(np.isnan(x), 0.0, (x - mean) / std)
    onehot = np.eye(len(classes))[y]
    w = np.zeros((xs.shape[1], len(classes)))
    b = np.zeros(len(classes))
    n = len(xs)
    for _ in range(iterations):
        grad = (_softmax(xs @ w + b) - onehot) / n
        w -= learning_rate * (xs.T @ grad + l2 * w)
        b -= learning_rate * grad.sum(axis=0)
    f32 = np.float32
    return ActionModel(window_ms, classes, mean.astype(f32), std.astype(f32), w.astype(f32), b.astype(f32))


def model_from_json(data: dict[str, Any]) -> ActionModel:
    """A model from the file's parsed content; ValueError if it is not one."""
    if data.get("format") != FORMAT or data.get("v") != 1:
        raise ValueError(f"not an {FORMAT} v1 file")
    if data.get("channels") != N_CHANNELS:
        raise ValueError(f"made for {data.get('channels')} channels per frame, this version has {N_CHANNELS}")
    classes = tuple(str(c) for c in data["classes"])
    window_ms = int(data["window_ms"])
    mean = np.asarray(data["feature_mean"], dtype=np.float32)
    std = np.asarray(data["feature_std"], dtype=np.float32)
    weights = np.asarray(data["weights"], dtype=np.float32)
    bias = np.asarray(data["bias"], dtype=np.float32)
    if len(classes) < 2 or window_ms <= 0:
        raise ValueError("needs at least two classes and a positive window_ms")
    if mean.shape != (N_FEATURES,) or std.shape != (N_FEATURES,) or not np.all(std > 0):
        raise ValueError(f"feature_mean and feature_std must be {N_FEATURES} numbers (std > 0)")
    if weights.shape != (N_FEATURES, len(classes)) or bias.shape != (len(classes),):
        raise ValueError("weights and bias do not match the classes")
    if not all(math.isfinite(float(v)) for v in np.concatenate([weights.ravel(), bias, mean])):
        raise ValueError("weights must be finite numbers")
    return ActionModel(window_ms, classes, mean, std, weights, bias)


def load_action_model(path: Path) -> ActionModel:
    """Read the action model file; ConfigError (exit 78) naming the key when missing or malformed."""
    try:
        return model_from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"activity.actions.path {path}: {exc}") from exc


def cut_windows(frames: Sequence[FrameParts], window_ms: int, hop_ms: int) -> list[list[FrameParts]]:
    """Windows of one person's frames (in time order): `window_ms` long, starting every `hop_ms`.

    A window is kept when its frames span at least 80 % of `window_ms` (a gap in tracking makes
    a shorter one, which would teach wrong speeds).
    """
    out: list[list[FrameParts]] = []
    if not frames:
        return out
    start = frames[0].timestamp_ms
    last = frames[-1].timestamp_ms
    while start + window_ms <= last + 1:
        window = [p for p in frames if start <= p.timestamp_ms < start + window_ms]
        if len(window) >= 2 and window[-1].timestamp_ms - window[0].timestamp_ms >= 0.8 * window_ms:
            out.append(window)
        start += hop_ms
    return out


def parts_features(window: Sequence[FrameParts], mirrored: bool = False) -> FloatArray:
    """The window features of recorded frames (of the person's mirror image if `mirrored`)."""
    vectors = np.stack([frame_vector(p) for p in window])
    if mirrored:
        vectors = mirror_vectors(vectors)
    return window_features([p.timestamp_ms for p in window], vectors)
