"""Lifecycle rules of the daemon: exit codes, an absent or unplugged camera, stuck reads, early signals.

The network camera is a real MJPEG HTTP stream (tools.evaluation.mjpeg_stream) that the tests
unplug and plug back in; the broker is a real Mosquitto. Exit codes: 0 only for a stop or a
file that played to its end; 70 for an unexpected error in any thread or a source that ended
without a frame.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edgepose.config import load_config
from edgepose.errors import EXIT_SOFTWARE
from edgepose.notify import Notifier
from edgepose.publish.stdout import StdoutPublisher
from edgepose.sources import FrameFeed, SourceError, SourceKind, SourceUri, register_source
from edgepose.sources.opencv import OpenCVSource
from edgepose.sources.registry import _REGISTRY
from edgepose.types import Frame, SourceState
from tests.plugins.broker import Broker, Recorder, free_port
from tests.plugins.daemon import REPO, NotifySocket, edgepose_cmd, fast_model, run_edgepose
from tools.evaluation.mjpeg_stream import MjpegStream

PASSWORD = "Sup3r-Secret-9x"


@pytest.fixture
def camera(media: Path) -> Iterator[MjpegStream]:
    """An MJPEG network camera with a password, unplugged to begin with."""
    stream = MjpegStream(media / "vtest.avi", free_port(), user="admin", password=PASSWORD, max_frames=60)
    yield stream
    stream.unplug()


def camera_uri(camera: MjpegStream) -> str:
    return f"http://admin:{PASSWORD}@127.0.0.1:{camera.port}/stream.mjpg"


def statuses(notify: NotifySocket, after: float = 0.0) -> list[str]:
    return [m for t, m in notify.messages if m.startswith("STATUS=") and t > after]


def wait_status(
    notify: NotifySocket, predicate: Callable[[str], bool], timeout_s: float, after: float
) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for t, m in list(notify.messages):
            if t > after and m.startswith("STATUS=") and predicate(m):
                return t
        time.sleep(0.1)
    raise AssertionError(f"no such STATUS within {timeout_s} s: {statuses(notify)[-5:]}")


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def spawn(config: Path, notify: NotifySocket) -> subprocess.Popen[str]:
    env = dict(os.environ, NOTIFY_SOCKET=str(notify.path), WATCHDOG_USEC="900000")
    env.pop("WATCHDOG_PID", None)
    return subprocess.Popen(
        edgepose_cmd("run", "--config", str(config)),
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(proc: subprocess.Popen[str], notify: NotifySocket) -> float:
    """When READY=1 came; fails with the daemon's stderr when it exited instead."""
    deadline = time.monotonic() + 60
    while not notify.times_of("READY=1"):
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode} before READY: {proc.communicate()[1]}")
        assert time.monotonic() < deadline, "no READY=1 within 60 s"
        time.sleep(0.1)
    return notify.times_of("READY=1")[0]


