"""Posture per frame from joint angles and inclinations, and a hysteresis that makes it stable.

Rules (angles in degrees, see PostureConfig):
- lying: torso and hips->ankles both at least `lying_min_deg` from vertical (a bent-over torso on
  straight legs is not lying; a body flat on the floor is);
- standing: knees straight (>= standing_knee_min_deg), hips extended, torso upright;
- squatting: both knees bent (< bent_knee_max_deg) and either very deep, shins inclined (knees over
  toes) or torso leaning forwards;
- sitting: knees bent with shins and torso near vertical (a chair), or legs straight out in front
  with the hips flexed (on the floor);
- unknown: too few joints visible, or a pose none of the rules covers (bending over).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edgepose.activity.base import Emit, nanmax, nanmean
from edgepose.activity.features import PoseFeatures
from edgepose.config.activity import PostureConfig
from edgepose.types import EventType, Posture


def is_lying(f: PoseFeatures, cfg: PostureConfig) -> bool:
    """Whether the body is horizontal: torso and legs both far from vertical."""
    torso, leg = f.torso_inclination_deg, f.leg_inclination_deg
    if math.isnan(torso) or torso < cfg.lying_min_deg:
        return False
    return math.isnan(leg) or leg >= cfg.lying_min_deg - 10.0


def classify_posture(f: PoseFeatures, cfg: PostureConfig) -> Posture:
    """The posture this frame shows, without memory."""
    torso = f.torso_inclination_deg
    if f.visible_fraction < cfg.min_landmark_fraction or math.isnan(torso):
        return Posture.UNKNOWN
    if is_lying(f, cfg):
        return Posture.LYING
    a = f.angles
    knee = nanmean(a.knee_left, a.knee_right)
    hip = nanmean(a.hip_left, a.hip_right)
    if math.isnan(knee):
        return Posture.UNKNOWN
    if knee >= cfg.standing_knee_min_deg:
        if torso <= cfg.upright_max_deg and (math.isnan(hip) or hip >= cfg.standing_hip_min_deg):
            return Posture.STANDING
        if torso <= cfg.upright_max_deg and hip < 120.0:
            return Posture.SITTING  # legs straight out on the floor
        return Posture.UNKNOWN
    # Both knees must be bent: one bent leg is a step or a kick, not sitting or squatting.
    if nanmax(a.knee_left, a.knee_right) < cfg.bent_knee_max_deg:
        shin = f.shin_inclination_deg
        if (
            knee < cfg.deep_squat_knee_max_deg
            or (not math.isnan(shin) and shin >= cfg.squat_shin_min_deg)
            or torso >= cfg.squat_torso_min_deg
        ):
            return Posture.SQUATTING
        return Posture.SITTING
    return Posture.UNKNOWN


@dataclass(slots=True)
class PostureTracker:
    """Hysteresis: a new posture must hold `hold_ms` (unknown: twice that) before it is taken."""

    cfg: PostureConfig
    current: Posture = Posture.UNKNOWN
    since_ms: int = 0
    candidate: Posture = Posture.UNKNOWN
    candidate_since_ms: int = 0
    unknown_since_ms: int | None = None

    def update(self, instant: Posture, timestamp_ms: int) -> list[Emit]:
        """Feed this frame's posture; a posture_changed event when the stable posture changes."""
        if instant is Posture.UNKNOWN:
            # Weak evidence for a frame (a dropped landmark) neither confirms nor resets a change.
            if self.unknown_since_ms is None:
                self.unknown_since_ms = timestamp_ms
            if self.current is Posture.UNKNOWN or timestamp_ms - self.unknown_since_ms < 2 * self.cfg.hold_ms:
                return []
            return self._switch(Posture.UNKNOWN, self.unknown_since_ms)
        self.unknown_since_ms = None
        if instant == self.current:
            self.candidate = instant
            return []
        if instant != self.candidate:
            self.candidate = instant
            self.candidate_since_ms = timestamp_ms
        if timestamp_ms - self.candidate_since_ms < self.cfg.hold_ms:
            return []
        return self._switch(instant, self.candidate_since_ms)

    def _switch(self, posture: Posture, since_ms: int) -> list[Emit]:
        previous = self.current
        self.current = posture
        self.since_ms = since_ms
        self.candidate = posture
        return [Emit(EventType.POSTURE_CHANGED, {"posture": posture.value, "previous": previous.value})]
