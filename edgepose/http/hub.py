"""The hand-over point between the processing loop and the HTTP server.

The processing loop calls `PreviewHub.update` once per frame. That call only stores references
(frames and results are immutable values) and bumps a few counters; drawing and JPEG encoding
happen in the server's own threads, and only while someone watches. The server reads snapshots,
the health view and the metric counters from here.
"""

from __future__ import annotations

import bisect
import enum
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Protocol

from edgepose.redact import redact
from edgepose.types import (
    ActivityState,
    Event,
    EventType,
    Frame,
    GateDecision,
    PoseResult,
    ServiceStats,
    SourceState,
)

__all__ = ["PreviewHub", "Snapshot", "SourceState", "Stage", "ZoneOutline"]

# Upper bounds of the per-stage latency histogram, in milliseconds (Prometheus gets seconds).
STAGE_BUCKETS_MS: tuple[float, ...] = (1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0, 250.0)


class Stage(enum.StrEnum):
    """The pipeline stages whose time is recorded per frame."""

    PREPROCESS = "preprocess"
    DETECTOR = "detector"
    LANDMARK = "landmark"
    POSTPROCESS = "postprocess"
    TOTAL = "total"


class ZoneShape(Protocol):
    """A named polygon in normalised coordinates (the activity config's zones fit this)."""

    @property
    def name(self) -> str:
        """Zone name."""
        ...

    @property
    def polygon(self) -> tuple[tuple[float, float], ...]:
        """Corners, normalised, in order."""
        ...


@dataclass(frozen=True, slots=True)
class ZoneOutline:
    """A named polygon to draw over the preview, normalised coordinates."""

    name: str
    polygon: tuple[tuple[float, float], ...]


class PublisherStatus(Protocol):
    """The two read-only properties of a Publisher the metrics need."""

    @property
    def connected(self) -> bool:
        """Whether the transport is up now."""
        ...

    @property
    def spool_depth(self) -> int:
        """Events waiting for delivery."""
        ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The latest processed frame and what was found in it; `seq` grows by one per frame."""

    seq: int
    frame: Frame | None
    result: PoseResult | None
    state: ActivityState | None
    stats: ServiceStats | None


@dataclass(frozen=True, slots=True)
class Health:
    """Whether frames are being processed now, and if not, why."""

    ok: bool
    reason: str
    source: SourceState
    frames: int
    last_frame_age_s: float | None


@dataclass(frozen=True, slots=True)
class HistogramCounts:
    """Cumulative histogram of one stage: counts per bucket (last is +Inf) and the sum in ms."""

    bucket_counts: tuple[int, ...]
    sum_ms: float


@dataclass(frozen=True, slots=True)
class Counters:
    """Everything /metrics reports, read in one go under the hub's lock."""

    frames: int
    dropped_frames: int
    fps: float
    people: int
    viewers: int
    encoded_frames: int
    events_by_type: tuple[tuple[EventType, int], ...]
    stages: tuple[tuple[Stage, HistogramCounts], ...]
    publisher_connected: bool | None
    spool_depth: int | None
    source: SourceState
    last_frame_age_s: float | None
    detector_runs: int = 0
    search_frames: tuple[tuple[GateDecision, int], ...] = ()


class _Histogram:
    """A fixed-bucket histogram; plain ints so an observation is a bisect and two additions."""

    __slots__ = ("counts", "sum_ms")

    def __init__(self) -> None:
        self.counts = [0] * (len(STAGE_BUCKETS_MS) + 1)
        self.sum_ms = 0.0

    def observe(self, value_ms: float) -> None:
        self.counts[bisect.bisect_left(STAGE_BUCKETS_MS, value_ms)] += 1
        self.sum_ms += value_ms

    def cumulative(self) -> HistogramCounts:
        running, out = 0, []
        for c in self.counts:
            running += c
            out.append(running)
        return HistogramCounts(tuple(out), self.sum_ms)


Listener = Callable[[int], None]


