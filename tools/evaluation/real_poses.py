"""Posture and gesture truth for the pose-classification-kit classes, features, and block-wise CV.

Every dataset class has a posture truth (or none, for Warrior II, a lunge) and a gesture truth
(the four gesture classes; every other class is "no gesture"). Cross-validation splits each class
file (development part) into contiguous blocks and leaves `gap` samples out of training on each
side of the test block, so near-identical neighbouring frames never sit in train and test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from edgepose.activity.features import PoseFeatures, compute_features
from edgepose.activity.pose_model import LABEL_GESTURE, LABEL_POSTURE, LABELS, PoseModel, describe, mirrored
from edgepose.skeleton import PoseLandmark as L
from edgepose.skeleton import SkeletonKind
from edgepose.types import FloatArray, PoseResult
from tools.evaluation.body25 import to_pose
from tools.evaluation.datasets import BodySamples
from tools.evaluation.pose_training import AUGMENTED_COPIES, SEEDS, augment, merge, train_network

IntArray = npt.NDArray[np.intp]
#: FOLDS blocks per class, GAP samples each side of a test block kept out of training.
FOLDS: Final = 5
GAP: Final = 10

#: The model label each dataset class is trained as (posture + static gesture, side-free).
MODEL_LABEL: Final[dict[str, str]] = {
    "Stand": "standing",
    "MilitarySalute": "standing",
    "Traffic_AllStop": "standing",
    "Traffic_BackFrontStop": "standing",
    "Traffic_BackStop": "standing",
    "Traffic_FrontStop": "standing",
    "Traffic_LeftTurn": "standing",
    "Traffic_RightTurn": "standing",
    "Yoga_Tree_left": "standing",
    "Yoga_Tree_right": "standing",
    "Stand_LeftArmRaised": "arm_raised",
    "Stand_RightArmRaised": "arm_raised",
    "T": "t_pose",
    "Yoga_UpwardSalute": "both_hands_up",
    "Seated": "sitting",
    "Squat": "squatting",
    "Plank": "lying",
    "PushUp_Low": "lying",
    "Yoga_Warrior2_left": "lunge",
    "Yoga_Warrior2_right": "lunge",
}
#: The posture each class must get (Warrior II, a deep lunge, has none and is only reported).
POSTURE_TRUTH: Final[dict[str, str]] = {
    c: LABEL_POSTURE[label].value for c, label in MODEL_LABEL.items() if label != "lunge"
}
#: The gesture each class must fire ("none": any gesture on it is a false gesture).
GESTURE_TRUTH: Final[dict[str, str]] = {
    c: {"Stand_LeftArmRaised": "left_arm_raised", "Stand_RightArmRaised": "right_arm_raised"}.get(
        c, LABEL_GESTURE[label] or "none"
    )
    for c, label in MODEL_LABEL.items()
}


@dataclass(frozen=True, slots=True)
class ClassFeatures:
    """Per-sample features of one class (development part), in file order; None where unusable."""

    label: str
    features: tuple[PoseFeatures, ...]
    described: FloatArray  # N x NUM_FEATURES, the pose model's description (2D only)
    described_mirrored: FloatArray  # the same, of the mirrored poses
    usable: npt.NDArray[np.bool_]  # N, the model can describe the pose


def features_of(samples: BodySamples, *, world: bool = False, coco17: bool = False) -> ClassFeatures:
    """Features of every sample as the engine computes them (640x480 frame, z = 0)."""
    skeleton = SkeletonKind.COCO_17 if coco17 else SkeletonKind.BLAZEPOSE_33
    feats = []
    for k in samples.keypoints:
        pose = to_pose(k, world=world and not coco17, skeleton=skeleton)
        feats.append(compute_features(pose, 0, 640, 480))
    points = np.stack([f.points_px for f in feats])
    described, usable = describe(points)
    return ClassFeatures(samples.label, tuple(feats), described, describe(mirrored(points))[0], usable)


def block_folds(n: int, folds: int, gap: int) -> Iterator[tuple[IntArray, IntArray]]:
    """(train, test) index arrays: contiguous test blocks, `gap` samples each side kept out of train."""
    edges = np.linspace(0, n, folds + 1).astype(int)
    idx = np.arange(n)
    for k in range(folds):
        lo, hi = int(edges[k]), int(edges[k + 1])
        test = idx[lo:hi]
        train = idx[(idx < lo - gap) | (idx >= hi + gap)]
        yield train, test


def train_on(data: Mapping[str, ClassFeatures], indices: Mapping[str, IntArray]) -> PoseModel:
    """A pose model from the given samples of each class (usable ones, plain, mirrored, distorted).

    SEEDS networks, each on its own distorted copies, merged into one (pose_training.merge).
    """
    plain_x: list[FloatArray] = []
    plain_y: list[IntArray] = []
    for c, cf in data.items():
        chosen = indices[c][cf.usable[indices[c]]]
        for described in (cf.described, cf.described_mirrored):
            plain_x.append(described[chosen])
            plain_y.append(np.full(len(chosen), LABELS.index(MODEL_LABEL[c]), dtype=np.intp))
    x0 = np.concatenate(plain_x)
    standardise = (x0.mean(axis=0), x0.std(axis=0) + 1e-6)
    models = []
    for seed in range(SEEDS):
        rng = np.random.default_rng(1000 + seed)
        xs, ys = [x0], [np.concatenate(plain_y)]
        for c, cf in data.items():
            points = np.stack([f.points_px for f in cf.features])[indices[c]]
            label = LABELS.index(MODEL_LABEL[c])
            for _ in range(AUGMENTED_COPIES):
                distorted = augment(points, rng)
                for view in (distorted, mirrored(distorted)):
                    x, usable = describe(view)
                    xs.append(x[usable])
                    ys.append(np.full(int(usable.sum()), label, dtype=np.intp))
        models.append(
            train_network(np.concatenate(xs), np.concatenate(ys), seed=seed, standardise=standardise)
        )
    return merge(models)


@dataclass(frozen=True, slots=True)
class FrontStopBox:
    """Traffic_FrontStop's right arm (95th percentiles), and the right-arm samples inside it.

    Traffic_FrontStop holds the upper arm out and the forearm up, the hand just above the
    shoulder; it is "no gesture", yet some Stand_RightArmRaised people raise the arm no higher.
    """

    wrist_max: float  # right wrist above the right shoulder, torso lengths
    elbow_max_deg: float
    inside: frozenset[int]  # Stand_RightArmRaised sample indices within both bounds
    samples: int  # Stand_RightArmRaised samples


def _right_arm(f: PoseFeatures) -> tuple[float, float]:
    """(right wrist above the right shoulder in torso lengths, right elbow angle) of one pose."""
    p = f.points_px
    torso = float(np.linalg.norm(f.shoulder_center_px - f.hip_center_px))
    return float(p[L.RIGHT_SHOULDER, 1] - p[L.RIGHT_WRIST, 1]) / torso, f.angles.elbow_right


def front_stop_box(data: Mapping[str, ClassFeatures]) -> FrontStopBox:
    """The box of Traffic_FrontStop's right arm and the Stand_RightArmRaised samples within it."""
    stop = np.array([_right_arm(f) for f in data["Traffic_FrontStop"].features])
    wrist_max, elbow_max = (float(v) for v in np.nanpercentile(stop, 95, axis=0))
    raised = [_right_arm(f) for f in data["Stand_RightArmRaised"].features]
    inside = frozenset(i for i, (w, e) in enumerate(raised) if w <= wrist_max and e <= elbow_max)
    return FrontStopBox(wrist_max, elbow_max, inside, len(raised))


