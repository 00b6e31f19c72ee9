"""Skeleton facts as data: BlazePose's 33 landmarks, the upper-body 25, connections, the COCO-17 view."""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

# edgepose.types builds on this module (Pose.coco17), so this one imports nothing from there.
FloatArray = npt.NDArray[np.float32]


class SkeletonKind(enum.StrEnum):
    """Which landmark set a pose carries."""

    BLAZEPOSE_33 = "blazepose_33"
    BLAZEPOSE_UPPER_25 = "blazepose_upper_25"
    COCO_17 = "coco_17"


class PoseLandmark(enum.IntEnum):
    """The 33 BlazePose landmarks; left and right are the person's own."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


NUM_LANDMARKS = len(PoseLandmark)

_L = PoseLandmark
POSE_CONNECTIONS: tuple[tuple[PoseLandmark, PoseLandmark], ...] = (
    (_L.NOSE, _L.LEFT_EYE_INNER),
    (_L.LEFT_EYE_INNER, _L.LEFT_EYE),
    (_L.LEFT_EYE, _L.LEFT_EYE_OUTER),
    (_L.LEFT_EYE_OUTER, _L.LEFT_EAR),
    (_L.NOSE, _L.RIGHT_EYE_INNER),
    (_L.RIGHT_EYE_INNER, _L.RIGHT_EYE),
    (_L.RIGHT_EYE, _L.RIGHT_EYE_OUTER),
    (_L.RIGHT_EYE_OUTER, _L.RIGHT_EAR),
    (_L.MOUTH_LEFT, _L.MOUTH_RIGHT),
    (_L.LEFT_SHOULDER, _L.RIGHT_SHOULDER),
    (_L.LEFT_SHOULDER, _L.LEFT_ELBOW),
    (_L.LEFT_ELBOW, _L.LEFT_WRIST),
    (_L.LEFT_WRIST, _L.LEFT_PINKY),
    (_L.LEFT_WRIST, _L.LEFT_INDEX),
    (_L.LEFT_WRIST, _L.LEFT_THUMB),
    (_L.LEFT_PINKY, _L.LEFT_INDEX),
    (_L.RIGHT_SHOULDER, _L.RIGHT_ELBOW),
    (_L.RIGHT_ELBOW, _L.RIGHT_WRIST),
    (_L.RIGHT_WRIST, _L.RIGHT_PINKY),
    (_L.RIGHT_WRIST, _L.RIGHT_INDEX),
    (_L.RIGHT_WRIST, _L.RIGHT_THUMB),
    (_L.RIGHT_PINKY, _L.RIGHT_INDEX),
    (_L.LEFT_SHOULDER, _L.LEFT_HIP),
    (_L.RIGHT_SHOULDER, _L.RIGHT_HIP),
    (_L.LEFT_HIP, _L.RIGHT_HIP),
    (_L.LEFT_HIP, _L.LEFT_KNEE),
    (_L.RIGHT_HIP, _L.RIGHT_KNEE),
    (_L.LEFT_KNEE, _L.LEFT_ANKLE),
    (_L.RIGHT_KNEE, _L.RIGHT_ANKLE),
    (_L.LEFT_ANKLE, _L.LEFT_HEEL),
    (_L.RIGHT_ANKLE, _L.RIGHT_HEEL),
    (_L.LEFT_HEEL, _L.LEFT_FOOT_INDEX),
    (_L.RIGHT_HEEL, _L.RIGHT_FOOT_INDEX),
    (_L.LEFT_ANKLE, _L.LEFT_FOOT_INDEX),
    (_L.RIGHT_ANKLE, _L.RIGHT_FOOT_INDEX),
)


class CocoKeypoint(enum.IntEnum):
    """The 17 COCO keypoints, the order MoveNet and most consumers use."""

    NOSE = 0
    LEFT_EYE = 1
    RIGHT_EYE = 2
    LEFT_EAR = 3
    RIGHT_EAR = 4
    LEFT_SHOULDER = 5
    RIGHT_SHOULDER = 6
    LEFT_ELBOW = 7
    RIGHT_ELBOW = 8
    LEFT_WRIST = 9
    RIGHT_WRIST = 10
    LEFT_HIP = 11
    RIGHT_HIP = 12
    LEFT_KNEE = 13
    RIGHT_KNEE = 14
    LEFT_ANKLE = 15
    RIGHT_ANKLE = 16


COCO17_FROM_BLAZEPOSE: tuple[PoseLandmark, ...] = tuple(PoseLandmark[k.name] for k in CocoKeypoint)

_C = CocoKeypoint
COCO17_CONNECTIONS: tuple[tuple[CocoKeypoint, CocoKeypoint], ...] = (
    (_C.NOSE, _C.LEFT_EYE),
    (_C.NOSE, _C.RIGHT_EYE),
    (_C.LEFT_EYE, _C.LEFT_EAR),
    (_C.RIGHT_EYE, _C.RIGHT_EAR),
    (_C.LEFT_SHOULDER, _C.RIGHT_SHOULDER),
    (_C.LEFT_SHOULDER, _C.LEFT_ELBOW),
    (_C.LEFT_ELBOW, _C.LEFT_WRIST),
    (_C.RIGHT_SHOULDER, _C.RIGHT_ELBOW),
    (_C.RIGHT_ELBOW, _C.RIGHT_WRIST),
    (_C.LEFT_SHOULDER, _C.LEFT_HIP),
    (_C.RIGHT_SHOULDER, _C.RIGHT_HIP),
    (_C.LEFT_HIP, _C.RIGHT_HIP),
    (_C.LEFT_HIP, _C.LEFT_KNEE),
    (_C.LEFT_KNEE, _C.LEFT_ANKLE),
    (_C.RIGHT_HIP, _C.RIGHT_KNEE),
    (_C.RIGHT_KNEE, _C.RIGHT_ANKLE),
)

# The legacy upper-body model's 25 landmarks are BlazePose's first 25, in the same order (nose to
# hips); knees, ankles, heels and feet do not exist in it.
UPPER_BODY_LANDMARKS: tuple[PoseLandmark, ...] = tuple(PoseLandmark(i) for i in range(25))

#: For each skeleton, the BlazePose landmark each of its rows is.
BLAZEPOSE_ROWS: dict[SkeletonKind, tuple[PoseLandmark, ...]] = {
    SkeletonKind.BLAZEPOSE_33: tuple(PoseLandmark),
    SkeletonKind.BLAZEPOSE_UPPER_25: UPPER_BODY_LANDMARKS,
    SkeletonKind.COCO_17: COCO17_FROM_BLAZEPOSE,
}

_COCO_INDEX = np.array([int(i) for i in COCO17_FROM_BLAZEPOSE], dtype=np.intp)


def to_coco17(landmarks: FloatArray, skeleton: SkeletonKind) -> FloatArray:
    """The COCO-17 rows of a landmark array (a copy), whatever skeleton it came in.

    Keypoints the skeleton lacks (knees and ankles of the upper body) are rows of zeros:
    visibility and presence 0, so every consumer treats them as missing.
    """
    if skeleton is SkeletonKind.COCO_17:
        return landmarks.copy()
    if skeleton is SkeletonKind.BLAZEPOSE_33:
        return landmarks[_COCO_INDEX].copy()
    out = np.zeros((len(_COCO_INDEX), landmarks.shape[1]), dtype=np.float32)
    have = len(BLAZEPOSE_ROWS[skeleton]) > _COCO_INDEX
    out[have] = landmarks[_COCO_INDEX[have]]
    return out


_LEFT_SIDE = {
    SkeletonKind.BLAZEPOSE_33: frozenset(int(p) for p in PoseLandmark if "LEFT" in p.name),  # MOUTH_LEFT too
    SkeletonKind.COCO_17: frozenset(int(k) for k in CocoKeypoint if "LEFT" in k.name),
}


def left_side(skeleton: SkeletonKind) -> frozenset[int]:
    """The indices of the person's own left-side landmarks in a skeleton kind."""
    return _LEFT_SIDE[skeleton]


def connections_for(skeleton: SkeletonKind) -> tuple[tuple[int, int], ...]:
    """The bones to draw for a skeleton kind, as index pairs."""
    if skeleton is SkeletonKind.COCO_17:
        return tuple((int(a), int(b)) for a, b in COCO17_CONNECTIONS)
    count = len(BLAZEPOSE_ROWS[skeleton])
    return tuple((int(a), int(b)) for a, b in POSE_CONNECTIONS if a < count and b < count)
