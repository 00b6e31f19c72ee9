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
_BODY_INDEX = np.array(BODY_JOINTS, dtype=np.intp)
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


Vec3 = tuple[float, float, float]
_NAN3: Vec3 = (NAN, NAN, NAN)


def _vectors(array: FloatArray) -> list[Vec3]:
    """Rows as 3-vectors of Python floats (2D points get z = 0, which changes no norm or dot).

    The per-frame geometry is a few dozen operations on 2- and 3-vectors: scalar math on floats is
    several times faster there than numpy's per-call overhead (and computes in double precision).
    """
    if array.shape[1] == 3:
        return [(x, y, z) for x, y, z in array.tolist()]
    return [(x, y, 0.0) for x, y in array.tolist()]


def _mid(points: FloatArray, a: int, b: int) -> FloatArray:
    """Midpoint of two landmarks; the one present if the other is missing."""
    ax, ay = points[a].tolist()
    bx, by = points[b].tolist()
    if math.isnan(ax):
        return np.array((bx, by), dtype=np.float32)
    if math.isnan(bx):
        return np.array((ax, ay), dtype=np.float32)
    # The float32 sum, halved, rounds as the exact midpoint rounded once to float32 does.
    return np.array(((ax + bx) / 2.0, (ay + by) / 2.0), dtype=np.float32)


def angle_deg(a: Vec3, b: Vec3, c: Vec3) -> float:
    """The angle at b between b->a and b->c in degrees; NaN if any point is missing."""
    ux, uy, uz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
    vx, vy, vz = c[0] - b[0], c[1] - b[1], c[2] - b[2]
    nu = math.hypot(ux, uy, uz)
    nv = math.hypot(vx, vy, vz)
    if not (nu > 0.0 and nv > 0.0):  # also false for NaN
        return NAN
    cos = (ux * vx + uy * vy + uz * vz) / (nu * nv)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def inclination_deg(vector: Vec3, reference: Vec3) -> float:
    """Angle between a vector and a unit reference direction in degrees; NaN if undefined."""
    n = math.hypot(*vector)
    if not n > 0.0:
        return NAN
    cos = (vector[0] * reference[0] + vector[1] * reference[1] + vector[2] * reference[2]) / n
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else NAN


def _joint_angles(p: list[Vec3]) -> JointAngles:
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


def _minus(a: Vec3, b: Vec3) -> Vec3:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _segment(p: list[Vec3], top: tuple[int, int], bottom: tuple[int, int]) -> Vec3:
    """Centre of `bottom` to centre of `top` (left/right pairs); one side only if the other is missing.

    Mixing one side's landmark with the other side's centre would tilt the vector by up to the
    body's half width, so a side is used only when both its ends are visible.
    """
    t_l, t_r, b_l, b_r = p[top[0]], p[top[1]], p[bottom[0]], p[bottom[1]]
    left_ok = not (math.isnan(t_l[0]) or math.isnan(b_l[0]))
    right_ok = not (math.isnan(t_r[0]) or math.isnan(b_r[0]))
    if left_ok and right_ok:
        return (
            (t_l[0] + t_r[0]) / 2.0 - (b_l[0] + b_r[0]) / 2.0,
            (t_l[1] + t_r[1]) / 2.0 - (b_l[1] + b_r[1]) / 2.0,
            (t_l[2] + t_r[2]) / 2.0 - (b_l[2] + b_r[2]) / 2.0,
        )
    if left_ok:
        return _minus(t_l, b_l)
    if right_ok:
        return _minus(t_r, b_r)
    return _NAN3


def _inclinations(p: list[Vec3], up: Vec3) -> tuple[float, float, float]:
    """Torso from vertical up, hips->ankles and shins from vertical down."""
    down = (-up[0], -up[1], -up[2])
    torso = inclination_deg(_segment(p, (L.LEFT_SHOULDER, L.RIGHT_SHOULDER), (L.LEFT_HIP, L.RIGHT_HIP)), up)
    leg = inclination_deg(_segment(p, (L.LEFT_ANKLE, L.RIGHT_ANKLE), (L.LEFT_HIP, L.RIGHT_HIP)), down)
    shins = [
        inclination_deg(_minus(p[L.LEFT_ANKLE], p[L.LEFT_KNEE]), down),
        inclination_deg(_minus(p[L.RIGHT_ANKLE], p[L.RIGHT_KNEE]), down),
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
    points = np.where(visible[:, None], xy, np.nan).astype(np.float32, copy=False)
    depth = np.where(visible, landmarks[:, 2] * width, np.nan).astype(np.float32, copy=False)
    world = None
    if world_in is not None:
        world = np.where(visible[:, None], world_in, np.nan).astype(np.float32, copy=False)
    any_visible = bool(visible.any())

    hips = _mid(points, L.LEFT_HIP, L.RIGHT_HIP)
    shoulders = _mid(points, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    torso = float(np.linalg.norm(shoulders - hips))
    if any_visible and not math.isnan(hips[0]):
        spread = float(np.nanmax(np.linalg.norm(points[visible] - hips, axis=1)))
        scale = max(torso, spread / TORSO_SIZE_MULTIPLIER)
    else:
        scale = NAN
    if not scale > 0.0:
        scale = NAN

    geometry = _vectors(world if world is not None else points)
    up: Vec3 = (0.0, -1.0, 0.0)
    if world is not None:
        tilt = math.radians(camera_tilt_deg)
        up = (0.0, -math.cos(tilt), -math.sin(tilt))
    angles = _joint_angles(geometry)
    torso_deg, leg_deg, shin_deg = _inclinations(geometry, up)

    box = None
    if any_visible:
        seen = landmarks[visible, :2]
        (xmin, ymin), (xmax, ymax) = seen.min(axis=0).tolist(), seen.max(axis=0).tolist()
        box = BBox(xmin, ymin, xmax, ymax)
    body_visible = visible[_BODY_INDEX]
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
