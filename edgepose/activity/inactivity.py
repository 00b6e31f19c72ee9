"""Inactivity: a present person whose landmarks have not moved significantly for a long time.

Motion is measured against the last pose that moved (an anchor), not frame to frame, so that
slow drift adds up and landmark jitter does not: mean displacement of the landmarks visible in
both, in torso lengths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgepose.activity.base import Emit
from edgepose.activity.features import PoseFeatures
from edgepose.config.activity import InactivityConfig
from edgepose.types import EventType, FloatArray


@dataclass(slots=True)
class InactivityDetector:
    """Stillness state of one track."""

    cfg: InactivityConfig
    anchor: FloatArray | None = None
    anchor_scale_px: float = math.nan
    still_since_ms: int = 0
    fired: bool = False

    def still_ms(self, t: int) -> int:
        """How long the track has been still."""
        return t - self.still_since_ms if self.anchor is not None else 0

    def update(self, f: PoseFeatures, t: int) -> list[Emit]:
        """Feed one frame of the track."""
        if math.isnan(f.scale_px):
            return []
        if self.anchor is None:
            self._reset(f, t)
            return []
        both = ~np.isnan(self.anchor[:, 0]) & f.visible
        if np.any(both):
            moved = float(np.mean(np.linalg.norm(f.points_px[both] - self.anchor[both], axis=1)))
            if moved / self.anchor_scale_px > self.cfg.motion_threshold:
                self._reset(f, t)
                return []
        if not self.fired and t - self.still_since_ms >= self.cfg.after_ms:
            self.fired = True
            return [Emit(EventType.INACTIVITY, {"duration_ms": t - self.still_since_ms})]
        return []

    def _reset(self, f: PoseFeatures, t: int) -> None:
        self.anchor = f.points_px.copy()
        self.anchor_scale_px = f.scale_px
        self.still_since_ms = t
        self.fired = False
