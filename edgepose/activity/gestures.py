"""Arm gestures: both hands up, one arm raised, T-pose (held, then fired once), and waving.

Left and right are the person's own (BlazePose landmark names). An arm is raised when the wrist
is above the nose and the elbow fairly straight; a T-pose has both arms straight, near
horizontal and spread wide; a wave is a hand above the shoulder swinging sideways relative to
its elbow with enough reversals in a window. Static gestures fire after `hold_ms`, once per hold,
with a per-gesture cooldown.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from edgepose.activity.base import Emit
from edgepose.activity.features import PoseFeatures
from edgepose.config.activity import GestureConfig
from edgepose.skeleton import PoseLandmark as L
from edgepose.types import EventType

GRACE_MS = 300


# The `gesture` attribute values the rules emit: a contract (Home Assistant event types, automations).
GESTURE_TYPES: tuple[str, ...] = ("both_hands_up", "left_arm_raised", "right_arm_raised", "t_pose", "wave")


def _above_head(f: PoseFeatures, wrist: int) -> bool:
    y = float(f.points_px[wrist, 1])
    head = float(f.points_px[L.NOSE, 1])
    if math.isnan(head):
        head = float(f.shoulder_center_px[1]) - 0.6 * f.scale_px
    return not math.isnan(y) and y < head


def _span_ratio(f: PoseFeatures) -> float:
    pts = f.world if f.world is not None else f.points_px
    wrists = float(np.linalg.norm(pts[L.LEFT_WRIST] - pts[L.RIGHT_WRIST]))
    shoulders = float(np.linalg.norm(pts[L.LEFT_SHOULDER] - pts[L.RIGHT_SHOULDER]))
    return wrists / shoulders if shoulders > 0.0 else math.nan


def static_gesture(f: PoseFeatures, cfg: GestureConfig) -> str | None:
    """The static gesture this frame shows, if any."""
    a = f.angles
    left = _above_head(f, L.LEFT_WRIST) and a.elbow_left >= cfg.raised_min_elbow_deg
    right = _above_head(f, L.RIGHT_WRIST) and a.elbow_right >= cfg.raised_min_elbow_deg
    if left and right:
        return "both_hands_up"
    tol = cfg.t_pose_tolerance_deg
    if (
        abs(a.shoulder_left - 90.0) <= tol
        and abs(a.shoulder_right - 90.0) <= tol
        and min(a.elbow_left, a.elbow_right) >= 150.0
        and _span_ratio(f) >= 2.5
    ):
        return "t_pose"
    if left:
        return "left_arm_raised"
    if right:
        return "right_arm_raised"
    return None


def count_reversals(values: list[float], amplitude: float) -> int:
    """Direction changes of a signal, ignoring swings smaller than `amplitude` (a zig-zag filter)."""
    if not values:
        return 0
    lo = hi = ext = values[0]
    direction = 0
    reversals = 0
    for v in values[1:]:
        if direction == 0:
            lo, hi = min(lo, v), max(hi, v)
            if v - lo >= amplitude:
                direction, ext = 1, v
            elif hi - v >= amplitude:
                direction, ext = -1, v
        elif direction == 1:
            if v > ext:
                ext = v
            elif ext - v >= amplitude:
                direction, ext, reversals = -1, v, reversals + 1
        elif v < ext:
            ext = v
        elif v - ext >= amplitude:
            direction, ext, reversals = 1, v, reversals + 1
    return reversals


@dataclass(slots=True)
class GestureDetector:
    """Gesture state of one track."""

    cfg: GestureConfig
    upright_max_deg: float
    held: str | None = None
    held_since_ms: int = 0
    fired_this_hold: bool = False
    absent_since_ms: int | None = None
    last_fired_ms: dict[str, int] = field(default_factory=dict)
    _swing: dict[str, deque[tuple[int, float]]] = field(default_factory=dict)

    def _cooled(self, name: str, t: int) -> bool:
        last = self.last_fired_ms.get(name)
        return last is None or t - last >= self.cfg.cooldown_ms

    def update(self, f: PoseFeatures, t: int, static: str | None) -> list[Emit]:
        """Feed one frame of the track and the static gesture it shows (pose model or `static_gesture`)."""
        if not f.torso_inclination_deg <= self.upright_max_deg:
            self.held = None
            self._swing.clear()
            return []
        out = self._waves(f, t)
        # A waving hand is above the shoulder too: no static gesture while a wave is under way.
        g = None if self._waving() else static
        if g == self.held:
            self.absent_since_ms = None
        elif self.held is not None and (self.absent_since_ms is None or t - self.absent_since_ms < GRACE_MS):
            # A missing landmark or a jittery frame does not end a held gesture at once.
            if self.absent_since_ms is None:
                self.absent_since_ms = t
            return out
        else:
            self.held, self.held_since_ms, self.fired_this_hold = g, t, False
            self.absent_since_ms = None
        if (
            g is not None
            and not self.fired_this_hold
            and t - self.held_since_ms >= self.cfg.hold_ms
            and self._cooled(g, t)
        ):
            self.fired_this_hold = True
            self.last_fired_ms[g] = t
            out.append(Emit(EventType.GESTURE, {"gesture": g, "held_ms": t - self.held_since_ms}))
        return out

    def _waving(self) -> bool:
        """Whether a hand has swung sideways at least once in the wave window."""
        return any(
            count_reversals([v for _, v in h], self.cfg.wave_min_amplitude) >= 1 for h in self._swing.values()
        )

    def _waves(self, f: PoseFeatures, t: int) -> list[Emit]:
        out: list[Emit] = []
        for side, wrist, elbow, shoulder in (
            ("left", L.LEFT_WRIST, L.LEFT_ELBOW, L.LEFT_SHOULDER),
            ("right", L.RIGHT_WRIST, L.RIGHT_ELBOW, L.RIGHT_SHOULDER),
        ):
            history = self._swing.setdefault(side, deque())
            w, e, s = f.points_px[wrist], f.points_px[elbow], f.points_px[shoulder]
            if np.isnan(w).any() or np.isnan(e).any() or math.isnan(f.scale_px):
                continue  # missing for a frame: keep the history
            if not w[1] < s[1]:
                history.clear()
                continue
            history.append((t, float(w[0] - e[0]) / f.scale_px))
            while history and t - history[0][0] > self.cfg.wave_window_ms:
                history.popleft()
            values = [v for _, v in history]
            if count_reversals(
                values, self.cfg.wave_min_amplitude
            ) >= self.cfg.wave_min_reversals and self._cooled("wave", t):
                self.last_fired_ms["wave"] = t
                history.clear()
                out.append(Emit(EventType.GESTURE, {"gesture": "wave", "side": side}))
        return out
