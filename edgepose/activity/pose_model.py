"""The bundled posture/gesture model: a k-NN over real people's 2D poses.

Trained on real people (models/activity_poses.json, see models/README.md) with side-free labels:
a posture, or standing with a static arm gesture. A pose is described by 13 image-plane vectors
in torso lengths (the torso's direction, the eight limb segments, wrists and ankles from the
hips), so depth is never used: 2D poses, z = 0 and COCO-17 poses are compared alike. The query
is also compared mirrored (facing or turning away from the camera swaps the image sides), and the
`k` nearest samples vote. For one raised arm the side is the person's own arm whose wrist is
higher above its shoulder; a raised-arm vote needs that wrist above the shoulder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from edgepose.activity.base import nanmin
from edgepose.activity.features import PoseFeatures
from edgepose.activity.gestures import static_gesture
from edgepose.activity.posture import classify_posture
from edgepose.config.activity import ActivityConfig
from edgepose.errors import ConfigError
from edgepose.skeleton import PoseLandmark as L
from edgepose.types import FloatArray, Posture

FORMAT: Final = "edgepose-activity-poses"
MODEL_FILE: Final = "activity_poses.json"
NUM_VECTORS: Final = 13
#: Fewer valid vector components than this (of 26) and the model abstains.
MIN_COMPONENTS: Final = 12
#: Model label -> posture.
LABEL_POSTURE: Final[dict[str, Posture]] = {
    "standing": Posture.STANDING,
    "arm_raised": Posture.STANDING,
    "t_pose": Posture.STANDING,
    "both_hands_up": Posture.STANDING,
    "sitting": Posture.SITTING,
    "squatting": Posture.SQUATTING,
    "lying": Posture.LYING,
    "lunge": Posture.UNKNOWN,
}
#: Model label -> static gesture (arm_raised gets its side from the pose).
LABEL_GESTURE: Final[dict[str, str | None]] = {
    "standing": None,
    "arm_raised": "arm_raised",
    "t_pose": "t_pose",
    "both_hands_up": "both_hands_up",
    "sitting": None,
    "squatting": None,
    "lying": None,
    "lunge": None,
}
_SEGMENTS: Final = (
    (L.LEFT_SHOULDER, L.LEFT_ELBOW),
    (L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    (L.LEFT_ELBOW, L.LEFT_WRIST),
    (L.RIGHT_ELBOW, L.RIGHT_WRIST),
    (L.LEFT_HIP, L.LEFT_KNEE),
    (L.RIGHT_HIP, L.RIGHT_KNEE),
    (L.LEFT_KNEE, L.LEFT_ANKLE),
    (L.RIGHT_KNEE, L.RIGHT_ANKLE),
)
_FROM = np.array([a for a, _ in _SEGMENTS], dtype=np.intp)
_TO = np.array([b for _, b in _SEGMENTS], dtype=np.intp)
_ENDS = np.array([L.LEFT_WRIST, L.RIGHT_WRIST, L.LEFT_ANKLE, L.RIGHT_ANKLE], dtype=np.intp)
_MIRROR = np.array([-1.0, 1.0], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class PosePrediction:
    """What the model sees in one frame."""

    label: str | None  # None: too few landmarks to say
    votes: int
    posture: Posture
    gesture: str | None


def pose_vectors(f: PoseFeatures) -> FloatArray:
    """The 13 x 2 description of a pose in torso lengths (NaN where a landmark is missing)."""
    torso_vec = f.shoulder_center_px - f.hip_center_px
    torso = float(np.linalg.norm(torso_vec))
    if not torso > 0.0:
        return np.full((NUM_VECTORS, 2), np.nan, dtype=np.float32)
    p = f.points_px
    rows = np.concatenate(
        [(torso_vec / torso)[None, :], (p[_TO] - p[_FROM]) / torso, (p[_ENDS] - f.hip_center_px) / torso]
    )
    return np.asarray(rows, dtype=np.float32)


def raised_side(f: PoseFeatures) -> str | None:
    """The person's arm whose wrist is higher above its own shoulder, if that wrist is above it."""
    p = f.points_px
    heights = {
        "left": float(p[L.LEFT_SHOULDER, 1] - p[L.LEFT_WRIST, 1]),
        "right": float(p[L.RIGHT_SHOULDER, 1] - p[L.RIGHT_WRIST, 1]),
    }
    known = {side: h for side, h in heights.items() if not math.isnan(h)}
    if not known:
        return None
    side = max(known, key=lambda s: known[s])
    return f"{side}_arm_raised" if known[side] > 0.0 else None


K_NEAREST = 5  # voters when training; a model file records its own k


