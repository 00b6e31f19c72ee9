"""A network camera stand-in: a video file served as an MJPEG HTTP stream that can be unplugged.

`MjpegStream(video, port)` serves `/stream.mjpg` (multipart/x-mixed-replace, what many IP
cameras and ESP32-CAMs send) at the file's frame rate, looping; `unplug()` closes the listening
socket and every open connection, as a camera losing power does, and `plug()` brings it back on
the same port. Optional basic auth (`user`, `password`) as on a real camera.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

_BOUNDARY = "edgeposeframe"


def load_jpeg_frames(video: Path, max_frames: int = 300, quality: int = 80) -> tuple[list[bytes], float]:
    """Up to `max_frames` frames of a video as JPEG bytes, and its frame rate."""
    cap = cv2.VideoCapture(str(video))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
    frames: list[bytes] = []
    while len(frames) < max_frames:
        ok, bgr = cap.read()
        if not ok:
            break
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            frames.append(np.asarray(jpeg).tobytes())
    cap.release()
    if not frames:
        raise ValueError(f"{video}: no frames")
    return frames, fps


class MjpegStream:
    """An MJPEG server on 127.0.0.1:`port` that can be unplugged and plugged back in."""

    def __init__(
        self,
        video: Path,
        port: int,
        *,
        user: str | None = None,
        password: str | None = None,
        max_frames: int = 300,
    ) -> None:
        self.frames, self.fps = load_jpeg_frames(video, max_frames)
        self.port = port
        self._auth = None
        if user is not None and password is not None:
            self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._plugged = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.frames_sent = 0
        self.requests = 0

    @property
    def url(self) -> str:
        """The stream's URL without credentials."""
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def plug(self) -> None:
        """Start serving (again) on the same port."""
        if self._server is not None:
            return
        stream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: a soak run makes thousands of requests."""

            def do_GET(self) -> None:
                stream._serve(self)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._plugged.set()
        self._thread = threading.Thread(target=server.serve_forever, name="mjpeg server", daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        """Stop listening and cut every open stream, like a camera losing power."""
        self._plugged.clear()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self._connections.clear()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests += 1
        if self._auth is not None and handler.headers.get("Authorization") != self._auth:
            handler.send_response(401)
            handler.send_header("WWW-Authenticate", 'Basic realm="camera"')
            handler.end_headers()
            return
        if handler.path.split("?")[0] != "/stream.mjpg":
            handler.send_error(404)
            return
        conn = handler.connection
        with self._lock:
            self._connections.add(conn)
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={_BOUNDARY}")
            handler.send_header("Cache-Control", "no-cache")
            handler.end_headers()
            period_s = 1.0 / self.fps
            next_at = time.monotonic()
            index = 0
            while self._plugged.is_set():
                jpeg = self.frames[index % len(self.frames)]
                part = (
                    f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                ).encode()
                handler.wfile.write(part + jpeg + b"\r\n")
                self.frames_sent += 1
                index += 1
                next_at += period_s
                time.sleep(max(0.0, next_at - time.monotonic()))
        except OSError:
            pass  # the client went away, or unplug() cut the connection
        finally:
            with self._lock:
                self._connections.discard(conn)
