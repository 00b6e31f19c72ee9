"""JSON bodies of the HTTP API and the live (SSE) updates the pages read.

State and events use the MQTT payload builders (`edgepose.publish.payloads`), so /api/state,
/api/events and the MQTT topics carry the same JSON.
"""

from __future__ import annotations

from typing import Any

from edgepose.http.hub import Health, Snapshot
from edgepose.publish import payloads
from edgepose.types import ActivityState, Event

JsonDict = dict[str, Any]


def state_payload(state: ActivityState) -> JsonDict:
    """The MQTT `state` payload."""
    return payloads.state_payload(state)


def event_payload(event: Event) -> JsonDict:
    """The MQTT `event` payload."""
    return payloads.event_payload(event)


def health_payload(health: Health) -> JsonDict:
    """Body of /healthz."""
    age = None if health.last_frame_age_s is None else round(health.last_frame_age_s, 3)
    return {
        "status": "ok" if health.ok else "unavailable",
        "reason": health.reason,
        "source": str(health.source),
        "frames": health.frames,
        "last_frame_age_s": age,
    }


class FpsMeter:
    """Frames per second from the hub's frame counter, smoothed; for a client without service stats."""

    def __init__(self, smoothing: float = 0.3) -> None:
        self._alpha = smoothing
        self._last: tuple[int, float] | None = None
        self._fps = 0.0

    def update(self, seq: int, now_s: float) -> float:
        """Feed the current frame count and time; returns the smoothed rate."""
        last = self._last
        if last is None or seq < last[0]:
            self._last = (seq, now_s)
            return self._fps
        frames, elapsed = seq - last[0], now_s - last[1]
        if elapsed >= 0.5:
            rate = frames / elapsed
            self._fps = rate if self._fps == 0.0 else self._fps + self._alpha * (rate - self._fps)
            self._last = (seq, now_s)
        return self._fps


def hello_payload(*, device_id: str, boot_id: str, kiosk_title: str, recent: list[JsonDict]) -> JsonDict:
    """First SSE message: who is talking (boot_id changes on every daemon start) and the recent events."""
    return {"device_id": device_id, "boot_id": boot_id, "kiosk_title": kiosk_title, "recent_events": recent}


def live_payload(
    snapshot: Snapshot, health: Health, *, events: list[JsonDict], fps: float, viewers: int
) -> JsonDict:
    """One SSE update: state, figures, timings, health and the events since the last update."""
    result, stats = snapshot.result, snapshot.stats
    timings = None
    if result is not None:
        t = result.timings
        timings = {
            "preprocess_ms": round(t.preprocess_ms, 2),
            "detector_ms": round(t.detector_ms, 2),
            "landmark_ms": round(t.landmark_ms, 2),
            "postprocess_ms": round(t.postprocess_ms, 2),
            "total_ms": round(t.total_ms, 2),
            "detector_ran": t.detector_ran,
        }
    return {
        "frame_index": result.frame_index if result is not None else None,
        "frames": snapshot.seq,
        "people": len(result.poses) if result is not None else 0,
        "fps": round(stats.fps if stats is not None else fps, 1),
        "timings": timings,
        "state": state_payload(snapshot.state) if snapshot.state is not None else None,
        "stats": payloads.stats_payload(stats) if stats is not None else None,
        "health": health_payload(health),
        "events": events,
        "viewers": viewers,
    }
