"""JSON payloads of the pose, event, state and stats topics (schema version `"v": 1`).

Each builder is pure: a value type in, a JSON-ready dict out. `encode` makes the compact text
that goes on the wire. The JSON Schemas in `schema/` describe every payload; `load_schema` reads
them for tests and `edgepose check`.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

import numpy as np

from edgepose.types import ActivityState, Event, FloatArray, Pose, PoseResult, ServiceStats

PAYLOAD_VERSION = 1
SCHEMA_NAMES = ("status", "pose", "event", "state", "stats", "claim", "ha_discovery")

JsonDict = dict[str, Any]


def encode(payload: JsonDict) -> str:
    """Compact JSON text; NaN/inf are not JSON, so builders never emit them."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _num(value: float, decimals: int = 2) -> float | None:
    """A finite number rounded, or None (JSON has no NaN)."""
    return round(float(value), decimals) if math.isfinite(value) else None


def _rows(array: FloatArray, decimals: int) -> list[list[float]]:
    finite = np.where(np.isfinite(array), array, 0.0).astype(np.float64)
    rows: list[list[float]] = np.round(finite, decimals).tolist()
    return rows


def pose_json(
    pose: Pose,
    decimals: int = 4,
    score_decimals: int = 3,
    *,
    track_id: bool = True,
    world_landmarks: bool = True,
) -> JsonDict:
    """One pose as JSON, for the MQTT pose payload and the `detect`/`track` lines alike.

    Landmarks are [x, y, z, visibility, presence] rows, world landmarks [x, y, z] in metres; NaN
    becomes 0.0. `detect` leaves out the track id: a still image has none.
    """
    out: JsonDict = {}
    if track_id:
        out["track_id"] = pose.track_id
    out["score"] = _num(pose.score, score_decimals) or 0.0
    out["skeleton"] = str(pose.skeleton)
    out["landmarks"] = _rows(pose.landmarks, decimals)
    world = pose.world_landmarks if world_landmarks else None
    out["world_landmarks"] = _rows(world, decimals) if world is not None else None
    return out


def pose_payload(result: PoseResult, decimals: int = 4, world_landmarks: bool = True) -> JsonDict:
    """One frame's poses (see `pose_json`)."""
    return {
        "v": PAYLOAD_VERSION,
        "timestamp_ms": result.timestamp_ms,
        "frame": result.frame_index,
        "width": result.width,
        "height": result.height,
        "poses": [pose_json(p, decimals, world_landmarks=world_landmarks) for p in result.poses],
    }


def event_payload(event: Event) -> JsonDict:
    """One activity event; `id` is unique, consumers dedupe on it (delivery is at least once).

    `wall_ms` is the Unix epoch time the event was made (stamped by the daemon), beside the media
    time `timestamp_ms`, so a subscriber can measure delivery latency. ValueError when unstamped.
    """
    if event.wall_ms is None:
        raise ValueError(f"event {event.id} has no wall_ms: stamp it with Event.with_wall_ms first")
    attributes: JsonDict = {}
    for key, value in event.attributes.items():
        attributes[key] = _num(value, 4) if isinstance(value, float) else value
    return {
        "v": PAYLOAD_VERSION,
        "id": event.id,
        "type": str(event.type),
        "timestamp_ms": event.timestamp_ms,
        "wall_ms": event.wall_ms,
        "track_id": event.track_id,
        "attributes": attributes,
    }


def state_payload(state: ActivityState) -> JsonDict:
    """The retained summary: people count, each track's posture, zones and counters, zone counts."""
    tracks = [
        {
            "track_id": t.track_id,
            "posture": str(t.posture),
            "zones": list(t.zones),
            "rep_counts": dict(t.rep_counts),
            "pose_class": t.pose_class,
            "since_ms": t.since_ms,
        }
        for t in sorted(state.tracks, key=lambda t: t.track_id)
    ]
    return {
        "v": PAYLOAD_VERSION,
        "timestamp_ms": state.timestamp_ms,
        "people": state.people,
        "occupied": state.people > 0,
        "tracks": tracks,
        "zone_counts": dict(sorted(state.zone_counts.items())),
    }


def state_key(payload: JsonDict) -> str:
    """What decides whether the state changed: everything but the timestamp."""
    return encode({k: v for k, v in payload.items() if k != "timestamp_ms"})


def stats_payload(stats: ServiceStats) -> JsonDict:
    """Service figures: rates, stage times, drops, accelerator, temperature, spool depth, source state."""
    temp = None if stats.cpu_temp_c is None else _num(stats.cpu_temp_c, 1)
    return {
        "v": PAYLOAD_VERSION,
        "timestamp_ms": stats.timestamp_ms,
        "fps": _num(stats.fps),
        "frames": stats.frames,
        "dropped_frames": stats.dropped_frames,
        "detector_ms": _num(stats.detector_ms),
        "landmark_ms": _num(stats.landmark_ms),
        "accelerator": stats.accelerator,
        "spool_depth": stats.spool_depth,
        "cpu_temp_c": temp,
        "source": stats.source.value,
        "people": stats.people,
        "detector_runs": stats.search.detector_runs,
        "gate_skipped_frames": stats.search.gate_skipped_frames,
        "gate_motion_frames": stats.search.gate_motion_frames,
        "gate_sweep_frames": stats.search.gate_sweep_frames,
    }


def load_schema(name: str) -> JsonDict:
    """The JSON Schema of one payload (one of SCHEMA_NAMES: `status`, `pose`, `event`, `claim`...)."""
    if name not in SCHEMA_NAMES:
        raise KeyError(f"no schema {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    text = resources.files("edgepose.publish").joinpath("schema", f"{name}.schema.json").read_text("utf-8")
    schema: JsonDict = json.loads(text)
    return schema
