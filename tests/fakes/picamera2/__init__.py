"""Fake of the `picamera2` package for tests: the API subset edgepose uses, with the real semantics.

Follows picamera2 0.3.x: `Picamera2.global_camera_info()`, `Picamera2(camera_num)` (IndexError for
a camera that is not there, RuntimeError when it is already in use), `create_video_configuration`,
`configure`, `start`, `capture_request(wait=...)` returning a `CompletedRequest` (or a `Job` with
wait=False, resolved by `wait(job, timeout)`), `stop`, `close`. As in the real library, "RGB888"
arrays are ordered [B, G, R], "BGR888" [R, G, B], and the X formats have 4 channels. A request
holds one of `buffer_count` buffers until `release()`; when all are held, the real camera stalls,
so this fake raises instead, to catch leaks.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future
from typing import Any

import numpy as np
from libcamera import Transform

__all__ = ["CompletedRequest", "Job", "Picamera2"]

_FORMATS = {"RGB888": 3, "BGR888": 3, "XRGB8888": 4, "XBGR8888": 4}
_lock = threading.Lock()
_in_use: set[int] = set()
_counters = {"frames_captured": 0}  # process-wide, for EDGEPOSE_FAKE_CAMERA_STALL_AFTER


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def test_pattern_rgb(width: int, height: int) -> np.ndarray:
    """The scene the fake camera sees without a video: red, green and blue vertical bands."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    third = width // 3
    image[:, :third, 0] = 255
    image[:, third : 2 * third, 1] = 255
    image[:, 2 * third :, 2] = 255
    image[: height // 4, :, :] //= 2  # darker top band, so flips are visible
    return image


class _Scene:
    """Where pixels come from: frames of a real video (looped), or the test pattern."""

    def __init__(self, size: tuple[int, int]) -> None:
        self._size = size
        self._video = os.environ.get("EDGEPOSE_FAKE_CAMERA_VIDEO", "")
        self._cap: Any = None

    def next_rgb(self) -> np.ndarray:
        width, height = self._size
        if not self._video:
            return test_pattern_rgb(width, height)
        import cv2

        if self._cap is None:
            self._cap = cv2.VideoCapture(self._video)
        ok, bgr = self._cap.read()
        if not ok:
            self._cap.release()
            self._cap = cv2.VideoCapture(self._video)
            ok, bgr = self._cap.read()
            if not ok:
                raise RuntimeError(f"fake camera cannot read {self._video}")
        bgr = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(bgr[:, :, ::-1])

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class CompletedRequest:
    """One captured frame holding a camera buffer until released."""

    def __init__(self, camera: Picamera2, rgb: np.ndarray, metadata: dict[str, Any]) -> None:
        self._camera = camera
        self._rgb = rgb
        self._metadata = metadata
        self.ref_count = 1
        self.config = camera.camera_config

    def make_array(self, name: str) -> np.ndarray:
        """A copy of the stream's pixels in the configured format's memory order."""
        if self.ref_count <= 0:
            raise RuntimeError("CompletedRequest: request already released")
        stream = (self.config or {}).get(name)
        if stream is None:
            raise RuntimeError(f"Stream {name!r} is not defined")
        fmt = stream["format"]
        rgb = self._rgb
        # libcamera names formats as little-endian words: "RGB888" bytes are B, G, R.
        pixels = rgb[:, :, ::-1] if fmt in ("RGB888", "XRGB8888") else rgb
        if _FORMATS[fmt] == 4:
            alpha = np.full((*rgb.shape[:2], 1), 255, dtype=np.uint8)
            pixels = np.concatenate([pixels, alpha], axis=2)
        return np.ascontiguousarray(pixels).copy()

    def get_metadata(self) -> dict[str, Any]:
        """Per-frame metadata, as libcamera reports it (SensorTimestamp in ns)."""
        if self.ref_count <= 0:
            raise RuntimeError("CompletedRequest: request already released")
        return dict(self._metadata)

    def release(self) -> None:
        """Return the buffer to the camera."""
        self.ref_count -= 1
        if self.ref_count < 0:
            raise RuntimeError("CompletedRequest: lock now has negative ref_count")
        if self.ref_count == 0:
            self._camera._buffer_returned()


class Job:
    """An asynchronous operation; `get_result(timeout)` waits for it like picamera2's Job."""

    def __init__(self, run: Any) -> None:
        self._future: Future[Any] = Future()
        self._run = run
        self._started = False
        self._lock = threading.Lock()

    def get_result(self, timeout: float | None = None) -> Any:
        """The result, raising TimeoutError when it does not come within `timeout` seconds."""
        with self._lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._work, daemon=True).start()
        return self._future.result(timeout=timeout)

    def _work(self) -> None:
        try:
            self._future.set_result(self._run())
        except BaseException as exc:
            self._future.set_exception(exc)


