"""The `edgepose track` JSON-lines contract, parsed back into PoseResults and events to JSON.

One object per frame: {"frame", "timestamp_ms", "width", "height", "poses": [{"track_id", "score",
"landmarks": 33 (or 17) x [x, y, z, visibility, presence], "world_landmarks": 33 x 3 | null}]}.
A pose with 17 landmarks is COCO-17 (MoveNet). Pure: strings and dicts in, values out.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from edgepose.skeleton import BLAZEPOSE_ROWS
from edgepose.types import Pose, PoseResult

# A landmarks file says its skeleton by its row count.
_SKELETONS = {len(rows): kind for kind, rows in BLAZEPOSE_ROWS.items()}


def _pose(obj: dict[str, Any], index: int) -> Pose:
    landmarks = np.asarray(obj["landmarks"], dtype=np.float32)
    if landmarks.ndim != 2 or landmarks.shape[0] not in _SKELETONS or landmarks.shape[1] < 4:
        raise ValueError(
            f"pose {index}: landmarks must be 33, 25 or 17 rows of [x, y, z, visibility, presence]"
        )
    if landmarks.shape[1] == 4:
        landmarks = np.concatenate([landmarks, landmarks[:, 3:4]], axis=1)
    world = obj.get("world_landmarks")
    world_arr = np.asarray(world, dtype=np.float32) if world is not None else None
    if world_arr is not None and world_arr.shape != (landmarks.shape[0], 3):
        raise ValueError(f"pose {index}: world_landmarks must match the landmarks, 3 columns")
    skeleton = _SKELETONS[landmarks.shape[0]]
    track_id = obj.get("track_id")
    return Pose(
        landmarks=landmarks[:, :5],
        world_landmarks=world_arr,
        score=float(obj.get("score", 1.0)),
        track_id=int(track_id) if track_id is not None else index,
        skeleton=skeleton,
    )


def parse_frame(line: str) -> PoseResult:
    """One line of `edgepose track` output; ValueError (with the reason) when it is not one."""
    try:
        obj = json.loads(line)
        poses = tuple(_pose(p, i) for i, p in enumerate(obj.get("poses", [])))
        return PoseResult(
            timestamp_ms=int(obj["timestamp_ms"]),
            frame_index=int(obj.get("frame", 0)),
            width=int(obj["width"]),
            height=int(obj["height"]),
            poses=poses,
        )
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a track frame: {exc}") from exc
