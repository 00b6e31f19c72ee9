"""The scale sweep: people from the test photos pasted small into a real empty scene, still and walking.

Each person is cut out of a test photo with the float landmark model's segmentation mask, together
with their landmarks at that large scale (the reference). They are pasted into an empty 640x480 scene (the
median of vtest.avi's frames: its hall with nobody in it) at a share of the frame's height, either
standing still after stepping in, or walking across the frame; every frame gets sensor noise. A
pipeline's result is matched by hip centre and scored by the mean landmark distance to the scaled
reference, in % of the person's size (the longer side of the reference's landmark box).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgepose.types import FloatArray, ImageArray
from tools.evaluation.fidelity import relative_distance

FRAME_W, FRAME_H = 640, 480
FRACTIONS = (0.70, 0.50, 0.40, 0.30, 0.25, 0.20, 0.15)
LEAD_FRAMES = 8  # empty frames before each clip: earlier tracks end, the gate sees the person step in
CLIP_FRAMES = 45  # 3 s at 15 fps
FPS = 15.0
NOISE_SIGMA = 2.0  # grey levels of sensor noise per frame
# (photo, which pose in it, left to right): full-body people in the test photos.
SOURCES = (("basketball1.png", 0), ("bus.jpg", 0), ("bus.jpg", 1))


@dataclass(frozen=True, slots=True)
class Cutout:
    """A person cut out of a photo: RGB, alpha (0-1) and their 33 landmarks (x, y in its pixels)."""

    name: str
    rgb: ImageArray
    alpha: FloatArray
    landmarks_px: FloatArray


@dataclass(frozen=True, slots=True)
class SweepFrame:
    """One frame of the sweep; `reference_px` is None while the person is not in the frame."""

    clip: str
    fraction: float
    walking: bool
    image: ImageArray
    reference_px: FloatArray | None


def empty_scene(media: Path, width: int = FRAME_W, height: int = FRAME_H) -> ImageArray:
    """vtest.avi's hall with nobody in it: the per-pixel median of every 8th frame, resized."""
    capture = cv2.VideoCapture(str(media / "vtest.avi"))
    frames = []
    index = 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        if index % 8 == 0:
            frames.append(bgr)
        index += 1
    capture.release()
    if not frames:
        raise FileNotFoundError(f"cannot read {media / 'vtest.avi'}")
    median = np.median(np.stack(frames), axis=0).astype(np.uint8)
    rgb = cv2.cvtColor(median, cv2.COLOR_BGR2RGB)
    return np.asarray(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA), np.uint8)


def cutouts(media: Path) -> list[Cutout]:
    """The sweep's people, cut out with edgepose's segmentation mask (IMAGE mode, float full, zoom)."""
    from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
    from edgepose.pose.search import SearchMode, SearchSettings
    from edgepose.types import Precision, RunningMode

    options = PoseLandmarkerOptions(
        RunningMode.IMAGE,
        num_poses=4,
        output_segmentation_masks=True,
        precision=Precision.FLOAT,  # the mask head ships with the float model only
        search=SearchSettings(mode=SearchMode.ZOOM),  # bus.jpg's second person is small
    )
    out: list[Cutout] = []
    with PoseLandmarker(options) as landmarker:
        for name, which in SOURCES:
            bgr = cv2.imread(str(media / name))
            if bgr is None:
                raise FileNotFoundError(f"cannot read {media / name}")
            rgb = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8)
            height, width = rgb.shape[:2]
            poses = sorted(landmarker.detect(rgb).poses, key=lambda p: float(p.landmarks[:, 0].mean()))
            pose = poses[which]
            assert pose.segmentation_mask is not None
            xy = pose.landmarks[:33, :2] * np.array([width, height], dtype=np.float32)
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            margin = 0.15 * (hi - lo)
            x0, y0 = (int(v) for v in np.maximum(lo - margin, 0))
            x1, y1 = (int(v) for v in np.minimum(hi + margin, [width, height]))
            alpha = np.clip(pose.segmentation_mask[y0:y1, x0:x1], 0.0, 1.0).astype(np.float32)
            origin = np.array([x0, y0], dtype=np.float32)
            out.append(
                Cutout(f"{name}#{which}", rgb[y0:y1, x0:x1].copy(), alpha, (xy - origin).astype(np.float32))
            )
    return out


