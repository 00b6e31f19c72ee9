"""Derived clips of a watched room, as a fixed camera sees it: for the cost benchmark and its tests.

Every clip is 640x480 MJPG at 15 fps, made deterministically from the real media in the cache:

- the scene is the background of vtest.avi (a fixed camera), taken as the per-pixel median of
  frames spread over the whole video, so the people walking through it are gone;
- the person is the man in the beige coat in bus.jpg, cut out with GrabCut (a fixed seed);
- camera effects: per-pixel sensor noise (read noise plus shot noise that grows with brightness,
  new every frame) and a slow light drift (a global gain and white-balance change over tens of
  seconds), as an auto-exposed camera shows in a room with changing daylight.

Clips: `empty_room.avi` (nobody, 60 s), `walk_in.avi` (empty for WALK_IN.empty_s, then the person
walks in from the left and stays), `one_person.avi` (the person walks slowly to and fro, always
in view) and `three_people.avi` (the man at three distances, one mirrored, each swaying).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

FPS = 15.0
WIDTH, HEIGHT = 640, 480
SEED = 20
READ_NOISE_DN = 1.6  # standard deviation in 8-bit levels at black
SHOT_NOISE_GAIN = 0.025  # variance added per level of brightness
DRIFT_PERIOD_S = 45.0
DRIFT_GAIN = 0.07  # +-7 % brightness over a drift period
JPEG_QUALITY = 90

# The beige-coat man in bus.jpg (x, y, width, height), and a strip of his neighbour's hand that
# GrabCut would otherwise keep (x0, y0, x1, y1), both in the photo's pixels.
_PERSON_RECT = (48, 380, 200, 520)
_PERSON_NOT = (48, 700, 82, 900)
_PERSON_HEIGHT_PX = 330  # on the 480-line frame: someone a few metres from the camera
_PERSON_WIDTH_PX = round(_PERSON_RECT[2] * _PERSON_HEIGHT_PX / _PERSON_RECT[3])
_STAND_LEFT_PX = 150.0  # where the person of walk_in.avi stops (left edge)

Image = NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class WalkIn:
    """Where the person of walk_in.avi is, in seconds from the start."""

    empty_s: float = 5.0  # nobody in view before this
    walk_s: float = 1.2  # from just out of view to standing (at about 0.9 m/s)
    total_s: float = 20.0

    @property
    def first_visible_s(self) -> float:
        """The first frame with any of the person in view."""
        return self.empty_s

    @property
    def stepped_in_s(self) -> float:
        """When half the person is in view: the step-in time person_entered is measured from."""
        return self.empty_s + self.walk_s * (_PERSON_WIDTH_PX / 2.0) / (_STAND_LEFT_PX + _PERSON_WIDTH_PX)

    @property
    def fully_in_s(self) -> float:
        """The first frame with the whole person in view."""
        return self.empty_s + self.walk_s * _PERSON_WIDTH_PX / (_STAND_LEFT_PX + _PERSON_WIDTH_PX)


WALK_IN = WalkIn()
EMPTY_ROOM_S = 60.0
ONE_PERSON_S = 20.0
THREE_PEOPLE_S = 12.0
CLIPS = ("empty_room.avi", "walk_in.avi", "one_person.avi", "three_people.avi")


def scene_background(vtest: Path) -> Image:
    """The empty scene: per-pixel median of vtest.avi frames, resized to the clip size."""
    capture = cv2.VideoCapture(str(vtest))
    frames: list[Image] = []
    index = 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        if index % 8 == 0:
            frames.append(np.asarray(bgr, dtype=np.uint8))
        index += 1
    capture.release()
    if not frames:
        raise RuntimeError(f"cannot read {vtest}")
    median = np.median(np.stack(frames), axis=0).astype(np.uint8)
    return np.asarray(cv2.resize(median, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def person_cutout(bus: Path) -> tuple[Image, NDArray[np.float32]]:
    """The beige-coat man of bus.jpg scaled to the clip: BGR pixels and a soft alpha in [0, 1]."""
    photo = cv2.imread(str(bus))
    if photo is None:
        raise RuntimeError(f"cannot read {bus}")
    mask = np.zeros(photo.shape[:2], np.uint8)
    x0, y0, x1, y1 = _PERSON_NOT
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(SEED)  # GrabCut's k-means start: fixed, so every run cuts the same pixels
    cv2.grabCut(photo, mask, _PERSON_RECT, background_model, foreground_model, 5, cv2.GC_INIT_WITH_RECT)
    mask[y0:y1, x0:x1] = cv2.GC_BGD
    alpha = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 1.0, 0.0).astype(np.float32)
    x, y, w, h = _PERSON_RECT
    pixels, alpha = photo[y : y + h, x : x + w], alpha[y : y + h, x : x + w]
    scale = _PERSON_HEIGHT_PX / h
    size = (round(w * scale), _PERSON_HEIGHT_PX)
    small = np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    soft = cv2.GaussianBlur(cv2.resize(alpha, size, interpolation=cv2.INTER_AREA), (3, 3), 0)
    return small, np.asarray(soft, dtype=np.float32)


def paste(scene: Image, pixels: Image, alpha: NDArray[np.float32], left: float, top: float) -> Image:
    """`pixels` blended onto a copy of `scene` at (left, top), clipped to the frame."""
    out = scene.astype(np.float32)
    h, w = alpha.shape
    x, y = round(left), round(top)
    sx0, sy0 = max(0, -x), max(0, -y)
    dx0, dy0 = max(0, x), max(0, y)
    dx1, dy1 = min(WIDTH, x + w), min(HEIGHT, y + h)
    if dx1 > dx0 and dy1 > dy0:
        a = alpha[sy0 : sy0 + dy1 - dy0, sx0 : sx0 + dx1 - dx0, None]
        src = pixels[sy0 : sy0 + dy1 - dy0, sx0 : sx0 + dx1 - dx0].astype(np.float32)
        out[dy0:dy1, dx0:dx1] = a * src + (1.0 - a) * out[dy0:dy1, dx0:dx1]
    return np.asarray(np.clip(out, 0, 255), dtype=np.uint8)


def camera_effects(image: Image, t_s: float, rng: np.random.Generator) -> Image:
    """Light drift (gain and white balance, slow) and sensor noise (new every frame)."""
    phase = 2.0 * math.pi * t_s / DRIFT_PERIOD_S
    gain = 1.0 + DRIFT_GAIN * math.sin(phase)
    warm = 0.02 * math.sin(phase / 2.0)  # daylight turning warmer then cooler: B down, R up
    channel_gain = np.array([gain * (1.0 - warm), gain, gain * (1.0 + warm)], dtype=np.float32)
    lit = image.astype(np.float32) * channel_gain
    sigma = np.sqrt(READ_NOISE_DN**2 + SHOT_NOISE_GAIN * np.clip(lit, 0.0, 255.0))
    noisy = lit + sigma * rng.standard_normal(lit.shape, dtype=np.float32)
    return np.asarray(np.clip(np.rint(noisy), 0, 255), dtype=np.uint8)


def _write(path: Path, frames: Iterator[Image]) -> None:
    """Write the frames as MJPG (via a part- file, so an interrupted run leaves no half clip)."""
    part = path.with_name("part-" + path.name)
    writer = cv2.VideoWriter(str(part), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, JPEG_QUALITY)
    for frame in frames:
        writer.write(frame)
    writer.release()
    part.replace(path)


def _frames(total_s: float, draw: Callable[[float], Image], seed: int) -> Iterator[Image]:
    rng = np.random.default_rng(seed)
    for index in range(round(total_s * FPS)):
        t_s = index / FPS
        yield camera_effects(draw(t_s), t_s, rng)


def walk_in_left(t_s: float, clip: WalkIn, width: int) -> float | None:
    """The person's left edge at `t_s` in walk_in.avi (None before they appear)."""
    if t_s < clip.empty_s:
        return None
    stand_left = _STAND_LEFT_PX
    start_left = -float(width)  # the first column just out of view
    progress = min(1.0, (t_s - clip.empty_s) / clip.walk_s)
    return start_left + (stand_left - start_left) * progress


