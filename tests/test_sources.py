"""Frame sources: URI parsing, OpenCV files/devices/streams, the picamera2 backend (fake), the feed."""

from __future__ import annotations

import itertools
import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgepose.config.source import SourceConfig
from edgepose.sources import END, Backoff, FrameFeed, SourceError, SourceKind, create_source, parse_source_uri
from edgepose.sources.base import SourceBase, StrictlyIncreasing, rotate_image
from edgepose.sources.feed import LatestFrameSlot
from edgepose.types import Frame, SourceState

PAN_FRAMES = 150


def settings(**values: object) -> SourceConfig:
    return SourceConfig.model_validate(values)


# ---- URIs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "camera_num", "location"),
    [
        ("picamera2", SourceKind.PICAMERA2, 0, ""),
        ("picamera2:1", SourceKind.PICAMERA2, 1, ""),
        ("v4l2:/dev/video2", SourceKind.V4L2, 0, "/dev/video2"),
        ("v4l2:3", SourceKind.V4L2, 0, "/dev/video3"),
        ("file:/srv/clip.mp4", SourceKind.FILE, 0, "/srv/clip.mp4"),
        ("file:///srv/clip.mp4", SourceKind.FILE, 0, "/srv/clip.mp4"),
        ("rtsp://cam.local:554/s1", SourceKind.STREAM, 0, "rtsp://cam.local:554/s1"),
        ("http://cam.local/mjpg", SourceKind.STREAM, 0, "http://cam.local/mjpg"),
        ("replay:/srv/poses.jsonl.gz", SourceKind.REPLAY, 0, "/srv/poses.jsonl.gz"),
    ],
)
def test_parse_source_uri(text: str, kind: SourceKind, camera_num: int, location: str) -> None:
    uri = parse_source_uri(text)
    assert (uri.kind, uri.camera_num, uri.location) == (kind, camera_num, location)
    assert uri.live is (kind not in (SourceKind.FILE, SourceKind.REPLAY))
    assert uri.kind.needs_models is (kind is not SourceKind.REPLAY)


@pytest.mark.parametrize("text", ["", "usb", "picamera2:-1", "v4l2:video0", "file:", "replay:", "ftp://x"])
def test_parse_source_uri_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_source_uri(text)


# ---- OpenCV backend ------------------------------------------------------------------------------


def test_file_source_delivers_every_frame_rgb_with_media_timestamps(media: Path) -> None:
    path = media / "pan_zidane.avi"
    reference = cv2.VideoCapture(str(path))
    ok, first_bgr = reference.read()
    reference.release()
    assert ok
    with create_source(parse_source_uri(f"file:{path}"), settings()) as source:
        assert not source.live
        frames = []
        while (frame := source.read()) is not None:
            frames.append((frame.index, frame.timestamp_ms, frame.image.shape))
            if frame.index == 0:
                # RGB order; libjpeg (MJPEG frames are decoded on demand) and FFmpeg upsample the
                # chroma differently, so single pixels at colour edges differ by up to ~15 levels.
                diff = np.abs(frame.image.astype(np.int16) - first_bgr[:, :, ::-1].astype(np.int16))
                assert float(diff.mean()) < 1.5
                assert int(diff.max()) <= 32
    assert len(frames) == PAN_FRAMES
    assert [f[0] for f in frames] == list(range(PAN_FRAMES))
    assert [f[1] for f in frames] == [round(i * 1000 / 30) for i in range(PAN_FRAMES)]
    assert {f[2] for f in frames} == {(480, 640, 3)}


def test_file_source_loops_with_increasing_timestamps(media: Path) -> None:
    uri = parse_source_uri(f"file:{media / 'pan_zidane.avi'}")
    with create_source(uri, settings(loop=True)) as source:
        stamps = []
        for _ in range(PAN_FRAMES + 20):
            frame = source.read()
            assert frame is not None
            stamps.append(frame.timestamp_ms)
    assert stamps[PAN_FRAMES] == round(PAN_FRAMES * 1000 / 30)
    assert all(b > a for a, b in itertools.pairwise(stamps))


