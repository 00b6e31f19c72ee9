"""Forward kinematics of a stick figure, a pinhole camera, and landmark noise.

World frame: metres, x to the camera's left, y up, z away from the camera (the camera looks
along +z). A limb is a direction in its parent frame given by two angles: `el`, degrees from
hanging straight down (90 = horizontal, 180 = straight up, >180 swings past vertical to the
other side), and `az`, the horizontal direction (0 = forwards, 90 = outwards for that side).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from edgepose.skeleton import PoseLandmark as L
from edgepose.types import Pose, PoseResult

F = np.float64


@dataclass(frozen=True, slots=True)
class Limb:
    """Upper and lower segment directions of one arm or leg (degrees, see module doc)."""

    upper_el: float = 0.0
    upper_az: float = 0.0
    lower_el: float = 0.0
    lower_az: float = 0.0


@dataclass(frozen=True, slots=True)
class BodyPose:
    """The figure's pose: placement, whole-body tilt, torso bend and four limbs."""

    x: float = 0.0
    z: float = 0.0
    yaw_deg: float = 0.0  # 0 = facing the camera
    pitch_deg: float = 0.0  # whole body tilted forwards (90 = face down), negative = backwards
    roll_deg: float = 0.0  # whole body tilted to its own left side
    lift: float = 0.0  # metres above the ground (jumps)
    torso_bend_deg: float = 0.0  # torso bent forwards at the hips
    left_arm: Limb = field(default_factory=lambda: Limb(5.0, 90.0, 5.0, 90.0))
    right_arm: Limb = field(default_factory=lambda: Limb(5.0, 90.0, 5.0, 90.0))
    left_leg: Limb = field(default_factory=lambda: Limb(3.0, 90.0, 3.0, 90.0))
    right_leg: Limb = field(default_factory=lambda: Limb(3.0, 90.0, 3.0, 90.0))


@dataclass(frozen=True, slots=True)
class Body:
    """Segment lengths in metres (default: a 1.75 m adult), scaled by `height_m`."""

    height_m: float = 1.75

    def s(self, metres: float) -> float:
        """A length of the 1.75 m figure scaled to this body."""
        return metres * self.height_m / 1.75


@dataclass(frozen=True, slots=True)
class Camera:
    """A level-ish pinhole camera in front of the scene."""

    width: int = 640
    height: int = 480
    hfov_deg: float = 62.0
    x: float = 0.0
    y: float = 1.2
    z: float = -4.0
    tilt_deg: float = 5.0  # looking down
    yaw_deg: float = 0.0

    def rotation(self) -> np.ndarray:
        """World -> camera (x right, y down, z forward) rotation matrix."""
        right, down, fwd = np.array([-1.0, 0, 0]), np.array([0, -1.0, 0]), np.array([0, 0, 1.0])
        base = np.stack([right, down, fwd])  # rows: camera axes in world
        t = math.radians(self.tilt_deg)
        tilt = np.array([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, math.sin(t), math.cos(t)]])
        y = math.radians(self.yaw_deg)
        yaw = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
        return np.asarray(tilt @ base @ yaw, dtype=F)

    @property
    def focal_px(self) -> float:
        """Focal length in pixels."""
        return self.width / 2.0 / math.tan(math.radians(self.hfov_deg) / 2.0)


def _rot_x(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]], dtype=F)


def _rot_z(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]], dtype=F)


def _rot_y(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]], dtype=F)


def _direction(frame: np.ndarray, el: float, az: float, side: float) -> np.ndarray:
    """A unit vector in world coordinates from (el, az) in a body frame (columns left, up, fwd)."""
    e, a = math.radians(el), math.radians(az)
    local = np.array([math.sin(e) * math.sin(a) * side, -math.cos(e), math.sin(e) * math.cos(a)])
    return np.asarray(frame @ local, dtype=F)


