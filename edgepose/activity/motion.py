"""How fast a person's hips move across the image, in torso sizes per second.

A seated person's hips stay put; a walker's cross one to two torso sizes a second (the torso
size is PoseFeatures.scale_px: the torso length, or more when the limbs reach further). The speed is
the straight-line hip displacement over the last WINDOW_MS (the oldest kept sample to now), so
that landmark jitter averages out. With no earlier sample (a new track, a single photo) the
person counts as still, which is right for a held pose.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from edgepose.activity.features import PoseFeatures

#: Hip positions older than this are forgotten (milliseconds).
WINDOW_MS: Final = 500
#: Speeds over a shorter span than this are not measured (one frame's jitter is not motion).
MIN_SPAN_MS: Final = 300


@dataclass(slots=True)
class HipMotion:
    """Recent hip positions of one track."""

    samples: deque[tuple[int, float, float]] = field(default_factory=deque)  # (t ms, x px, y px)

    def update(self, f: PoseFeatures, t: int) -> float:
        """Feed one frame; the hips' speed over the window in torso sizes per second (0: unknown)."""
        x, y = (float(v) for v in f.hip_center_px)
        if math.isnan(x) or math.isnan(y):
            return 0.0
        while self.samples and t - self.samples[0][0] > WINDOW_MS:
            self.samples.popleft()
        self.samples.append((t, x, y))
        t0, x0, y0 = self.samples[0]
        if t - t0 < MIN_SPAN_MS or not f.scale_px > 0.0:
            return 0.0
        return float(np.hypot(x - x0, y - y0)) / f.scale_px / ((t - t0) / 1000.0)