class Picamera2:
    """A camera: list, open, configure, start, capture requests, stop, close."""

    @staticmethod
    def global_camera_info() -> list[dict[str, Any]]:
        """One dict per attached camera: Model, Location, Rotation, Id, Num."""
        count = _env_int("EDGEPOSE_FAKE_CAMERAS", 1)
        return [
            {
                "Model": "imx708",
                "Location": 2,
                "Rotation": 180,
                "Id": f"/base/axi/pcie@120000/rp1/i2c@{88000 + 4000 * i}/imx708@1a",
                "Num": i,
            }
            for i in range(count)
        ]

    def __init__(self, camera_num: int = 0, verbose_console: Any = None, tuning: Any = None) -> None:
        self.is_open = False
        num = self.global_camera_info()[camera_num]["Num"]  # IndexError, as the real one
        with _lock:
            if num in _in_use:
                raise RuntimeError("Camera __init__ sequence did not complete.")
            _in_use.add(num)
        self.camera_idx = num
        self.is_open = True
        self.started = False
        self.camera_config: dict[str, Any] | None = None
        self._held = 0
        self._scene: _Scene | None = None
        self._last_frame_s = 0.0

    def create_video_configuration(
        self,
        main: dict[str, Any] | None = None,
        lores: dict[str, Any] | None = None,
        raw: dict[str, Any] | None = None,
        transform: Transform | None = None,
        colour_space: Any = None,
        buffer_count: int = 6,
        controls: dict[str, Any] | None = None,
        display: str | None = "main",
        encode: str | None = "main",
        queue: bool = True,
        sensor: dict[str, Any] | None = None,
        use_case: str = "video",
    ) -> dict[str, Any]:
        """A configuration dict like picamera2's (defaults: XBGR8888, 1280x720, 6 buffers)."""
        if not self.is_open:
            raise RuntimeError("Camera not opened")
        main_stream = {"format": "XBGR8888", "size": (1280, 720)}
        main_stream.update(main or {})
        all_controls = {"NoiseReductionMode": 1, "FrameDurationLimits": (33333, 33333)}
        all_controls.update(controls or {})
        return {
            "use_case": use_case,
            "transform": transform if transform is not None else Transform(),
            "colour_space": colour_space,
            "buffer_count": buffer_count,
            "queue": queue,
            "main": main_stream,
            "lores": lores,
            "raw": raw,
            "controls": all_controls,
            "sensor": sensor or {},
            "display": display,
            "encode": encode,
        }

    def configure(self, camera_config: dict[str, Any] | None = None) -> None:
        """Apply a configuration; the camera must be open and stopped."""
        if not self.is_open:
            raise RuntimeError("Camera not opened")
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        if camera_config is None:
            camera_config = self.create_video_configuration()
        fmt = camera_config["main"]["format"]
        if fmt not in _FORMATS:
            raise RuntimeError(f"Format {fmt} not supported by the fake")
        width, height = camera_config["main"]["size"]
        if width % 2 or height % 2:
            raise RuntimeError("main stream size must be even")
        self.camera_config = camera_config

    def start(self, config: dict[str, Any] | None = None, show_preview: bool = False) -> None:
        """Start streaming."""
        if config is not None:
            self.configure(config)
        if self.camera_config is None:
            raise RuntimeError("Camera has not been configured")
        self.started = True
        self._scene = _Scene(tuple(self.camera_config["main"]["size"]))

    def capture_request(
        self, wait: bool | None = None, signal_function: Any = None, flush: Any = None
    ) -> CompletedRequest | Job:
        """The next completed request (wait=None/True) or a Job for it (wait=False)."""
        if not self.started:
            raise RuntimeError("Camera must be started to capture requests")
        job = Job(self._next_request)
        if wait is False or signal_function is not None:
            return job
        return job.get_result()

    def wait(self, job: Job, timeout: float | None = None) -> Any:
        """Wait for a job's result (TimeoutError after `timeout` seconds)."""
        return job.get_result(timeout=timeout)

    def _next_request(self) -> CompletedRequest:
        assert self.camera_config is not None and self._scene is not None
        buffers = int(self.camera_config["buffer_count"])
        if self._held >= buffers:
            raise RuntimeError(f"fake picamera2: all {buffers} buffers are held; release() your requests")
        stall_after = _env_int("EDGEPOSE_FAKE_CAMERA_STALL_AFTER", -1)
        with _lock:
            stalled = 0 <= stall_after <= _counters["frames_captured"]
            if not stalled:
                _counters["frames_captured"] += 1
        if stalled:
            threading.Event().wait()  # a wedged driver: the request never completes
        fps = float(self.camera_config["controls"].get("FrameRate", 30.0))
        delay = self._last_frame_s + 1.0 / fps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._last_frame_s = time.monotonic()
        rgb = self._scene.next_rgb()
        transform = self.camera_config["transform"]
        if transform.hflip:
            rgb = rgb[:, ::-1]
        if transform.vflip:
            rgb = rgb[::-1]
        self._held += 1
        metadata = {
            "SensorTimestamp": time.monotonic_ns(),
            "FrameDuration": int(1e6 / fps),
            "ExposureTime": 10000,
            "AnalogueGain": 1.0,
        }
        return CompletedRequest(self, np.ascontiguousarray(rgb), metadata)

    def _buffer_returned(self) -> None:
        self._held -= 1

    @property
    def held_buffers(self) -> int:
        """Requests captured and not yet released (a test hook, not in the real API)."""
        return self._held

    def stop(self) -> None:
        """Stop streaming (requests still held are not recycled)."""
        self.started = False

    def close(self) -> None:
        """Stop and release the camera."""
        if not self.is_open:
            return
        self.stop()
        if self._scene is not None:
            self._scene.close()
        with _lock:
            _in_use.discard(self.camera_idx)
        self.is_open = False
