"""Actions at run time: a sliding window per person, the action model, enter/exit hysteresis.

Every `every_ms` the last `window_ms` (the model's) of a person's frames are classified. An
action starts when one label (not a quiet one) stays at or above `enter_confidence` for
`min_duration_ms`; it ends when its probability stays below `exit_confidence` for `exit_ms`,
when another action starts, or when the person leaves. The gap between the two thresholds and
the two hold times keep a label hovering near a threshold from flapping. Pure: time comes from
the frames.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from edgepose.activity.action_model import ActionModel, frame_parts, frame_vector, window_features
from edgepose.activity.base import Emit
from edgepose.activity.features import PoseFeatures
from edgepose.config.activity import ActionsConfig
from edgepose.types import EventType, FloatArray

# Frames with less of the body than this are left out of the window (as when recording).
MIN_VISIBLE_FRACTION = 0.5


@dataclass(slots=True)
class ActionTracker:
    """One person's window and action state."""

    model: ActionModel
    config: ActionsConfig
    _frames: deque[tuple[int, FloatArray]] = field(default_factory=deque)
    _last_classified_ms: int | None = None
    current: str | None = None
    _started_ms: int = 0
    _confidences: list[float] = field(default_factory=list)
    _candidate: str | None = None
    _candidate_ms: int = 0
    _below_ms: int | None = None

    def update(self, f: PoseFeatures, t: int) -> list[Emit]:
        """Add one frame; the action events it causes."""
        if f.visible_fraction >= MIN_VISIBLE_FRACTION:
            self._frames.append((t, frame_vector(frame_parts(f))))
        while self._frames and self._frames[0][0] < t - self.model.window_ms:
            self._frames.popleft()
        due = self._last_classified_ms is None or t - self._last_classified_ms >= self.config.every_ms
        span = self._frames[-1][0] - self._frames[0][0] if len(self._frames) >= 2 else 0
        if not due or span < self.config.min_window_fraction * self.model.window_ms:
            return []
        self._last_classified_ms = t
        times = [ts for ts, _ in self._frames]
        vectors = np.stack([v for _, v in self._frames])
        return self.decide(self.model.probabilities(window_features(times, vectors)), t)

    def decide(self, probabilities: dict[str, float], t: int) -> list[Emit]:
        """The hysteresis on one classification's probabilities."""
        c = self.config
        out: list[Emit] = []
        if self.current is not None:
            p = probabilities.get(self.current, 0.0)
            if p >= c.exit_confidence:
                self._below_ms = None
                self._confidences.append(p)
            elif self._below_ms is None:
                self._below_ms = t
            if self._below_ms is not None and t - self._below_ms >= c.exit_ms:
                out += self.end(self._below_ms)
        label, p = max(probabilities.items(), key=lambda kv: kv[1])
        if label in c.quiet_labels or p < c.enter_confidence or label == self.current:
            self._candidate = None
            return out
        if label != self._candidate:
            self._candidate, self._candidate_ms = label, t
        if t - self._candidate_ms >= c.min_duration_ms:
            out += self.end(t)  # another action took over
            self.current, self._started_ms = label, t
            self._confidences = [p]
            self._candidate, self._below_ms = None, None
            out.append(Emit(EventType.ACTION_STARTED, {"action": label, "confidence": round(p, 2)}))
        return out

    def end(self, t: int) -> list[Emit]:
        """End the current action (if any) at time t: its `action_ended` event."""
        if self.current is None:
            return []
        confidence = sum(self._confidences) / len(self._confidences) if self._confidences else 0.0
        emit = Emit(
            EventType.ACTION_ENDED,
            {
                "action": self.current,
                "confidence": round(confidence, 2),
                "duration_ms": max(0, t - self._started_ms),
            },
        )
        self.current, self._below_ms, self._confidences = None, None, []
        return [emit]
