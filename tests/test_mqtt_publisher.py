"""MqttPublisher against a real Mosquitto: status and last will, payloads on the wire, retained
state, Home Assistant discovery, no event lost across a broker outage or a publisher SIGKILL,
and a wrong password. Events here are synthetic; the daemon tests use real video.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from edgepose.config.mqtt import MqttConfig
from edgepose.publish.mqtt import MqttPublisher
from edgepose.publish.payloads import load_schema
from edgepose.types import (
    ActivityState,
    Event,
    EventType,
    Pose,
    PoseResult,
    Posture,
    ServiceStats,
    TrackState,
)
from tests.plugins.broker import AUTH_PASSWORD, AUTH_USER, Broker, Received, Recorder

Record = Callable[[Broker, Sequence[str]], Recorder]

DEVICE = "testcam"
BASE = f"edgepose/{DEVICE}"
STATUS, POSE, EVENT, STATE, STATS = (f"{BASE}/{t}" for t in ("status", "pose", "event", "state", "stats"))
DISCOVERY = f"homeassistant/device/{DEVICE}/config"
ALL = [f"{BASE}/#", "homeassistant/#"]


def config_for(broker: Broker, **overrides: Any) -> MqttConfig:
    values: dict[str, Any] = {"host": broker.host, "port": broker.port, "device_id": DEVICE}
    values.update(overrides)
    return MqttConfig(**values)


def events(prefix: str, n: int, start: int = 0) -> list[Event]:
    return [
        Event(
            id=f"{prefix}-{i}",
            type=EventType.REP,
            timestamp_ms=i,
            track_id=1,
            attributes={"count": i},
            wall_ms=time.time_ns() // 1_000_000,
        )
        for i in range(start, start + n)
    ]


def event_ids(messages: Sequence[Received]) -> list[str]:
    """Event ids in arrival order, duplicates removed (consumers dedupe by id: at-least-once)."""
    seen: dict[str, None] = {}
    for m in messages:
        seen.setdefault(json.loads(m.payload)["id"], None)
    return list(seen)


def pose_result(frame: int) -> PoseResult:
    rng = np.random.default_rng(frame)
    pose = Pose(
        landmarks=rng.uniform(0, 1, (33, 5)).astype(np.float32),
        world_landmarks=rng.uniform(-1, 1, (33, 3)).astype(np.float32),
        score=0.9,
        track_id=1,
    )
    return PoseResult(timestamp_ms=frame * 100, frame_index=frame, width=640, height=480, poses=(pose,))


def validate(name: str, payload: Any) -> None:
    jsonschema.Draft202012Validator(load_schema(name)).validate(payload)


@pytest.fixture
def publisher(tmp_path: Path) -> Iterator[Callable[..., MqttPublisher]]:
    """Factory for started publishers, all closed after the test."""
    made: list[MqttPublisher] = []

    def make(config: MqttConfig, state_dir: Path | None = None, **kwargs: Any) -> MqttPublisher:
        pub = MqttPublisher(config, state_dir or tmp_path / "state", **kwargs)
        made.append(pub)
        pub.start()
        return pub

    yield make
    for pub in made:
        pub.close(timeout_s=1.0)


def test_online_retained_then_offline_on_close(
    broker: Broker, mqtt_recorder: Record, publisher: Callable[..., MqttPublisher]
) -> None:
    rec = mqtt_recorder(broker, ALL)
    pub = publisher(config_for(broker))
    online = rec.wait_for(lambda m: m.topic == STATUS and m.payload == b"online")
    assert online[0].qos == 1
    assert pub.connected
    pub.publish_events(events("close", 3))
    pub.close(timeout_s=5.0)
    rec.wait_for(lambda m: m.topic == STATUS and m.payload == b"offline")
    assert event_ids(rec.on(EVENT)) == ["close-0", "close-1", "close-2"]
    assert pub.spool_depth == 0
    # A late subscriber sees the retained status: offline.
    late = mqtt_recorder(broker, [STATUS])
    retained = late.wait_topic(STATUS)
    assert retained[0].retain and retained[0].payload == b"offline"


def test_payloads_on_the_wire(
    broker: Broker, mqtt_recorder: Record, publisher: Callable[..., MqttPublisher]
) -> None:
    rec = mqtt_recorder(broker, ALL)
    clock = [100.0]
    pub = publisher(config_for(broker, pose_rate_hz=4.0, stats_interval_s=5.0), clock=lambda: clock[0])
    rec.wait_for(lambda m: m.topic == STATUS and m.payload == b"online")
    discovery = rec.wait_topic(DISCOVERY)[0]
    assert (
        discovery.qos == 1
    )  # live copies carry retain=False in MQTT 3.1.1; the retained one is checked below
    validate("ha_discovery", json.loads(discovery.payload))

    for frame in range(24):  # 3 s at 8 fps -> 12 poses at 4 Hz (binary fractions: exact clock steps)
        pub.publish_pose(pose_result(frame))
        clock[0] += 0.125
    state = ActivityState(
        timestamp_ms=3000, people=1, tracks=(TrackState(1, Posture.STANDING, rep_counts={"squat": 2}),)
    )
    pub.publish_state(state)
    pub.publish_state(ActivityState(timestamp_ms=3100, people=1, tracks=state.tracks))  # same: not sent
    pub.publish_events(
        [
            *events("wire", 2),
            Event("wire-fall", EventType.FALL_DETECTED, 3100, 1, {"score": 0.93}, 1_733_150_003_100),
        ]
    )
    stats = ServiceStats(3000, 9.5, 30, 0, 4.0, 8.0, "cpu", spool_depth=0, cpu_temp_c=48.5)
    pub.publish_stats(stats)
    pub.publish_stats(stats)  # within stats_interval_s: not sent

    poses = rec.wait_topic(POSE, 12)
    events_seen = rec.wait_topic(EVENT, 3)
    states = rec.wait_topic(STATE)
    stats_seen = rec.wait_topic(STATS)
    time.sleep(0.3)  # anything extra (a second state or stats) would arrive by now
    assert len(rec.on(POSE)) == 12
    assert [json.loads(m.payload)["frame"] for m in poses] == list(range(0, 24, 2))
    for m in poses:
        assert m.qos == 0 and not m.retain
        validate("pose", json.loads(m.payload))
    for m in events_seen:
        assert m.qos == 1 and not m.retain
        validate("event", json.loads(m.payload))
    assert event_ids(events_seen) == ["wire-0", "wire-1", "wire-fall"]
    assert len(rec.on(STATE)) == 1 and len(rec.on(STATS)) == 1
    state_payload = json.loads(states[0].payload)
    validate("state", state_payload)
    assert state_payload["tracks"][0]["rep_counts"] == {"squat": 2}
    validate("stats", json.loads(stats_seen[0].payload))

    # The state is retained: a new subscriber gets it at once; a change is published again.
    late = mqtt_recorder(broker, [STATE, DISCOVERY])
    first = late.wait_topic(STATE)[0]
    assert first.retain and json.loads(first.payload)["people"] == 1
    assert late.wait_topic(DISCOVERY)[0].retain
    pub.publish_state(ActivityState(timestamp_ms=4000, people=0))
    assert json.loads(late.wait_topic(STATE, 2)[1].payload)["people"] == 0


def test_discovery_resent_when_home_assistant_comes_online(
    broker: Broker, mqtt_recorder: Record, publisher: Callable[..., MqttPublisher]
) -> None:
    rec = mqtt_recorder(broker, ALL)
    pub = publisher(config_for(broker))
    rec.wait_topic(DISCOVERY)
    pub.publish_state(ActivityState(timestamp_ms=1, people=2))
    rec.wait_topic(STATE)
    before = len(rec.on(DISCOVERY))
    rec.client.publish("homeassistant/status", b"offline", qos=1)
    rec.client.publish("homeassistant/status", b"online", qos=1)
    again = rec.wait_topic(DISCOVERY, before + 1)
    validate("ha_discovery", json.loads(again[-1].payload))
    # The state follows, so Home Assistant's fresh entities get a value at once.
    rec.wait_topic(STATE, 2)
    time.sleep(0.3)
    assert len(rec.on(DISCOVERY)) == before + 1  # 'offline' did not trigger a resend


def test_outage_loses_no_event_and_keeps_order(
    broker: Broker, mqtt_recorder: Record, publisher: Callable[..., MqttPublisher]
) -> None:
    """Events and frames keep coming, every few ms, while the broker goes away twice and comes back:
    events handed to paho just before it notices the loss are the delicate ones."""
    rec = mqtt_recorder(broker, ALL)
    pub = publisher(config_for(broker, pose_rate_hz=10.0))
    rec.wait_for(lambda m: m.topic == STATUS and m.payload == b"online")
    people = 1
    pub.publish_state(ActivityState(timestamp_ms=1, people=people))
    stop = threading.Event()
    made: list[str] = []

    def feed() -> None:
        i = 0
        while not stop.is_set():
            pub.publish_pose(pose_result(i))
            pub.publish_events(events("ev", 1, start=i))
            made.append(f"ev-{i}")
            i += 1
            time.sleep(0.004)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        restarted = 0.0
        for _ in range(2):
            time.sleep(0.7)
            broker.stop()
            deadline = time.monotonic() + 10
            while pub.connected and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not pub.connected
            people += 1  # a change while disconnected: only a resend after the reconnect can carry it
            pub.publish_state(ActivityState(timestamp_ms=people, people=people))
            time.sleep(0.7)
            assert pub.spool_depth > 0
            broker.start()
            restarted = time.monotonic()
            rec.wait_for(
                lambda m, t=restarted: m.topic == STATUS and m.payload == b"online" and m.at_s > t,
                timeout_s=10,
            )
        first_pose = rec.wait_for(lambda m: m.topic == POSE and m.at_s > restarted, timeout_s=10)[0]
        assert first_pose.at_s - restarted < 5.0, "pose stream did not come back within 5 s"
        time.sleep(0.3)
    finally:
        stop.set()
        feeder.join(timeout=5)
    last = made[-1]
    rec.wait_for(lambda m: m.topic == EVENT and json.loads(m.payload)["id"] == last, timeout_s=15)
    assert len(made) > 200
    assert event_ids(rec.on(EVENT)) == made
    assert pub.wait_for_delivery(5.0) and pub.spool_depth == 0
    # On reconnect the publisher re-sent the state, with the change made while it was away.
    late = mqtt_recorder(broker, [STATE])
    assert json.loads(late.wait_topic(STATE)[0].payload)["people"] == 3
    assert pub.connects == 3


def test_unreachable_broker_at_start_is_not_fatal(
    broker: Broker,
    mqtt_recorder: Record,
    publisher: Callable[..., MqttPublisher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="edgepose.publish.mqtt")
    broker.stop()
    pub = publisher(config_for(broker))
    pub.publish_events(events("early", 5))
    time.sleep(1.5)
    assert not pub.connected and pub.spool_depth == 5
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1
    broker.start()
    rec = mqtt_recorder(broker, ALL)
    assert pub.wait_for_delivery(10.0)
    rec.wait_topic(EVENT, 5)
    assert event_ids(rec.on(EVENT)) == [f"early-{i}" for i in range(5)]


CHILD = """
import json, sys, time
from pathlib import Path
from edgepose.config.mqtt import MqttConfig
from edgepose.publish.mqtt import MqttPublisher
from edgepose.types import Event, EventType
port, state_dir, prefix, n = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
pub = MqttPublisher(MqttConfig(host="127.0.0.1", port=port, device_id="testcam", keepalive_s=5), state_dir)
pub.start()
for i in range(n):
    pub.publish_events([Event(f"{prefix}-{i}", EventType.PERSON_ENTERED, i, i, {}, 1_733_150_000_000 + i)])
