"""Posture and falls of far people: real poses with the landmark error measured at each height added.

The scale sweep (`scale_sweep.py`) measures, per person height in % of a 640x480 frame, the median
over frames of the mean landmark distance to the same person's large-scale landmarks, in units of
person size (the longer side of the landmark box). Here real people's poses (pose-classification-kit,
development part, through `datasets`) are drawn at that height and every visible landmark gets an
independent 2D Gaussian offset whose mean distance equals that error. An approximation: the
pipeline's real errors are correlated between landmarks and between frames (smoothing), this noise
is not. Posture and gestures use the block-wise cross-validation of `real_poses`; falls use its
clips between real poses, run through the activity engine.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from edgepose.activity.engine import ActivityEngine
from edgepose.activity.features import compute_features
from edgepose.activity.pose_model import PoseModel, decide
from edgepose.config.activity import ActivityConfig
from edgepose.types import EventType, Pose
from tools.evaluation import real_poses as rp
from tools.evaluation.body25 import to_pose
from tools.evaluation.datasets import BodySamples

WIDTH: Final = 640
HEIGHT: Final = 480
#: Dataset units per standing person's landmark-box height (median over the Stand class: 1.01).
BODY_UNITS: Final = 1.0
#: Mean distance of an isotropic 2D Gaussian offset, in units of its per-axis sigma (Rayleigh mean).
RAYLEIGH_MEAN: Final = math.sqrt(math.pi / 2.0)
#: Median landmark error (% of person size) of the zoomed search per height (% of frame height),
#: walking (the larger of still and walking), from `python scripts/scale_sweep.py` (docs/pipeline.md).
SWEEP_ERROR_PCT: Final[dict[int, float]] = {70: 1.8, 50: 1.9, 40: 2.0, 30: 1.9, 25: 2.0, 20: 2.2, 15: 2.4}
#: Larger errors than any height showed, drawn at 15%: where the decisions would break.
STRESS_ERROR_PCT: Final = (4.0, 6.0, 8.0, 12.0)
POSTURES: Final = ("standing", "sitting", "squatting", "lying")
GESTURES: Final = ("left_arm_raised", "right_arm_raised", "t_pose", "both_hands_up")


@dataclass(frozen=True, slots=True)
class Level:
    """One row: people drawn at `height_pct` of the frame with `error_pct` landmark error."""

    height_pct: float
    error_pct: float
    measured: bool  # error measured by the sweep at this height (else a stress level)


def levels(stress: bool = True) -> list[Level]:
    """The sweep's heights with their measured errors, then the stress levels at 15%."""
    out = [Level(float(h), e, True) for h, e in SWEEP_ERROR_PCT.items()]
    if stress:
        out += [Level(15.0, e, False) for e in STRESS_ERROR_PCT]
    return out


def scaled(pose: Pose, factor: float, anchor_px: tuple[float, float]) -> Pose:
    """The pose scaled about a pixel point of the WIDTH x HEIGHT frame (2D landmarks only)."""
    lm = pose.landmarks.copy()
    seen = lm[:, 3] > 0
    for axis, size in ((0, WIDTH), (1, HEIGHT)):
        px = lm[seen, axis] * size
        lm[seen, axis] = (anchor_px[axis] + (px - anchor_px[axis]) * factor) / size
    return replace(pose, landmarks=lm)


def with_noise(pose: Pose, error: float, rng: np.random.Generator) -> Pose:
    """The pose with every visible landmark moved by an independent 2D Gaussian offset.

    `error` is the mean offset as a share of person size (the longer side of the visible
    landmarks' box in pixels), as the sweep's error is defined; zero returns the pose unchanged.
    """
    if error <= 0.0:
        return pose
    lm = pose.landmarks.copy()
    seen = lm[:, 3] > 0
    px = lm[seen, :2] * np.array([WIDTH, HEIGHT], dtype=np.float32)
    extent_px = float(max(np.ptp(px[:, 0]), np.ptp(px[:, 1]))) if len(px) else 0.0
    sigma_px = error / RAYLEIGH_MEAN * extent_px
    px = px + rng.normal(0.0, sigma_px, px.shape).astype(np.float32)
    lm[seen, :2] = px / np.array([WIDTH, HEIGHT], dtype=np.float32)
    return replace(pose, landmarks=lm)


def pose_at_height(keypoints: np.ndarray, height_pct: float) -> Pose:
    """A dataset pose drawn in the frame so that a standing body is `height_pct` of its height."""
    return to_pose(keypoints, px_per_unit=height_pct / 100.0 * HEIGHT / BODY_UNITS)