@pytest.mark.parametrize(
    ("rotation", "shape"), [(90, (640, 480, 3)), (180, (480, 640, 3)), (270, (640, 480, 3))]
)
def test_file_source_rotation(media: Path, rotation: int, shape: tuple[int, int, int]) -> None:
    uri = parse_source_uri(f"file:{media / 'pan_zidane.avi'}")
    with create_source(uri, settings()) as plain, create_source(uri, settings(rotation=rotation)) as turned:
        a, b = plain.read(), turned.read()
    assert a is not None and b is not None
    assert b.image.shape == shape
    np.testing.assert_array_equal(b.image, rotate_image(a.image, rotation))


def test_rotate_image_is_clockwise() -> None:
    image = np.zeros((2, 3, 3), dtype=np.uint8)
    image[0, 0] = 255  # top-left
    turned = rotate_image(image, 90)
    assert turned.shape == (3, 2, 3)
    assert turned[0, 1, 0] == 255  # clockwise: top-left goes to top-right
    frame = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    for rotation in (0, 90, 180, 270, 360):
        # np.rot90 turns counter-clockwise for positive k.
        expected = np.rot90(frame, k=-(rotation // 90))
        np.testing.assert_array_equal(rotate_image(frame, rotation), expected)
        assert rotate_image(frame, rotation).flags.c_contiguous


def test_missing_file_and_device_fail_with_one_clear_reason(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"file:.*: no such file"):
        create_source(parse_source_uri(f"file:{tmp_path / 'none.mp4'}"), settings()).open()
    with pytest.raises(SourceError, match=r"^v4l2:/dev/video99: no such device"):
        create_source(parse_source_uri("v4l2:/dev/video99"), settings()).open()
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    with pytest.raises(SourceError, match="cannot decode"):
        create_source(parse_source_uri(f"file:{not_video}"), settings()).open()


# A fresh interpreter registers its own stream backend before any source was made, then opens a
# file and a device: the built-in backends must still serve `file:` and `v4l2:`.
_REGISTER_FIRST = """
import json, sys
from edgepose.config.source import SourceConfig
from edgepose.sources import SourceError, SourceKind, create_source, parse_source_uri, register_source

class Replay:
    def __init__(self, uri, settings):
        self.uri = uri

register_source(SourceKind.STREAM, Replay)
settings = SourceConfig()
with create_source(parse_source_uri("file:" + sys.argv[1]), settings) as source:
    frame = source.read()
device = create_source(parse_source_uri("v4l2:/dev/video99"), settings)
try:
    device.open()
    opened = "opened"
except SourceError as exc:
    opened = str(exc)
stream = create_source(parse_source_uri("rtsp://127.0.0.1:9/none"), settings)
print(json.dumps({"frame": [frame.width, frame.height], "device": [type(device).__name__, opened],
                  "stream": type(stream).__name__}))
"""


def test_register_source_before_first_use_keeps_the_builtin_backends(media: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _REGISTER_FIRST, str(media / "vtest.avi")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["frame"] == [768, 576]
    kind, reason = report["device"]
    assert kind == "OpenCVSource" and "/dev/video99" in reason
    assert report["stream"] == "Replay"


def test_unreachable_rtsp_stream_fails_cleanly() -> None:
    source = create_source(parse_source_uri("rtsp://127.0.0.1:9/none"), settings(read_timeout_s=2.0))
    with pytest.raises(SourceError, match=r"^rtsp://127.0.0.1:9/none: cannot open"):
        source.open()
    source.close()


# ---- picamera2 backend (fake picamera2 following the real API) -------------------------------------


def test_picamera2_delivers_rgb_memory_order_at_the_configured_size(fake_picamera2: Path) -> None:
    import picamera2

    with create_source(parse_source_uri("picamera2"), settings(width=300, height=200)) as source:
        frame = source.read()
        camera = source._camera  # type: ignore[attr-defined]
        # picamera2's BGR888 is [R, G, B] in memory: the models' order, so no conversion per frame.
        assert camera.camera_config["main"]["format"] == "BGR888"
        assert camera.camera_config["main"]["size"] == (300, 200)
        assert camera.camera_config["controls"]["FrameRate"] == 30.0
        assert camera.held_buffers == 0  # the request was released
    assert frame is not None
    expected = picamera2.test_pattern_rgb(300, 200)
    np.testing.assert_array_equal(frame.image, expected)
    assert frame.image[150, 10].tolist() == [255, 0, 0]  # the left band is red in RGB
    assert frame.image.flags.c_contiguous


def test_picamera2_rotation_180_uses_the_isp_transform(fake_picamera2: Path) -> None:
    import picamera2
    from libcamera import Transform

    with create_source(
        parse_source_uri("picamera2"), settings(width=300, height=200, rotation=180)
    ) as source:
        frame = source.read()
        assert source._camera.camera_config["transform"] == Transform(hflip=1, vflip=1)  # type: ignore[attr-defined]
    assert frame is not None
    np.testing.assert_array_equal(frame.image, picamera2.test_pattern_rgb(300, 200)[::-1, ::-1])


def test_picamera2_rotation_90_in_software(fake_picamera2: Path) -> None:
    import picamera2

    with create_source(parse_source_uri("picamera2"), settings(width=300, height=200, rotation=90)) as source:
        frame = source.read()
    assert frame is not None
    assert frame.image.shape == (300, 200, 3)
    np.testing.assert_array_equal(frame.image, rotate_image(picamera2.test_pattern_rgb(300, 200), 90))


def test_picamera2_timestamps_come_from_the_sensor(fake_picamera2: Path) -> None:
    before_ms = time.monotonic_ns() // 1_000_000
    with create_source(parse_source_uri("picamera2"), settings(width=64, height=64, fps=60.0)) as source:
        frames = [source.read() for _ in range(5)]
    stamps = [f.timestamp_ms for f in frames if f is not None]
    assert len(stamps) == 5
    assert stamps[0] >= before_ms
    assert all(b > a for a, b in itertools.pairwise(stamps))
    assert [f.index for f in frames if f is not None] == [0, 1, 2, 3, 4]


def test_picamera2_sees_the_video_it_is_given(
    fake_picamera2: Path, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEPOSE_FAKE_CAMERA_VIDEO", str(media / "pan_zidane.avi"))
    with create_source(parse_source_uri("picamera2"), settings()) as source:
        frame = source.read()
    reference = cv2.VideoCapture(str(media / "pan_zidane.avi"))
    _, bgr = reference.read()
    reference.release()
    assert frame is not None
    np.testing.assert_array_equal(frame.image, bgr[:, :, ::-1])


def test_picamera2_no_camera(fake_picamera2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPOSE_FAKE_CAMERAS", "0")
    with pytest.raises(SourceError, match=r"^picamera2: no camera found \(check the ribbon cable"):
        create_source(parse_source_uri("picamera2"), settings()).open()
    monkeypatch.setenv("EDGEPOSE_FAKE_CAMERAS", "1")
    with pytest.raises(SourceError, match=r"^picamera2:1: only 1 camera\(s\) found"):
        create_source(parse_source_uri("picamera2:1"), settings()).open()


def test_picamera2_busy_camera(fake_picamera2: Path) -> None:
    uri = parse_source_uri("picamera2")
    with create_source(uri, settings()), pytest.raises(SourceError, match="cannot open camera 0"):
        create_source(uri, settings()).open()


def test_picamera2_stall_is_a_source_error(fake_picamera2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import picamera2

    monkeypatch.setitem(picamera2._counters, "frames_captured", 0)
    monkeypatch.setenv("EDGEPOSE_FAKE_CAMERA_STALL_AFTER", "2")
    with create_source(
        parse_source_uri("picamera2"), settings(read_timeout_s=0.3, width=64, height=64)
    ) as source:
        assert source.read() is not None
        assert source.read() is not None
        with pytest.raises(SourceError, match="no frame for"):
            source.read()


def test_picamera2_missing_module_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(SourceError, match="python3-picamera2"):
        create_source(parse_source_uri("picamera2"), settings()).open()


# ---- the feed ------------------------------------------------------------------------------------


def drain(feed: FrameFeed, timeout_s: float = 30.0) -> list[Frame]:
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        item = feed.get(0.5)
        if item is END:
            return frames
        if isinstance(item, Frame):
            frames.append(item)
    raise AssertionError("feed did not end")


def file_feed(path: Path, **values: object) -> FrameFeed:
    config = settings(uri=f"file:{path}", **values)
    uri = parse_source_uri(config.uri)
    return FrameFeed(
        lambda: create_source(uri, config),
        name=uri.text,
        live=False,
        realtime=config.realtime,
        queue_frames=config.queue_frames,
    )


def test_file_feed_delivers_every_frame_then_end(media: Path) -> None:
    feed = file_feed(media / "pan_zidane.avi", realtime=False, queue_frames=2)
    feed.start()
    time.sleep(0.3)  # a slow consumer must not lose frames of a file
    frames = drain(feed)
    feed.close()
    assert [f.index for f in frames] == list(range(PAN_FRAMES))
    assert frames[-1].timestamp_ms == round((PAN_FRAMES - 1) * 1000 / 30)
    assert feed.dropped_frames == 0
    assert feed.state is SourceState.ENDED


def test_file_feed_realtime_is_paced_at_the_media_rate(media: Path) -> None:
    feed = file_feed(media / "pan_zidane.avi", realtime=True)
    feed.start()
    started = time.monotonic()
    for _ in range(31):
        item = feed.get(5.0)
        assert isinstance(item, Frame)
    elapsed = time.monotonic() - started
    feed.close()
    # Frame 30 is due one second after frame 0 at 30 fps (a lower bound: pacing, not speed).
    assert elapsed >= 0.95


def test_live_feed_keeps_the_newest_frame_and_counts_drops(fake_picamera2: Path) -> None:
    config = settings(uri="picamera2", width=64, height=64, fps=100.0)
    uri = parse_source_uri(config.uri)
    feed = FrameFeed(lambda: create_source(uri, config), name=uri.text, live=True)
    feed.start()
    got = []
    for _ in range(5):
        time.sleep(0.1)  # a slow pipeline
        item = feed.get(2.0)
        assert isinstance(item, Frame)
        got.append(item.index)
    feed.close()
    assert feed.dropped_frames > 0
    assert all(b - a > 1 for a, b in itertools.pairwise(got))  # older frames were skipped
    assert feed.state is SourceState.STOPPED


class FlakySource(SourceBase):
    """A live source that delivers `frames_per_open` frames, then fails; `refuse` opens fail first."""

    opens = 0
    refuse = 0

    def __init__(self, frames_per_open: int) -> None:
        self.frames_per_open = frames_per_open
        self.left = 0
        self.index = 0

    @property
    def live(self) -> bool:
        return True

    def open(self) -> None:
        if FlakySource.refuse > 0:
            FlakySource.refuse -= 1
            raise SourceError("flaky: device busy")
        FlakySource.opens += 1
        self.left = self.frames_per_open

    def read(self) -> Frame | None:
        time.sleep(0.01)
        if self.left <= 0:
            FlakySource.refuse = 1  # the first reopen attempt fails too
            raise SourceError("flaky: device vanished")
        self.left -= 1
        self.index += 1
        return Frame(np.zeros((4, 4, 3), np.uint8), timestamp_ms=5, index=self.index)

    def close(self) -> None:
        pass


def test_live_feed_reopens_with_backoff_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    FlakySource.opens = 0
    FlakySource.refuse = 0
    states: list[SourceState] = []
    feed = FrameFeed(
        lambda: FlakySource(3),
        name="flaky",
        live=True,
        backoff=Backoff(initial_s=0.05, max_s=0.2),
        on_state=states.append,
    )
    caplog.set_level(logging.DEBUG, logger="edgepose.sources.feed")
    feed.start()
    stamps = []
    deadline = time.monotonic() + 10
    while FlakySource.opens < 3 and time.monotonic() < deadline:
        item = feed.get(0.5)
        if isinstance(item, Frame):
            stamps.append(item.timestamp_ms)
    feed.close()
    assert FlakySource.opens >= 3
    assert states[:3] == [SourceState.RUNNING, SourceState.RECONNECTING, SourceState.RUNNING]
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    retry = [r for r in caplog.records if "unavailable" in r.getMessage()]
    back = [r for r in caplog.records if "is back after 2 failure(s)" in r.getMessage()]
    assert lost and retry and back
    # One warning per outage (the first failure); the retries of the same outage are quieter.
    assert lost[0].levelno == logging.WARNING
    assert retry[0].levelno == logging.DEBUG
    assert "flaky: device busy; retrying in" in retry[0].getMessage()
    # Repeated timestamps from a source are made strictly increasing.
    assert all(b > a for a, b in itertools.pairwise(stamps))


def test_backoff_doubles_and_caps() -> None:
    backoff = Backoff(1.0, 30.0)
    assert [backoff.delay_s(i) for i in range(7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff.delay_s(10_000) == 30.0


class HangingSource(SourceBase):
    """A driver that never returns from read()."""

    @property
    def live(self) -> bool:
        return True

    def open(self) -> None:
        pass

    def read(self) -> Frame | None:
        threading.Event().wait()
        return None

    def close(self) -> None:
        pass


def test_close_does_not_wait_for_a_hung_driver() -> None:
    feed = FrameFeed(HangingSource, name="hung", live=True)
    feed.start()
    assert feed.get(0.2) is None
    started = time.monotonic()
    feed.close(timeout_s=0.3)
    assert time.monotonic() - started < 2.0


def test_latest_slot_end_is_sticky() -> None:
    slot = LatestFrameSlot()
    frame = Frame(np.zeros((2, 2, 3), np.uint8), 0, 0)
    slot.put(frame)
    slot.put(END)
    assert slot.get(0.01) is END
    slot.put(frame)
    assert slot.get(0.01) is END


def test_strictly_increasing() -> None:
    fix = StrictlyIncreasing()
    assert [fix(t) for t in (5, 5, 3, 10)] == [5, 6, 7, 10]


# ---- a real network stream: MJPEG over HTTP from a local server ----------------------------------


class MjpegServer:
    """Serves `frames_per_connection` JPEGs of a real video per connection, 30 fps, then hangs up."""

    def __init__(self, video: Path, frames_per_connection: int) -> None:
        import http.server
        import socketserver

        cap = cv2.VideoCapture(str(video))
        self.jpegs: list[bytes] = []
        while len(self.jpegs) < 10:
            ok, bgr = cap.read()
            assert ok
            self.jpegs.append(cv2.imencode(".jpg", bgr)[1].tobytes())
        cap.release()
        self.connections = 0
        server_self = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server_self.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                for i in range(frames_per_connection):
                    jpg = server_self.jpegs[i % len(server_self.jpegs)]
                    head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpg)}\r\n\r\n"
                    try:
                        self.wfile.write(head.encode() + jpg + b"\r\n")
                    except OSError:
                        return
                    time.sleep(1 / 30)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/stream.mjpg"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_network_stream_is_live_and_reconnects_after_a_hangup(media: Path) -> None:
    server = MjpegServer(media / "pan_zidane.avi", frames_per_connection=20)
    try:
        config = settings(uri=server.url, read_timeout_s=2.0, reopen_initial_s=0.1, reopen_max_s=0.2)
        uri = parse_source_uri(config.uri)
        assert uri.kind is SourceKind.STREAM and uri.live
        states: list[SourceState] = []
        feed = FrameFeed(
            lambda: create_source(uri, config),
            name=uri.text,
            live=True,
            backoff=Backoff(config.reopen_initial_s, config.reopen_max_s),
            on_state=states.append,
        )
        feed.start()
        frames: list[Frame] = []
        deadline = time.monotonic() + 20
        while server.connections < 2 or len(frames) < 25:
            assert time.monotonic() < deadline, (server.connections, len(frames), states)
            item = feed.get(0.5)
            if isinstance(item, Frame):
                frames.append(item)
        feed.close()
    finally:
        server.close()
    assert frames[0].image.shape == (480, 640, 3)
    first = cv2.imdecode(np.frombuffer(server.jpegs[0], np.uint8), cv2.IMREAD_COLOR)
    # FFmpeg and libjpeg decode JPEG with different IDCTs: equal within a level or two, in RGB order.
    got = frames[0].image.astype(np.int16)
    assert np.abs(got - first[:, :, ::-1]).mean() < 1.0
    assert np.abs(got - first).mean() > 5.0
    assert states[:3] == [SourceState.RUNNING, SourceState.RECONNECTING, SourceState.RUNNING]
    assert all(b.timestamp_ms > a.timestamp_ms for a, b in itertools.pairwise(frames))
