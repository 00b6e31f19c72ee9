"""picamera2 backend: Raspberry Pi CSI cameras through libcamera.

The ISP delivers the main stream at the configured size in the pipeline's own pixel order:
picamera2's "BGR888" is 24 bits per pixel ordered [R, G, B] in memory (libcamera names formats by
their little-endian word; "RGB888" would be [B, G, R]). So the one copy per frame is
`make_array`'s (the buffer must go back to the camera at once) and there is no colour conversion.
A rotation of 180 degrees is done by the ISP (libcamera Transform); 90 and 270 are not supported
by the ISP and are done with OpenCV after capture.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from edgepose.sources.base import SourceBase, SourceError, SourceSettings, StrictlyIncreasing, rotate_image
from edgepose.sources.uri import SourceKind, SourceUri
from edgepose.types import Frame, ImageArray

log = logging.getLogger(__name__)

_NS_PER_MS = 1_000_000
_FORMAT = "BGR888"  # [R, G, B] bytes: what the models take, no per-frame conversion


def _import_picamera2() -> Any:
    try:
        from picamera2 import Picamera2
    except ImportError as exc:
        raise SourceError(
            f"picamera2: the picamera2 module is not installed ({exc}); on Raspberry Pi OS: "
            "sudo apt install python3-picamera2 (and a venv made with --system-site-packages)"
        ) from None
    return Picamera2


class Picamera2Source(SourceBase):
    """Frames from a Raspberry Pi camera: configure, start, capture requests, release, close."""

    def __init__(self, uri: SourceUri, settings: SourceSettings) -> None:
        if uri.kind is not SourceKind.PICAMERA2:
            raise SourceError(f"{uri.text}: not a picamera2 source")
        self._uri = uri
        self._settings = settings
        self._camera: Any = None
        self._software_rotation = 0
        self._index = 0
        self._monotonic = StrictlyIncreasing()
        self.camera_model = ""

    @property
    def live(self) -> bool:
        """A camera is always live."""
        return True

    def open(self) -> None:
        """Find, open, configure and start the camera; SourceError naming the problem otherwise."""
        self.close()
        picamera2_cls = _import_picamera2()
        num = self._uri.camera_num
        try:
            cameras = picamera2_cls.global_camera_info()
        except Exception as exc:  # libcamera raises several kinds when the stack is broken
            raise SourceError(f"{self._uri.text}: cannot list cameras: {exc}") from None
        if num >= len(cameras):
            found = "no camera found" if not cameras else f"only {len(cameras)} camera(s) found"
            raise SourceError(
                f"{self._uri.text}: {found} (check the ribbon cable and `rpicam-hello --list-cameras`)"
            )
        self.camera_model = str(cameras[num].get("Model", "camera"))
        try:
            camera = picamera2_cls(num)
        except Exception as exc:
            raise SourceError(f"{self._uri.text}: cannot open camera {num}: {exc}") from None
        try:
            config = camera.create_video_configuration(
                main={"size": (self._settings.width, self._settings.height), "format": _FORMAT},
                controls={"FrameRate": float(self._settings.fps)},
                transform=self._isp_transform(),
                buffer_count=4,
            )
            camera.configure(config)
            camera.start()
        except Exception as exc:
            camera.close()
            raise SourceError(f"{self._uri.text}: cannot start camera {num}: {exc}") from None
        self._camera = camera
        log.info(
            "opened %s (%s, %dx%d at %.1f fps)",
            self._uri.text,
            self.camera_model,
            self._settings.width,
            self._settings.height,
            self._settings.fps,
        )

    def _isp_transform(self) -> Any:
        """libcamera's Transform for 180 degrees (hflip + vflip); other rotations are done in software."""
        rotation = self._settings.rotation % 360
        self._software_rotation = rotation
        try:
            from libcamera import Transform
        except ImportError:
            return None
        if rotation == 180:
            self._software_rotation = 0
            return Transform(hflip=1, vflip=1)
        return Transform()

    def read(self) -> Frame | None:
        """Capture one request, copy its main stream (RGB), release it; SourceError when the camera stops."""
        camera = self._camera
        if camera is None:
            raise SourceError(f"{self._uri.text}: not open")
        try:
            job = camera.capture_request(wait=False)
            request = camera.wait(job, timeout=self._settings.read_timeout_s)
        except TimeoutError:
            raise SourceError(
                f"{self._uri.text}: no frame for {self._settings.read_timeout_s:.0f} s"
            ) from None
        except Exception as exc:
            raise SourceError(f"{self._uri.text}: capture failed: {exc}") from None
        try:
            pixels = request.make_array("main")
            metadata = request.get_metadata()
        finally:
            # Buffers go back to the camera at once; make_array already copied the pixels.
            request.release()
        image = self._checked(pixels)
        sensor_ns = metadata.get("SensorTimestamp")
        if not isinstance(sensor_ns, int):
            import time

            sensor_ns = time.monotonic_ns()
        frame = Frame(pixels=image, timestamp_ms=self._monotonic(sensor_ns // _NS_PER_MS), index=self._index)
        self._index += 1
        return frame

    def _checked(self, pixels: Any) -> ImageArray:
        """make_array's copy as the frame: already RGB and contiguous, so no further copy."""
        array = np.asarray(pixels, dtype=np.uint8)
        if array.ndim != 3 or array.shape[2] != 3:
            raise SourceError(f"{self._uri.text}: unexpected frame shape {array.shape}")
        return rotate_image(np.ascontiguousarray(array), self._software_rotation)

    def close(self) -> None:
        """Stop and close the camera (idempotent)."""
        camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            camera.stop()
        except Exception as exc:
            log.debug("picamera2 stop: %s", exc)
        try:
            camera.close()
        except Exception as exc:
            log.debug("picamera2 close: %s", exc)
