"""Repetition counters with enter/exit hysteresis, as MediaPipe's pose-classification counter.

Each exercise watches one angle. A rep is entered when the angle passes the enter threshold
(while the exercise's gate holds: body horizontal for push-ups, split stance for lunges, ...) and
counted when it comes back past the exit threshold. The rep event carries the count, the
duration (from leaving the rest position to coming back) and a form figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from edgepose.activity.base import Emit, nanmax, nanmean, nanmin
from edgepose.activity.features import PoseFeatures
from edgepose.config.activity import RepConfig
from edgepose.skeleton import PoseLandmark as L
from edgepose.types import EventType

EXERCISES = ("squat", "pushup", "jumping_jack", "curl", "lunge")


@dataclass(slots=True)
class Hysteresis:
    """One enter/exit counter on a signal; `rising` when entering means going above `enter`."""

    enter: float
    exit: float
    rising: bool = False
    inside: bool = False
    left_rest_ms: int = 0
    extreme: float = math.nan
    start_value: float = math.nan
    armed: bool = True
    #: The rest position arms the counter only while the gate holds (a push-up starts from a
    #: plank's top, not from arms straightened on the way down to the floor).
    rest_in_gate: bool = False

    def _past_enter(self, v: float) -> bool:
        return v > self.enter if self.rising else v < self.enter

    def _past_exit(self, v: float) -> bool:
        return v < self.exit if self.rising else v > self.exit

    def update(
        self,
        value: float,
        gate: bool,
        t: int,
        *,
        veto: bool = False,
        entered: bool = False,
        can_exit: bool = True,
    ) -> tuple[int, float, float] | None:
        """Feed a value; (duration_ms, extreme, start value) when a repetition completes.

        `veto` cancels a repetition under way (it looked like another exercise); the counter
        then waits for the rest position before it can enter again. `entered` says another
        signal sees the exercise's low point (the counter enters as if the value had passed
        `enter`); the rep still counts only when the value comes back past `exit` while
        `can_exit` holds (the rest of the body is back in the rest position too); past `exit`
        without it the repetition is dropped.
        """
        if math.isnan(value):
            return None
        if veto:
            self.inside = False
            self.armed = False
        if not self.inside:
            if self._past_exit(value) or math.isnan(self.start_value):
                self.left_rest_ms = t
                self.start_value = value
                self.armed = gate or not self.rest_in_gate
            if gate and self.armed and not veto and (entered or self._past_enter(value)):
                self.inside = True
                self.extreme = value
            return None
        better = value > self.extreme if self.rising else value < self.extreme
        if better:
            self.extreme = value
        if self._past_exit(value) and not can_exit:
            self.inside = False  # back at rest in the angle only: no repetition
            self.left_rest_ms = t
            self.start_value = value
            return None
        if self._past_exit(value):
            self.inside = False
            done = (t - self.left_rest_ms, self.extreme, self.start_value)
            self.left_rest_ms = t
            self.start_value = value
            return done
        return None


def _distance_ratio(f: PoseFeatures, a: tuple[int, int], b: tuple[int, int]) -> float:
    """|a0-a1| / |b0-b1| in world metres when present, else pixels."""
    pts = f.world if f.world is not None else f.points_px
    num = float(np.linalg.norm(pts[a[0]] - pts[a[1]]))
    den = float(np.linalg.norm(pts[b[0]] - pts[b[1]]))
    return num / den if den > 0.0 else math.nan


def stride(f: PoseFeatures) -> float:
    """Ankle distance over torso length."""
    pts = f.world if f.world is not None else f.points_px
    hips = (pts[L.LEFT_HIP] + pts[L.RIGHT_HIP]) / 2.0
    shoulders = (pts[L.LEFT_SHOULDER] + pts[L.RIGHT_SHOULDER]) / 2.0
    torso = float(np.linalg.norm(shoulders - hips))
    ankles = float(np.linalg.norm(pts[L.LEFT_ANKLE] - pts[L.RIGHT_ANKLE]))
    return ankles / torso if torso > 0.0 else math.nan


@dataclass(slots=True)
class RepCounter:
    """All exercise counters of one track."""

    cfg: RepConfig
    lying_min_deg: float
    upright_max_deg: float
    counts: dict[str, int] = field(default_factory=dict)
    last_rep_ms: int | None = None
    _curl_last_ms: int = -(10**9)
    _counters: dict[str, Hysteresis] = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = self.cfg
        self._counters = {
            "squat": Hysteresis(c.squat_enter_knee_deg, c.squat_exit_knee_deg),
            "pushup": Hysteresis(
                c.pushup_enter_elbow_deg, c.pushup_exit_elbow_deg, armed=False, rest_in_gate=True
            ),
            "jumping_jack": Hysteresis(c.jack_enter_arm_deg, c.jack_exit_arm_deg, rising=True),
            "curl_left": Hysteresis(c.curl_enter_elbow_deg, c.curl_exit_elbow_deg),
            "curl_right": Hysteresis(c.curl_enter_elbow_deg, c.curl_exit_elbow_deg),
            "lunge": Hysteresis(c.lunge_enter_knee_deg, c.lunge_exit_knee_deg),
        }

    def update(self, f: PoseFeatures, t: int, squatting: bool = False) -> list[Emit]:
        """Feed one frame; rep events for completed repetitions.

        `squatting`: this frame's posture (before hysteresis) is squatting. A squat then enters
        even when the knee angle stays above its enter threshold, as it does for many real
        people seen from the front in 2D; it counts when the knee straightens past the exit.
        Squatting also overrides the lunge's split-stance test (a wide squat spreads the feet),
        but not a lunge repetition already under way.
        While a squat is under way, curls are cancelled (the arms bend during squats).
        """
        if self.last_rep_ms is not None and t - self.last_rep_ms >= self.cfg.idle_reset_ms:
            self.counts.clear()
            self.last_rep_ms = None
        a, c = f.angles, self.cfg
        torso = f.torso_inclination_deg
        upright = torso <= self.upright_max_deg
        horizontal = torso >= self.lying_min_deg
        split = stride(f)
        knees_straight = nanmin(a.knee_left, a.knee_right) >= 140.0
        out: list[Emit] = []
        knee = nanmean(a.knee_left, a.knee_right)
        # Feet wide apart look like a lunge's split stance; a squatting posture says otherwise.
        lunging = split >= c.lunge_min_stride and not squatting
        # A lunge under way vetoes the squat: a lunge seen from the side bends both knees and
        # can read as a seat or a squat for a moment, which would lift the split-stance test.
        lunge_under_way = self._counters["lunge"].inside
        out += self._step(
            "squat",
            knee,
            not horizontal and not lunging,
            t,
            "depth_deg",
            veto=lunging or horizontal or lunge_under_way,
            entered=squatting,
            can_exit=torso <= c.squat_exit_max_torso_deg,
        )
        in_squat = self._counters["squat"].inside
        elbow = nanmean(a.elbow_left, a.elbow_right)
        out += self._step("pushup", elbow, horizontal and knees_straight, t, "depth_deg")
        arms = nanmean(a.shoulder_left, a.shoulder_right)
        spread = _distance_ratio(f, (L.LEFT_ANKLE, L.RIGHT_ANKLE), (L.LEFT_SHOULDER, L.RIGHT_SHOULDER))
        jack_gate = (
            upright and spread >= c.jack_min_feet_spread and nanmin(a.shoulder_left, a.shoulder_right) > 90.0
        )
        out += self._step("jumping_jack", arms, jack_gate, t, "range_deg")
        for side, elbow_deg, shoulder_deg in (
            ("left", a.elbow_left, a.shoulder_left),
            ("right", a.elbow_right, a.shoulder_right),
        ):
            gate = upright and shoulder_deg <= c.curl_upper_arm_max_deg
            out += self._step(f"curl_{side}", elbow_deg, gate, t, "range_deg", side=side, veto=in_squat)
        lunge_knee = nanmax(a.knee_left, a.knee_right)
        out += self._step("lunge", lunge_knee, split >= c.lunge_min_stride and not horizontal, t, "depth_deg")
        return out

    def _step(
        self,
        key: str,
        value: float,
        gate: bool,
        t: int,
        form: str,
        *,
        side: str | None = None,
        veto: bool = False,
        entered: bool = False,
        can_exit: bool = True,
    ) -> list[Emit]:
        done = self._counters[key].update(value, gate, t, veto=veto, entered=entered, can_exit=can_exit)
        if done is None:
            return []
        duration, extreme, start = done
        if duration < self.cfg.min_rep_ms:
            return []
        exercise = key.split("_", maxsplit=1)[0] if key.startswith("curl") else key
        if exercise == "curl":
            # Both arms curling together are one repetition, not two.
            if t - self._curl_last_ms < 500:
                return []
            self._curl_last_ms = t
        figure = extreme if form == "depth_deg" else abs(extreme - start)
        self.counts[exercise] = self.counts.get(exercise, 0) + 1
        self.last_rep_ms = t
        attrs: dict[str, str | int | float | bool | None] = {
            "exercise": exercise,
            "count": self.counts[exercise],
            "duration_ms": duration,
            form: round(figure, 1),
        }
        if side is not None:
            attrs["side"] = side
        return [Emit(EventType.REP, attrs)]
