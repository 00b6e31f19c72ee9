"""Temporal filters for landmarks, as MediaPipe's pose_landmark_filtering graph uses them.

Vectorised over every coordinate of every landmark: One Euro filters (landmarks: min_cutoff 0.05,
beta 80; world landmarks: 0.1, 40 without value scaling; auxiliary ROI points: 0.01, 10; all with
derivate_cutoff 1) and a low-pass filter (alpha 0.1) for visibility and presence. Time comes from
the frames' timestamps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edgepose.types import FloatArray

DEFAULT_FREQUENCY_HZ = 30.0
MIN_OBJECT_SCALE = 1e-6


@dataclass(frozen=True, slots=True)
class OneEuroParams:
    """One Euro filter settings (cutoffs in Hz)."""

    min_cutoff: float
    beta: float
    derivate_cutoff: float = 1.0
    disable_value_scaling: bool = False


LANDMARK_FILTER = OneEuroParams(min_cutoff=0.05, beta=80.0)
WORLD_FILTER = OneEuroParams(min_cutoff=0.1, beta=40.0, disable_value_scaling=True)
AUX_FILTER = OneEuroParams(min_cutoff=0.01, beta=10.0)
VISIBILITY_ALPHA = 0.1


def _alpha(cutoff: npt.NDArray[np.float64] | float, frequency_hz: float) -> npt.NDArray[np.float64]:
    te = 1.0 / frequency_hz
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
    return np.asarray(1.0 / (1.0 + tau / te), dtype=np.float64)


class OneEuroFilter:
    """A One Euro filter over an array of values (any shape), MediaPipe's variant.

    The derivative is scaled by `value_scale` (1 / object size) so that the cutoff adapts to the
    object's size in pixels. Timestamps must increase; a repeated or older one passes values through.
    """

    def __init__(self, params: OneEuroParams, frequency_hz: float = DEFAULT_FREQUENCY_HZ) -> None:
        self.params = params
        self.frequency_hz = frequency_hz
        self._last_time_ms: float | None = None
        self._raw: npt.NDArray[np.float64] | None = None
        self._value: npt.NDArray[np.float64] | None = None
        self._dvalue: npt.NDArray[np.float64] | None = None

    def reset(self) -> None:
        """Forget all history."""
        self._last_time_ms = None
        self._raw = self._value = self._dvalue = None

    def apply(self, values: FloatArray, timestamp_ms: float, value_scale: float = 1.0) -> FloatArray:
        """The filtered values for this timestamp."""
        if self._last_time_ms is not None and timestamp_ms <= self._last_time_ms:
            return values
        if self._last_time_ms is not None:
            self.frequency_hz = 1000.0 / (timestamp_ms - self._last_time_ms)
        self._last_time_ms = timestamp_ms
        x = values.astype(np.float64)
        if self._raw is None or self._value is None or self._raw.shape != x.shape:
            self._raw, self._value, self._dvalue = x, x, np.zeros_like(x)
            return values.astype(np.float32, copy=True)
        dx = (x - self._raw) * value_scale * self.frequency_hz
        assert self._dvalue is not None
        # The derivative's cutoff is one number: plain float math (the same double operations).
        te = 1.0 / self.frequency_hz
        d_alpha = 1.0 / (1.0 + (1.0 / (2.0 * math.pi * float(self.params.derivate_cutoff))) / te)
        edx = self._dvalue + d_alpha * (dx - self._dvalue)
        cutoff = self.params.min_cutoff + self.params.beta * np.abs(edx)
        a = _alpha(cutoff, self.frequency_hz)
        filtered = a * x + (1.0 - a) * self._value
        self._raw, self._value, self._dvalue = x, filtered, edx
        return filtered.astype(np.float32)


class LowPassFilter:
    """Exponential smoothing with a fixed alpha over an array of values."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self._value: FloatArray | None = None

    def reset(self) -> None:
        """Forget all history."""
        self._value = None

    def apply(self, values: FloatArray) -> FloatArray:
        """The filtered values."""
        if self._value is None or self._value.shape != values.shape:
            self._value = values.astype(np.float32, copy=True)
        else:
            self._value = (self.alpha * values + (1.0 - self.alpha) * self._value).astype(np.float32)
        return self._value.copy()


class PoseSmoother:
    """Smooths one tracked person's landmarks, world landmarks, visibility and ROI points."""

    def __init__(self) -> None:
        self.landmarks = OneEuroFilter(LANDMARK_FILTER)
        self.world = OneEuroFilter(WORLD_FILTER)
        self.aux = OneEuroFilter(AUX_FILTER)
        self.visibility = LowPassFilter(VISIBILITY_ALPHA)
        self.world_visibility = LowPassFilter(VISIBILITY_ALPHA)
        self.aux_visibility = LowPassFilter(VISIBILITY_ALPHA)

    def reset(self) -> None:
        """Forget all history (tracking was lost)."""
        for f in (self.landmarks, self.world, self.aux):
            f.reset()
        for v in (self.visibility, self.world_visibility, self.aux_visibility):
            v.reset()

    def smooth_normalized(
        self,
        *,
        filt: OneEuroFilter,
        vis: LowPassFilter,
        landmarks: FloatArray,
        timestamp_ms: float,
        image_width: int,
        image_height: int,
        object_scale_px: float,
    ) -> FloatArray:
        """Normalised N x 5 landmarks smoothed in pixels (z on the x scale) with a value scale."""
        out = landmarks.copy()
        # MediaPipe smooths visibility only; presence passes through.
        out[:, 3] = vis.apply(landmarks[:, 3])
        if object_scale_px < MIN_OBJECT_SCALE:
            return out
        size = np.array([image_width, image_height, image_width], dtype=np.float32)
        px = landmarks[:, :3] * size
        out[:, :3] = filt.apply(px, timestamp_ms, 1.0 / object_scale_px) / size
        return out

    def smooth_world(self, world: FloatArray, visibility: FloatArray, timestamp_ms: float) -> FloatArray:
        """World landmarks (N x 3) smoothed in metres."""
        self.world_visibility.apply(visibility)
        return self.world.apply(world, timestamp_ms, 1.0)


SEGMENTATION_COMBINE_RATIO = 0.7
# Polynomial fit of 1 - (1 - H(p))^2 around p = 0.5 (H: binary entropy), as MediaPipe uses it.
_ENTROPY_POLY = (5.68842, -0.748699, -57.8051, 291.309, -624.717)


def smooth_segmentation(
    current: FloatArray, previous: FloatArray | None, ratio: float = SEGMENTATION_COMBINE_RATIO
) -> FloatArray:
    """Blend a mask with the previous one where the new one is uncertain (near 0.5).

    MediaPipe's SegmentationSmoothingCalculator: confident pixels (near 0 or 1) keep the new
    value, uncertain ones lean towards the previous frame by up to `ratio`.
    """
    if previous is None or previous.shape != current.shape:
        return current
    c1, c2, c3, c4, c5 = _ENTROPY_POLY
    x = np.square(current - np.float32(0.5))
    uncertainty = 1.0 - np.minimum(1.0, x * (c1 + x * (c2 + x * (c3 + x * (c4 + x * c5)))))
    blended: FloatArray = (current + (previous - current) * (uncertainty * ratio)).astype(np.float32)
    return blended