print("spooled", pub.spool_depth, flush=True)
deadline = time.monotonic() + 10
while not pub.connected and time.monotonic() < deadline:
    time.sleep(0.01)
print("connected" if pub.connected else "offline", flush=True)
sys.stdin.read()  # block until killed; nothing is closed or flushed
"""


def start_child(broker: Broker, state_dir: Path, prefix: str, n: int) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(broker.port), str(state_dir), prefix, str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return child


def read_line(child: subprocess.Popen[str], timeout_s: float = 20.0) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(child.stdout.readline() if child.stdout else ""))
    reader.start()
    reader.join(timeout_s)
    assert result, "child printed nothing in time"
    return result[0].strip()


def kill(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)


def test_last_will_offline_when_publisher_is_killed(
    broker: Broker, mqtt_recorder: Record, tmp_path: Path
) -> None:
    rec = mqtt_recorder(broker, [STATUS])
    child = start_child(broker, tmp_path / "state", "lwt", 0)
    try:
        assert read_line(child).startswith("spooled")
        assert read_line(child) == "connected"
        rec.wait_for(lambda m: m.payload == b"online")
        kill(child)
        offline = rec.wait_for(lambda m: m.payload == b"offline", timeout_s=15)
    finally:
        kill(child)
    assert rec.on(STATUS)[-1].payload == b"offline" and offline
    late = mqtt_recorder(broker, [STATUS])
    assert late.wait_topic(STATUS)[0].payload == b"offline"


def test_spooled_events_survive_sigkill(
    broker: Broker, mqtt_recorder: Record, publisher: Callable[..., MqttPublisher], tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    broker.stop()
    child = start_child(broker, state_dir, "kill", 30)
    try:
        assert read_line(child) == "spooled 30"  # publish_events returned: on disk
        kill(child)
    finally:
        kill(child)
    broker.start()
    rec = mqtt_recorder(broker, ALL)
    pub = publisher(config_for(broker), state_dir)  # the "restarted daemon" on the same state directory
    assert pub.wait_for_delivery(10.0)
    rec.wait_topic(EVENT, 30)
    assert event_ids(rec.on(EVENT)) == [f"kill-{i}" for i in range(30)]


def test_wrong_password_one_clear_error_and_retries(
    auth_broker: Broker,
    publisher: Callable[..., MqttPublisher],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="edgepose.publish.mqtt")
    wrong = tmp_path / "wrong.pw"
    wrong.write_text("not-the-password\n")
    pub = publisher(config_for(auth_broker, username=AUTH_USER, password_file=wrong))
    deadline = time.monotonic() + 10
    while pub.refusals < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pub.refusals >= 3, "the publisher should keep retrying"
    assert not pub.connected
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    assert "refused" in message and "Not authorized" in message and str(auth_broker.port) in message


def test_right_password_connects(
    auth_broker: Broker, publisher: Callable[..., MqttPublisher], tmp_path: Path
) -> None:
    right = tmp_path / "right.pw"
    right.write_text(AUTH_PASSWORD + "\n")
    pub = publisher(config_for(auth_broker, username=AUTH_USER, password_file=right))
    pub.publish_events(events("auth", 2))
    assert pub.wait_for_delivery(10.0)
    assert pub.connected and pub.refusals == 0


def test_tls_with_client_certificate(
    tls_broker: Broker, publisher: Callable[..., MqttPublisher], caplog: pytest.LogCaptureFixture
) -> None:
    tls = tls_broker.tls
    assert tls is not None
    good = publisher(
        config_for(tls_broker, ca_file=tls.ca_cert, cert_file=tls.client_cert, key_file=tls.client_key),
        state_dir=tls_broker.workdir / "good-state",
    )
    good.publish_events(events("tls", 3))
    assert good.wait_for_delivery(10.0) and good.connected

    # A broker certificate from an unknown CA is refused: not connected, events kept, a warning.
    caplog.set_level(logging.WARNING, logger="edgepose.publish.mqtt")
    bad = publisher(
        config_for(
            tls_broker,
            client_id="edgepose-bad-ca",
            ca_file=tls.other_ca_cert,
            cert_file=tls.client_cert,
            key_file=tls.client_key,
        ),
        state_dir=tls_broker.workdir / "bad-state",
    )
    bad.publish_events(events("untrusted", 2))
    deadline = time.monotonic() + 5
    while not any("TLS handshake" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("TLS handshake" in r.getMessage() for r in caplog.records)
    assert not bad.connected and bad.spool_depth == 2


def test_full_spool_keeps_the_newest_events(
    broker: Broker,
    mqtt_recorder: Record,
    publisher: Callable[..., MqttPublisher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="edgepose.publish.spool")
    broker.stop()
    pub = publisher(config_for(broker, spool_max_events=10))
    for i in range(25):
        pub.publish_events(events("full", 1, start=i))
    assert pub.spool_depth == 10 and pub.dropped_events == 15
    assert len([r for r in caplog.records if "spool full" in r.getMessage()]) == 1
    broker.start()
    rec = mqtt_recorder(broker, ALL)
    assert pub.wait_for_delivery(10.0)
    rec.wait_topic(EVENT, 10)
    assert event_ids(rec.on(EVENT)) == [f"full-{i}" for i in range(15, 25)]


def test_qos2_events_and_a_config_reload_on_the_same_spool(
    broker: Broker, mqtt_recorder: Record, tmp_path: Path
) -> None:
    """The service replaces its publisher on a config reload: the new one opens the same spool
    before the old one has closed; the old one flushes, the new one must see the right depth."""
    rec = mqtt_recorder(broker, ALL)
    state_dir = tmp_path / "state"
    broker.stop()
    old = MqttPublisher(config_for(broker), state_dir)
    old.start()
    old.publish_events(events("reload", 5))
    new = MqttPublisher(config_for(broker, qos_events=2), state_dir)  # sees 5 waiting
    try:
        assert new.spool_depth == 5
        broker.start()
        assert old.wait_for_delivery(10.0)
        old.close(timeout_s=2.0)
        new.start()
        assert new.spool_depth == 0  # recounted at start: the old publisher delivered them
        new.publish_events(events("reload", 3, start=5))
        assert new.wait_for_delivery(10.0)
        got = rec.wait_topic(EVENT, 8)
    finally:
        old.close(timeout_s=0.5)
        new.close(timeout_s=1.0)
    assert event_ids(got) == [f"reload-{i}" for i in range(8)]
    assert [m.qos for m in rec.on(EVENT)][-3:] == [2, 2, 2]