# --- Motions between real people's poses -------------------------------------------------------

FPS: Final = 30
FLOOR_PX: Final = 450.0
PX_PER_UNIT: Final = 180.0


@dataclass(frozen=True, slots=True)
class Motion:
    """Keyframes (time s, BODY25 pose) of one person and the truth of the clip."""

    name: str
    keys: tuple[tuple[float, FloatArray], ...]
    fall: bool = False
    squats: int = 0


def _on_floor(body25: FloatArray) -> FloatArray:
    """The pose in pixels (x, y down), its lowest found keypoint on the floor line, centred at x 320."""
    out = body25.copy()
    found = out[:, 2] > 0
    out[:, 0] = 320.0 + out[:, 0] * PX_PER_UNIT
    out[:, 1] = -out[:, 1] * PX_PER_UNIT
    out[:, 1] += FLOOR_PX - out[found, 1].max()
    return out


def _smooth(u: float) -> float:
    u = min(1.0, max(0.0, u))
    return u * u * (3.0 - 2.0 * u)


def pose_at(motion: Motion, t_s: float) -> FloatArray:
    """The interpolated pose in pixels at time t (held before the first and after the last key)."""
    keys = [(t, _on_floor(k)) for t, k in motion.keys]
    if t_s <= keys[0][0]:
        return keys[0][1]
    for (t0, a), (t1, b) in itertools.pairwise(keys):
        if t_s <= t1:
            u = _smooth((t_s - t0) / (t1 - t0)) if t1 > t0 else 1.0
            both = (a[:, 2] > 0) & (b[:, 2] > 0)
            out = a + (b - a) * u
            out[:, 2] = np.where(both, 1.0, 0.0)
            return out
    return keys[-1][1]