@dataclass(frozen=True, slots=True)
class PoseModel:
    """Labelled pose vectors and the k-nearest vote."""

    labels: tuple[str, ...]
    vectors: FloatArray  # S x 13 x 2
    k: int = K_NEAREST

    def vote(self, query: FloatArray) -> tuple[str | None, int]:
        """The winning label among the k nearest samples (mirrored query too) and its votes."""
        if int(np.count_nonzero(~np.isnan(query))) < MIN_COMPONENTS or len(self.labels) == 0:
            return None, 0
        flat = self.vectors.reshape(len(self.labels), -1)
        best = np.full(len(self.labels), np.inf, dtype=np.float32)
        for q in (query, query * _MIRROR):
            diff = flat - q.reshape(1, -1)
            valid = ~np.isnan(diff)
            n = valid.sum(axis=1)
            sq = np.where(valid, diff * diff, 0.0).sum(axis=1)
            best = np.minimum(best, np.where(n >= MIN_COMPONENTS, sq / np.maximum(n, 1), np.inf))
        nearest = np.argsort(best, kind="stable")[: self.k]
        counts: dict[str, int] = {}
        for i in nearest:
            if np.isfinite(best[i]):
                counts[self.labels[i]] = counts.get(self.labels[i], 0) + 1
        if not counts:
            return None, 0
        label, votes = max(sorted(counts.items()), key=lambda kv: kv[1])
        return label, votes

    def predict(self, f: PoseFeatures) -> PosePrediction:
        """The posture and static gesture of one frame's pose."""
        label, votes = self.vote(pose_vectors(f))
        if label is None:
            return PosePrediction(None, 0, Posture.UNKNOWN, None)
        gesture = LABEL_GESTURE[label]
        if gesture == "arm_raised":
            gesture = raised_side(f)
        return PosePrediction(label, votes, LABEL_POSTURE[label], gesture)

    def to_json(self, about: dict[str, Any]) -> dict[str, Any]:
        """The model file's content (`about`: source and licence of the training data)."""
        rows = np.round(self.vectors.reshape(len(self.labels), -1).astype(np.float64), 3)
        return {
            "format": FORMAT,
            "v": 1,
            "about": about,
            "k": self.k,
            "labels": list(self.labels),
            "vectors": [[None if math.isnan(v) else v for v in row] for row in rows.tolist()],
        }


def train_pose_model(labels: Sequence[str], vectors: Sequence[FloatArray], k: int = K_NEAREST) -> PoseModel:
    """A model from labelled pose vectors (13 x 2 each)."""
    unknown = set(labels) - set(LABEL_POSTURE)
    if unknown:
        raise ValueError(f"unknown labels {sorted(unknown)}")
    return PoseModel(tuple(labels), np.stack(list(vectors)).astype(np.float32), k)


def load_pose_model(path: Path) -> PoseModel:
    """Read the model file; ConfigError (exit 78) when missing, malformed or with unknown labels."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("v") != 1:
            raise ValueError(f"not an {FORMAT} v1 file")
        rows = [[math.nan if v is None else float(v) for v in row] for row in data["vectors"]]
        vectors = np.array(rows, dtype=np.float32).reshape(len(rows), NUM_VECTORS, 2)
        return train_pose_model([str(x) for x in data["labels"]], list(vectors), int(data["k"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"activity.pose_model.path {path}: {exc}") from exc


def decide(f: PoseFeatures, model: PoseModel | None, config: ActivityConfig) -> tuple[Posture, str | None]:
    """A frame's posture and static gesture: the model's, with the rules where they are better.

    The rules decide alone without a model or when it cannot say (too few landmarks). The rule's
    lying (world landmarks turned by camera_tilt_deg) wins when `rules_for_lying`; the rule's
    both_hands_up (both wrists above the nose, elbows fairly straight) wins over a model's
    one-arm vote, because the model learnt it from arms held straight up only. Sitting or
    squatting needs a bent knee (below standing_knee_min_deg) and all but one of the k votes,
    else the rule's posture stands (walkers mid-stride seen from above looked seated).
    """
    rule_posture = classify_posture(f, config.posture)
    rule_gesture = static_gesture(f, config.gestures)
    if model is None:
        return rule_posture, rule_gesture
    p = model.predict(f)
    if p.label is None:
        return rule_posture, rule_gesture
    if config.pose_model.rules_for_lying and rule_posture is Posture.LYING:
        return Posture.LYING, None
    posture = p.posture
    a = f.angles
    if posture in (Posture.SITTING, Posture.SQUATTING) and not (
        nanmin(a.knee_left, a.knee_right) < config.posture.standing_knee_min_deg and p.votes >= model.k - 1
    ):
        posture = rule_posture  # no bent knee or a split vote: a stride, not a seat
    gesture = p.gesture
    if rule_gesture == "both_hands_up" and p.label == "arm_raised":
        gesture = rule_gesture
    return posture, gesture