def paste(
    scene: ImageArray, cutout: Cutout, fraction: float, centre_x: float, bottom_y: float
) -> tuple[ImageArray, FloatArray]:
    """The scene with the person scaled to `fraction` of its height (landmark box), and the
    reference landmarks in the frame's pixels."""
    lms = cutout.landmarks_px
    extent = float(np.ptp(lms[:, 1]))
    scale = fraction * scene.shape[0] / extent
    size = (max(1, round(cutout.rgb.shape[1] * scale)), max(1, round(cutout.rgb.shape[0] * scale)))
    rgb = cv2.resize(cutout.rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.resize(cutout.alpha, size, interpolation=cv2.INTER_AREA)[..., None]
    # Place so that the landmarks' horizontal centre is at centre_x and their lowest point at bottom_y.
    ox = centre_x - float(lms[:, 0].mean()) * scale
    oy = bottom_y - float(lms[:, 1].max()) * scale
    frame = scene.astype(np.float32)
    x0, y0 = round(ox), round(oy)
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(scene.shape[1], x0 + size[0]), min(scene.shape[0], y0 + size[1])
    if fx1 > fx0 and fy1 > fy0:
        a = alpha[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
        src = rgb[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
        frame[fy0:fy1, fx0:fx1] = a * src + (1.0 - a) * frame[fy0:fy1, fx0:fx1]
    reference = (lms * scale + np.array([x0, y0], dtype=np.float32)).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8), reference


def _noisy(image: ImageArray, rng: np.random.Generator) -> ImageArray:
    noise = rng.normal(0.0, NOISE_SIGMA, image.shape[:2])[..., None]
    return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def sweep_frames(
    scene: ImageArray, people: Sequence[Cutout], walking: bool, fractions: Sequence[float] = FRACTIONS
) -> Iterator[SweepFrame]:
    """Every clip of the sweep in one sequence: per scale and person, empty lead frames, then the
    person standing (at one of three places) or walking left to right across the frame."""
    rng = np.random.default_rng(22)
    height, width = scene.shape[:2]
    for fraction in fractions:
        for k, person in enumerate(people):
            clip = f"{person.name}@{round(fraction * 100)}%{'/walk' if walking else ''}"
            for _ in range(LEAD_FRAMES):
                yield SweepFrame(clip, fraction, walking, _noisy(scene, rng), None)
            for i in range(CLIP_FRAMES):
                if walking:
                    centre_x = width * (0.2 + 0.6 * i / (CLIP_FRAMES - 1))
                    bottom_y = height * (0.92 + 0.01 * np.sin(i * 1.2))  # the bob of a step
                else:
                    centre_x, bottom_y = width * (0.3 + 0.2 * k), height * 0.92
                image, reference = paste(scene, person, fraction, centre_x, bottom_y)
                yield SweepFrame(clip, fraction, walking, _noisy(image, rng), reference)


def match(reference_px: FloatArray, candidates_px: Sequence[FloatArray]) -> FloatArray | None:
    """The candidate (33 x 2 pixels) whose hip centre is within a fifth of the person's height."""
    hips = reference_px[23:25].mean(axis=0)
    extent = float(np.ptp(reference_px[:, 1]))
    best: FloatArray | None = None
    best_gap = max(0.2 * extent, 6.0)
    for candidate in candidates_px:
        gap = float(np.linalg.norm(candidate[23:25, :2].mean(axis=0) - hips))
        if gap <= best_gap:
            best, best_gap = candidate, gap
    return best


@dataclass
class ScaleTally:
    """Detection rate and landmark error at one scale, for one pipeline."""

    frames: int = 0
    found: int = 0
    errors: list[float] | None = None

    def add(self, reference_px: FloatArray, candidates_px: Sequence[FloatArray]) -> None:
        """Score one frame where the person is present."""
        self.frames += 1
        got = match(reference_px, candidates_px)
        if got is None:
            return
        self.found += 1
        if self.errors is None:
            self.errors = []
        # Pixels in, so the extent (the reference box's longer side) is in pixels too.
        self.errors.append(relative_distance(reference_px, got))

    @property
    def rate(self) -> float:
        """Share of frames where the person was found."""
        return self.found / self.frames if self.frames else 0.0

    @property
    def median_error(self) -> float | None:
        """Median landmark error over found frames, as a share of person size."""
        return float(np.median(self.errors)) if self.errors else None


def people_found(marks_px: Sequence[Sequence[float]], poses_px: Sequence[FloatArray]) -> tuple[int, int]:
    """(marked people covered by a pose, poses covering nobody): a pose covers a mark when the
    mark lies in its landmark box grown by a quarter of its height; each pose covers one mark."""
    boxes = []
    for pose in poses_px:
        lo, hi = pose[:, :2].min(axis=0), pose[:, :2].max(axis=0)
        grow = 0.25 * float(hi[1] - lo[1])
        boxes.append((lo - grow, hi + grow))
    used: set[int] = set()
    covered = 0
    for mark in marks_px:
        point = np.asarray(mark, dtype=np.float32)
        for index, (lo, hi) in enumerate(boxes):
            if index not in used and bool(np.all(point >= lo)) and bool(np.all(point <= hi)):
                used.add(index)
                covered += 1
                break
    return covered, len(boxes) - len(used)
