"""The bundled posture/gesture model: a small neural network over real people's 2D poses.

Trained on real people (models/activity_poses.json, see models/README.md) with side-free labels:
a posture, or standing with a static arm gesture. A pose is described from its 13 body joints in
the image plane only (depth is never used, so 2D poses, z = 0 and COCO-17 poses are alike): the
torso direction, joint positions from the hips in torso lengths (as seen and turned so that the
torso points up), limb lengths, joint angles, thigh/shin length ratios (a thigh seen end-on looks
short when sitting facing the camera), wrist heights over the shoulders and the nose, and which
joints are missing. A one-hidden-layer network (ReLU, softmax) scores the labels; the query is
also scored mirrored (facing or turning away from the camera swaps the image sides) and the two
are averaged. For one raised arm the side is the person's own arm whose wrist is higher above its
shoulder; a raised-arm label needs that wrist above the shoulder.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from edgepose.activity.base import nanmin
from edgepose.activity.features import BoolArray, PoseFeatures
from edgepose.activity.gestures import static_gesture
from edgepose.activity.posture import classify_posture
from edgepose.config.activity import ActivityConfig
from edgepose.errors import ConfigError
from edgepose.skeleton import PoseLandmark as L
from edgepose.types import FloatArray, Posture

FORMAT: Final = "edgepose-activity-poses"
VERSION: Final = 2
MODEL_FILE: Final = "activity_poses.json"
#: The model's labels, in output order.
LABELS: Final = (
    "standing",
    "arm_raised",
    "t_pose",
    "both_hands_up",
    "sitting",
    "squatting",
    "lying",
    "lunge",
)
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
#: The 13 body joints the description uses (indices below are into this tuple).
JOINTS: Final = np.array(
    [
        L.NOSE, L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST,
        L.RIGHT_WRIST, L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE,
    ],
    dtype=np.intp,
)  # fmt: skip
_NO, _LS, _RS, _LE, _RE, _LW, _RW, _LH, _RH, _LK, _RK, _LA, _RA = range(13)
_SEGMENTS: Final = (
    (_LS, _LE),
    (_RS, _RE),
    (_LE, _LW),
    (_RE, _RW),
    (_LH, _LK),
    (_RH, _RK),
    (_LK, _LA),
    (_RK, _RA),
)
_ANGLES: Final = (
    (_LH, _LK, _LA), (_RH, _RK, _RA), (_LS, _LH, _LK), (_RS, _RH, _RK),
    (_LS, _LE, _LW), (_RS, _RE, _RW), (_LH, _LS, _LE), (_RH, _RS, _RE),
)  # fmt: skip
_SEG_FROM: Final = np.array([a for a, _ in _SEGMENTS], dtype=np.intp)
_SEG_TO: Final = np.array([b for _, b in _SEGMENTS], dtype=np.intp)
_ANG_A, _ANG_B, _ANG_C = (np.array(col, dtype=np.intp) for col in zip(*_ANGLES, strict=True))
#: Fewer body joints than this (of 13) and the model abstains.
MIN_JOINTS: Final = 7
NUM_FEATURES: Final = 2 + 26 + 26 + 8 + 8 + 2 + 4 + 2 + 13


@dataclass(frozen=True, slots=True)
class PosePrediction:
    """What the model sees in one frame."""

    label: str | None  # None: too few landmarks to say
    probability: float  # of the label (mean of the plain and mirrored scores)
    posture: Posture
    gesture: str | None


def describe(points_px: FloatArray) -> tuple[FloatArray, BoolArray]:
    """N x 33 x 2 image points (y down, NaN where missing) -> (N x NUM_FEATURES, N usable).

    Missing values become 0 and are flagged in the last 13 columns. A pose is usable when its
    torso has a length and at least MIN_JOINTS body joints are found.
    """
    p = points_px[:, JOINTS, :].astype(np.float64) * np.array([1.0, -1.0])  # y up
    n = len(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        hip = _nanmean2(p[:, _LH], p[:, _RH])
        torso_vec = _nanmean2(p[:, _LS], p[:, _RS]) - hip
        torso = np.linalg.norm(torso_vec, axis=1)
        torso = np.where(torso > 0.0, torso, np.nan)
        q = (p - hip[:, None, :]) / torso[:, None, None]  # hip origin, torso lengths
        up = torso_vec / torso[:, None]
        cos, sin = up[:, 1:2], up[:, 0:1]
        turned = np.stack([cos * q[..., 0] - sin * q[..., 1], sin * q[..., 0] + cos * q[..., 1]], -1)
        seg_len = np.sqrt(((q[:, _SEG_TO] - q[:, _SEG_FROM]) ** 2).sum(axis=2))
        u = q[:, _ANG_A] - q[:, _ANG_B]
        v = q[:, _ANG_C] - q[:, _ANG_B]
        cos_uv = (u * v).sum(axis=2) / np.sqrt((u * u).sum(axis=2) * (v * v).sum(axis=2))
        angles = np.arccos(np.clip(cos_uv, -1.0, 1.0)) / np.pi  # share of 180 degrees
        thigh_shin = np.log(np.clip(seg_len[:, 4:6] / seg_len[:, 6:8], 0.1, 10.0))
    wrists = np.stack(
        [
            q[:, _LW, 1] - q[:, _LS, 1],
            q[:, _RW, 1] - q[:, _RS, 1],
            q[:, _LW, 1] - q[:, _NO, 1],
            q[:, _RW, 1] - q[:, _NO, 1],
        ],
        1,
    )
    wrists_turned = np.stack(
        [turned[:, _LW, 1] - turned[:, _LS, 1], turned[:, _RW, 1] - turned[:, _RS, 1]], 1
    )
    x = np.concatenate(
        [up, q.reshape(n, -1), turned.reshape(n, -1), seg_len, angles, thigh_shin, wrists, wrists_turned], 1
    )
    missing = np.isnan(p[..., 0])
    usable = np.isfinite(torso) & ((~missing).sum(1) >= MIN_JOINTS)
    return np.concatenate([np.nan_to_num(x, nan=0.0), missing], 1).astype(np.float32), usable


def _nanmean2(a: FloatArray, b: FloatArray) -> FloatArray:
    """Element-wise mean of two point arrays, the one present where the other is missing."""
    return np.where(np.isnan(a), b, np.where(np.isnan(b), a, (a + b) / 2.0))


def mirrored(points_px: FloatArray) -> FloatArray:
    """The points seen mirrored (x negated; joint names kept: the person's own sides)."""
    out = points_px.copy()
    out[..., 0] = -out[..., 0]
    return out


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


@dataclass(frozen=True, slots=True)
class PoseModel:
    """Feature standardisation and the network's weights."""

    mean: FloatArray  # NUM_FEATURES
    scale: FloatArray  # NUM_FEATURES
    w1: FloatArray  # NUM_FEATURES x H
    b1: FloatArray  # H
    w2: FloatArray  # H x len(LABELS)
    b2: FloatArray  # len(LABELS)

    def probabilities(self, x: FloatArray) -> FloatArray:
        """N x NUM_FEATURES described poses -> N x len(LABELS) label probabilities."""
        h = np.maximum(((x - self.mean) / self.scale) @ self.w1 + self.b1, 0.0)
        o = h @ self.w2 + self.b2
        e = np.exp(o - o.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def scores(self, points_px: FloatArray) -> FloatArray | None:
        """Label probabilities of one 33 x 2 pose (plain and mirrored averaged); None if unusable."""
        x, usable = describe(np.stack([points_px, mirrored(points_px)]))
        if not usable[0]:
            return None
        return np.asarray(self.probabilities(x).mean(axis=0))

    def predict(self, f: PoseFeatures) -> PosePrediction:
        """The posture and static gesture of one frame's pose."""
        probs = self.scores(f.points_px)
        if probs is None:
            return PosePrediction(None, 0.0, Posture.UNKNOWN, None)
        i = int(np.argmax(probs))
        label = LABELS[i]
        gesture = LABEL_GESTURE[label]
        if gesture == "arm_raised":
            gesture = raised_side(f)
        return PosePrediction(label, float(probs[i]), LABEL_POSTURE[label], gesture)

    def to_json(self, about: dict[str, Any]) -> dict[str, Any]:
        """The model file's content (`about`: source and licence of the training data)."""
        return {
            "format": FORMAT,
            "v": VERSION,
            "about": about,
            "labels": list(LABELS),
            **{k: np.round(getattr(self, k).astype(np.float64), 6).tolist() for k in _ARRAYS},
        }


_ARRAYS: Final = ("mean", "scale", "w1", "b1", "w2", "b2")


def load_pose_model(path: Path) -> PoseModel:
    """Read the model file; ConfigError (exit 78) when missing, malformed or of other labels."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("v") != VERSION:
            raise ValueError(f"not an {FORMAT} v{VERSION} file")
        if tuple(data["labels"]) != LABELS:
            raise ValueError(f"labels {data['labels']} are not {list(LABELS)}")
        arrays = {k: np.array(data[k], dtype=np.float32) for k in _ARRAYS}
        model = PoseModel(**arrays)
        hidden = model.b1.shape[0]
        shapes = {
            "mean": (NUM_FEATURES,), "scale": (NUM_FEATURES,), "w1": (NUM_FEATURES, hidden),
            "b1": (hidden,), "w2": (hidden, len(LABELS)), "b2": (len(LABELS),),
        }  # fmt: skip
        for k, shape in shapes.items():
            if arrays[k].shape != shape:
                raise ValueError(f"{k} has shape {arrays[k].shape}, not {shape}")
        return model
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"activity.pose_model.path {path}: {exc}") from exc


#: Sitting or squatting from the model needs at least this probability (see `decide`).
SEAT_MIN_PROBABILITY: Final = 0.5


def decide(
    f: PoseFeatures, model: PoseModel | None, config: ActivityConfig, hip_speed: float = 0.0
) -> tuple[Posture, str | None]:
    """A frame's posture and static gesture: the model's, with the rules where they are better.

    The rules decide alone without a model or when it cannot say (too few landmarks). The rule's
    lying (world landmarks turned by camera_tilt_deg) wins when `rules_for_lying`; the rule's
    both_hands_up (both wrists above the nose, elbows fairly straight) wins over a model's
    one-arm label, because the model learnt it from arms held straight up only. Sitting or
    squatting needs a bent knee or hip (below standing_knee_min_deg / standing_hip_min_deg: legs
    stretched out on the floor keep the knees straight) and SEAT_MIN_PROBABILITY, else the
    rule's posture stands (walkers mid-stride seen from above looked seated). The rule's posture
    also stands when no knee angle is known and when the model says lunge (walkers mid-stride).
    Sitting while the hips travel faster than sitting_max_hip_speed (`hip_speed`, torso sizes per
    second; 0 for a single frame) is unknown: a seated person's hips stay put.
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
    if p.label == "lunge" or (math.isnan(a.knee_left) and math.isnan(a.knee_right)):
        posture = rule_posture  # a stride looks like Warrior II; no knee: the legs are not seen
    bent = (
        nanmin(a.knee_left, a.knee_right) < config.posture.standing_knee_min_deg
        or nanmin(a.hip_left, a.hip_right) < config.posture.standing_hip_min_deg
    )
    if posture in (Posture.SITTING, Posture.SQUATTING) and not (
        bent and p.probability >= SEAT_MIN_PROBABILITY
    ):
        posture = rule_posture  # straight legs or an unsure model: a stride, not a seat
    if posture is Posture.SITTING and hip_speed > config.pose_model.sitting_max_hip_speed:
        posture = Posture.UNKNOWN  # hips travelling: a walker seen from above, not a seat
    gesture = p.gesture
    if rule_gesture == "both_hands_up" and p.label == "arm_raised":
        gesture = rule_gesture
    return posture, gesture
