"""Sequence windows on disk: `edgepose record --sequence` writes them, `edgepose train` reads them.

One JSON line per window: {"v": 1, "kind": "sequence", "label", "source", "track_id",
"window_ms", "start_ms", "frames": [{"timestamp_ms", "landmarks": 33 x [x, y, z] | null,
"angles_deg": 8 x (number | null), "hip": [x, y] | null}]}; landmarks are normalised as for
custom poses, angles in edgepose.activity.action_model.ANGLE_NAMES order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from edgepose.activity.action_model import ANGLE_NAMES, FrameParts
from edgepose.types import FloatArray

KIND = "sequence"


def _num(v: float) -> float | None:
    return None if math.isnan(v) else round(float(v), 5)


def _row(values: FloatArray) -> list[float | None] | None:
    return None if np.isnan(values).all() else [_num(float(v)) for v in values]


def window_record(
    label: str, source: str, track_id: int, window_ms: int, frames: Sequence[FrameParts]
) -> dict[str, Any]:
    """The JSON object of one window."""
    return {
        "v": 1,
        "kind": KIND,
        "label": label,
        "source": source,
        "track_id": track_id,
        "window_ms": window_ms,
        "start_ms": frames[0].timestamp_ms,
        "frames": [
            {
                "timestamp_ms": p.timestamp_ms,
                "landmarks": [_row(r) for r in p.landmarks],
                "angles_deg": [_num(float(a)) for a in p.angles_deg],
                "hip": _row(p.hip),
            }
            for p in frames
        ],
    }


def _floats(values: Iterable[Any] | None, n: int) -> FloatArray:
    if values is None:
        return np.full(n, np.nan, dtype=np.float32)
    out = np.array([math.nan if v is None else float(v) for v in values], dtype=np.float32)
    if out.shape != (n,):
        raise ValueError(f"expected {n} numbers, got {len(out)}")
    return out


def parse_window(obj: dict[str, Any]) -> tuple[str, int, list[FrameParts]]:
    """(label, window_ms, frames) of one window object; ValueError/KeyError/TypeError if malformed."""
    if obj.get("kind") != KIND or obj.get("v") != 1:
        raise ValueError("not a v1 sequence window")
    frames: list[FrameParts] = []
    for f in obj["frames"]:
        rows = f["landmarks"]
        if len(rows) != 33:
            raise ValueError("landmarks must be 33 rows of [x, y, z] or null")
        landmarks = np.stack([_floats(r, 3) for r in rows])
        angles = _floats(f["angles_deg"], len(ANGLE_NAMES))
        frames.append(FrameParts(int(f["timestamp_ms"]), landmarks, angles, _floats(f["hip"], 2)))
    if len(frames) < 2:
        raise ValueError("a window needs at least two frames")
    window_ms = int(obj["window_ms"])
    if window_ms <= 0:
        raise ValueError("window_ms must be positive")
    return str(obj["label"]), window_ms, frames