def landmarks_3d(body: Body, pose: BodyPose) -> np.ndarray:
    """The 33 BlazePose landmarks in world metres (33 x 3), feet on the ground."""
    # Body-local axes: X = own left, Y = up, Z = forwards; facing the camera = facing -z.
    base = np.array([[-1.0, 0, 0], [0, 1.0, 0], [0, 0, -1.0]]).T
    pelvis = _rot_y(pose.yaw_deg) @ base @ _rot_x(pose.pitch_deg) @ _rot_z(-pose.roll_deg)
    torso = pelvis @ _rot_x(pose.torso_bend_deg)
    lx, up, fw = torso[:, 0], torso[:, 1], torso[:, 2]
    p = np.zeros((33, 3), dtype=F)
    hip_c = np.zeros(3)
    p[L.LEFT_HIP] = hip_c + pelvis[:, 0] * body.s(0.10)
    p[L.RIGHT_HIP] = hip_c - pelvis[:, 0] * body.s(0.10)
    sh_c = hip_c + up * body.s(0.50)
    p[L.LEFT_SHOULDER] = sh_c + lx * body.s(0.19)
    p[L.RIGHT_SHOULDER] = sh_c - lx * body.s(0.19)
    head = sh_c + up * body.s(0.22)
    p[L.NOSE] = head + fw * body.s(0.10)
    for idx, dx, dy, dz in (
        (L.LEFT_EYE_INNER, 0.015, 0.03, 0.085),
        (L.LEFT_EYE, 0.03, 0.03, 0.08),
        (L.LEFT_EYE_OUTER, 0.045, 0.03, 0.075),
        (L.LEFT_EAR, 0.075, 0.0, 0.0),
        (L.MOUTH_LEFT, 0.025, -0.04, 0.085),
    ):
        off = up * body.s(dy) + fw * body.s(dz)
        p[idx] = head + lx * body.s(dx) + off
        p[idx + (3 if idx <= L.LEFT_EYE_OUTER else 1)] = head - lx * body.s(dx) + off
    for side, limb, sh, el_i, wr_i, pk_i, ix_i, th_i in (
        (
            1.0,
            pose.left_arm,
            L.LEFT_SHOULDER,
            L.LEFT_ELBOW,
            L.LEFT_WRIST,
            L.LEFT_PINKY,
            L.LEFT_INDEX,
            L.LEFT_THUMB,
        ),
        (
            -1.0,
            pose.right_arm,
            L.RIGHT_SHOULDER,
            L.RIGHT_ELBOW,
            L.RIGHT_WRIST,
            L.RIGHT_PINKY,
            L.RIGHT_INDEX,
            L.RIGHT_THUMB,
        ),
    ):
        d_up = _direction(torso, limb.upper_el, limb.upper_az, side)
        d_lo = _direction(torso, limb.lower_el, limb.lower_az, side)
        p[el_i] = p[sh] + d_up * body.s(0.30)
        p[wr_i] = p[el_i] + d_lo * body.s(0.27)
        p[pk_i] = p[wr_i] + d_lo * body.s(0.07) - fw * body.s(0.02) + lx * side * body.s(0.01)
        p[ix_i] = p[wr_i] + d_lo * body.s(0.08) + fw * body.s(0.02)
        p[th_i] = p[wr_i] + d_lo * body.s(0.04) + fw * body.s(0.03) - lx * side * body.s(0.01)
    pfw = pelvis[:, 2]
    for side, limb, hip, kn, an, he, fi in (
        (1.0, pose.left_leg, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_HEEL, L.LEFT_FOOT_INDEX),
        (-1.0, pose.right_leg, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX),
    ):
        d_up = _direction(pelvis, limb.upper_el, limb.upper_az, side)
        d_lo = _direction(pelvis, limb.lower_el, limb.lower_az, side)
        p[kn] = p[hip] + d_up * body.s(0.44)
        p[an] = p[kn] + d_lo * body.s(0.43)
        p[he] = p[an] + d_lo * body.s(0.05) - pfw * body.s(0.05)
        p[fi] = p[an] + d_lo * body.s(0.07) + pfw * body.s(0.16)
    p[:, 1] -= p[:, 1].min() - pose.lift
    p[:, 0] += pose.x
    p[:, 2] += pose.z
    return p


