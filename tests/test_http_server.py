"""The HTTP server over a hub fed with real poses from a real clip: every route, over loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from edgepose.http.hub import PreviewHub, SourceState
from edgepose.publish import payloads
from edgepose.types import EventType
from tests.plugins.http import ClipFeeder, ClipFrame, bone_pixels, decode_jpeg, get


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fed_hub(zidane_clip: list[ClipFrame]) -> tuple[PreviewHub, ClipFeeder]:
    hub = PreviewHub(recent_events=20)
    feeder = ClipFeeder(hub, zidane_clip, rep_every=5)
    for _ in range(30):
        feeder.step()
    return hub, feeder


def test_metrics_parse_and_match_the_hub(
    fed_hub: tuple[PreviewHub, ClipFeeder], zidane_clip: list[ClipFrame], http_server: Callable[..., Any]
) -> None:
    hub, feeder = fed_hub

    class Link:  # the two Publisher properties the metrics read (the MQTT publisher is another area's)
        connected = True
        spool_depth = 4

    hub.attach_publisher(Link())
    server = http_server(hub)
    status, headers, body = get(server.url + "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = metric_samples(body.decode())
    assert samples[("edgepose_frames_total", ())] == 30
    assert feeder.reps >= 3
    assert samples[("edgepose_events_total", (("type", "rep"),))] == feeder.reps
    assert samples[("edgepose_mqtt_connected", ())] == 1
    assert samples[("edgepose_spool_depth", ())] == 4
    assert samples[("edgepose_preview_viewers", ())] == 0
    assert samples[("edgepose_source_state", (("state", "running"),))] == 1
    assert samples[("edgepose_people", ())] == len(zidane_clip[29].result.poses)

    landmark = (("stage", "landmark"),)
    assert samples[("edgepose_stage_duration_seconds_count", landmark)] == 30
    expected_sum = sum(zidane_clip[i].result.timings.landmark_ms for i in range(30)) / 1000.0
    assert samples[("edgepose_stage_duration_seconds_sum", landmark)] == pytest.approx(expected_sum, rel=1e-6)
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in samples.items()
        if name == "edgepose_stage_duration_seconds_bucket" and dict(labels)["stage"] == "landmark"
    )
    counts = [v for _, v in buckets]
    assert counts == sorted(counts) and counts[-1] == 30 and buckets[-1][0] == float("inf")
    detector_runs = sum(1 for i in range(30) if zidane_clip[i].result.timings.detector_ran)
    assert samples[("edgepose_stage_duration_seconds_count", (("stage", "detector"),))] == detector_runs


def test_api_state_and_events_are_the_mqtt_payloads(
    fed_hub: tuple[PreviewHub, ClipFeeder], http_server: Callable[..., Any]
) -> None:
    hub, feeder = fed_hub
    server = http_server(hub)
    status, headers, body = get(server.url + "/api/state")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    state = json.loads(body)
    snap_state = hub.snapshot().state
    assert snap_state is not None
    assert state == json.loads(payloads.encode(payloads.state_payload(snap_state)))
    jsonschema.validate(state, payloads.load_schema("state"))

    status, _, body = get(server.url + "/api/events")
    events = json.loads(body)
    assert status == 200 and len(events) == feeder.reps >= 3
    assert [e["attributes"]["count"] for e in events] == list(range(1, feeder.reps + 1))
    assert [e["id"] for e in events] == [e.id for e in hub.recent_events()]
    schema = payloads.load_schema("event")
    for event in events:
        assert event["type"] == EventType.REP.value
        jsonschema.validate(event, schema)


def test_state_before_any_frame_is_503(http_server: Callable[..., Any]) -> None:
    server = http_server(PreviewHub())
    assert get(server.url + "/api/state")[0] == 503
    assert json.loads(get(server.url + "/api/events")[2]) == []
    assert get(server.url + "/snapshot.jpg")[0] == 503


def test_healthz_follows_frames_and_the_source(
    zidane_clip: list[ClipFrame], http_server: Callable[..., Any]
) -> None:
    clock = FakeClock()
    hub = PreviewHub(stale_after_s=3.0, clock=clock)
    server = http_server(hub)
    status, _, body = get(server.url + "/healthz")
    assert status == 503 and json.loads(body)["reason"] == "no frame processed yet"

    feeder = ClipFeeder(hub, zidane_clip)
    feeder.step()
    status, _, body = get(server.url + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"

    clock.now += 4.0
    status, _, body = get(server.url + "/healthz")
    assert status == 503 and "no frame processed for 4.0 s" in json.loads(body)["reason"]

    feeder.step()
    assert get(server.url + "/healthz")[0] == 200
    hub.set_source_state(SourceState.ENDED, "end of file")
    status, _, body = get(server.url + "/healthz")
    health = json.loads(body)
    assert status == 503 and health["reason"] == "source ended: end of file" and health["source"] == "ended"


def test_snapshot_shows_the_skeleton(
    fed_hub: tuple[PreviewHub, ClipFeeder], zidane_clip: list[ClipFrame], http_server: Callable[..., Any]
) -> None:
    hub, _ = fed_hub
    server = http_server(hub, max_width_px=480)
    status, headers, body = get(server.url + "/snapshot.jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    image = decode_jpeg(body)
    assert image.shape == (360, 480, 3)  # 640x480 scaled down to the configured width
    assert bone_pixels(zidane_clip[29].frame.image) == 0  # the scene has no skeleton colour
    assert bone_pixels(image) > 300
    # The bones are where the pipeline put the person.
    pose = hub.snapshot().result.poses[0]  # type: ignore[union-attr]
    xs = pose.landmarks[pose.landmarks[:, 3] > 0.5, 0] * 480
    ys = pose.landmarks[pose.landmarks[:, 3] > 0.5, 1] * 360
    x0, x1 = int(max(0, xs.min() - 10)), int(xs.max() + 10)
    y0, y1 = int(max(0, ys.min() - 10)), int(ys.max() + 10)
    inside = bone_pixels(image[y0:y1, x0:x1])
    assert inside > 0.5 * bone_pixels(image) / len(hub.snapshot().result.poses)  # type: ignore[union-attr]


def read_parts(response: Any, count: int, boundary: bytes) -> list[bytes]:
    """Read `count` JPEG parts of a multipart/x-mixed-replace stream."""
    parts: list[bytes] = []
    assert response.readline().strip() == b"--" + boundary
    while len(parts) < count:
        headers = {}
        while True:
            line = response.readline().strip()
            if not line:
                break
            key, _, value = line.decode().partition(":")
            headers[key.lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        parts.append(response.read(int(headers["content-length"])))
        assert response.readline() == b"\r\n"
        assert response.readline().strip() == b"--" + boundary
    return parts


def test_stream_encodes_only_while_watched(
    zidane_clip: list[ClipFrame], http_server: Callable[..., Any], feeder: Callable[..., ClipFeeder]
) -> None:
    hub = PreviewHub()
    server = http_server(hub, stream_max_fps=30)
    play = feeder(hub, zidane_clip, fps=20)
    for _ in range(20):
        play.step()
    assert hub.counters().encoded_frames == 0  # nobody watching: nothing drawn, nothing encoded

    play.start()
    with urllib.request.urlopen(server.url + "/stream.mjpg", timeout=10) as response:
        content_type = response.headers["Content-Type"]
        assert content_type.startswith("multipart/x-mixed-replace")
        boundary = content_type.split("boundary=")[1].encode()
        parts = read_parts(response, 4, boundary)
        assert hub.viewers == 1
    images = [decode_jpeg(p) for p in parts]
    assert all(img.shape == (480, 640, 3) for img in images)
    assert any(bone_pixels(img) > 300 for img in images)
    assert len({p for p in parts}) == 4  # four different frames, not one repeated

    deadline = time.monotonic() + 10
    while hub.viewers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hub.viewers == 0
    play.stop()
    encoded = hub.counters().encoded_frames
    assert encoded >= 4
    for _ in range(10):
        play.step()
    time.sleep(0.3)
    assert hub.counters().encoded_frames == encoded  # the viewer left: encoding stopped


def test_close_ends_open_streams(zidane_clip: list[ClipFrame], http_server: Callable[..., Any]) -> None:
    hub = PreviewHub()
    ClipFeeder(hub, zidane_clip).step()
    server = http_server(hub)
    response = urllib.request.urlopen(server.url + "/stream.mjpg", timeout=10)
    try:
        response.readline()
        started = time.monotonic()
        server.close()
        assert time.monotonic() - started < 5.0, "close() waited for the open stream"
        rest = response.read()  # returns once the server has closed the connection
        assert isinstance(rest, bytes)
    finally:
        response.close()


def test_pages_and_assets(http_server: Callable[..., Any], repo_root: Path) -> None:
    server = http_server(PreviewHub())
    status, headers, body = get(server.url + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert b'id="stream"' in body and b"/static/preview.js" in body
    status, _, body = get(server.url + "/kiosk")
    assert status == 200 and b"/static/kiosk.js" in body
    for name in ("live.js", "preview.js", "kiosk.js", "style.css"):
        status, headers, body = get(server.url + "/static/" + name)
        assert status == 200 and body, name
    assert get(server.url + "/static/../server.py")[0] == 404
    assert get(server.url + "/static/nothing.js")[0] == 404
    # No build step and no external network: nothing in the page assets points off the box.
    for path in (repo_root / "edgepose" / "http" / "static").iterdir():
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path.name


def test_busy_port_is_a_clear_error(http_server: Callable[..., Any]) -> None:
    from edgepose.http.server import HttpServerError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(HttpServerError, match=f"cannot listen on 127.0.0.1:{port}"):
            http_server(PreviewHub(), port=port)


def test_snapshot_draws_zones(zidane_clip: list[ClipFrame], http_server: Callable[..., Any]) -> None:
    from edgepose.http.annotate import ZONE_RGB
    from edgepose.http.hub import ZoneOutline

    def zone_pixels(rgb: np.ndarray) -> int:
        diff = np.abs(rgb.astype(np.int16) - np.array(ZONE_RGB, np.int16)).max(axis=2)
        return int(np.count_nonzero(diff < 40))

    bare, zoned = (
        PreviewHub(),
        PreviewHub(zones=[ZoneOutline("bench", ((0.1, 0.5), (0.5, 0.5), (0.5, 0.9), (0.1, 0.9)))]),
    )
    for hub in (bare, zoned):
        ClipFeeder(hub, zidane_clip).step()
    without = zone_pixels(decode_jpeg(get(http_server(bare).url + "/snapshot.jpg")[2]))
    image = decode_jpeg(get(http_server(zoned).url + "/snapshot.jpg")[2])
    # The outline runs along the polygon's edges: its left edge is at x = 0.1 * 640 = 64.
    assert zone_pixels(image) > without + 500
    assert zone_pixels(image[250:420, 60:69]) > 100


def test_missing_http_extra_is_a_config_error() -> None:
    code = (
        "import sys; sys.modules['aiohttp'] = None\n"
        "from edgepose.errors import ConfigError\n"
        "try:\n"
        "    import edgepose.http.server\n"
        "except ConfigError as exc:\n"
        "    print(exc.exit_code, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.startswith("78 [http] enabled needs the http extra")
    assert "pip install 'edgepose[http]'" in out.stdout
