"""The service's figures: frame rate over a sliding window, smoothed stage times, SoC temperature."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path

from edgepose.types import GateDecision, PoseResult, SearchCounts, SourceState

FPS_WINDOW_S = 3.0
_EMA_ALPHA = 0.1
_CPU_TEMP_PATH = Path("/sys/class/thermal/thermal_zone0/temp")


def read_cpu_temp_c(path: Path = _CPU_TEMP_PATH) -> float | None:
    """The SoC temperature in degrees Celsius, None where there is no thermal zone."""
    try:
        return int(path.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None


@dataclass
class Meter:
    """Frame rate over a sliding window and smoothed stage times."""

    frames: int = 0
    times: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=512))
    detector_ms: float = 0.0
    landmark_ms: float = 0.0
    people: int = 0
    last_timestamp_ms: int = 0
    detector_runs: int = 0
    decisions: collections.Counter[GateDecision] = field(default_factory=collections.Counter)

    def add(self, now: float, result: PoseResult) -> None:
        """Count one processed frame at monotonic time `now`."""
        self.frames += 1
        self.times.append(now)
        self.people = len(result.poses)
        self.last_timestamp_ms = result.timestamp_ms
        t = result.timings
        self.detector_runs += t.detector_runs
        self.decisions[t.search] += 1
        if t.detector_ran:
            self.detector_ms = (
                t.detector_ms if self.detector_ms == 0.0 else _ema(self.detector_ms, t.detector_ms)
            )
        self.landmark_ms = t.landmark_ms if self.landmark_ms == 0.0 else _ema(self.landmark_ms, t.landmark_ms)

    def search_counts(self) -> SearchCounts:
        """The person search's running totals."""
        return SearchCounts(
            self.detector_runs,
            self.decisions[GateDecision.SKIPPED],
            self.decisions[GateDecision.MOTION],
            self.decisions[GateDecision.SWEEP],
        )

    def fps(self, now: float) -> float:
        """Frames per second over the last `FPS_WINDOW_S` seconds."""
        while self.times and now - self.times[0] > FPS_WINDOW_S:
            self.times.popleft()
        if len(self.times) < 2:
            return 0.0
        span = self.times[-1] - self.times[0]
        return (len(self.times) - 1) / span if span > 0 else 0.0


def _ema(old: float, new: float) -> float:
    return (1.0 - _EMA_ALPHA) * old + _EMA_ALPHA * new


def status_line(meter: Meter, now: float, source: SourceState, link: str, detail: str) -> str:
    """systemd's STATUS= line: "waiting for camera (why)" before the first frame, else the figures."""
    if meter.frames == 0 and source is not SourceState.RUNNING:
        return f"waiting for camera ({detail}), {link}"
    people = meter.people
    text = f"{meter.fps(now):.1f} fps, {people} {'person' if people == 1 else 'people'}, {link}"
    return text if source is SourceState.RUNNING else f"{text}, source {source}"
