"""Per-frame features of one pose: pixel-true points, joint angles, inclinations, normalised pose.

Computed once per pose per frame and shared by every rule. Landmarks below the visibility
threshold are missing (NaN), never zeros. Points are pixel-aspect-correct (x*width, y*height),
because landmarks are normalised separately per axis. When world landmarks are present
(BlazePose), joint angles and inclinations come from them (metric, independent of the view);
otherwise from the 2D points. COCO-17 poses are spread into the 33-row BlazePose layout, so
every rule reads the same indices whatever the model family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edgepose.skeleton import BLAZEPOSE_ROWS, NUM_LANDMARKS, PoseLandmark, SkeletonKind
from edgepose.types import BBox, FloatArray, Pose

L = PoseLandmark
BoolArray = npt.NDArray[np.bool_]

#: The 13 joints every skeleton has (COCO-17 body), on which the visibility fraction is measured.
BODY_JOINTS: tuple[int, ...] = (
    L.NOSE,
    L.LEFT_SHOULDER,
    L.RIGHT_SHOULDER,
    L.LEFT_ELBOW,
    L.RIGHT_ELBOW,
    L.LEFT_WRIST,
    L.RIGHT_WRIST,
    L.LEFT_HIP,
    L.RIGHT_HIP,
    L.LEFT_KNEE,
    L.RIGHT_KNEE,
    L.LEFT_ANKLE,
    L.RIGHT_ANKLE,
)
# MediaPipe's pose embedder scales by max(torso * 2.5, farthest landmark from the hips); the
# second term keeps the scale right when the torso is foreshortened (bending towards the camera).
TORSO_SIZE_MULTIPLIER = 2.5
NAN = float("nan")


@dataclass(frozen=True, slots=True)
class JointAngles:
    """Inner joint angles in degrees (180 = straight), NaN where a joint is missing.

    Shoulder: angle between the upper arm and the torso side (hip-shoulder-elbow), 0 = arm down,
    90 = arm horizontal sideways or forwards, 180 = arm straight up.
    """

    knee_left: float
    knee_right: float
    hip_left: float
    hip_right: float
    elbow_left: float
    elbow_right: float
    shoulder_left: float
    shoulder_right: float


@dataclass(frozen=True, slots=True)
class PoseFeatures:
    """Everything the rules need about one pose in one frame."""

    track_id: int
    timestamp_ms: int
    points_px: FloatArray  # 33 x 2, pixel-aspect-correct, NaN where missing
    depth_px: FloatArray  # 33, landmark z on the pixel scale of x, NaN where missing
    world: FloatArray | None  # 33 x 3 metres (y down), NaN where missing
    visible: BoolArray  # 33
    visible_fraction: float  # of BODY_JOINTS
    hip_center_px: FloatArray  # 2, NaN if both hips missing
    shoulder_center_px: FloatArray  # 2
    scale_px: float  # torso size, pixels (NaN when hips or shoulders are missing)
    angles: JointAngles
    torso_inclination_deg: float  # hips->shoulders from vertical up; 0 upright, 90 horizontal
    leg_inclination_deg: float  # hips->ankles from vertical down
    shin_inclination_deg: float  # mean of knee->ankle from vertical down
    box: BBox | None  # normalised box of the visible landmarks
    width: int
    height: int

    def normalized(self) -> FloatArray:
        """Points centred on the hips and divided by the torso size (33 x 2, NaN where missing)."""
        return np.asarray((self.points_px - self.hip_center_px) / self.scale_px, dtype=np.float32)

    def has(self, *indices: int) -> bool:
        """Whether all the given landmarks are visible."""
        return bool(np.all(self.visible[list(indices)]))


def to_blazepose_layout(pose: Pose) -> tuple[FloatArray, FloatArray | None]:
    """Landmarks (33 x 5) and world landmarks (33 x 3 or None) in BlazePose rows.

    A COCO-17 or upper-body pose fills the rows it has; the others get visibility 0 (missing), so
    leg-based features (posture, squats, falls) are unknown while arm-based ones still work.
    """
    if pose.skeleton is SkeletonKind.BLAZEPOSE_33:
        return pose.landmarks, pose.world_landmarks
    rows = np.array([int(i) for i in BLAZEPOSE_ROWS[pose.skeleton]], dtype=np.intp)
    full = np.zeros((NUM_LANDMARKS, 5), dtype=np.float32)
    full[rows] = pose.landmarks[: len(rows)]
    world = None
    if pose.world_landmarks is not None:
        world = np.full((NUM_LANDMARKS, 3), np.nan, dtype=np.float32)
        world[rows] = pose.world_landmarks[: len(rows)]
    return full, world


def _mid(points: FloatArray, a: int, b: int) -> FloatArray:
    """Midpoint of two landmarks; the one present if the other is missing."""
    pa: FloatArray = points[a]
    pb: FloatArray = points[b]
    if np.isnan(pa[0]):
        return np.array(pb, dtype=np.float32)
    if np.isnan(pb[0]):
        return np.array(pa, dtype=np.float32)
    return np.asarray((pa + pb) / 2.0, dtype=np.float32)


def angle_deg(a: FloatArray, b: FloatArray, c: FloatArray) -> float:
    """The angle at b between b->a and b->c in degrees; NaN if any point is missing."""
    u = a - b
    v = c - b
    nu = float(np.linalg.norm(u))
    nv = float(np.linalg.norm(v))
    if not (nu > 0.0 and nv > 0.0):  # also false for NaN
        return NAN
    cos = float(np.dot(u, v)) / (nu * nv)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def inclination_deg(vector: FloatArray, reference: FloatArray) -> float:
    """Angle between a vector and a reference direction in degrees; NaN if undefined."""
    n = float(np.linalg.norm(vector))
    if not n > 0.0:
        return NAN
    cos = float(np.dot(vector, reference)) / n
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else NAN


def _joint_angles(p: FloatArray) -> JointAngles:
    return JointAngles(
        knee_left=angle_deg(p[L.LEFT_HIP], p[L.LEFT_KNEE], p[L.LEFT_ANKLE]),
        knee_right=angle_deg(p[L.RIGHT_HIP], p[L.RIGHT_KNEE], p[L.RIGHT_ANKLE]),
        hip_left=angle_deg(p[L.LEFT_SHOULDER], p[L.LEFT_HIP], p[L.LEFT_KNEE]),
        hip_right=angle_deg(p[L.RIGHT_SHOULDER], p[L.RIGHT_HIP], p[L.RIGHT_KNEE]),
        elbow_left=angle_deg(p[L.LEFT_SHOULDER], p[L.LEFT_ELBOW], p[L.LEFT_WRIST]),
        elbow_right=angle_deg(p[L.RIGHT_SHOULDER], p[L.RIGHT_ELBOW], p[L.RIGHT_WRIST]),
        shoulder_left=angle_deg(p[L.LEFT_HIP], p[L.LEFT_SHOULDER], p[L.LEFT_ELBOW]),
        shoulder_right=angle_deg(p[L.RIGHT_HIP], p[L.RIGHT_SHOULDER], p[L.RIGHT_ELBOW]),
    )


def _segment(p: FloatArray, top: tuple[int, int], bottom: tuple[int, int]) -> FloatArray:
    """Centre of `bottom` to centre of `top` (left/right pairs); one side only if the other is missing.

    Mixing one side's landmark with the other side's centre would tilt the vector by up to the
    body's half width, so a side is used only when both its ends are visible.
    """
    t_l: FloatArray = p[top[0]]
    t_r: FloatArray = p[top[1]]
    b_l: FloatArray = p[bottom[0]]
    b_r: FloatArray = p[bottom[1]]
    left_ok = not (np.isnan(t_l[0]) or np.isnan(b_l[0]))
    right_ok = not (np.isnan(t_r[0]) or np.isnan(b_r[0]))
    if left_ok and right_ok:
        return np.asarray((t_l + t_r) / 2.0 - (b_l + b_r) / 2.0, dtype=np.float32)
    if left_ok:
        return np.asarray(t_l - b_l, dtype=np.float32)
    if right_ok:
        return np.asarray(t_r - b_r, dtype=np.float32)
    return np.full(p.shape[1], np.nan, dtype=np.float32)


def _inclinations(p: FloatArray, up: FloatArray) -> tuple[float, float, float]:
    """Torso from vertical up, hips->ankles and shins from vertical down."""
    torso = inclination_deg(_segment(p, (L.LEFT_SHOULDER, L.RIGHT_SHOULDER), (L.LEFT_HIP, L.RIGHT_HIP)), up)
    leg = inclination_deg(_segment(p, (L.LEFT_ANKLE, L.RIGHT_ANKLE), (L.LEFT_HIP, L.RIGHT_HIP)), -up)
    shins = [
        inclination_deg(p[L.LEFT_ANKLE] - p[L.LEFT_KNEE], -up),
        inclination_deg(p[L.RIGHT_ANKLE] - p[L.RIGHT_KNEE], -up),
    ]
    return torso, leg, _nanmean(shins)


def compute_features(
    pose: Pose,
    timestamp_ms: int,
    width: int,
    height: int,
    *,
    min_visibility: float = 0.5,
    camera_tilt_deg: float = 0.0,
) -> PoseFeatures:
    """The features of one pose in a frame of width x height pixels.

    `camera_tilt_deg` (looking down) turns the vertical used with world landmarks, which are
    camera-aligned; image-space inclinations are left as they are.
    """
    landmarks, world_in = to_blazepose_layout(pose)
    visible = landmarks[:, 3] >= min_visibility
    xy = landmarks[:, :2] * np.array([width, height], dtype=np.float32)
    points = np.where(visible[:, None], xy, np.nan).astype(np.float32)
    depth = np.where(visible, landmarks[:, 2] * width, np.nan).astype(np.float32)
    world = None
    if world_in is not None:
        world = np.where(visible[:, None], world_in, np.nan).astype(np.float32)

    hips = _mid(points, L.LEFT_HIP, L.RIGHT_HIP)
    shoulders = _mid(points, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    torso = float(np.linalg.norm(shoulders - hips))
    if np.any(visible) and not np.isnan(hips[0]):
        spread = float(np.nanmax(np.linalg.norm(points[visible] - hips, axis=1)))
        scale = max(torso, spread / TORSO_SIZE_MULTIPLIER)
    else:
        scale = NAN
    if not scale > 0.0:
        scale = NAN

    geometry = world if world is not None else points
    if world is not None:
        tilt = math.radians(camera_tilt_deg)
        up = np.array([0.0, -math.cos(tilt), -math.sin(tilt)], dtype=np.float32)
    else:
        up = np.array([0.0, -1.0], dtype=np.float32)
    angles = _joint_angles(geometry)
    torso_deg, leg_deg, shin_deg = _inclinations(geometry, up)

    box = None
    if np.any(visible):
        vx, vy = landmarks[visible, 0], landmarks[visible, 1]
        box = BBox(float(vx.min()), float(vy.min()), float(vx.max()), float(vy.max()))
    body_visible = visible[list(BODY_JOINTS)]
    return PoseFeatures(
        track_id=pose.track_id,
        timestamp_ms=timestamp_ms,
        points_px=points,
        depth_px=depth,
        world=world,
        visible=visible,
        visible_fraction=float(np.count_nonzero(body_visible)) / len(BODY_JOINTS),
        hip_center_px=hips,
        shoulder_center_px=shoulders,
        scale_px=scale,
        angles=angles,
        torso_inclination_deg=torso_deg,
        leg_inclination_deg=leg_deg,
        shin_inclination_deg=shin_deg,
        box=box,
        width=width,
        height=height,
    )
