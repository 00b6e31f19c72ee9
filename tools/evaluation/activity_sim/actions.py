"""Generated action clips for the action classifier: six motions with random bodies, speeds, views.

Each clip is one window long and shows one action throughout (sitting down: the transition falls
inside the window). A seed fixes everything (body, pace, amplitude, yaw, camera, noise), so
training seeds and held-out seeds never share a clip.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from edgepose.activity.action_model import FrameParts, cut_windows, frame_parts, parts_features
from edgepose.activity.actions import MIN_VISIBLE_FRACTION
from edgepose.activity.features import compute_features
from edgepose.types import FloatArray, PoseResult

from .body import Actor, Body, BodyPose, Camera, Limb, Noise, render
from .scenarios import SIT_CHAIR, STAND, PoseFn, keyframes, lerp, lerp_limb, squat_pose

ACTIONS = ("wave", "jumping_jack", "squats", "walking_in_place", "sitting_down", "standing_still")
Uniform = Callable[[float, float], float]


def _wave(u: Uniform) -> PoseFn:
    freq, amp, left = u(1.2, 2.5), u(18.0, 35.0), u(0, 1) < 0.5
    phase = u(0.0, 1.0)

    def at(t: float) -> BodyPose:
        swing = amp * math.sin(2.0 * math.pi * (freq * t + phase))
        arm = Limb(u_el, 90.0, 180.0 + swing, 90.0)
        return replace(STAND, left_arm=arm) if left else replace(STAND, right_arm=arm)

    u_el = u(80.0, 120.0)
    return at


def _jumping_jack(u: Uniform) -> PoseFn:
    period, phase, top = u(0.8, 1.6), u(0.0, 1.0), u(150.0, 175.0)

    def at(t: float) -> BodyPose:
        s = (1.0 - math.cos(2.0 * math.pi * (t / period + phase))) / 2.0
        arm = Limb(lerp(6.0, top, s), 90.0, lerp(6.0, top + 4.0, s), 90.0)
        leg = Limb(lerp(3.0, 16.0, s), 90.0, lerp(3.0, 16.0, s), 90.0)
        return BodyPose(lift=0.05 * s, left_arm=arm, right_arm=arm, left_leg=leg, right_leg=leg)

    return at


def _squats(u: Uniform) -> PoseFn:
    period, phase, depth = u(1.4, 3.0), u(0.0, 1.0), u(60.0, 110.0)

    def at(t: float) -> BodyPose:
        s = (1.0 - math.cos(2.0 * math.pi * (t / period + phase))) / 2.0
        return squat_pose(lerp(176.0, depth, s))

    return at


def _walking_in_place(u: Uniform) -> PoseFn:
    period, phase, knee = u(0.8, 1.3), u(0.0, 1.0), u(35.0, 70.0)

    def at(t: float) -> BodyPose:
        a = 2.0 * math.pi * (t / period + phase)
        lift_l, lift_r = max(0.0, math.sin(a)), max(0.0, -math.sin(a))
        left = Limb(knee * lift_l, 0.0, -0.5 * knee * lift_l, 0.0)
        right = Limb(knee * lift_r, 0.0, -0.5 * knee * lift_r, 0.0)
        sw = 20.0 * math.sin(a)
        arm_l, arm_r = (
            Limb(max(0.0, -sw), 0.0, max(0.0, -sw) + 15.0, 0.0),
            Limb(max(0.0, sw), 0.0, max(0.0, sw) + 15.0, 0.0),
        )
        return BodyPose(left_leg=left, right_leg=right, left_arm=arm_l, right_arm=arm_r)

    return at


def _sitting_down(u: Uniform, window_s: float) -> PoseFn:
    took = u(0.8, min(1.6, window_s * 0.8))
    start = u(0.0, window_s - took) * 0.5
    seat = replace(SIT_CHAIR, torso_bend_deg=u(0.0, 15.0))
    lean = replace(lerp_pose(STAND, seat, 0.5), torso_bend_deg=u(25.0, 40.0))  # weight forwards
    return keyframes([(start, STAND), (start + took * 0.5, lean), (start + took, seat)])


def lerp_pose(a: BodyPose, b: BodyPose, w: float) -> BodyPose:
    """Legs halfway between two poses (the rest is a's)."""
    return replace(
        a, left_leg=lerp_limb(a.left_leg, b.left_leg, w), right_leg=lerp_limb(a.right_leg, b.right_leg, w)
    )


def _standing_still(u: Uniform) -> PoseFn:
    sway, arm = u(0.5, 2.0), Limb(u(3.0, 25.0), 90.0, u(3.0, 60.0), 60.0)

    def at(t: float) -> BodyPose:
        return replace(STAND, roll_deg=sway * math.sin(0.7 * t), left_arm=arm, right_arm=arm)

    return at


def action_clip(
    action: str, seed: int, window_ms: int = 2000, fps: float = 30.0, world: bool = True
) -> list[PoseResult]:
    """One window-long clip of an action, everything drawn from the seed."""
    rng = np.random.default_rng([seed, ACTIONS.index(action)])

    def u(a: float, b: float) -> float:
        return float(rng.uniform(a, b))

    window_s = window_ms / 1000.0
    motion = {
        "wave": lambda: _wave(u),
        "jumping_jack": lambda: _jumping_jack(u),
        "squats": lambda: _squats(u),
        "walking_in_place": lambda: _walking_in_place(u),
        "sitting_down": lambda: _sitting_down(u, window_s),
        "standing_still": lambda: _standing_still(u),
    }[action]()
    yaw = u(-50.0, 50.0)

    def posed(t: float) -> BodyPose | None:
        p = motion(t)
        return None if p is None else replace(p, yaw_deg=p.yaw_deg + yaw)

    camera = Camera(z=-u(3.2, 5.0), y=u(0.9, 1.8), tilt_deg=u(0.0, 15.0))
    actor = Actor(1, Body(height_m=u(1.5, 1.95)), posed)
    noise = Noise(seed=int(rng.integers(0, 2**31)))
    return render([actor], window_s + 1.5 / fps, camera=camera, noise=noise, fps=fps, world=world)


def clip_parts(results: list[PoseResult]) -> list[FrameParts]:
    """The recorded frames of the first person of a clip (as `edgepose record --sequence` keeps them)."""
    out: list[FrameParts] = []
    for r in results:
        for pose in r.poses[:1]:
            f = compute_features(pose, r.timestamp_ms, r.width, r.height)
            if f.visible_fraction >= MIN_VISIBLE_FRACTION:
                out.append(frame_parts(f))
    return out


def action_windows(
    seeds: range, per_seed: int = 4, window_ms: int = 2000, fps: float = 30.0, world: bool = True
) -> list[tuple[str, FloatArray]]:
    """(label, window features) of `per_seed` clips per action per seed."""
    out: list[tuple[str, FloatArray]] = []
    for seed in seeds:
        for k in range(per_seed):
            for action in ACTIONS:
                parts = clip_parts(action_clip(action, seed * 1000 + k, window_ms, fps, world))
                for window in cut_windows(parts, window_ms, window_ms)[:1]:
                    out.append((action, parts_features(window)))
    return out
