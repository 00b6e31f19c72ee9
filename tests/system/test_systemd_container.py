"""edgepose under real systemd: a Debian bookworm container booted with systemd as PID 1.

Run by scripts/test_system.sh, which boots the container and sets EDGEPOSE_SYSTEM_LEADER (the
container's PID 1 as seen here) and EDGEPOSE_SYSTEM_ROOT (its root folder). The tests run in
order, like a user would: install with scripts/install.sh, start, watch, reload, unplug the
camera, stop, freeze the daemon. The container shares this machine's network, so the daemon
reaches the Mosquitto and the MJPEG camera started here on 127.0.0.1, and the tests reach its
HTTP server the same way.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.plugins.broker import Broker, Recorder, _make_broker, free_port
from tests.plugins.daemon import toml_value
from tests.test_systemd import MAX_EXPOSURE
from tools.evaluation.mjpeg_stream import MjpegStream

LEADER = os.environ.get("EDGEPOSE_SYSTEM_LEADER", "")
pytestmark = pytest.mark.skipif(not LEADER, reason="needs the container of scripts/test_system.sh")

CAMERA_PASSWORD = "Cam-Pa55-zq7"  # must appear in no output at all
DROP_IN = "/etc/systemd/system/edgepose.service.d/test.conf"
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def ctr(*args: str, timeout_s: float = 60, check: bool = True, stdin: str | None = None) -> str:
    """Run a command inside the container (all its namespaces, a clean environment); its stdout."""
    cmd = ["nsenter", "-t", LEADER, "-m", "-u", "-i", "-p", "-r", "-w", "env", "-i", "HOME=/root"]
    cmd += [f"{k}={v}" for k, v in CLEAN_ENV.items()]
    proc = subprocess.run(
        [*cmd, *args], input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout + proc.stderr if not check else proc.stdout


def show(*props: str) -> dict[str, str]:
    """`systemctl show` properties of the unit."""
    out = ctr("systemctl", "show", "edgepose", *(f"-p{p}" for p in props))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait_until(what: str, predicate: object, timeout_s: float, every_s: float = 0.5) -> None:
    """Poll `predicate()` until true; fail naming `what`."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(every_s)


def journal(*extra: str) -> str:
    return ctr("journalctl", "-u", "edgepose", "--no-pager", "-o", "cat", *extra)