def terminate(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
    return stderr


def watchdog_gaps(notify: NotifySocket, after: float) -> float:
    times = [t for t in notify.times_of("WATCHDOG=1") if t > after]
    assert len(times) >= 2, "WATCHDOG=1 stopped"
    return max(b - a for a, b in itertools.pairwise(times))


@pytest.mark.slow
def test_absent_then_unplugged_camera_waits_reopens_and_resumes(
    daemon_config: Callable[..., Path],
    notify_socket: NotifySocket,
    camera: MjpegStream,
    broker: Broker,
    mqtt_recorder: Callable[[Broker, list[str]], Recorder],
    tmp_path: Path,
) -> None:
    recorder = mqtt_recorder(broker, ["edgepose/#"])
    http_port = free_port()
    config = daemon_config(
        source={
            "uri": camera_uri(camera),
            "read_timeout_s": 1.0,
            "reopen_initial_s": 0.2,
            "reopen_max_s": 0.5,
        },
        model=fast_model(),
        service={"publish": "mqtt", "status_interval_s": 1.0, "state_directory": str(tmp_path / "state")},
        mqtt={
            "host": broker.host,
            "port": broker.port,
            "device_id": "cam",
            "discovery": False,
            "stats_interval_s": 0.5,
        },
        http={"enabled": True, "port": http_port},
    )
    proc = spawn(config, notify_socket)
    try:
        ready_at = wait_ready(proc, notify_socket)
        ready = next(m for t, m in notify_socket.messages if t == ready_at)
        assert "STATUS=waiting for camera (http://admin:***@127.0.0.1" in ready, ready
        time.sleep(3)
        assert proc.poll() is None
        assert watchdog_gaps(notify_socket, ready_at) < 0.9  # the loop is alive: the watchdog is fed
        code, body = http_get(f"http://127.0.0.1:{http_port}/healthz")
        assert code == 503 and "source reconnecting" in body, body
        stats = recorder.wait_topic("edgepose/cam/stats", timeout_s=10)
        assert json.loads(stats[-1].payload)["source"] == "reconnecting"
        for _ in range(2):
            plugged = time.monotonic()
            camera.plug()
            flowing = wait_status(notify_socket, lambda m: " fps, " in m and "source" not in m, 30, plugged)
            recorder.wait_for(
                lambda m, since=plugged: m.topic == "edgepose/cam/pose" and m.at_s > since, timeout_s=30
            )
            print(f"frames {flowing - plugged:.1f} s after the camera came back")
            camera.unplug()
            unplugged = time.monotonic()
            lost = wait_status(notify_socket, lambda m: m.endswith(", source reconnecting"), 15, unplugged)
            time.sleep(2)
            assert watchdog_gaps(notify_socket, lost) < 0.9
        code, body = http_get(f"http://127.0.0.1:{http_port}/healthz")
        api_code, api_state = http_get(f"http://127.0.0.1:{http_port}/api/state")
        assert code == 503 and api_code == 200
        stderr = terminate(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "unavailable" in stderr and "admin:***@" in stderr
    outputs = {
        "log": stderr,
        "healthz": body,
        "api/state": api_state,
        "sd_notify": "\n".join(m for _, m in notify_socket.messages),
        "mqtt": "\n".join(m.payload.decode(errors="replace") for m in recorder.messages),
    }
    assert [name for name, text in outputs.items() if PASSWORD in text] == []


def test_check_devices_and_errors_never_show_a_camera_password(
    daemon_config: Callable[..., Path], camera: MjpegStream
) -> None:
    config = daemon_config(source={"uri": camera_uri(camera), "read_timeout_s": 1.0})
    check = run_edgepose("check", "--config", str(config), "--only", "source", timeout_s=60)
    assert check.returncode == 1
    assert "FAIL  source       http://admin:***@127.0.0.1" in check.stdout, check.stdout
    devices = run_edgepose("devices", "--json", timeout_s=60)
    bad = run_edgepose("run", "--config", str(config), "--source", f"rtps://admin:{PASSWORD}@cam/1")
    assert bad.returncode == 64 and "rtps://admin:***@cam/1" in bad.stderr, bad.stderr
    for proc in (check, devices, bad):
        assert PASSWORD not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rtsp://admin:secret@10.0.0.2:554/s1", "rtsp://admin:***@10.0.0.2:554/s1"),
        ("opening rtsp://u:p@ss:w@host/x now", "opening rtsp://u:***@host/x now"),
        ("rtsp://host/live?user=admin&password=secret&ch=1", "rtsp://host/live?user=admin&password=***&ch=1"),
        ("http://host/stream.mjpg", "http://host/stream.mjpg"),
        ("file:/srv/a@b.mp4", "file:/srv/a@b.mp4"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    from edgepose.redact import redact

    assert redact(text) == expected


def test_redacting_filter_covers_messages_arguments_and_tracebacks() -> None:
    import logging

    from edgepose.redact import RedactingFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test-redact")
    logger.addHandler(handler)
    try:
        logger.warning("source %s lost", f"rtsp://admin:{PASSWORD}@cam/1")
        try:
            raise RuntimeError(f"cannot open rtsp://admin:{PASSWORD}@cam/1")
        except RuntimeError:
            logger.exception("crash")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "rtsp://admin:***@cam/1" in text and "RuntimeError" in text
    assert PASSWORD not in text
    assert PASSWORD not in repr(SourceUri(SourceKind.STREAM, "x", location=f"rtsp://a:{PASSWORD}@h"))


def test_file_without_a_frame_exits_70(daemon_config: Callable[..., Path], tmp_path: Path) -> None:
    import cv2

    empty = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 64))
    writer.release()
    config = daemon_config(source={"uri": f"file:{empty}", "loop": False})
    proc = run_edgepose("run", "--config", str(config), timeout_s=120)
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (EXIT_SOFTWARE, 69), proc.stderr


class _BuggySource(OpenCVSource):
    """A real file source whose reads hit a bug (not a SourceError) after a few frames."""

    def read(self) -> Frame | None:
        frame = super().read()
        if frame is not None and frame.index >= 5:
            raise ValueError("a bug in a backend")
        return frame


def run_service_in_process(config_path: Path, **kwargs: object) -> int:
    from edgepose.service import Service

    service = Service(load_config(config_path), notifier=Notifier(socket_path=""), **kwargs)  # type: ignore[arg-type]
    timer = threading.Timer(60.0, service.stop)  # without the rule the daemon would run on
    timer.start()
    try:
        return service.run()
    finally:
        timer.cancel()


def test_unexpected_error_in_the_capture_thread_exits_70(
    daemon_config: Callable[..., Path], media: Path
) -> None:
    config = daemon_config(source={"uri": f"file:{media / 'pan_zidane.avi'}", "loop": True})
    saved = dict(_REGISTRY)
    register_source(SourceKind.FILE, _BuggySource)
    try:
        code = run_service_in_process(config)
    finally:
        _REGISTRY.clear()
        _REGISTRY.update(saved)
    assert code == EXIT_SOFTWARE


def test_unexpected_error_in_any_other_thread_exits_70(
    daemon_config: Callable[..., Path], media: Path
) -> None:
    class CrashingPublisher(StdoutPublisher):
        def start(self) -> None:
            super().start()

            def crash() -> None:
                time.sleep(1.0)
                raise RuntimeError("a bug in a network thread")

            threading.Thread(target=crash, name="publisher worker", daemon=True).start()

    from edgepose.config import Config

    def factory(config: Config) -> StdoutPublisher:
        return CrashingPublisher(config.mqtt, stream=io.StringIO())

    config = daemon_config(source={"uri": f"file:{media / 'pan_zidane.avi'}", "loop": True, "realtime": True})
    assert run_service_in_process(config, publisher_factory=factory) == EXIT_SOFTWARE


class _WedgingSource:
    """A camera whose driver call never returns on the 6th read of its first opening."""

    opened = 0

    def __init__(self, frames: int) -> None:
        self.number = _WedgingSource.opened
        _WedgingSource.opened += 1
        self.read_count = 0
        self.release = threading.Event()
        self.closed = False

    @property
    def live(self) -> bool:
        return True

    def open(self) -> None:
        pass

    def read(self) -> Frame | None:
        import numpy as np

        self.read_count += 1
        if self.number == 0 and self.read_count == 6:
            self.release.wait()  # wedged in the driver
            raise SourceError("woke up")
        time.sleep(0.02)
        return Frame(
            pixels=np.zeros((8, 8, 3), np.uint8), timestamp_ms=self.read_count, index=self.read_count
        )

    def close(self) -> None:
        self.closed = True


def test_a_read_stuck_longer_than_read_timeout_is_abandoned_and_the_source_reopened() -> None:
    _WedgingSource.opened = 0
    made: list[_WedgingSource] = []

    def make() -> _WedgingSource:
        made.append(_WedgingSource(0))
        return made[-1]

    feed = FrameFeed(make, name="v4l2:/dev/video0", live=True, read_timeout_s=0.5)  # type: ignore[arg-type]
    feed.start()
    states: list[SourceState] = []
    frames = 0
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline and not (len(made) >= 2 and frames >= 12):
            item = feed.get(0.1)
            feed.check_stuck(time.monotonic())
            states.append(feed.state)
            frames += isinstance(item, Frame)
    finally:
        made[0].release.set()
        feed.close()
    assert len(made) >= 2, "the stuck source was never replaced"
    assert SourceState.RECONNECTING in states
    assert feed.stuck_reads == 1 and frames >= 12
    time.sleep(0.2)
    assert made[0].closed, "the abandoned source is closed once its driver call returns"


def test_sighup_while_starting_is_queued_not_fatal(
    daemon_config: Callable[..., Path], notify_socket: NotifySocket
) -> None:
    proc = spawn(daemon_config(), notify_socket)
    try:
        status = Path(f"/proc/{proc.pid}/status")
        deadline = time.monotonic() + 30
        while True:
            caught = next(line for line in status.read_text().splitlines() if line.startswith("SigCgt:"))
            if int(caught.split()[1], 16) & (1 << (signal.SIGHUP - 1)):
                break
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.002)
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        proc.send_signal(signal.SIGHUP)
        # The handler is in place before numpy, OpenCV, pydantic and the models are loaded.
        assert "_multiarray_umath" not in maps and "cv2" not in maps and "pydantic_core" not in maps
        assert not notify_socket.times_of("READY=1")
        ready_at = notify_socket.wait_for("READY=1", timeout_s=60)
        notify_socket.wait_for("RELOADING=1", timeout_s=30, after=ready_at)  # the queued reload
        assert proc.poll() is None
        stderr = terminate(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "config reloaded" in stderr