def motion_results(motion: Motion, end_s: float) -> list[PoseResult]:
    """The motion as frames of a 640x480 camera at FPS (2D only, z = 0)."""
    results = []
    for i in range(int(end_s * FPS)):
        px = pose_at(motion, i / FPS)
        body = px.copy()
        body[:, 0] = (px[:, 0] - 320.0) / PX_PER_UNIT
        body[:, 1] = -(px[:, 1] - 240.0) / PX_PER_UNIT
        pose = to_pose(body, px_per_unit=PX_PER_UNIT)
        results.append(PoseResult(i * 1000 // FPS, i, 640, 480, (pose,)))
    return results


def _blend(a: FloatArray, b: FloatArray, depth: float) -> FloatArray:
    """A pose `depth` of the way from a to b, in the dataset's units (floor-aligned later)."""
    out = a + (b - a) * depth
    out[:, 2] = np.where((a[:, 2] > 0) & (b[:, 2] > 0), 1.0, 0.0)
    return out


def motions(samples: Mapping[str, BodySamples], people: int) -> list[Motion]:
    """Falls, fall look-alikes and squat sets between real poses of `people` different samples each."""
    rng = np.random.default_rng(17)

    def pick(label: str) -> FloatArray:
        kp = samples[label].keypoints
        return np.asarray(kp[int(rng.integers(len(kp)))], dtype=np.float32)

    out: list[Motion] = []
    for n in range(people):
        stand, lie, seat, squat = (
            pick("Stand"),
            pick(("Plank", "PushUp_Low")[n % 2]),
            pick("Seated"),
            pick("Squat"),
        )
        fall_s = (0.6, 0.8, 1.0)[n % 3]
        out.append(Motion(f"fall_{fall_s}s_{n}", ((1.0, stand), (1.0 + fall_s, lie)), fall=True))
        out.append(Motion(f"sit_down_hard_0.4s_{n}", ((1.0, stand), (1.4, seat))))
        # Down into a squat, held, and up again: one (slow) squat, and no fall.
        out.append(
            Motion(
                f"bend_to_squat_1s_{n}", ((1.0, stand), (2.0, squat), (5.0, squat), (6.0, stand)), squats=1
            )
        )
        out.append(Motion(f"lie_down_slowly_6s_{n}", ((1.0, stand), (3.5, squat), (7.0, lie))))
        period = (1.6, 2.4, 4.0)[n % 3]
        depth = (1.0, 0.85, 0.7)[n % 3]
        reps = 5
        keys: list[tuple[float, FloatArray]] = [(1.0, stand)]
        for r in range(reps):
            t0 = 1.0 + r * period
            keys += [
                (t0 + period * 0.45, _blend(stand, squat, depth)),
                (t0 + period * 0.55, _blend(stand, squat, depth)),
                (t0 + period, stand),
            ]
        out.append(Motion(f"squat_x{reps}_T{period}_depth{depth}_{n}", tuple(keys), squats=reps))
    return out
