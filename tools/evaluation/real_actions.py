"""Action clips built from real people's poses (pose-classification-kit, development part only).

Each clip moves between keyframes that are real people's poses (or a real pose with one limb
turned: a forearm swung for a wave, legs spread for a jumping jack, a knee lifted for walking in
place), by smoothstep interpolation (tools.evaluation.real_poses.pose_at), seen by a 640x480
camera at 30 fps, 2D only, with about a pixel of noise per keypoint and frame.

People are split block-wise: the first TRAIN_FRACTION of each class file's development part
gives the training clips, the rest (after a GAP) the test clips. The files hold one person after
another, so a contiguous block keeps test people out of training (up to the person at the edge,
which the gap is for).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from edgepose.activity.action_model import cut_windows, parts_features
from edgepose.types import FloatArray, PoseResult
from tools.evaluation.activity_sim.actions import clip_parts
from tools.evaluation.body25 import to_pose
from tools.evaluation.datasets import BodySamples
from tools.evaluation.real_poses import FPS, PX_PER_UNIT, Motion, pose_at

TRAIN_FRACTION: Final = 0.7
GAP: Final = 10
NOISE_PX: Final = 1.0
#: The dataset classes the clips are built from.
CLASSES: Final = (
    "Stand",
    "Squat",
    "Seated",
    "T",
    "Yoga_UpwardSalute",
    "Stand_LeftArmRaised",
    "Stand_RightArmRaised",
)
#: The actions built; the same names as the generated clips (activity_sim.actions.ACTIONS).
REAL_ACTIONS: Final = ("wave", "jumping_jack", "squats", "walking_in_place", "sitting_down", "standing_still")

# BODY25 rows (tools.evaluation.body25): right side 2-4 arm, 9-11 leg, 22-24 foot; left 5-7, 12-14, 19-21.
_HIP = {"right": 9, "left": 12}
_KNEE = {"right": 10, "left": 13}
_LEG = {"right": (10, 11, 22, 23, 24), "left": (13, 14, 19, 20, 21)}
_BELOW_KNEE = {"right": (11, 22, 23, 24), "left": (14, 19, 20, 21)}
_ELBOW = {"right": 3, "left": 6}
_WRIST = {"right": 4, "left": 7}

Pick = Callable[[str], FloatArray]
Uniform = Callable[[float, float], float]


@dataclass(frozen=True, slots=True)
class Split:
    """Which development samples of each class may be used: (start, stop) per class."""

    ranges: Mapping[str, tuple[int, int]]


def block_split(samples: Mapping[str, BodySamples]) -> tuple[Split, Split]:
    """(train, test): the first TRAIN_FRACTION of each class file and the rest, GAP samples apart."""
    train: dict[str, tuple[int, int]] = {}
    test: dict[str, tuple[int, int]] = {}
    for label in CLASSES:
        n = len(samples[label])
        edge = int(n * TRAIN_FRACTION)
        train[label] = (0, edge - GAP)
        test[label] = (edge, n)
    return Split(train), Split(test)


def _rotate(points: FloatArray, centre: FloatArray, angle_deg: float) -> FloatArray:
    """x, y of points turned about centre (counter-clockwise in the dataset's y-up frame)."""
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=np.float32)
    return np.asarray((points - centre) @ rot.T + centre, dtype=np.float32)


def _found(pose: FloatArray, *rows: int) -> bool:
    return bool(np.all(pose[list(rows), 2] > 0))


def spread_legs(pose: FloatArray, angle_deg: float) -> FloatArray:
    """Each leg turned about its hip, away from the body's midline, by angle_deg."""
    out = pose.copy()
    mid_x = float(pose[[_HIP["right"], _HIP["left"]], 0].mean())
    for side in ("right", "left"):
        hip = pose[_HIP[side], :2]
        outward = 1.0 if float(pose[_HIP[side], 0]) > mid_x else -1.0
        rows = list(_LEG[side])
        # Turning counter-clockwise about the hip moves a foot below it towards +x.
        out[rows, :2] = _rotate(pose[rows, :2], hip, outward * angle_deg)
    return out


def swing_forearm(pose: FloatArray, side: str, angle_deg: float) -> FloatArray:
    """The wrist turned about the elbow by angle_deg."""
    out = pose.copy()
    elbow = pose[_ELBOW[side], :2]
    out[[_WRIST[side]], :2] = _rotate(pose[[_WRIST[side]], :2], elbow, angle_deg)
    return out


def lift_knee(pose: FloatArray, side: str, lift_deg: float) -> FloatArray:
    """A knee lifted forwards as a frontal camera sees it: the thigh foreshortened, the shin hanging."""
    out = pose.copy()
    hip, knee = pose[_HIP[side], :2], pose[_KNEE[side], :2]
    new_knee = hip + (knee - hip) * np.array([1.0, math.cos(math.radians(lift_deg))], dtype=np.float32)
    rows = list(_BELOW_KNEE[side])
    out[_KNEE[side], :2] = new_knee
    out[rows, :2] = pose[rows, :2] + (new_knee - knee)
    return out