@dataclass(frozen=True, slots=True)
class Decisions:
    """Posture and gesture counts per dataset class at one level."""

    postures: dict[str, Counter[str]]
    gestures: dict[str, Counter[str]]

    def posture_accuracy(self, truth: str) -> float:
        """Share of the samples whose posture truth is `truth` that got it."""
        members = [c for c in self.postures if rp.POSTURE_TRUTH.get(c) == truth]
        n = sum(sum(self.postures[c].values()) for c in members)
        return sum(self.postures[c][truth] for c in members) / n if n else math.nan

    def gesture_accuracy(self) -> float:
        """Share of the four gesture classes' samples that fired their gesture."""
        members = [c for c in self.gestures if rp.GESTURE_TRUTH[c] != "none"]
        n = sum(sum(self.gestures[c].values()) for c in members)
        return sum(self.gestures[c][rp.GESTURE_TRUTH[c]] for c in members) / n if n else math.nan

    def false_gestures(self) -> float:
        """Share of the other classes' samples that fired any gesture."""
        others = [c for c in self.gestures if rp.GESTURE_TRUTH[c] == "none"]
        n = sum(sum(self.gestures[c].values()) for c in others)
        fired = sum(sum(self.gestures[c].values()) - self.gestures[c]["none"] for c in others)
        return fired / n if n else math.nan


def decide_samples(
    samples: Mapping[str, BodySamples],
    indices: Mapping[str, Sequence[int]],
    model: PoseModel,
    level: Level,
    *,
    rng: np.random.Generator,
    into: Decisions,
) -> None:
    """Decide posture and gesture of the chosen samples of each class at one level, counting into `into`."""
    cfg = ActivityConfig.model_validate({})
    for c, s in samples.items():
        for i in indices[c]:
            pose = with_noise(pose_at_height(s.keypoints[i], level.height_pct), level.error_pct / 100.0, rng)
            posture, gesture = decide(compute_features(pose, 0, WIDTH, HEIGHT), model, cfg)
            into.postures[c][posture.value] += 1
            into.gestures[c][gesture or "none"] += 1


def empty_decisions(classes: Iterable[str]) -> Decisions:
    """Zero counts for every class."""
    names = list(classes)
    return Decisions({c: Counter() for c in names}, {c: Counter() for c in names})


def cross_validated(
    samples: Mapping[str, BodySamples], rows: Sequence[Level], *, stride: int = 1, seed: int = 0
) -> list[Decisions]:
    """Per level, block-wise CV decisions (models trained on clean poses) on every `stride`-th test sample."""
    data = {c: rp.features_of(s) for c, s in samples.items()}
    splits = {c: list(rp.block_folds(len(s), rp.FOLDS, rp.GAP)) for c, s in samples.items()}
    out = [empty_decisions(samples) for _ in rows]
    rng = np.random.default_rng(seed)
    for k in range(rp.FOLDS):
        model = rp.train_on(data, {c: splits[c][k][0] for c in data})
        tests = {c: [int(i) for i in splits[c][k][1][::stride]] for c in data}
        for level, decisions in zip(rows, out, strict=True):
            decide_samples(samples, tests, model, level, rng=rng, into=decisions)
    return out


@dataclass(frozen=True, slots=True)
class FallCounts:
    """Fall clips with a fall found, and clips without a fall that reported one."""

    found: int
    falls: int
    false: int
    others: int


def fall_counts(motions: Sequence[rp.Motion], level: Level, *, seeds: int = 1) -> FallCounts:
    """Run the real-pose clips, drawn at the level's height with its noise, through the engine."""
    factor = level.height_pct / 100.0 * HEIGHT / (BODY_UNITS * rp.PX_PER_UNIT)
    anchor = (320.0, rp.FLOOR_PX)  # scale about the floor point under the person
    found = false = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        for m in motions:
            engine = ActivityEngine(ActivityConfig.model_validate({}), id_prefix="eval")
            falls = 0
            for r in rp.motion_results(m, m.keys[-1][0] + 4.0):
                error = level.error_pct / 100.0
                poses = tuple(with_noise(scaled(p, factor, anchor), error, rng) for p in r.poses)
                events = engine.update(replace(r, poses=poses))[0]
                falls += sum(1 for e in events if e.type is EventType.FALL_DETECTED)
            if m.fall:
                found += falls > 0
            else:
                false += falls > 0
    n_falls = sum(m.fall for m in motions) * seeds
    return FallCounts(found, n_falls, false, (len(motions) * seeds) - n_falls)


def report(rows: Sequence[Level], decisions: Sequence[Decisions], falls: Sequence[FallCounts]) -> str:
    """The Markdown table: per level, posture accuracy per class, gestures, falls."""
    head = (
        "| height | landmark error | "
        + " | ".join(POSTURES)
        + " | gestures found | false gestures | falls found | false falls |\n"
        + "|---|---:|"
        + "---:|" * (len(POSTURES) + 4)
    )
    lines = [head]
    for level, d, f in zip(rows, decisions, falls, strict=True):
        height = f"{level.height_pct:.0f}%" + ("" if level.measured else " (stress)")
        acc = " | ".join(f"{d.posture_accuracy(p):.1%}" for p in POSTURES)
        lines.append(
            f"| {height} | {level.error_pct:.1f}% | {acc} | {d.gesture_accuracy():.1%} | "
            f"{d.false_gestures():.2%} | {f.found}/{f.falls} | {f.false}/{f.others} |"
        )
    return "\n".join(lines)
