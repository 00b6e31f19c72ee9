"""OpenPose BODY25 keypoints as BlazePose-33 and COCO-17 poses (missing keypoints not visible).

BODY25 has no inner/outer eyes, mouth corners or hand points: those BlazePose rows get visibility
and presence 0, as do BODY25 keypoints OpenPose did not find (confidence 0). Left and right are
the person's own in both skeletons. The dataset's coordinates are aspect-true, centred and y up;
`to_pose` places them in a frame (y down, normalised per axis) with z = 0, and world landmarks
(if asked for) are derived from the same 2D points with z = 0: no depth is invented.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from edgepose.skeleton import NUM_LANDMARKS, PoseLandmark, SkeletonKind, to_coco17
from edgepose.types import FloatArray, Pose

L = PoseLandmark
#: BlazePose landmark <- BODY25 index.
BLAZEPOSE_FROM_BODY25: Final[dict[PoseLandmark, int]] = {
    L.NOSE: 0,
    L.LEFT_EYE: 16,
    L.RIGHT_EYE: 15,
    L.LEFT_EAR: 18,
    L.RIGHT_EAR: 17,
    L.LEFT_SHOULDER: 5,
    L.RIGHT_SHOULDER: 2,
    L.LEFT_ELBOW: 6,
    L.RIGHT_ELBOW: 3,
    L.LEFT_WRIST: 7,
    L.RIGHT_WRIST: 4,
    L.LEFT_HIP: 12,
    L.RIGHT_HIP: 9,
    L.LEFT_KNEE: 13,
    L.RIGHT_KNEE: 10,
    L.LEFT_ANKLE: 14,
    L.RIGHT_ANKLE: 11,
    L.LEFT_HEEL: 21,
    L.RIGHT_HEEL: 24,
    L.LEFT_FOOT_INDEX: 19,  # big toe
    L.RIGHT_FOOT_INDEX: 22,
}
_DST = np.array([int(k) for k in BLAZEPOSE_FROM_BODY25], dtype=np.intp)
_SRC = np.array(list(BLAZEPOSE_FROM_BODY25.values()), dtype=np.intp)
#: Metres per dataset unit for derived world landmarks (the dataset's scale is about 1.9 units
#: per body height; a 1.7 m person).
WORLD_METRES_PER_UNIT: Final = 0.9


def to_blazepose33(body25: FloatArray, min_confidence: float = 0.0) -> FloatArray:
    """BODY25 (25 x 3: x, y up, confidence) -> 33 x 5 BlazePose rows (x, y up, z=0, vis, presence).

    Coordinates stay in the dataset's units; a keypoint is visible (1) when its confidence is
    above `min_confidence`, otherwise it is missing (0) like the rows BODY25 lacks.
    """
    out = np.zeros((NUM_LANDMARKS, 5), dtype=np.float32)
    src = body25[_SRC]
    found = (src[:, 2] > min_confidence).astype(np.float32)
    out[_DST, 0] = np.where(found > 0, src[:, 0], 0.0)
    out[_DST, 1] = np.where(found > 0, src[:, 1], 0.0)
    out[_DST, 3] = found
    out[_DST, 4] = found
    return out


def to_coco17_rows(body25: FloatArray, min_confidence: float = 0.0) -> FloatArray:
    """BODY25 -> 17 x 5 COCO-17 rows, through the BlazePose rows (edgepose's skeleton mapping)."""
    return to_coco17(to_blazepose33(body25, min_confidence), SkeletonKind.BLAZEPOSE_33)


def to_pose(
    body25: FloatArray,
    *,
    width: int = 640,
    height: int = 480,
    center_px: tuple[float, float] = (320.0, 240.0),
    px_per_unit: float = 200.0,
    skeleton: SkeletonKind = SkeletonKind.BLAZEPOSE_33,
    world: bool = False,
    track_id: int = 1,
) -> Pose:
    """A Pose in a width x height frame: dataset (0, 0) at `center_px`, `px_per_unit` pixels per unit.

    With `world`, world landmarks are the same 2D points in metres (y down, hip-centred, z = 0).
    """
    rows = to_blazepose33(body25)
    visible = rows[:, 3] > 0
    px = center_px[0] + rows[:, 0] * px_per_unit
    py = center_px[1] - rows[:, 1] * px_per_unit  # y up -> image y down
    rows[:, 0] = np.where(visible, px / width, 0.0)
    rows[:, 1] = np.where(visible, py / height, 0.0)
    world_rows = None
    if world:
        hips = body25[[9, 12]]
        hip_xy = hips[:, :2].mean(axis=0) if np.all(hips[:, 2] > 0) else body25[8, :2]
        world_rows = np.zeros((NUM_LANDMARKS, 3), dtype=np.float32)
        world_rows[:, 0] = (rows[:, 0] * width - (center_px[0] + hip_xy[0] * px_per_unit)) / px_per_unit
        world_rows[:, 1] = (rows[:, 1] * height - (center_px[1] - hip_xy[1] * px_per_unit)) / px_per_unit
        world_rows[:, :2] *= WORLD_METRES_PER_UNIT
        world_rows[~visible] = 0.0
    if skeleton is SkeletonKind.COCO_17:
        return Pose(to_coco17(rows, skeleton=SkeletonKind.BLAZEPOSE_33), None, 1.0, track_id, skeleton)
    return Pose(rows, world_rows, 1.0, track_id, skeleton)
