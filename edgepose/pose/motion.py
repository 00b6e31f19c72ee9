"""Motion gate: did anything change in the frame, and where? (cheap, before any detector run)

A downscaled grey frame is compared with a slowly updated background. Each frame's difference has
its median removed (a global brightness step or slow light drift moves every pixel alike) and is
thresholded at the larger of a fixed floor and a multiple of the measured sensor noise (the median
absolute difference, followed over time), so a noisy camera does not fire the gate. What remains is
cleaned (opening), grouped into blobs, and blobs large enough are the moving regions, in normalised
frame coordinates. Pure: arrays in, frozen values out; time comes from `timestamp_ms`. A frame
still compressed (`DeferredImage`) is decoded in grey at reduced scale only, never in full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from edgepose.types import BBox, FloatArray, FrameImage, ImageArray, image_size

# 1.4826 * MAD estimates a Gaussian's sigma from the median absolute deviation.
_MAD_TO_SIGMA = 1.4826
_KERNEL = np.ones((3, 3), dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class MotionSettings:
    """How the gate sees motion (see `[model.motion]` in the config for the user-facing keys)."""

    width_px: int = 160  # width of the downscaled grey frame
    threshold: float = 12.0  # least grey-level change (0-255) that counts as motion
    noise_factor: float = 4.0  # ... or this many noise sigmas, when the camera is noisier
    min_area: float = 0.0008  # least blob area, as a fraction of the frame, that counts
    background_time_ms: float = 2000.0  # time constant of the background update
    dilate_px: int = 2  # blob growth (downscaled pixels) so a body's parts join into one blob
    # While everyone wanted is tracked the background is only followed, and it is needed only once
    # tracking ends: a sample every fifth of its time constant keeps it as current at a fraction of
    # the cost (each sample weighs the whole time since the last one).
    follow_interval_ms: float = 400.0


@dataclass(frozen=True, slots=True)
class MotionResult:
    """The gate's answer for one frame."""

    changed: bool
    regions: tuple[BBox, ...]  # moving blobs, normalised to the frame, largest first
    changed_fraction: float  # share of the downscaled frame above the threshold
    noise_sigma: float  # the current sensor-noise estimate in grey levels
    threshold: float  # the grey-level threshold used on this frame


class MotionGate:
    """Follows a background and reports the regions of each frame that differ from it."""

    def __init__(self, settings: MotionSettings | None = None) -> None:
        self.settings = settings or MotionSettings()
        self._background: FloatArray | None = None
        self._noise_sigma = 0.0
        self._last_timestamp_ms: int | None = None
        self._background_ms: int | None = None  # the last frame the background took in

    @property
    def background(self) -> FloatArray:
        """The downscaled grey background (empty before the first frame)."""
        return self._background if self._background is not None else np.zeros((0, 0), np.float32)

    def reset(self) -> None:
        """Forget the background (a new source, or the camera moved)."""
        self._background = None
        self._last_timestamp_ms = None
        self._background_ms = None

    def _small_grey(self, image: FrameImage) -> FloatArray:
        width, height = image_size(image)
        small_w = min(self.settings.width_px, width)
        small_h = max(1, round(height * small_w / width))
        if isinstance(image, np.ndarray):
            grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        else:
            grey = image.grey(small_w)  # a JPEG's DCT-scaled decode averages blocks as INTER_AREA does
        # INTER_AREA averages blocks of pixels: most of the sensor noise goes here, for free.
        small = grey
        if grey.shape[:2] != (small_h, small_w):
            small = cv2.resize(grey, (small_w, small_h), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(small, (3, 3), 0).astype(np.float32)

    def follow(self, image: FrameImage, timestamp_ms: int) -> None:
        """Only keep the background current (nobody to search for: no difference, no blobs).

        Samples a frame at most every `follow_interval_ms` (each sample weighs the time since the
        last one); `update` still steps from the last frame seen, so it behaves as before.
        """
        background_ms = self._background_ms
        current = self._background is not None and self._last_timestamp_ms is not None
        self._last_timestamp_ms = timestamp_ms
        if (
            current
            and background_ms is not None
            and 0 <= timestamp_ms - background_ms < self.settings.follow_interval_ms
        ):
            return
        grey = self._small_grey(image)
        if self._background is None or self._background.shape != grey.shape or not current:
            self._background = grey
        else:
            since_ms = timestamp_ms if background_ms is None else background_ms
            dt_ms = max(1.0, float(timestamp_ms - since_ms))
            self._background += (1.0 - math.exp(-dt_ms / self.settings.background_time_ms)) * (
                grey - self._background
            )
        self._background_ms = timestamp_ms

    def update(self, image: FrameImage, timestamp_ms: int) -> MotionResult:
        """Compare an RGB frame with the background, then update the background."""
        s = self.settings
        grey = self._small_grey(image)
        if self._background is None or self._background.shape != grey.shape:
            self._background = grey
            self._last_timestamp_ms = self._background_ms = timestamp_ms
            return MotionResult(False, (), 0.0, self._noise_sigma, s.threshold)
        diff = grey - self._background
        diff -= _median(diff)
        magnitude = np.abs(diff)
        sigma = _MAD_TO_SIGMA * _median(magnitude)
        last_ms = timestamp_ms if self._last_timestamp_ms is None else self._last_timestamp_ms
        dt_ms = max(1.0, float(timestamp_ms - last_ms))
        self._last_timestamp_ms = timestamp_ms
        alpha = 1.0 - math.exp(-dt_ms / s.background_time_ms)
        # The noise estimate follows slowly, so a large mover cannot raise it within a few frames.
        if self._noise_sigma == 0.0:
            self._noise_sigma = sigma
        else:
            self._noise_sigma += alpha * (sigma - self._noise_sigma)
        threshold = max(s.threshold, s.noise_factor * self._noise_sigma)
        above = magnitude > threshold
        # Opening removes isolated noisy pixels; dilation joins a body's parts into one blob.
        mask = np.asarray(cv2.morphologyEx(above.astype(np.uint8), cv2.MORPH_OPEN, _KERNEL), np.uint8)
        if s.dilate_px > 0:
            mask = np.asarray(cv2.dilate(mask, _KERNEL, iterations=s.dilate_px), np.uint8)
        changed_fraction = float(np.count_nonzero(above)) / above.size
        # Most frames of a still room keep no pixel after the opening: no blobs to look for.
        regions = _blobs(mask, s.min_area) if mask.any() else ()
        # Where the scene changed, the background follows the same way: a person who stops is
        # absorbed after a few time constants (the tracker follows them then, not the gate).
        self._background += alpha * (grey - self._background)
        self._background_ms = timestamp_ms
        return MotionResult(bool(regions), regions, changed_fraction, self._noise_sigma, threshold)


def _median(values: FloatArray) -> float:
    """The upper median (one partition: a tenth of np.median's time, which selects two middles)."""
    flat = values.ravel()
    middle = flat.size // 2
    return float(np.partition(flat, middle)[middle])


def _blobs(mask: ImageArray, min_area: float) -> tuple[BBox, ...]:
    """Connected blobs of the mask at least `min_area` of it, as normalised boxes."""
    height, width = mask.shape[:2]
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    least = min_area * mask.size
    found: list[tuple[int, BBox]] = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area < least:
            continue
        box = BBox(x / width, y / height, (x + w) / width, (y + h) / height)
        found.append((area, box))
    found.sort(key=lambda item: -item[0])
    return tuple(box for _, box in found)