def _cycle(
    a: FloatArray, b: FloatArray, period_s: float, start_s: float, end_s: float
) -> list[tuple[float, FloatArray]]:
    """Keys a -> b -> a ... every half period from start_s (may be negative) to past end_s."""
    keys: list[tuple[float, FloatArray]] = []
    t, k = start_s, 0
    while t <= end_s + period_s:
        keys.append((t, a if k % 2 == 0 else b))
        t += period_s / 2
        k += 1
    return keys


def action_motion(action: str, pick: Pick, u: Uniform, window_s: float) -> Motion:
    """One clip's keyframes of an action; every pose from `pick`, every pace and size from `u`."""
    end = window_s + 0.2
    if action == "squats":
        stand, squat = pick("Stand"), pick("Squat")
        depth = u(0.6, 1.0)
        low = stand + (squat - stand) * depth
        low[:, 2] = np.where((stand[:, 2] > 0) & (squat[:, 2] > 0), 1.0, 0.0)
        period = u(1.4, 3.0)
        return Motion(action, tuple(_cycle(stand, low, period, -u(0.0, period), end)))
    if action == "sitting_down":
        took = u(0.8, 1.6)
        start = u(0.0, window_s - took) * 0.5
        return Motion(action, ((start, pick("Stand")), (start + took, pick("Seated"))))
    if action == "standing_still":
        stand = pick("Stand")
        rng = np.random.default_rng(int(u(0, 2**31)))
        keys = []
        for k in range(int(end / 0.5) + 2):  # drifts of about half a centimetre every half second
            drift = stand.copy()
            drift[:, :2] += rng.normal(0.0, 0.006, (len(stand), 2)).astype(np.float32)
            keys.append((k * 0.5, drift))
        return Motion(action, tuple(keys))
    if action == "jumping_jack":
        closed = pick("Stand")
        open_ = spread_legs(pick("T" if u(0, 1) < 0.5 else "Yoga_UpwardSalute"), u(10.0, 20.0))
        period = u(0.8, 1.6)
        return Motion(action, tuple(_cycle(closed, open_, period, -u(0.0, period), end)))
    if action == "wave":
        side = "left" if u(0, 1) < 0.5 else "right"
        raised = pick("Stand_LeftArmRaised" if side == "left" else "Stand_RightArmRaised")
        amp = u(18.0, 35.0)
        period = 1.0 / u(1.2, 2.5)
        a, b = swing_forearm(raised, side, amp), swing_forearm(raised, side, -amp)
        return Motion(action, tuple(_cycle(a, b, period, -u(0.0, period), end)))
    if action == "walking_in_place":
        stand = pick("Stand")
        lift = u(35.0, 70.0)
        period = u(0.8, 1.3)
        right, left = lift_knee(stand, "right", lift), lift_knee(stand, "left", lift)
        keys = []
        t, k = -u(0.0, period), 0
        while t <= end + period:  # right up, down, left up, down
            keys.append((t, (right, stand, left, stand)[k % 4]))
            t += period / 4
            k += 1
        return Motion(action, tuple(keys))
    raise ValueError(f"unknown action {action!r}")


def noisy_results(motion: Motion, end_s: float, rng: np.random.Generator) -> list[PoseResult]:
    """The motion as 640x480 frames at FPS, 2D only, with NOISE_PX of noise per keypoint and frame."""
    results = []
    for i in range(int(end_s * FPS)):
        px = pose_at(motion, i / FPS)
        body = px.copy()
        body[:, :2] += rng.normal(0.0, NOISE_PX, (len(px), 2)).astype(np.float32)
        body[:, 0] = (body[:, 0] - 320.0) / PX_PER_UNIT
        body[:, 1] = -(body[:, 1] - 240.0) / PX_PER_UNIT
        results.append(PoseResult(i * 1000 // FPS, i, 640, 480, (to_pose(body, px_per_unit=PX_PER_UNIT),)))
    return results


def real_action_windows(
    samples: Mapping[str, BodySamples], split: Split, per_action: int, seed: int, window_ms: int = 2000
) -> list[tuple[str, FloatArray]]:
    """(label, window features) of `per_action` clips per action, poses from the split's samples."""
    rng = np.random.default_rng(seed)

    def u(a: float, b: float) -> float:
        return float(rng.uniform(a, b))

    def pick(label: str) -> FloatArray:
        start, stop = split.ranges[label]
        return np.asarray(samples[label].keypoints[int(rng.integers(start, stop))], dtype=np.float32)

    window_s = window_ms / 1000.0
    out: list[tuple[str, FloatArray]] = []
    for _ in range(per_action):
        for action in REAL_ACTIONS:
            motion = action_motion(action, pick, u, window_s)
            parts = clip_parts(noisy_results(motion, window_s + 1.5 / FPS, rng))
            for window in cut_windows(parts, window_ms, window_ms)[:1]:
                out.append((action, parts_features(window)))
    return out