@dataclass(frozen=True, slots=True)
class Noise:
    """Detection noise: Gaussian jitter and landmarks dropped to low visibility."""

    image_px: float = 1.5
    world_m: float = 0.01
    drop_prob: float = 0.03
    seed: int = 0


def project(
    body: Body, pose: BodyPose, camera: Camera, noise: Noise, rng: np.random.Generator, track_id: int
) -> Pose | None:
    """The pose as a BlazePose-like detection: normalised landmarks, world landmarks; None if out of view."""
    world_pts = landmarks_3d(body, pose)
    rot = camera.rotation()
    cam = (world_pts - np.array([camera.x, camera.y, camera.z])) @ rot.T
    if np.any(cam[:, 2] <= 0.1):
        return None
    f = camera.focal_px
    u = f * cam[:, 0] / cam[:, 2] + camera.width / 2.0
    v = f * cam[:, 1] / cam[:, 2] + camera.height / 2.0
    hips = (world_pts[L.LEFT_HIP] + world_pts[L.RIGHT_HIP]) / 2.0
    hip_depth = float(((hips - np.array([camera.x, camera.y, camera.z])) @ rot.T)[2])
    z = (cam[:, 2] - hip_depth) * f / hip_depth / camera.width
    u = u + rng.normal(0.0, noise.image_px, 33)
    v = v + rng.normal(0.0, noise.image_px, 33)
    x, y = u / camera.width, v / camera.height
    inside = (x >= 0.0) & (x <= 1.0) & (y >= 0.0) & (y <= 1.0)
    body_rows = [0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
    if np.count_nonzero(inside[body_rows]) < 7:
        return None
    vis = rng.uniform(0.85, 0.99, 33)
    vis[~inside] = rng.uniform(0.0, 0.2, int(np.count_nonzero(~inside)))
    dropped = rng.uniform(size=33) < noise.drop_prob
    vis[dropped] = rng.uniform(0.0, 0.3, int(np.count_nonzero(dropped)))
    # A dropped landmark is also wrong, so a rule that ignores visibility would notice.
    x[dropped] += rng.normal(0.0, 0.05, int(np.count_nonzero(dropped)))
    y[dropped] += rng.normal(0.0, 0.05, int(np.count_nonzero(dropped)))
    lm = np.stack([x, y, z, vis, np.clip(vis + 0.05, 0, 1)], axis=1).astype(np.float32)
    wl = ((world_pts - hips) @ rot.T + rng.normal(0.0, noise.world_m, (33, 3))).astype(np.float32)
    return Pose(landmarks=lm, world_landmarks=wl, score=0.9, track_id=track_id)


@dataclass(frozen=True, slots=True)
class Actor:
    """One person in a generated clip: a body and a pose as a function of time (seconds)."""

    track_id: int
    body: Body
    pose_at: object  # Callable[[float], BodyPose | None]; None = not in the scene


def render(
    actors: list[Actor],
    duration_s: float,
    camera: Camera | None = None,
    noise: Noise | None = None,
    fps: float = 30.0,
    world: bool = True,
) -> list[PoseResult]:
    """One PoseResult per frame for a clip of `duration_s` seconds."""
    camera = camera or Camera()
    noise = noise or Noise()
    rng = np.random.default_rng(noise.seed)
    out: list[PoseResult] = []
    for i in range(round(duration_s * fps)):
        t = i / fps
        poses: list[Pose] = []
        for actor in actors:
            bp = actor.pose_at(t)  # type: ignore[operator]
            if bp is None:
                continue
            pose = project(actor.body, bp, camera, noise, rng, actor.track_id)
            if pose is not None:
                if not world:
                    pose = replace(pose, world_landmarks=None)
                poses.append(pose)
        out.append(
            PoseResult(
                timestamp_ms=round(t * 1000.0),
                frame_index=i,
                width=camera.width,
                height=camera.height,
                poses=tuple(poses),
            )
        )
    return out