def make_room_clips(media: Path) -> list[Path]:
    """Write the clips missing from `media` (the cache folder with vtest.avi and bus.jpg)."""
    lengths = {
        "empty_room.avi": EMPTY_ROOM_S,
        "walk_in.avi": WALK_IN.total_s,
        "one_person.avi": ONE_PERSON_S,
        "three_people.avi": THREE_PEOPLE_S,
    }
    wanted = [name for name in CLIPS if not (media / name).is_file()]
    if not wanted:
        return [media / name for name in CLIPS]
    return _make(media, media, wanted, lengths)


def _make(source: Path, dest: Path, names: list[str], lengths: dict[str, float]) -> list[Path]:
    scene = scene_background(source / "vtest.avi")
    pixels, alpha = person_cutout(source / "bus.jpg")
    width = alpha.shape[1]
    top = HEIGHT - _PERSON_HEIGHT_PX - 20

    def walking_in(t_s: float) -> Image:
        left = walk_in_left(t_s, WALK_IN, width)
        if left is None:
            return scene
        walking = t_s < WALK_IN.empty_s + WALK_IN.walk_s
        bob = 3.0 * abs(math.sin(2.0 * math.pi * t_s)) if walking else 0.0
        sway = (
            0.0 if walking else 4.0 * math.sin(2.0 * math.pi * (t_s - WALK_IN.empty_s - WALK_IN.walk_s) / 3.0)
        )
        return paste(scene, pixels, alpha, left + sway, top - bob)

    def pacing(t_s: float) -> Image:
        left = 120.0 + 200.0 * (0.5 - 0.5 * math.cos(2.0 * math.pi * t_s / 10.0))
        return paste(scene, pixels, alpha, left, top - 3.0 * abs(math.sin(2.0 * math.pi * t_s)))

    # Three people: the same man at three distances (one mirrored), each swaying in his own
    # rhythm. The people beside him in bus.jpg stand too close for the detector to part them.
    trio = []
    for scale, flip, left, rhythm_s in (
        (1.0, False, 20.0, 3.0),
        (0.9, True, 250.0, 3.7),
        (0.8, False, 480.0, 4.3),
    ):
        size = (round(width * scale), round(_PERSON_HEIGHT_PX * scale))
        small = np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        soft = np.asarray(cv2.resize(alpha, size, interpolation=cv2.INTER_AREA), dtype=np.float32)
        if flip:
            small, soft = np.ascontiguousarray(small[:, ::-1]), np.ascontiguousarray(soft[:, ::-1])
        trio.append((small, soft, left, HEIGHT - 20 - size[1], rhythm_s))

    def three(t_s: float) -> Image:
        frame = scene
        for small, soft, left, person_top, rhythm_s in trio:
            sway = 6.0 * math.sin(2.0 * math.pi * t_s / rhythm_s)
            frame = paste(frame, small, soft, left + sway, person_top)
        return frame

    draws: dict[str, Callable[[float], Image]] = {
        "empty_room.avi": lambda _t: scene,
        "walk_in.avi": walking_in,
        "one_person.avi": pacing,
        "three_people.avi": three,
    }
    written = []
    for name in names:
        _write(dest / name, _frames(lengths[name], draws[name], SEED + CLIPS.index(name)))
        written.append(dest / name)
    return written


def make_short_clips(media: Path, dest: Path, seconds: dict[str, float]) -> list[Path]:
    """The clips in `seconds`, shortened to those lengths, written into `dest` (for tests)."""
    lengths = {name: seconds[name] for name in CLIPS if name in seconds}
    return _make(media, dest, list(lengths), lengths)
