"""The daemon end to end: `edgepose run` on real video with real models, sd_notify, signals, errors."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from edgepose.config import Config, load_config
from edgepose.publish.payloads import load_schema
from edgepose.publish.stdout import StdoutPublisher
from edgepose.service import Service
from edgepose.types import ActivityState, Event, Frame, PoseResult, ServiceStats, SourceState
from tests.plugins.daemon import REPO, NotifySocket, edgepose_cmd, fast_model, run_edgepose

TOPIC_KINDS = ("status", "pose", "event", "state", "stats")


def kind_of(topic: str) -> str:
    return topic.rsplit("/", 1)[-1]


@pytest.mark.slow
def test_run_file_to_stdout_exits_0_with_every_kind_of_message(daemon_config: Callable[..., Path]) -> None:
    config = daemon_config(mqtt={"device_id": "testpi", "discovery": True})
    proc = run_edgepose("run", "--config", str(config), timeout_s=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    discovery = [m["payload"] for m in lines if m["topic"] == "homeassistant/device/testpi/config"]
    messages = [m for m in lines if not m["topic"].startswith("homeassistant/")]
    kinds = [kind_of(m["topic"]) for m in messages]
    assert kinds[0] == "status" and messages[0]["payload"] == "online"
    assert kinds[-1] == "status" and messages[-1]["payload"] == "offline"
    assert {"pose", "state", "stats"} <= set(kinds)
    assert all(m["topic"].startswith("edgepose/testpi/") for m in messages)
    for message in messages:
        kind = kind_of(message["topic"])
        if kind in TOPIC_KINDS:
            jsonschema.validate(message["payload"], load_schema(kind))
    poses = [m["payload"] for m in messages if kind_of(m["topic"]) == "pose"]
    # pan_zidane.avi shows two men the whole time; the tracker must find them.
    assert max(len(p["poses"]) for p in poses) == 2
    states = [m["payload"] for m in messages if kind_of(m["topic"]) == "state"]
    assert states[-1]["people"] in (1, 2)
    stats = [m["payload"] for m in messages if kind_of(m["topic"]) == "stats"]
    assert stats[0]["accelerator"] == "cpu" and stats[0]["source"] == "running"
    jsonschema.validate(discovery[0], load_schema("ha_discovery"))
    gesture_entity = next(
        c
        for c in discovery[0]["cmps"].values()
        if "gesture" in c.get("evt_typ", []) or "wave" in c.get("evt_typ", [])
    )
    assert set(gesture_entity["evt_typ"]) == {
        "both_hands_up",
        "left_arm_raised",
        "right_arm_raised",
        "t_pose",
        "wave",
    }
    assert "end of file:" in proc.stderr and "after 150 frames" in proc.stderr
    events = [m["payload"] for m in messages if kind_of(m["topic"]) == "event"]
    # Presence events flow: two men walk into view.
    assert "person_entered" in {e["type"] for e in events}, events
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids)
    # `<device_id>-<random>-<n>`: a restarted daemon never reuses an id consumers deduplicate on.
    assert all(re.fullmatch(r"testpi-[0-9a-f]{8}-\d+", i) for i in ids), ids


class Recorder:
    """A frame observer keeping what the loop hands over."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int, tuple[np.ndarray, ...]]] = []
        self.stats: list[ServiceStats] = []

    def __call__(
        self,
        frame: Frame,
        result: PoseResult,
        events: Sequence[Event],
        state: ActivityState,
        stats: ServiceStats,
    ) -> None:
        assert frame.index == result.frame_index and frame.timestamp_ms == result.timestamp_ms
        self.calls.append(
            (result.frame_index, result.timestamp_ms, state.people, tuple(p.landmarks for p in result.poses))
        )
        self.stats.append(stats)


def run_in_process(config: Config, stream: io.StringIO) -> tuple[int, Recorder]:
    service = Service(config, publisher_factory=lambda c: StdoutPublisher(c.mqtt, stream=stream))
    recorder = Recorder()
    service.add_observer(recorder)
    return service.run(), recorder