def http_get(url: str, timeout_s: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


@dataclass
class Setup:
    """What the tests share: the broker, a recorder on edgepose/#, the camera and the ports."""

    broker: Broker
    recorder: Recorder
    camera: MjpegStream
    http_port: int

    def config(self, source: dict[str, object], device_id: str = "ctr") -> str:
        sections: dict[str, dict[str, object]] = {
            "source": source,
            "model": {"variant": "lite", "precision": "int8", "threads": 2},
            "service": {"publish": "mqtt", "status_interval_s": 1.0},
            "mqtt": {
                "host": "127.0.0.1",
                "port": self.broker.port,
                "device_id": device_id,
                "discovery": False,
                "stats_interval_s": 1.0,
            },
            "http": {"enabled": True, "bind": "127.0.0.1", "port": self.http_port},
        }
        lines: list[str] = []
        for name, values in sections.items():
            lines.append(f"[{name}]")
            lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        return "\n".join(lines) + "\n"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    broker = _make_broker(tmp_path_factory.mktemp("mqtt"), "broker", None)
    broker.start()
    recorder = Recorder(broker, ["edgepose/#"]).start()
    media = Path(os.environ.get("EDGEPOSE_CACHE_DIR", Path.home() / ".cache" / "edgepose")) / "media"
    camera = MjpegStream(media / "vtest.avi", free_port(), user="admin", password=CAMERA_PASSWORD)
    try:
        yield Setup(broker, recorder, camera, free_port())
    finally:
        camera.unplug()
        recorder.close()
        broker.stop()


def write_config(text: str) -> None:
    """Replace /etc/edgepose/edgepose.toml as an admin would (root:edgepose 0640)."""
    ctr(
        "sh",
        "-c",
        "umask 027 && cat > /etc/edgepose/edgepose.toml.new && chgrp edgepose /etc/edgepose/edgepose.toml.new"
        " && mv /etc/edgepose/edgepose.toml.new /etc/edgepose/edgepose.toml",
        stdin=text,
    )


def status_text() -> str:
    return show("StatusText")["StatusText"]


def fps_in_status() -> float:
    match = re.match(r"(\d+\.\d) fps", status_text())
    return float(match.group(1)) if match else 0.0


def poses_after(setup: Setup, device_id: str, after_s: float, timeout_s: float) -> float:
    """Seconds from `after_s` until a pose message of `device_id` arrived after it."""
    topic = f"edgepose/{device_id}/pose"
    hits = setup.recorder.wait_for(lambda m: m.topic == topic and m.at_s > after_s, timeout_s=timeout_s)
    return hits[0].at_s - after_s


def test_install_script_runs_for_real() -> None:
    out = ctr("bash", "/src/edgepose/scripts/install.sh", timeout_s=600)
    assert "installed: config /etc/edgepose/edgepose.toml" in out
    assert ctr("systemctl", "is-enabled", "edgepose").strip() == "enabled"
    # The http extra is part of every install: the preview/kiosk server can be switched on.
    ctr("/opt/edgepose/bin/python", "-c", "import aiohttp, prometheus_client")


def test_absent_camera_at_start_is_a_running_unit_waiting_for_it() -> None:
    # install.sh started the default config: picamera2, which this container does not have.
    wait_until("active", lambda: show("ActiveState")["ActiveState"] == "active", 60)
    assert status_text().startswith("waiting for camera"), status_text()
    time.sleep(3)
    props = show("ActiveState", "SubState", "NRestarts")
    assert (props["ActiveState"], props["SubState"], props["NRestarts"]) == ("active", "running", "0")


def test_start_is_active_only_after_ready(setup: Setup) -> None:
    ctr("systemctl", "stop", "edgepose")
    write_config(setup.config({"uri": "file:/srv/media/vtest.avi", "loop": True}))
    cursor = ctr("journalctl", "--show-cursor", "-n0", "--no-pager").split("cursor: ")[-1].strip()
    ctr("systemctl", "start", "--no-block", "edgepose")
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = show("ActiveState")["ActiveState"]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in ("active", "failed"):
            break
        time.sleep(0.05)
    assert seen[-1] == "active", seen
    assert "activating" in seen, seen  # Type=notify: not active before READY=1
    lines = ctr("journalctl", "--no-pager", "-o", "cat", f"--after-cursor={cursor}").splitlines()
    ready = next(i for i, line in enumerate(lines) if "models loaded" in line and "ready" in line)
    started = next(i for i, line in enumerate(lines) if line.startswith("Started edgepose.service"))
    assert ready < started, lines
    status = ctr("systemctl", "status", "edgepose", "--no-pager", check=False)
    assert "Active: active (running)" in status
    wait_until("frames in STATUS", lambda: fps_in_status() > 0, 60)
    assert re.search(
        r'Status: "\d+\.\d fps, \d+ (person|people), mqtt connected"',
        ctr("systemctl", "status", "edgepose", "--no-pager", check=False),
    )


def test_journal_has_structured_fields(setup: Setup) -> None:
    records = [json.loads(line) for line in journal("-o", "json").splitlines() if line.startswith("{")]
    ours = [r for r in records if r.get("SYSLOG_IDENTIFIER") == "edgepose"]
    assert ours, "no records from the daemon's journal handler"
    ready = [r for r in ours if r.get("EDGEPOSE_STATE") == "ready"]
    assert ready and ready[-1]["EDGEPOSE_SOURCE"] == "file:/srv/media/vtest.avi"
    assert {"PRIORITY", "LOGGER", "CODE_FILE", "CODE_LINE"} <= set(ready[-1])
    setup.recorder.wait_topic("edgepose/ctr/pose", timeout_s=30)
    stats = setup.recorder.wait_topic("edgepose/ctr/stats", timeout_s=30)
    assert json.loads(stats[-1].payload)["source"] == "running"


def test_kiosk_install_serves_the_preview_page(setup: Setup) -> None:
    for path in ("/", "/kiosk"):
        code, body = http_get(setup.url(path))
        assert code == 200 and b"<html" in body.lower(), (path, code, body[:200])
    code, body = http_get(setup.url("/healthz"))
    assert code == 200, body
    code, jpeg = http_get(setup.url("/snapshot.jpg"))
    assert code == 200 and jpeg[:2] == b"\xff\xd8"


def test_reload_applies_a_change(setup: Setup) -> None:
    pid = show("MainPID")["MainPID"]
    write_config(setup.config({"uri": "file:/srv/media/vtest.avi", "loop": True}, device_id="ctr2"))
    asked = time.monotonic()
    ctr("systemctl", "reload", "edgepose")
    poses_after(setup, "ctr2", asked, timeout_s=30)
    assert show("MainPID")["MainPID"] == pid
    assert "config reloaded (mqtt)" in journal()


def test_unplugged_camera_keeps_the_unit_running(setup: Setup) -> None:
    """A network camera with a password, absent at start and unplugged twice, under a 4 s watchdog."""
    ctr("mkdir", "-p", os.path.dirname(DROP_IN))
    ctr("sh", "-c", f"cat > {DROP_IN}", stdin="[Service]\nWatchdogSec=4\n")
    ctr("systemctl", "daemon-reload")
    uri = f"http://admin:{CAMERA_PASSWORD}@127.0.0.1:{setup.camera.port}/stream.mjpg"
    source = {"uri": uri, "read_timeout_s": 2.0, "reopen_initial_s": 0.5, "reopen_max_s": 2.0}
    write_config(setup.config(source, device_id="cam"))
    ctr("systemctl", "restart", "edgepose", timeout_s=120)
    pid = show("MainPID")["MainPID"]
    assert status_text().startswith("waiting for camera"), status_text()
    time.sleep(10)  # more than twice the watchdog: WATCHDOG=1 must keep coming
    props = show("MainPID", "NRestarts", "ActiveState")
    assert (props["MainPID"], props["ActiveState"]) == (pid, "active"), props
    code, body = http_get(setup.url("/healthz"))
    assert code == 503 and b"reconnecting" in body, body
    stats = setup.recorder.wait_topic("edgepose/cam/stats", timeout_s=10)
    assert json.loads(stats[-1].payload)["source"] == "reconnecting"
    restarts = props["NRestarts"]
    for _ in range(2):
        plugged = time.monotonic()
        setup.camera.plug()
        waited = poses_after(setup, "cam", plugged, timeout_s=30)
        print(f"poses {waited:.1f} s after the camera came back")
        setup.camera.unplug()
        time.sleep(10)
        props = show("MainPID", "NRestarts", "ActiveState")
        assert props == {"MainPID": pid, "NRestarts": restarts, "ActiveState": "active"}, props
    setup.camera.plug()
    poses_after(setup, "cam", time.monotonic(), timeout_s=30)
    # The password is in the config only: not in the journal, the HTTP answers, MQTT or check.
    outputs = {
        "journal": journal("-o", "verbose"),
        "status": ctr("systemctl", "status", "edgepose", "--no-pager", "-n", "50", check=False),
        "healthz": http_get(setup.url("/healthz"))[1].decode(),
        "api/state": http_get(setup.url("/api/state"))[1].decode(),
        "mqtt": "\n".join(m.payload.decode(errors="replace") for m in setup.recorder.messages),
        "check": ctr(
            "runuser",
            "-u",
            "edgepose",
            "--",
            "/opt/edgepose/bin/edgepose",
            "check",
            "--config",
            "/etc/edgepose/edgepose.toml",
            check=False,
            timeout_s=120,
        ),
    }
    assert "admin:***@127.0.0.1" in outputs["journal"]
    leaks = [name for name, text in outputs.items() if CAMERA_PASSWORD in text]
    assert not leaks, leaks


def test_stop_exits_cleanly() -> None:
    started = time.monotonic()
    ctr("systemctl", "stop", "edgepose")
    took = time.monotonic() - started
    props = show("ActiveState", "Result", "ExecMainStatus")
    assert props == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}, props
    assert took < 5, f"stop took {took:.1f} s"


def test_frozen_daemon_is_restarted_by_the_watchdog() -> None:
    ctr("systemctl", "start", "edgepose", timeout_s=120)
    before = show("MainPID", "NRestarts")
    ctr("systemctl", "kill", "-s", "SIGSTOP", "edgepose")
    wait_until(
        "a restart after the watchdog",
        lambda: (
            show("NRestarts")["NRestarts"] != before["NRestarts"]
            and show("ActiveState")["ActiveState"] == "active"
        ),
        90,
    )
    assert show("MainPID")["MainPID"] != before["MainPID"]
    assert "Watchdog timeout" in ctr("journalctl", "-u", "edgepose", "--no-pager")


def test_security_exposure_in_the_booted_system() -> None:
    out = ctr("systemd-analyze", "security", "edgepose", "--no-pager", check=False)
    match = re.search(r"Overall exposure level for edgepose\.service: (\d+\.\d)", out)
    assert match, out[-2000:]
    print(f"systemd-analyze security: {match.group(1)}")
    assert float(match.group(1)) <= MAX_EXPOSURE, out