class PreviewHub:
    """Thread-safe latest-frame store, recent events, health and counters for the HTTP server."""

    def __init__(
        self,
        *,
        recent_events: int = 50,
        stale_after_s: float = 5.0,
        zones: Sequence[ZoneShape] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._stale_after_s = stale_after_s
        self.zones: tuple[ZoneShape, ...] = tuple(zones)
        self._snapshot = Snapshot(0, None, None, None, None)
        self._events: deque[tuple[int, Event]] = deque(maxlen=recent_events)
        self._event_seq = 0
        self._last_frame_at: float | None = None
        self._source = SourceState.STARTING
        self._source_detail = ""
        self._events_by_type: dict[EventType, int] = {}
        self._detector_runs = 0
        self._search_frames: dict[GateDecision, int] = {}
        self._hist = {stage: _Histogram() for stage in Stage}
        self._viewers = 0
        self._encoded = 0
        self._publisher: PublisherStatus | None = None
        self._listeners: tuple[Listener, ...] = ()

    # ---- the processing loop's side -------------------------------------------------------------

    def update(
        self,
        frame: Frame,
        result: PoseResult,
        events: Sequence[Event] = (),
        state: ActivityState | None = None,
        stats: ServiceStats | None = None,
    ) -> None:
        """Record one processed frame. Stores references only; never draws or encodes."""
        now = self._clock()
        t = result.timings
        with self._lock:
            prev = self._snapshot
            seq = prev.seq + 1
            self._snapshot = Snapshot(
                seq,
                frame,
                result,
                state if state is not None else prev.state,
                stats if stats is not None else prev.stats,
            )
            self._last_frame_at = now
            if self._source is SourceState.STARTING:
                self._source = SourceState.RUNNING
            self._detector_runs += t.detector_runs
            self._search_frames[t.search] = self._search_frames.get(t.search, 0) + 1
            h = self._hist
            h[Stage.PREPROCESS].observe(t.preprocess_ms)
            if t.detector_ran:
                h[Stage.DETECTOR].observe(t.detector_ms)
            h[Stage.LANDMARK].observe(t.landmark_ms)
            h[Stage.POSTPROCESS].observe(t.postprocess_ms)
            h[Stage.TOTAL].observe(t.total_ms)
            for event in events:
                self._event_seq += 1
                self._events.append((self._event_seq, event))
                self._events_by_type[event.type] = self._events_by_type.get(event.type, 0) + 1
            listeners = self._listeners
        for listener in listeners:
            listener(seq)

    def set_source_state(self, state: SourceState, detail: str = "") -> None:
        """Tell the hub the source started, ended or failed (`detail` says why, for /healthz)."""
        with self._lock:
            self._source = state
            self._source_detail = redact(detail)  # a camera password never reaches /healthz

    def attach_publisher(self, publisher: PublisherStatus | None) -> None:
        """Report this publisher's connection and spool depth in /metrics (read at scrape time)."""
        with self._lock:
            self._publisher = publisher

    # ---- the server's side ----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The latest frame, result, state and stats."""
        with self._lock:
            return self._snapshot

    def events_after(self, event_seq: int) -> tuple[int, tuple[Event, ...]]:
        """Events recorded after `event_seq` (oldest first, within the kept window) and the newest seq."""
        with self._lock:
            return self._event_seq, tuple(e for s, e in self._events if s > event_seq)

    def recent_events(self) -> tuple[Event, ...]:
        """The kept recent events, oldest first."""
        return self.events_after(0)[1]

    def health(self) -> Health:
        """200-or-503 view: frames must be arriving and the source must be running."""
        now = self._clock()
        with self._lock:
            source, detail = self._source, self._source_detail
            frames, last = self._snapshot.seq, self._last_frame_at
        age = None if last is None else max(0.0, now - last)
        if source is SourceState.FAILED:
            reason = f"source failed: {detail}" if detail else "source failed"
            return Health(False, reason, source, frames, age)
        if source in (SourceState.ENDED, SourceState.STOPPED, SourceState.RECONNECTING):
            reason = f"source {source.value}" + (f": {detail}" if detail else "")
            return Health(False, reason, source, frames, age)
        if age is None:
            return Health(False, "no frame processed yet", source, frames, age)
        if age > self._stale_after_s:
            return Health(False, f"no frame processed for {age:.1f} s", source, frames, age)
        return Health(True, "frames are being processed", source, frames, age)

    def counters(self) -> Counters:
        """Every figure /metrics reports."""
        health = self.health()
        with self._lock:
            snap = self._snapshot
            publisher = self._publisher
            counters = Counters(
                frames=snap.seq,
                dropped_frames=snap.stats.dropped_frames if snap.stats else 0,
                fps=snap.stats.fps if snap.stats else 0.0,
                people=len(snap.result.poses) if snap.result else 0,
                viewers=self._viewers,
                encoded_frames=self._encoded,
                events_by_type=tuple(sorted(self._events_by_type.items())),
                stages=tuple((stage, h.cumulative()) for stage, h in self._hist.items()),
                publisher_connected=None,
                spool_depth=None,
                source=health.source,
                last_frame_age_s=health.last_frame_age_s,
                detector_runs=self._detector_runs,
                search_frames=tuple(sorted(self._search_frames.items())),
            )
        if publisher is None:
            return counters
        # Read outside the lock: these properties belong to another thread's object.
        return replace(counters, publisher_connected=publisher.connected, spool_depth=publisher.spool_depth)

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Count a viewer of the image stream for as long as the block runs."""
        with self._lock:
            self._viewers += 1
        try:
            yield
        finally:
            with self._lock:
                self._viewers -= 1

    @property
    def viewers(self) -> int:
        """Image-stream viewers connected now."""
        with self._lock:
            return self._viewers

    def count_encoded(self) -> None:
        """Note that one preview frame was drawn and encoded."""
        with self._lock:
            self._encoded += 1

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(seq)` from the processing thread after each update; it must return at once."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling a listener added before."""
        with self._lock:
            self._listeners = tuple(x for x in self._listeners if x is not listener)