@pytest.mark.slow
def test_same_file_gives_the_same_results_on_every_run(daemon_config: Callable[..., Path]) -> None:
    config = load_config(daemon_config())
    first_out, second_out = io.StringIO(), io.StringIO()
    code1, first = run_in_process(config, first_out)
    code2, second = run_in_process(config, second_out)
    assert code1 == code2 == 0
    assert len(first.calls) == len(second.calls) == 150
    assert [c[:3] for c in first.calls] == [c[:3] for c in second.calls]
    for a, b in zip(first.calls, second.calls, strict=True):
        assert len(a[3]) == len(b[3])
        for la, lb in zip(a[3], b[3], strict=True):
            np.testing.assert_array_equal(la, lb)
    assert [c[1] for c in first.calls] == [round(i * 1000 / 30) for i in range(150)]
    last = first.stats[-1]
    assert last.frames == 150 and last.dropped_frames == 0
    assert last.source in (SourceState.RUNNING, SourceState.ENDED)  # the reader runs ahead
    states = [line for line in first_out.getvalue().splitlines() if '/state"' in line]
    assert states == [line for line in second_out.getvalue().splitlines() if '/state"' in line]


def start_daemon(
    config_path: Path, notify: NotifySocket, env: dict[str, str], fakes: Path
) -> subprocess.Popen[str]:
    full_env = dict(os.environ)
    full_env.update(env)
    full_env.update(
        {
            "NOTIFY_SOCKET": str(notify.path),
            "WATCHDOG_USEC": "900000",  # WATCHDOG=1 every 0.3 s while frames flow
            "PYTHONPATH": str(fakes),
        }
    )
    full_env.pop("WATCHDOG_PID", None)
    return subprocess.Popen(
        edgepose_cmd("run", "--config", str(config_path)),
        cwd=REPO,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def live_camera_config(daemon_config: Callable[..., Path], **service: object) -> Path:
    return daemon_config(
        source={"uri": "picamera2", "read_timeout_s": 1.0, "reopen_initial_s": 0.2, "reopen_max_s": 0.5},
        model=fast_model(),
        service={"publish": "stdout", "status_interval_s": 1.0, **service},
    )


def stop_daemon(proc: subprocess.Popen[str], notify: NotifySocket) -> tuple[float, str]:
    """SIGTERM; (seconds until exit, stderr)."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        raise
    return time.monotonic() - sent, stderr


@pytest.mark.slow
def test_sd_notify_ready_then_watchdog_through_a_wedged_camera_and_stop(
    daemon_config: Callable[..., Path], notify_socket: NotifySocket, fake_picamera2: Path, media: Path
) -> None:
    env = {
        "EDGEPOSE_FAKE_CAMERA_VIDEO": str(media / "pan_zidane.avi"),
        "EDGEPOSE_FAKE_CAMERA_STALL_AFTER": "90",  # three seconds of frames, then a wedged camera
    }
    proc = start_daemon(live_camera_config(daemon_config), notify_socket, env, fake_picamera2)
    try:
        ready_at = notify_socket.wait_for("READY=1", timeout_s=60)
        notify_socket.wait_for("WATCHDOG=1", timeout_s=10, after=ready_at)
        # The camera wedges (its reads time out, and reopening it hangs): the loop is alive, so
        # WATCHDOG=1 keeps coming every 0.3 s, and STATUS says the source is being reopened.
        deadline = time.monotonic() + 30
        while True:
            status_lines = [m for _, m in notify_socket.messages if m.startswith("STATUS=") and " fps, " in m]
            if any(m.endswith(", source reconnecting") for m in status_lines):
                break
            assert time.monotonic() < deadline, status_lines
            time.sleep(0.2)
        reconnecting_at = time.monotonic()
        time.sleep(4.0)
        assert proc.poll() is None
        watchdogs = [t for t in notify_socket.times_of("WATCHDOG=1") if t > ready_at]
        # Not a timing bound (a loaded machine stretches gaps): the loop keeps sending, where a daemon
        # that stops WATCHDOG=1 while it reopens the source sends none in this window.
        during = [t for t in watchdogs if reconnecting_at <= t <= reconnecting_at + 4.0]
        assert watchdogs[-1] > reconnecting_at + 3.0, "WATCHDOG stopped while the camera was reopened"
        assert len(during) >= 3, f"only {len(during)} WATCHDOG=1 in 4 s while the camera was reopened"
        assert any("stdout connected" in m for m in status_lines)
        elapsed, stderr = stop_daemon(proc, notify_socket)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert notify_socket.wait_for("STOPPING=1", timeout_s=1)
    assert elapsed < 3.0, f"SIGTERM took {elapsed:.2f} s"
    assert proc.returncode == 0, stderr
    assert "lost: picamera2: no frame for 1 s" in stderr
    keys = notify_socket.keys()
    ready = keys.index("READY=1")
    assert ready < keys.index("WATCHDOG=1", ready) < keys.index("STOPPING=1")


@pytest.mark.slow
def test_sighup_reloads_or_keeps_the_running_config(
    daemon_config: Callable[..., Path], notify_socket: NotifySocket, fake_picamera2: Path, media: Path
) -> None:
    config_path = live_camera_config(daemon_config)
    good_text = config_path.read_text()
    env = {"EDGEPOSE_FAKE_CAMERA_VIDEO": str(media / "pan_zidane.avi")}
    proc = start_daemon(config_path, notify_socket, env, fake_picamera2)
    try:
        ready_at = notify_socket.wait_for("READY=1", timeout_s=60)
        config_path.write_text(good_text.replace('variant = "lite"', 'variant = "huge"'))
        proc.send_signal(signal.SIGHUP)
        reloading_at = notify_socket.wait_for("RELOADING=1", timeout_s=10, after=ready_at)
        back_at = notify_socket.wait_for("READY=1", timeout_s=10, after=reloading_at)
        notify_socket.wait_for("WATCHDOG=1", timeout_s=10, after=back_at)  # still processing
        config_path.write_text(
            good_text.replace("min_tracking_confidence", "x").replace(
                'variant = "lite"', 'variant = "lite"\nmin_tracking_confidence = 0.6'
            )
        )
        proc.send_signal(signal.SIGHUP)
        second = notify_socket.wait_for("RELOADING=1", timeout_s=10, after=back_at)
        again = notify_socket.wait_for("READY=1", timeout_s=30, after=second)
        notify_socket.wait_for("WATCHDOG=1", timeout_s=10, after=again)
        # A new source: the camera is closed and opened again with the new size; frames resume.
        config_path.write_text(
            config_path.read_text().replace("[source]\n", "[source]\nwidth = 320\nheight = 240\n")
        )
        proc.send_signal(signal.SIGHUP)
        third = notify_socket.wait_for("RELOADING=1", timeout_s=10, after=again)
        resumed = notify_socket.wait_for("READY=1", timeout_s=30, after=third)
        notify_socket.wait_for("WATCHDOG=1", timeout_s=10, after=resumed)
        _, stderr = stop_daemon(proc, notify_socket)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    failed = [line for line in stderr.splitlines() if "config reload failed" in line]
    assert len(failed) == 1
    assert f"{config_path}:" in failed[0] and "[model] variant" in failed[0]
    assert "config reloaded (model)" in stderr
    assert "config reloaded (source)" in stderr
    assert "opened picamera2 (imx708, 320x240 at 30.0 fps)" in stderr


@pytest.mark.parametrize("precision", ["float", "int8"])
def test_truncated_model_is_one_clear_error(
    daemon_config: Callable[..., Path], tmp_path: Path, precision: str
) -> None:
    from edgepose.inference.models import float_models_dir

    real = float_models_dir()
    if precision == "float":  # downloaded models in the cache (checked against known hashes)
        folder = tmp_path / "cache" / "models" / "float"
        env = {"EDGEPOSE_CACHE_DIR": str(tmp_path / "cache")}
    else:  # bundled int8 models (a damaged checkout or wheel); float bytes under int8 names
        folder = tmp_path / "models"
        env = {"EDGEPOSE_MODEL_DIR": str(folder)}
    suffix = "" if precision == "float" else "_int8"
    names = {f"{stem}.tflite": f"{stem}{suffix}.tflite" for stem in ("pose_detection", "pose_landmark_lite")}
    folder.mkdir(parents=True)
    for source, target in names.items():
        (folder / target).write_bytes((real / source).read_bytes()[:50_000])
    model = {**fast_model(), "precision": precision}
    proc = run_edgepose("run", "--config", str(daemon_config(model=model)), env=env)
    assert proc.returncode == 69, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("edgepose run:")]
    assert len(errors) == 1
    # The line names the damaged file (the loader's words vary: hash check or parse error).
    assert any(str(folder / name) in errors[0] for name in names.values()), errors[0]


@pytest.mark.parametrize(
    ("uri", "env", "message"),
    [
        ("v4l2:/dev/video99", {}, "v4l2:/dev/video99: no such device (is the camera plugged in?)"),
        ("picamera2", {"EDGEPOSE_FAKE_CAMERAS": "0"}, "picamera2: no camera found (check the ribbon cable"),
    ],
)
def test_missing_camera_is_one_clear_check_failure(
    daemon_config: Callable[..., Path], fake_picamera2: Path, uri: str, env: dict[str, str], message: str
) -> None:
    # `edgepose run` waits for a missing camera instead (tests/test_lifecycle.py).
    config = daemon_config()
    check = run_edgepose("check", "--config", str(config), "--source", uri, "--only", "source", env=env)
    assert check.returncode == 1
    assert check.stdout.splitlines()[-1].startswith(f"FAIL  source       {message}")


def test_check_all_ok_on_a_good_setup(daemon_config: Callable[..., Path]) -> None:
    proc = run_edgepose("check", "--config", str(daemon_config()), timeout_s=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    names = [line.split()[1] for line in lines]
    assert names[:2] == ["config", "runtime"]
    assert {"accelerator", "models", "source", "broker", "state"} <= set(names)
    assert all(line.split()[0] in ("ok", "warn") for line in lines)
    assert any("pose_landmark_lite_nomask.tflite" in line for line in lines)  # no mask head: none asked


def test_check_reports_an_unreachable_broker(daemon_config: Callable[..., Path]) -> None:
    config = daemon_config(
        service={"publish": "mqtt"},
        mqtt={"host": "127.0.0.1", "port": 9, "device_id": "testpi"},
    )
    proc = run_edgepose("check", "--config", str(config), "--only", "broker", timeout_s=60)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1].startswith("FAIL  broker       cannot connect to 127.0.0.1:9")


@pytest.mark.slow
def test_http_server_is_fed_by_the_frame_observer_seam(
    daemon_config: Callable[..., Path], media: Path
) -> None:
    import threading
    import urllib.error
    import urllib.request

    config = daemon_config(
        source={"uri": f"file:{media / 'pan_zidane.avi'}", "loop": True, "realtime": True},
        http={"enabled": True, "port": 0},
    )
    proc = subprocess.Popen(
        edgepose_cmd("run", "--config", str(config)),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            match = re.search(r"http server on (http://\S+)", line)
            if match:
                url.append(match.group(1))
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert found.wait(60), "".join(lines)
        health: dict[str, object] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url[0] + "/healthz", timeout=5) as response:
                    health = json.loads(response.read())
            except urllib.error.HTTPError as exc:  # 503 until the first frame is processed
                assert exc.code == 503
                health = json.loads(exc.read())
            frames = health.get("frames")
            if isinstance(frames, int) and frames > 10:
                break
            time.sleep(0.3)
        assert health["status"] == "ok" and health["source"] == "running", health
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)


@pytest.mark.slow
def test_reload_to_a_new_file_restarts_tracking_and_its_clock(
    daemon_config: Callable[..., Path], media: Path
) -> None:
    looping = {"uri": f"file:{media / 'pan_zidane.avi'}", "loop": True, "realtime": False}
    path = daemon_config(source=looping)
    service = Service(
        load_config(path),
        config_path=path,
        publisher_factory=lambda c: StdoutPublisher(c.mqtt, stream=io.StringIO()),
    )
    stamps: list[int] = []

    def observe(frame: Frame, result: PoseResult, *_: object) -> None:
        stamps.append(result.timestamp_ms)
        if len(stamps) == 40:
            # The second source ends, so run() returns once its 150 frames are through.
            daemon_config(source={**looping, "loop": False})
            service.request_reload()

    service.add_observer(observe)
    assert service.run() == 0
    switch = next(i for i in range(1, len(stamps)) if stamps[i] <= stamps[i - 1])
    assert 40 <= switch <= 45  # the frames read ahead of the old file are still processed
    assert stamps[switch] == 0  # the new source's own clock
    assert len(stamps) - switch == 150  # every frame of the new source
    assert service.config.source.loop is False


def test_check_source_ok_with_a_camera(daemon_config: Callable[..., Path], fake_picamera2: Path) -> None:
    proc = run_edgepose(
        "check", "--config", str(daemon_config()), "--source", "picamera2:0", "--only", "source"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "ok    source       picamera2:0: 640x480 (live)"


def test_bad_source_override_is_a_usage_error(daemon_config: Callable[..., Path]) -> None:
    proc = run_edgepose("run", "--config", str(daemon_config()), "--source", "webcam")
    assert proc.returncode == 64
    assert proc.stderr.strip().startswith("edgepose run: unknown source 'webcam'")


class CountedPublisher(StdoutPublisher):
    """A stdout publisher that reports itself disconnected unless it is the `up`-th one made."""

    def __init__(self, config: Config, number: int, up: int) -> None:
        super().__init__(config.mqtt, stream=io.StringIO())
        self.number, self._up = number, up

    @property
    def connected(self) -> bool:
        return self.number == self._up


def test_reload_of_mqtt_is_followed_by_the_link_state_the_service_reports(
    daemon_config: Callable[..., Path],
) -> None:
    path = daemon_config()
    made: list[CountedPublisher] = []

    def factory(config: Config) -> CountedPublisher:
        made.append(CountedPublisher(config, len(made) + 1, up=2))
        return made[-1]

    service = Service(load_config(path), config_path=path, publisher_factory=factory)
    seen: list[bool] = []

    def observe(*_: object) -> None:
        seen.append(service.connected)
        if len(seen) == 10:
            daemon_config(mqtt={"device_id": "testpi", "discovery": False, "pose_rate_hz": 2.0})
            service.request_reload()

    service.add_observer(observe)
    assert service.run() == 0
    assert len(made) == 2 and made[1].topics == made[0].topics
    # What /metrics reads (the HTTP hub is given the service): the first publisher before the
    # reload, the one the reload made after it, never the closed one.
    assert seen[:10] == [False] * 10
    assert seen[-1] is True and seen.index(True) >= 10


def test_activity_stage_is_the_engine_or_a_people_counter() -> None:
    from edgepose.activity.engine import ActivityEngine
    from edgepose.config.activity import ActivityConfig
    from edgepose.service_stages import build_activity
    from edgepose.types import Pose

    assert isinstance(build_activity(ActivityConfig()), ActivityEngine)
    landmarks = np.random.default_rng(0).uniform(0, 1, (33, 5)).astype(np.float32)
    poses = tuple(Pose(landmarks=landmarks, world_landmarks=None, score=0.9, track_id=n) for n in (1, 2))
    result = PoseResult(timestamp_ms=40, frame_index=1, width=64, height=48, poses=poses)
    events, state = build_activity(ActivityConfig(enabled=False)).update(result)
    assert events == [] and state.people == 2 and state.timestamp_ms == 40
