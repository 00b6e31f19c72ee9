"""Fixtures for the HTTP server tests: real poses on a real clip, a hub feeder, servers on free ports."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edgepose.types import (
    ActivityState,
    Event,
    EventType,
    Frame,
    PoseResult,
    Posture,
    ServiceStats,
    TrackState,
)

CLIP_FRAMES = 90


@dataclass(frozen=True)
class ClipFrame:
    """One frame of the clip and what the real pipeline found in it."""

    frame: Frame
    result: PoseResult


def read_clip(path: Path, limit: int) -> list[Frame]:
    """The first `limit` frames of a video as RGB `Frame`s with their media timestamps."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames: list[Frame] = []
    try:
        while len(frames) < limit:
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            frames.append(Frame(rgb, round(len(frames) * 1000.0 / fps), len(frames)))
    finally:
        capture.release()
    return frames


@pytest.fixture(scope="session")
def zidane_clip(media: Path) -> list[ClipFrame]:
    """pan_zidane.avi (two men, camera panning) through the real PoseLandmarker in VIDEO mode."""
    from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
    from edgepose.types import RunningMode

    frames = read_clip(media / "pan_zidane.avi", CLIP_FRAMES)
    assert len(frames) == CLIP_FRAMES
    options = PoseLandmarkerOptions(running_mode=RunningMode.VIDEO, num_poses=2)
    out: list[ClipFrame] = []
    with PoseLandmarker(options) as landmarker:
        for frame in frames:
            out.append(ClipFrame(frame, landmarker.detect_for_video(frame.image, frame.timestamp_ms)))
    assert sum(len(c.result.poses) for c in out) > CLIP_FRAMES // 2, "the pipeline found nobody in the clip"
    return out


class ClipFeeder:
    """Plays recorded frames into a hub in a loop, as the service's processing loop would.

    Activity comes from a small scripted driver (the activity engine is another area's): every
    `rep_every` frames the first person does one more squat, announced as a `rep` event and
    reflected in the state's rep counts, so pages have counters that change.
    """

    def __init__(
        self,
        hub: Any,
        clip: Sequence[ClipFrame],
        *,
        fps: float = 15.0,
        rep_every: int = 10,
        reps_start: int = 0,
    ) -> None:
        self.hub = hub
        self.clip = clip
        self.period_s = 1.0 / fps
        self.rep_every = rep_every
        self.reps = reps_start
        self.fed = 0
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clip-feeder", daemon=True)

    def step(self) -> None:
        """Feed one frame."""
        item = self.clip[self.fed % len(self.clip)]
        ts = self.fed * round(self.period_s * 1000)
        frame = Frame(item.frame.image, ts, self.fed)
        result = PoseResult(
            ts, self.fed, item.result.width, item.result.height, item.result.poses, item.result.timings
        )
        events: list[Event] = []
        track_ids = [p.track_id for p in result.poses]
        if self.fed % self.rep_every == self.rep_every - 1 and track_ids:
            self.reps += 1
            events.append(
                Event(
                    uuid.uuid4().hex,
                    EventType.REP,
                    ts,
                    track_ids[0],
                    {"exercise": "squat", "count": self.reps},
                    time.time_ns() // 1_000_000,
                )
            )
        tracks = tuple(
            TrackState(tid, Posture.STANDING, rep_counts={"squat": self.reps} if i == 0 else {})
            for i, tid in enumerate(track_ids)
        )
        state = ActivityState(ts, len(tracks), tracks)
        stats = ServiceStats(ts, 1.0 / self.period_s, self.fed + 1, 0, 5.0, 7.0, "cpu", 0)
        self.hub.update(frame, result, events, state, stats)
        self.fed += 1

    def _run(self) -> None:
        while not self.stop_event.wait(self.period_s):
            self.step()

    def start(self) -> ClipFeeder:
        """Feed in the background until `stop()`."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop feeding and join the thread."""
        self.stop_event.set()
        if self._thread.is_alive():
            self._thread.join(10)


@pytest.fixture
def feeder() -> Iterator[Callable[..., ClipFeeder]]:
    """Make clip feeders; every one started is stopped at teardown."""
    made: list[ClipFeeder] = []

    def make(hub: Any, clip: Sequence[ClipFrame], **kwargs: Any) -> ClipFeeder:
        f = ClipFeeder(hub, clip, **kwargs)
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


@pytest.fixture
def http_server() -> Iterator[Callable[..., Any]]:
    """Start PreviewServers on free loopback ports: `http_server(hub, **HttpConfig fields)`."""
    from edgepose.config.http import HttpConfig
    from edgepose.http.server import PreviewServer

    started: list[PreviewServer] = []

    def make(hub: Any, device_id: str = "test-device", **fields: Any) -> PreviewServer:
        config = HttpConfig(**{"enabled": True, "port": 0, **fields})
        server = PreviewServer(config, hub, device_id=device_id)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.close()


def bone_pixels(rgb: np.ndarray) -> int:
    """Pixels in the skeleton's magenta (BONE_RGB), with room for JPEG's colour blur."""
    r, g, b = (rgb[..., k].astype(np.int16) for k in range(3))
    return int(np.count_nonzero((r >= 170) & (b >= 170) & (g <= 90)))


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0, interval_s: float = 0.05) -> None:
    """Poll a condition until it holds; AssertionError after the timeout."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


class MjpegCamera:
    """A network camera on loopback: serves a clip as an endless MJPEG stream until `unplug()`."""

    def __init__(self, frames: Sequence[Frame], fps: float = 15.0) -> None:
        from aiohttp import web

        self._jpegs = [
            cv2.imencode(".jpg", cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))[1].tobytes() for f in frames
        ]
        self._period_s = 1.0 / fps
        self._unplugged = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.port = 0
        self.clients = 0

        async def video(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "multipart/x-mixed-replace; boundary=cam"})
            await response.prepare(request)
            self.clients += 1
            i = 0
            try:
                while not self._unplugged.is_set():
                    jpeg = self._jpegs[i % len(self._jpegs)]
                    head = (
                        f"--cam\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                    )
                    await response.write(head + jpeg + b"\r\n")
                    i += 1
                    await asyncio.sleep(self._period_s)
            except ConnectionError:
                pass
            return response

        async def serve() -> None:
            app = web.Application()
            app.router.add_get("/video.mjpg", video)
            runner = web.AppRunner(app, shutdown_timeout=0.5)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = int(runner.addresses[0][1])
            self._ready.set()
            while not self._unplugged.is_set():
                await asyncio.sleep(0.05)
            await runner.cleanup()

        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(serve(),), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "camera server did not start"

    @property
    def url(self) -> str:
        """The stream URL, as a source URI."""
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    def unplug(self) -> None:
        """Stop serving: open streams end and new connections are refused."""
        self._unplugged.set()
        self._thread.join(10)
        if not self._loop.is_closed():
            self._loop.close()


@pytest.fixture
def mjpeg_camera(media: Path) -> Iterator[MjpegCamera]:
    """pan_zidane.avi served as a live MJPEG network camera on loopback."""
    camera = MjpegCamera(read_clip(media / "pan_zidane.avi", CLIP_FRAMES))
    try:
        yield camera
    finally:
        camera.unplug()


Get = tuple[int, dict[str, str], bytes]


def get(url: str, timeout_s: float = 10.0) -> Get:
    """Status, headers and body of a GET (HTTP errors included, not raised)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return int(response.status), dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return int(err.code), dict(err.headers), err.read()


def decode_jpeg(data: bytes) -> np.ndarray:
    """RGB pixels of JPEG bytes."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None, "not a JPEG"
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
