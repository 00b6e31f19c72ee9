"""Custom poses without code: a k-NN pose classifier in the manner of MediaPipe's pose classification.

A sample is a pose's landmarks centred on the hips and divided by the pose size (MediaPipe's
max(torso * 2.5, farthest landmark)); its embedding is 23 difference vectors between joints
(bones, two- to five-joint spans, and across the body), so it works from BlazePose-33 and from
COCO-17 alike. Classification keeps the `top_n_by_max_distance` samples nearest by the largest
per-axis difference (robust to one wrong joint), then lets the `top_n_by_mean_distance` nearest by
mean difference vote; the query is also compared mirrored. Votes are EMA-smoothed per track and
drive a class-change event and MediaPipe's enter/exit repetition counter.

Missing landmarks are NaN and are left out of the distances. The file is read once, when the
engine is built (`load_classifier`); classification itself is pure.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgepose.activity.features import TORSO_SIZE_MULTIPLIER, PoseFeatures
from edgepose.config.activity import TOP_N_BY_MAX_DISTANCE, TOP_N_BY_MEAN_DISTANCE
from edgepose.errors import ConfigError
from edgepose.skeleton import PoseLandmark as L
from edgepose.types import FloatArray

FORMAT = "edgepose-pose-classifier"
AXES_WEIGHTS = np.array([1.0, 1.0, 0.2], dtype=np.float32)  # z of 2D models is unreliable

_PAIRS: tuple[tuple[int, int], ...] = (
    (L.LEFT_SHOULDER, L.LEFT_ELBOW),
    (L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    (L.LEFT_ELBOW, L.LEFT_WRIST),
    (L.RIGHT_ELBOW, L.RIGHT_WRIST),
    (L.LEFT_HIP, L.LEFT_KNEE),
    (L.RIGHT_HIP, L.RIGHT_KNEE),
    (L.LEFT_KNEE, L.LEFT_ANKLE),
    (L.RIGHT_KNEE, L.RIGHT_ANKLE),
    (L.LEFT_SHOULDER, L.LEFT_WRIST),
    (L.RIGHT_SHOULDER, L.RIGHT_WRIST),
    (L.LEFT_HIP, L.LEFT_ANKLE),
    (L.RIGHT_HIP, L.RIGHT_ANKLE),
    (L.LEFT_HIP, L.LEFT_WRIST),
    (L.RIGHT_HIP, L.RIGHT_WRIST),
    (L.LEFT_SHOULDER, L.LEFT_ANKLE),
    (L.RIGHT_SHOULDER, L.RIGHT_ANKLE),
    (L.LEFT_HIP, L.LEFT_WRIST),
    (L.RIGHT_HIP, L.RIGHT_WRIST),
    (L.LEFT_ELBOW, L.RIGHT_ELBOW),
    (L.LEFT_KNEE, L.RIGHT_KNEE),
    (L.LEFT_WRIST, L.RIGHT_WRIST),
    (L.LEFT_ANKLE, L.RIGHT_ANKLE),
)
_FROM = np.array([a for a, _ in _PAIRS], dtype=np.intp)
_TO = np.array([b for _, b in _PAIRS], dtype=np.intp)


def normalized_landmarks(f: PoseFeatures) -> FloatArray:
    """33 x 3 (x, y, z on the pixel scale) centred on the hips, divided by the pose size; NaN if missing."""
    pts = np.concatenate([f.points_px, f.depth_px[:, None]], axis=1)
    hips = (pts[L.LEFT_HIP] + pts[L.RIGHT_HIP]) / 2.0
    shoulders = (pts[L.LEFT_SHOULDER] + pts[L.RIGHT_SHOULDER]) / 2.0
    torso = float(np.linalg.norm((shoulders - hips)[:2]))
    if not f.visible.any() or np.isnan(hips[0]):
        return np.full((33, 3), np.nan, dtype=np.float32)
    spread = float(np.nanmax(np.linalg.norm(pts[:, :2] - hips[:2], axis=1)))
    size = max(torso * TORSO_SIZE_MULTIPLIER, spread)
    if not size > 0.0:
        return np.full((33, 3), np.nan, dtype=np.float32)
    return np.asarray((pts - hips) / size, dtype=np.float32)


def embed(norm: FloatArray) -> FloatArray:
    """The 23 x 3 distance embedding of normalised landmarks (NaN where a joint is missing)."""
    hips = (norm[L.LEFT_HIP] + norm[L.RIGHT_HIP]) / 2.0
    shoulders = (norm[L.LEFT_SHOULDER] + norm[L.RIGHT_SHOULDER]) / 2.0
    bones = norm[_TO] - norm[_FROM]
    return np.concatenate([(shoulders - hips)[None, :], bones], axis=0).astype(np.float32)


def _distances(samples: FloatArray, query: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per-sample max and mean weighted absolute difference, ignoring NaN components."""
    diff = np.abs(samples - query[None]) * AXES_WEIGHTS
    valid = ~np.isnan(diff)
    filled = np.where(valid, diff, 0.0)
    n = valid.reshape(len(samples), -1).sum(axis=1)
    flat = filled.reshape(len(samples), -1)
    max_d = np.where(n > 0, flat.max(axis=1), np.inf)
    mean_d = np.where(n > 0, flat.sum(axis=1) / np.maximum(n, 1), np.inf)
    return max_d.astype(np.float32), mean_d.astype(np.float32)


