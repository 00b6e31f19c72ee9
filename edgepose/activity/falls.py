"""Fall rule: a fast transition from upright to lying, followed by staying down.

A fall is reported when all of these hold (parameters in FallConfig):
1. the body was upright (torso within the posture rule's `upright_max_deg`, feet under the hips,
   not squatting) at most `max_transition_ms` before it first lies (torso and legs horizontal,
   see `posture.is_lying`);
2. on the way down the shoulders dropped at a peak speed of at least `min_drop_speed` torso
   lengths per second, measured over `speed_window_ms` (the torso length is the one last seen
   upright, so foreshortening while falling does not inflate the speed);
3. the body then stays lying for `confirm_ms` (at least 80 % of the frames).
Bending down and tying shoes keep the legs vertical (never lying); sitting down hard is fast but
never lying; lying down slowly takes longer than `max_transition_ms` and drops slowly, also when
it goes through a squat (a squat keeps the torso up but is not upright: the time counts from the
last frame on one's feet or on a chair).
Confidence grows with the drop speed and with how quickly the body went down.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass, field

from edgepose.activity.base import Emit
from edgepose.activity.features import PoseFeatures
from edgepose.config.activity import FallConfig
from edgepose.types import EventType

UPRIGHT_LEG_MAX_DEG = 50.0


class FallPhase(enum.Enum):
    """Where a track is in the fall rule."""

    WATCHING = enum.auto()
    DOWN = enum.auto()  # went down fast; waiting to see it stays down
    FALLEN = enum.auto()  # reported; until upright again


@dataclass(slots=True)
class FallDetector:
    """The fall rule for one track."""

    cfg: FallConfig
    upright_max_deg: float
    phase: FallPhase = FallPhase.WATCHING
    ref_scale_px: float = math.nan
    last_upright_ms: int | None = None
    down_since_ms: int = 0
    down_frames: int = 0
    lying_frames: int = 0
    peak_speed: float = 0.0
    transition_ms: int = 0
    last_fall_ms: int | None = None
    _shoulder: deque[tuple[int, float]] = field(default_factory=deque)
    _speeds: deque[tuple[int, float]] = field(default_factory=deque)

    @property
    def fallen(self) -> bool:
        """Whether a fall was reported and the person has not got up yet."""
        return self.phase is FallPhase.FALLEN

    def _drop_speed(self, f: PoseFeatures, t: int) -> float:
        y = float(f.shoulder_center_px[1])
        if math.isnan(y) or math.isnan(self.ref_scale_px):
            return math.nan
        yn = y / self.ref_scale_px
        self._shoulder.append((t, yn))
        while len(self._shoulder) > 1 and t - self._shoulder[1][0] >= self.cfg.speed_window_ms:
            self._shoulder.popleft()
        t0, y0 = self._shoulder[0]
        if t - t0 < self.cfg.speed_window_ms // 2:
            return math.nan
        return (yn - y0) * 1000.0 / (t - t0)

    def update(self, f: PoseFeatures, lying: bool, t: int, *, squatting: bool = False) -> list[Emit]:
        """Feed one frame of the track (`squatting`: the frame's or the held posture is a squat)."""
        # Upright means on one's feet or on a chair: torso up and the feet below the hips (not
        # sitting on the floor with the legs out, from where lying back is no fall), and not
        # squatting (going from a squat to the floor is lying down, however fast the last part).
        upright = (
            f.torso_inclination_deg <= self.upright_max_deg
            and not lying
            and not squatting
            and not f.leg_inclination_deg > UPRIGHT_LEG_MAX_DEG
        )
        if upright and not math.isnan(f.scale_px):
            a = 0.2
            self.ref_scale_px = (
                f.scale_px if math.isnan(self.ref_scale_px) else (1 - a) * self.ref_scale_px + a * f.scale_px
            )
        speed = self._drop_speed(f, t)
        if not math.isnan(speed):
            self._speeds.append((t, speed))
        horizon = t - self.cfg.max_transition_ms - self.cfg.speed_window_ms
        while self._speeds and self._speeds[0][0] < horizon:
            self._speeds.popleft()
        if upright:
            self.last_upright_ms = t
            if self.phase is not FallPhase.WATCHING:
                self.phase = FallPhase.WATCHING
            return []
        if self.phase is FallPhase.WATCHING and lying:
            return self._start_down(t)
        if self.phase is FallPhase.DOWN:
            return self._confirm(lying, t)
        return []

    def _start_down(self, t: int) -> list[Emit]:
        if self.last_upright_ms is None:
            return []
        transition = t - self.last_upright_ms
        if transition > self.cfg.max_transition_ms or transition > self.cfg.upright_lookback_ms:
            return []
        if self.last_fall_ms is not None and t - self.last_fall_ms < self.cfg.rearm_ms:
            return []
        since = self.last_upright_ms - self.cfg.speed_window_ms
        peak = max((s for ts, s in self._speeds if ts >= since), default=0.0)
        if peak < self.cfg.min_drop_speed:
            return []
        self.phase = FallPhase.DOWN
        self.down_since_ms = t
        self.down_frames = self.lying_frames = 0
        self.peak_speed = peak
        self.transition_ms = transition
        return []

    def _confirm(self, lying: bool, t: int) -> list[Emit]:
        self.down_frames += 1
        self.lying_frames += int(lying)
        if t - self.down_since_ms < self.cfg.confirm_ms:
            return []
        if self.lying_frames < 0.8 * self.down_frames:
            self.phase = FallPhase.WATCHING
            return []
        self.phase = FallPhase.FALLEN
        self.last_fall_ms = t
        speed_part = min(1.0, (self.peak_speed - self.cfg.min_drop_speed) / self.cfg.min_drop_speed)
        quick_part = 1.0 - self.transition_ms / max(1, self.cfg.max_transition_ms)
        confidence = max(0.0, min(1.0, 0.4 + 0.35 * speed_part + 0.25 * quick_part))
        return [
            Emit(
                EventType.FALL_DETECTED,
                {
                    "confidence": round(confidence, 2),
                    "drop_speed": round(self.peak_speed, 2),
                    "transition_ms": self.transition_ms,
                    "down_ms": t - self.down_since_ms,
                },
            )
        ]
