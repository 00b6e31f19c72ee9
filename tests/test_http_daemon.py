"""The real daemon (`edgepose run`) with [http] enabled, watching a live MJPEG camera on loopback.

The camera serves pan_zidane.avi; the test reads /healthz, /metrics, /api/state and the
snapshot, drives / and /kiosk in headless Chromium, then unplugs the camera and expects /healthz
to turn 503 while the daemon keeps running, and a clean exit on SIGTERM.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from edgepose.publish import payloads
from tests.plugins.chromium import Browser
from tests.plugins.http import MjpegCamera, bone_pixels, decode_jpeg, get

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def daemon(tmp_path: Path, mjpeg_camera: MjpegCamera) -> Iterator[Daemon]:
    port = free_port()
    config = tmp_path / "edgepose.toml"
    config.write_text(
        f"""
[source]
uri = "{mjpeg_camera.url}"
read_timeout_s = 1.0
reopen_initial_s = 0.5
reopen_max_s = 1.0

[model]
variant = "lite"
precision = "float"

[service]
publish = "stdout"

[http]
enabled = true
port = {port}
stale_after_s = 2.0
kiosk_title = "Rack 1"
""",
        encoding="utf-8",
    )
    log = tmp_path / "daemon.log"
    with (tmp_path / "stdout.jsonl").open("wb") as out, log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edgepose", "run", "--config", str(config), "--log-level", "info"],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    d = Daemon(proc, f"http://127.0.0.1:{port}", log)
    try:
        yield d
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def wait_status(url: str, want: int, timeout_s: float, daemon: Daemon) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        assert daemon.proc.poll() is None, "daemon exited:\n" + daemon.log_text()
        try:
            status, _, body = get(url, timeout_s=5)
        except OSError as exc:  # not listening yet
            last = exc
        else:
            last = (status, body[:300])
            if status == want:
                result: dict[str, object] = json.loads(body)
                return result
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered {want} (last: {last!r})\n{daemon.log_text()}")


def test_daemon_serves_preview_health_metrics_and_notices_a_lost_camera(
    daemon: Daemon, mjpeg_camera: MjpegCamera, chromium: Browser
) -> None:
    health = wait_status(daemon.url + "/healthz", 200, 90, daemon)
    assert health["source"] == "running"

    # Metrics in the Prometheus text format, with frames going through the stages.
    status, _, body = get(daemon.url + "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    frames = families["edgepose_frames"].samples[0].value
    assert frames > 0
    stage_counts = {
        s.labels["stage"]: s.value
        for s in families["edgepose_stage_duration_seconds"].samples
        if s.name.endswith("_count")
    }
    assert stage_counts["landmark"] == frames
    assert "edgepose_mqtt_connected" in families and "edgepose_spool_depth" in families

    # The state is the MQTT state payload.
    status, _, body = get(daemon.url + "/api/state")
    assert status == 200
    jsonschema.validate(json.loads(body), payloads.load_schema("state"))

    # The annotated snapshot shows the skeleton the daemon found.
    best = 0
    for _ in range(50):
        status, _, body = get(daemon.url + "/snapshot.jpg")
        best = bone_pixels(decode_jpeg(body))
        if status == 200 and best > 200:
            break
        time.sleep(0.2)
    assert best > 200, daemon.log_text()

    # The page shows it too, with the people count.
    page = chromium.new_page(1100, 640)
    page.goto(daemon.url + "/")
    page.wait_for("document.getElementById('conn').textContent === 'live'")
    page.wait_for("document.getElementById('stream').naturalWidth > 0")
    page.wait_for("Number(document.getElementById('people').textContent) >= 1", timeout_s=30)
    rect = json.loads(page.eval("JSON.stringify(document.getElementById('stream').getBoundingClientRect())"))
    x, y, w, h = (int(rect[k]) for k in ("x", "y", "width", "height"))
    seen = 0
    for _ in range(50):
        seen = bone_pixels(page.screenshot()[y : y + h, x : x + w])
        if seen > 200:
            break
        time.sleep(0.1)
    assert seen > 200
    page.goto(daemon.url + "/kiosk")
    page.wait_for("document.getElementById('conn').textContent === 'live'")
    assert page.eval("document.getElementById('title').textContent") == "Rack 1"
    page.wait_for("Number(document.getElementById('people').textContent) >= 1", timeout_s=30)

    # The camera goes away: the daemon keeps running, /healthz says why it is unhealthy.
    mjpeg_camera.unplug()
    health = wait_status(daemon.url + "/healthz", 503, 30, daemon)
    assert health["status"] == "unavailable"
    assert "source" in str(health["reason"]) or "no frame" in str(health["reason"])
    page.wait_for("document.body.classList.contains('stale')", timeout_s=15)

    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(30) == 0, daemon.log_text()


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        ('password_file = "missing.passwd"', 78, "[http] password_file: missing.passwd: no such file"),
        ("", 69, "cannot listen on 127.0.0.1:"),
    ],
)
def test_daemon_exit_codes_for_http_problems(
    tmp_path: Path, media: Path, extra: str, code: int, message: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "edgepose.toml"
        config.write_text(
            f'[source]\nuri = "file:{media / "pan_zidane.avi"}"\n'
            '[model]\nvariant = "lite"\nprecision = "float"\n'
            '[service]\npublish = "stdout"\n'
            f"[http]\nenabled = true\nport = {port}\n{extra}\n",
            encoding="utf-8",
        )
        proc = subprocess.run(
            [sys.executable, "-m", "edgepose", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
        )
    assert proc.returncode == code, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("edgepose run: ") and message in last