@dataclass(frozen=True, slots=True)
class KnnPoseClassifier:
    """Labelled embeddings and the two-stage nearest-neighbour vote."""

    labels: tuple[str, ...]
    embeddings: FloatArray  # S x 23 x 3
    top_n_by_max_distance: int = TOP_N_BY_MAX_DISTANCE
    top_n_by_mean_distance: int = TOP_N_BY_MEAN_DISTANCE

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names, sorted."""
        return tuple(sorted(set(self.labels)))

    def classify(self, norm: FloatArray) -> dict[str, int]:
        """Votes per class among the nearest samples (sum = top_n_by_mean_distance at most)."""
        if len(self.labels) == 0 or np.all(np.isnan(norm)):
            return {}
        mirrored = norm * np.array([-1.0, 1.0, 1.0], dtype=np.float32)
        e, em = embed(norm), embed(mirrored)
        max_a, mean_a = _distances(self.embeddings, e)
        max_b, mean_b = _distances(self.embeddings, em)
        by_max = np.minimum(max_a, max_b)
        keep = np.argsort(by_max, kind="stable")[: self.top_n_by_max_distance]
        by_mean = np.minimum(mean_a, mean_b)[keep]
        nearest = keep[np.argsort(by_mean, kind="stable")[: self.top_n_by_mean_distance]]
        votes: dict[str, int] = {}
        for i in nearest:
            if np.isfinite(by_max[i]):
                votes[self.labels[i]] = votes.get(self.labels[i], 0) + 1
        return votes

    def to_json(self) -> dict[str, Any]:
        """The classifier file's content."""
        return {
            "format": FORMAT,
            "v": 1,
            "classes": list(self.classes),
            "samples": [
                {"label": label, "embedding": _nan_to_none(emb.tolist())}
                for label, emb in zip(self.labels, self.embeddings, strict=True)
            ],
        }


def _nan_to_none(rows: list[list[float]]) -> list[list[float | None]]:
    return [[None if math.isnan(v) else round(v, 5) for v in row] for row in rows]


def _none_to_nan(rows: Sequence[Sequence[float | None]]) -> list[list[float]]:
    return [[math.nan if v is None else float(v) for v in row] for row in rows]


def train(samples: Sequence[tuple[str, FloatArray]]) -> KnnPoseClassifier:
    """A classifier from (label, normalised landmarks 33 x 3) samples."""
    if not samples:
        raise ValueError("no samples")
    labels = tuple(label for label, _ in samples)
    embeddings = np.stack([embed(norm) for _, norm in samples]).astype(np.float32)
    return KnnPoseClassifier(labels, embeddings)


def classifier_from_json(
    data: dict[str, Any],
    top_n_by_max: int = TOP_N_BY_MAX_DISTANCE,
    top_n_by_mean: int = TOP_N_BY_MEAN_DISTANCE,
) -> KnnPoseClassifier:
    """A classifier from the file's parsed content; ValueError if it is not one."""
    if data.get("format") != FORMAT or data.get("v") != 1:
        raise ValueError(f"not an {FORMAT} v1 file")
    rows = data["samples"]
    labels = tuple(str(r["label"]) for r in rows)
    emb = np.array([_none_to_nan(r["embedding"]) for r in rows], dtype=np.float32).reshape(len(rows), 23, 3)
    return KnnPoseClassifier(labels, emb, top_n_by_max, top_n_by_mean)


def load_classifier(
    path: Path, top_n_by_max: int = TOP_N_BY_MAX_DISTANCE, top_n_by_mean: int = TOP_N_BY_MEAN_DISTANCE
) -> KnnPoseClassifier:
    """Read classifier.json; ConfigError (exit 78) when missing or malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return classifier_from_json(data, top_n_by_max, top_n_by_mean)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"activity.classifier.path {path}: {exc}") from exc


@dataclass(slots=True)
class EmaSmoothing:
    """Exponential moving average of vote dictionaries over a window (MediaPipe's EMADictSmoothing)."""

    window: int  # the defaults live in the config (ClassifierConfig), not here
    alpha: float
    _history: deque[dict[str, int]] = field(default_factory=deque)

    def __call__(self, votes: dict[str, int]) -> dict[str, float]:
        """The smoothed votes including this frame's."""
        self._history.appendleft(votes)
        while len(self._history) > self.window:
            self._history.pop()
        keys = {k for d in self._history for k in d}
        out: dict[str, float] = {}
        for key in keys:
            num = den = 0.0
            factor = 1.0
            for d in self._history:
                num += factor * d.get(key, 0)
                den += factor
                factor *= 1.0 - self.alpha
            out[key] = num / den
        return out


@dataclass(slots=True)
class ClassRepetitionCounter:
    """Counts entries into a class and exits from it (MediaPipe's RepetitionCounter)."""

    class_name: str
    enter_threshold: float = 6.0
    exit_threshold: float = 4.0
    count: int = 0
    entered: bool = False
    entered_ms: int = 0

    def update(self, smoothed: dict[str, float], t: int) -> int | None:
        """Feed smoothed votes; the rep's duration in ms when one completes."""
        confidence = smoothed.get(self.class_name, 0.0)
        if not self.entered:
            if confidence > self.enter_threshold:
                self.entered = True
                self.entered_ms = t
            return None
        if confidence < self.exit_threshold:
            self.entered = False
            self.count += 1
            return t - self.entered_ms
        return None
