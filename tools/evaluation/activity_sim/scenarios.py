"""Generated clips with ground truth: exercises, falls and fall look-alikes, gestures, walking.

Each scenario is a pose as a function of time for one stick figure plus what a correct engine
must report (rep counts, fall or not, gestures, posture at given times).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from edgepose.types import Posture

from .body import BodyPose, Limb

PoseFn = Callable[[float], BodyPose | None]
STAND = BodyPose()


@dataclass(frozen=True, slots=True)
class Scenario:
    """A motion with its truth."""

    name: str
    duration_s: float
    pose_at: PoseFn
    reps: dict[str, int] = field(default_factory=dict)
    fall: bool = False
    gestures: frozenset[str] = frozenset()
    posture_checks: tuple[tuple[float, Posture], ...] = ()  # (time s, posture)


def smooth(u: float) -> float:
    """Smoothstep of u clipped to [0, 1]."""
    u = min(1.0, max(0.0, u))
    return u * u * (3.0 - 2.0 * u)


def lerp(a: float, b: float, u: float) -> float:
    """Linear interpolation."""
    return a + (b - a) * u


def lerp_limb(a: Limb, b: Limb, u: float) -> Limb:
    """Interpolated limb directions."""
    return Limb(
        lerp(a.upper_el, b.upper_el, u),
        lerp(a.upper_az, b.upper_az, u),
        lerp(a.lower_el, b.lower_el, u),
        lerp(a.lower_az, b.lower_az, u),
    )


def blend(a: BodyPose, b: BodyPose, u: float) -> BodyPose:
    """Interpolated pose (u=0: a, u=1: b)."""
    return BodyPose(
        x=lerp(a.x, b.x, u),
        z=lerp(a.z, b.z, u),
        yaw_deg=lerp(a.yaw_deg, b.yaw_deg, u),
        pitch_deg=lerp(a.pitch_deg, b.pitch_deg, u),
        roll_deg=lerp(a.roll_deg, b.roll_deg, u),
        lift=lerp(a.lift, b.lift, u),
        torso_bend_deg=lerp(a.torso_bend_deg, b.torso_bend_deg, u),
        left_arm=lerp_limb(a.left_arm, b.left_arm, u),
        right_arm=lerp_limb(a.right_arm, b.right_arm, u),
        left_leg=lerp_limb(a.left_leg, b.left_leg, u),
        right_leg=lerp_limb(a.right_leg, b.right_leg, u),
    )


def keyframes(frames: list[tuple[float, BodyPose]], ease: Callable[[float], float] = smooth) -> PoseFn:
    """Pose interpolated between (time, pose) keys, held before the first and after the last."""

    def at(t: float) -> BodyPose:
        if t <= frames[0][0]:
            return frames[0][1]
        for (t0, p0), (t1, p1) in itertools.pairwise(frames):
            if t <= t1:
                return blend(p0, p1, ease((t - t0) / (t1 - t0)))
        return frames[-1][1]

    return at


def cycles(start_s: float, period_s: float, count: int) -> Callable[[float], float]:
    """0 at rest, rising to 1 and back once per period, `count` times from `start_s`."""

    def s(t: float) -> float:
        u = (t - start_s) / period_s
        if u <= 0.0 or u >= count:
            return 0.0
        return (1.0 - math.cos(2.0 * math.pi * u)) / 2.0

    return s


def _yawed(pose: BodyPose, yaw: float) -> BodyPose:
    return replace(pose, yaw_deg=pose.yaw_deg + yaw)


# --- exercises ---------------------------------------------------------------------------------


def squat_pose(knee_deg: float) -> BodyPose:
    """A squat with the given knee angle (180 standing)."""
    kf = 180.0 - knee_deg
    leg = Limb(kf * 0.62, 12.0, -kf * 0.38, 12.0)
    arm = Limb(max(5.0, kf * 0.8), 10.0, max(5.0, kf * 0.8), 10.0)
    return BodyPose(torso_bend_deg=kf * 0.42, left_leg=leg, right_leg=leg, left_arm=arm, right_arm=arm)


def squats(count: int, min_knee_deg: float, period_s: float, yaw: float = 0.0) -> Scenario:
    """Squats to a depth at a pace."""
    s = cycles(1.0, period_s, count)
    dur = 2.0 + count * period_s

    def at(t: float) -> BodyPose:
        return _yawed(squat_pose(lerp(176.0, min_knee_deg, s(t))), yaw)

    name = f"squat_x{count}_knee{int(min_knee_deg)}_T{period_s:g}_yaw{int(yaw)}"
    return Scenario(name, dur, at, reps={"squat": count})


def pushup_pose(elbow_deg: float) -> BodyPose:
    """A push-up plank with the given elbow angle."""
    bend = 180.0 - elbow_deg
    shoulder_h = 0.27 + 0.30 * math.cos(math.radians(bend))
    pitch = 90.0 - math.degrees(math.asin(min(1.0, shoulder_h / 1.42)))
    arm = Limb(pitch - bend, 0.0, pitch, 0.0)
    leg = Limb(1.0, 90.0, 1.0, 90.0)
    return BodyPose(pitch_deg=pitch, left_arm=arm, right_arm=arm, left_leg=leg, right_leg=leg)


def pushups(count: int, min_elbow_deg: float, period_s: float, yaw: float = 90.0) -> Scenario:
    """Push-ups, seen from the side by default."""
    s = cycles(1.0, period_s, count)

    def at(t: float) -> BodyPose:
        return _yawed(pushup_pose(lerp(172.0, min_elbow_deg, s(t))), yaw)

    name = f"pushup_x{count}_elbow{int(min_elbow_deg)}_T{period_s:g}_yaw{int(yaw)}"
    return Scenario(name, 2.0 + count * period_s, at, reps={"pushup": count})


def jumping_jacks(count: int, period_s: float) -> Scenario:
    """Jumping jacks facing the camera."""
    s = cycles(1.0, period_s, count)

    def at(t: float) -> BodyPose:
        u = s(t)
        arm = Limb(lerp(6.0, 172.0, u), 90.0, lerp(6.0, 176.0, u), 90.0)
        leg = Limb(lerp(3.0, 16.0, u), 90.0, lerp(3.0, 16.0, u), 90.0)
        lift = 0.06 * abs(math.sin(2.0 * math.pi * u)) if 0.0 < u < 1.0 else 0.0
        return BodyPose(lift=lift, left_arm=arm, right_arm=arm, left_leg=leg, right_leg=leg)

    return Scenario(
        f"jumping_jack_x{count}_T{period_s:g}", 2.0 + count * period_s, at, reps={"jumping_jack": count}
    )


def curls(count: int, period_s: float, alternate: bool, yaw: float = 20.0) -> Scenario:
    """Biceps curls, both arms together or alternating (each arm's curl is one rep)."""
    per_arm = cycles(1.0, period_s, count)

    def at(t: float) -> BodyPose:
        u = per_arm(t)
        k = int((t - 1.0) // period_s) if t > 1.0 else 0
        lu = u if not alternate or k % 2 == 0 else 0.0
        ru = u if not alternate or k % 2 == 1 else 0.0
        la = Limb(6.0, 20.0, lerp(8.0, 150.0, lu), 10.0)
        ra = Limb(6.0, 20.0, lerp(8.0, 150.0, ru), 10.0)
        return _yawed(BodyPose(left_arm=la, right_arm=ra), yaw)

    mode = "alt" if alternate else "both"
    return Scenario(f"curl_{mode}_x{count}_T{period_s:g}", 2.0 + count * period_s, at, reps={"curl": count})


def lunge_pose(u: float, left_front: bool) -> BodyPose:
    """A forward lunge at depth u in [0, 1]."""
    front = Limb(lerp(3.0, 82.0, u), 5.0, lerp(3.0, -8.0, u), 5.0)
    back = Limb(lerp(3.0, -18.0, u), 5.0, lerp(3.0, -105.0, u), 5.0)
    return BodyPose(
        left_leg=front if left_front else back,
        right_leg=back if left_front else front,
        torso_bend_deg=5.0 * u,
    )


def lunges(count: int, period_s: float, yaw: float = 60.0) -> Scenario:
    """Alternating forward lunges, seen from an angle."""
    s = cycles(1.0, period_s, count)

    def at(t: float) -> BodyPose:
        k = int((t - 1.0) // period_s) if t > 1.0 else 0
        return _yawed(lunge_pose(s(t), k % 2 == 0), yaw)

    return Scenario(
        f"lunge_x{count}_T{period_s:g}_yaw{int(yaw)}", 2.0 + count * period_s, at, reps={"lunge": count}
    )


# --- falls and look-alikes ---------------------------------------------------------------------

SIT_CHAIR = BodyPose(
    torso_bend_deg=5.0,
    left_leg=Limb(88.0, 8.0, 2.0, 8.0),
    right_leg=Limb(88.0, 8.0, 2.0, 8.0),
    left_arm=Limb(15.0, 10.0, 60.0, 10.0),
    right_arm=Limb(15.0, 10.0, 60.0, 10.0),
)


def fall(direction: str, fall_s: float, yaw: float = 0.0) -> Scenario:
    """Standing 2 s, falling in `fall_s` (accelerating, knees buckling), then lying 5 s."""
    pitch, roll = {
        "forward": (92.0, 0.0),
        "backward": (-92.0, 0.0),
        "left": (0.0, 92.0),
        "right": (0.0, -92.0),
    }[direction]
    bent = Limb(35.0, 5.0, -20.0, 5.0)
    down_arm = Limb(60.0, 60.0, 70.0, 60.0)

    def at(t: float) -> BodyPose:
        u = min(1.0, max(0.0, (t - 2.0) / fall_s))
        g = u * u  # gravity: slow start, fast end
        buckle = math.sin(math.pi * u)
        legs = lerp_limb(STAND.left_leg, bent, buckle * 0.8)
        arms = lerp_limb(STAND.left_arm, down_arm, u)
        still = 0.0 if u < 1.0 else 0.3 * math.sin(t)  # small movements while down
        return BodyPose(
            yaw_deg=yaw,
            pitch_deg=pitch * g,
            roll_deg=roll * g + still,
            left_leg=legs,
            right_leg=legs,
            left_arm=arms,
            right_arm=arms,
        )

    return Scenario(
        f"fall_{direction}_{fall_s:g}s_yaw{int(yaw)}",
        2.0 + fall_s + 5.0,
        at,
        fall=True,
        posture_checks=((1.0, Posture.STANDING), (2.0 + fall_s + 4.0, Posture.LYING)),
    )


def slow_lie_down(total_s: float) -> Scenario:
    """Sitting down on the floor, then lying back, over `total_s`, then lying 4 s."""
    sit_floor = BodyPose(left_leg=Limb(84.0, 8.0, 88.0, 8.0), right_leg=Limb(84.0, 8.0, 88.0, 8.0))
    lie_back = BodyPose(
        pitch_deg=-90.0, left_leg=Limb(-2.0, 8.0, 0.0, 8.0), right_leg=Limb(-2.0, 8.0, 0.0, 8.0)
    )
    half = total_s / 2.0
    at = keyframes([(1.0, STAND), (1.0 + half, sit_floor), (1.0 + total_s, lie_back)])
    return Scenario(
        f"slow_lie_down_{total_s:g}s",
        1.0 + total_s + 4.0,
        at,
        posture_checks=((0.5, Posture.STANDING), (1.0 + total_s + 3.5, Posture.LYING)),
    )


def bend_over(hold_s: float, speed_s: float) -> Scenario:
    """Bending forward with straight legs, holding, straightening up."""
    bent = BodyPose(
        torso_bend_deg=100.0, left_arm=Limb(100.0, 0.0, 100.0, 0.0), right_arm=Limb(100.0, 0.0, 100.0, 0.0)
    )
    at = keyframes(
        [
            (1.0, STAND),
            (1.0 + speed_s, bent),
            (1.0 + speed_s + hold_s, bent),
            (1.0 + 2 * speed_s + hold_s, STAND),
        ]
    )
    return Scenario(f"bend_over_{speed_s:g}s_hold{hold_s:g}", 3.0 + 2 * speed_s + hold_s, at, reps={})


def tie_shoes(kneel: bool, hold_s: float) -> Scenario:
    """Getting down to tie shoes (deep squat or kneeling on one knee, torso bent), holding, getting up."""
    if kneel:
        down = replace(lunge_pose(1.0, True), torso_bend_deg=65.0)
    else:
        down = replace(squat_pose(50.0), torso_bend_deg=75.0)
    hands = Limb(80.0, 0.0, 100.0, 0.0)
    down = replace(down, left_arm=hands, right_arm=hands)

    def at(t: float) -> BodyPose:
        base = keyframes([(1.0, STAND), (2.2, down), (2.2 + hold_s, down), (3.4 + hold_s, STAND)])(t)
        assert base is not None  # keyframes always give a pose; only PoseFn in general may not
        if 2.2 < t < 2.2 + hold_s:  # fiddling with the laces
            wiggle = 10.0 * math.sin(2.0 * math.pi * 1.5 * t)
            arm = replace(base.left_arm, lower_el=base.left_arm.lower_el + wiggle)
            base = replace(base, left_arm=arm, right_arm=arm)
        return base

    kind = "kneel" if kneel else "squat"
    return Scenario(f"tie_shoes_{kind}_hold{hold_s:g}", 5.0 + hold_s, at, reps={})


def sit_down_hard(speed_s: float) -> Scenario:
    """Dropping onto a chair in `speed_s`, sitting 4 s."""
    at = keyframes([(1.0, STAND), (1.0 + speed_s, SIT_CHAIR)], ease=lambda u: min(1.0, max(0.0, u)) ** 2)
    return Scenario(
        f"sit_down_hard_{speed_s:g}s",
        1.0 + speed_s + 4.0,
        at,
        posture_checks=((0.5, Posture.STANDING), (1.0 + speed_s + 3.5, Posture.SITTING)),
    )


# --- gestures ----------------------------------------------------------------------------------

ARM_UP = Limb(172.0, 90.0, 176.0, 90.0)
ARM_T = Limb(90.0, 90.0, 90.0, 90.0)


def static_gesture(name: str, hold_s: float = 2.0) -> Scenario:
    """Standing, raising arms into a gesture, holding, lowering."""
    pose = {
        "both_hands_up": replace(STAND, left_arm=ARM_UP, right_arm=ARM_UP),
        "left_arm_raised": replace(STAND, left_arm=ARM_UP),
        "right_arm_raised": replace(STAND, right_arm=ARM_UP),
        "t_pose": replace(STAND, left_arm=ARM_T, right_arm=ARM_T),
    }[name]
    at = keyframes([(1.0, STAND), (1.6, pose), (1.6 + hold_s, pose), (2.2 + hold_s, STAND)])
    return Scenario(f"gesture_{name}_hold{hold_s:g}", 3.2 + hold_s, at, gestures=frozenset({name}))


def wave(side: str, waves: int, freq_hz: float = 2.0) -> Scenario:
    """Raising the forearm and swinging it left and right."""

    def at(t: float) -> BodyPose:
        u = smooth((t - 1.0) / 0.5) * (1.0 - smooth((t - 1.5 - waves / freq_hz) / 0.5))
        swing = (
            28.0 * math.sin(2.0 * math.pi * freq_hz * (t - 1.5)) if 1.5 < t < 1.5 + waves / freq_hz else 0.0
        )
        arm = lerp_limb(STAND.left_arm, Limb(95.0, 90.0, 180.0 + swing, 90.0), u)
        if side == "left":
            return replace(STAND, left_arm=arm)
        return replace(STAND, right_arm=arm)

    return Scenario(f"wave_{side}_x{waves}", 3.0 + waves / freq_hz, at, gestures=frozenset({"wave"}))


# --- walking and standing ----------------------------------------------------------------------


def walk_across(start_x: float, end_x: float, duration_s: float, delay_s: float = 0.0) -> PoseFn:
    """Walking sideways across the view (out of it at both ends when far enough)."""
    yaw = 90.0 if end_x < start_x else -90.0

    def at(t: float) -> BodyPose | None:
        u = (t - delay_s) / duration_s
        if u < 0.0 or u > 1.0:
            return None
        phase = 2.0 * math.pi * 1.8 * (t - delay_s)
        sw = 22.0 * math.sin(phase)
        left = Limb(sw, 0.0, sw - max(0.0, 35.0 * math.sin(phase + 1.2)), 0.0)
        right = Limb(-sw, 0.0, -sw - max(0.0, -35.0 * math.sin(phase + 1.2)), 0.0)
        arm_l = Limb(-sw * 0.6, 0.0, -sw * 0.6 + 10.0, 0.0)
        arm_r = Limb(sw * 0.6, 0.0, sw * 0.6 + 10.0, 0.0)
        return BodyPose(
            x=lerp(start_x, end_x, u),
            yaw_deg=yaw,
            left_leg=left,
            right_leg=right,
            left_arm=arm_l,
            right_arm=arm_r,
        )

    return at


def stand_still(sway_deg: float = 1.0) -> PoseFn:
    """Standing with a faint sway."""

    def at(t: float) -> BodyPose:
        return replace(STAND, roll_deg=sway_deg * math.sin(0.7 * t))

    return at


# --- catalogues --------------------------------------------------------------------------------


def exercise_scenarios() -> list[Scenario]:
    """Rep-counting clips: depths and speeds of each exercise."""
    return [
        squats(5, 90.0, 2.0),
        squats(4, 65.0, 3.0, yaw=60.0),
        squats(6, 105.0, 1.2, yaw=90.0),
        squats(3, 80.0, 4.0, yaw=30.0),
        pushups(5, 80.0, 2.0),
        pushups(4, 95.0, 1.4, yaw=70.0),
        jumping_jacks(8, 1.0),
        jumping_jacks(5, 1.6),
        curls(6, 2.0, alternate=False),
        curls(6, 1.6, alternate=True),
        lunges(4, 2.5),
        lunges(6, 2.0, yaw=90.0),
    ]


def non_fall_scenarios() -> list[Scenario]:
    """Clips that look a little like falls and must not raise one."""
    return [
        bend_over(2.0, 0.8),
        bend_over(3.0, 1.5),
        tie_shoes(kneel=False, hold_s=4.0),
        tie_shoes(kneel=True, hold_s=4.0),
        sit_down_hard(0.35),
        sit_down_hard(0.6),
        slow_lie_down(5.0),
        slow_lie_down(8.0),
        squats(5, 60.0, 1.0),
        pushups(3, 75.0, 1.5),
    ]


def fall_scenarios() -> list[Scenario]:
    """Falls in four directions and at a few speeds."""
    return [
        fall("forward", 0.7),
        fall("backward", 0.8),
        fall("left", 0.6),
        fall("right", 0.9),
        fall("forward", 1.0, yaw=60.0),
        fall("left", 0.7, yaw=90.0),
    ]


def gesture_scenarios() -> list[Scenario]:
    """One clip per gesture."""
    return [
        static_gesture("both_hands_up"),
        static_gesture("left_arm_raised"),
        static_gesture("right_arm_raised"),
        static_gesture("t_pose"),
        wave("right", 4),
        wave("left", 3, freq_hz=1.5),
    ]


def posture_samples(seed: int, per_class: int) -> list[tuple[BodyPose, Posture, float]]:
    """Random static poses with their posture (and a body height), for held-out posture checks."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def u(a: float, b: float) -> float:
        return float(rng.uniform(a, b))

    def arm() -> Limb:
        el = u(0.0, 60.0)
        return Limb(el, u(0.0, 90.0), el + u(0.0, 80.0), u(0.0, 90.0))

    out: list[tuple[BodyPose, Posture, float]] = []
    for _ in range(per_class):
        yaw = u(-90.0, 90.0)
        height = u(1.5, 1.95)
        leg = Limb(u(0.0, 8.0), 90.0, u(0.0, 8.0), 90.0)
        out.append(
            (
                BodyPose(
                    yaw_deg=yaw,
                    torso_bend_deg=u(-5, 12),
                    left_arm=arm(),
                    right_arm=arm(),
                    left_leg=leg,
                    right_leg=leg,
                ),
                Posture.STANDING,
                height,
            )
        )
        thigh, shin = u(75.0, 100.0), u(-15.0, 10.0)
        sit_leg = Limb(thigh, u(0.0, 20.0), shin, u(0.0, 20.0))
        out.append(
            (
                BodyPose(
                    yaw_deg=yaw,
                    torso_bend_deg=u(-10, 15),
                    left_arm=arm(),
                    right_arm=arm(),
                    left_leg=sit_leg,
                    right_leg=sit_leg,
                ),
                Posture.SITTING,
                height,
            )
        )
        squat = replace(squat_pose(u(45.0, 105.0)), yaw_deg=yaw, left_arm=arm(), right_arm=arm())
        out.append((squat, Posture.SQUATTING, height))
        kind = int(rng.integers(0, 4))
        pitch, roll = [(90.0, 0.0), (-90.0, 0.0), (0.0, 90.0), (0.0, -90.0)][kind]
        lie_leg = Limb(u(-5.0, 20.0), u(0.0, 30.0), u(-5.0, 20.0), u(0.0, 30.0))
        out.append(
            (
                BodyPose(
                    yaw_deg=yaw,
                    pitch_deg=pitch + u(-8, 8),
                    roll_deg=roll + u(-8, 8),
                    left_arm=arm(),
                    right_arm=arm(),
                    left_leg=lie_leg,
                    right_leg=lie_leg,
                ),
                Posture.LYING,
                height,
            )
        )
    return out
