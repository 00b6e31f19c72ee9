"""A fleet through one real Mosquitto: shared subscriptions and two devices with one device_id.

- a consumer group of two MQTT 5 shared subscribers (`$share/GROUP/{prefix}/+/event`) receives
  every event of five replay daemons (`edgepose run --source replay:...`) exactly once between them;
- two daemons with one device_id (and so one client id: they take over each other's session)
  both log the one error that names the fix; so do two publishers with distinct client ids;
- a restart of a device (a new process, the old claim still retained) is not reported.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edgepose.activity.engine import ActivityEngine
from edgepose.cli._landmarks import read_landmarks
from edgepose.config import Config
from edgepose.config.mqtt import MqttConfig
from edgepose.publish.claim import Claim, ClaimWatch
from edgepose.publish.mqtt import MqttPublisher
from tests.plugins.broker import Broker

pytestmark = pytest.mark.slow

PREFIX = "edgepose-fleet"
CONFLICT = "publishes as device_id"


@pytest.fixture(scope="module")
def demo(repo_root: Path) -> Path:
    return repo_root / "config" / "replay-demo.jsonl.gz"


def write_device(tmp_path: Path, broker: Broker, device_id: str, replay: Path, **source: Any) -> Path:
    state = tmp_path / f"state-{device_id}"
    state.mkdir(exist_ok=True)
    lines = [f'uri = "replay:{replay}"'] + [f"{k} = {json.dumps(v)}" for k, v in source.items()]
    path = tmp_path / f"{device_id}-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(
        "[source]\n"
        + "\n".join(lines)
        + f"""

[service]
publish = "mqtt"
state_directory = "{state}"

[mqtt]
host = "{broker.host}"
port = {broker.port}
device_id = "{device_id}"
topic_prefix = "{PREFIX}"
pose_rate_hz = 0.0
reconnect_max_delay_s = 2
"""
    )
    return path


def start_daemon(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "edgepose", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class SharedSubscriber:
    """One member of a consumer group: an MQTT 5 client on `$share/GROUP/<filter>`."""

    def __init__(self, broker: Broker, group: str, topic_filter: str) -> None:
        self.ids: list[str] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"consumer-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        self.client.subscribe(f"$share/{group}/{topic_filter}", qos=1)
        assert self._subscribed.wait(10), "shared subscription not acknowledged"

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.ids.append(json.loads(msg.payload)["id"])

    def received(self) -> list[str]:
        with self._lock:
            return list(self.ids)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_consumer_group_gets_every_event_of_five_devices_exactly_once(
    broker: Broker, tmp_path: Path, demo: Path
) -> None:
    engine = ActivityEngine(Config().activity, id_prefix="x")
    per_device = sum(len(engine.update(result)[0]) for result in read_landmarks(demo))
    assert per_device >= 5
    consumers = [SharedSubscriber(broker, "automations", f"{PREFIX}/+/event") for _ in range(2)]
    devices = [f"room{i}" for i in range(5)]
    # realtime = false: each device plays the whole recording at once, a burst of events, then exits.
    procs = [
        start_daemon(write_device(tmp_path, broker, d, demo, realtime=False), tmp_path / f"{d}.log")
        for d in devices
    ]
    try:
        deadline = time.monotonic() + 90
        while sum(len(c.received()) for c in consumers) < 5 * per_device and time.monotonic() < deadline:
            time.sleep(0.2)
        for proc, device in zip(procs, devices, strict=True):
            assert proc.wait(timeout=60) == 0, (tmp_path / f"{device}.log").read_text()[-2000:]
        time.sleep(0.5)  # a duplicate, were there one, would arrive by now
    finally:
        stop(procs)
        for consumer in consumers:
            consumer.close()
    got = [c.received() for c in consumers]
    counts = Counter(got[0] + got[1])
    assert len(counts) == 5 * per_device
    assert set(counts.values()) == {1}, "an event reached the group more than once"
    assert all(got), "the broker gave one member of the group nothing"
    runs = Counter(event_id.rsplit("-", 1)[0] for event_id in counts)
    assert sorted(run.split("-")[0] for run in runs) == devices
    for run in runs:
        assert {int(i.rsplit("-", 1)[1]) for i in counts if i.startswith(run + "-")} == set(
            range(1, per_device + 1)
        )


def test_claim_watch_tells_a_restart_from_a_second_device() -> None:
    me, old, other = (Claim(n, "pi", 1, 0) for n in ("me", "old", "other"))
    config = MqttConfig(device_id="pi")
    watch = ClaimWatch(me, "edgepose/pi/claim", config)
    watch.connected()
    assert watch.message(old.payload().encode(), retained=True) is None  # the previous run's claim
    watch.claimed()
    assert watch.message(me.payload().encode(), retained=False) is None  # our own echo
    watch.connected()  # a reconnect finds our own claim retained
    assert watch.message(me.payload().encode(), retained=True) is None
    watch.claimed()
    assert watch.message(b"", retained=True) is None  # a cleared claim
    assert watch.message(other.payload().encode(), retained=False) == other  # live: another process
    assert watch.message(other.payload().encode(), retained=False) is None  # reported once
    assert watch.conflicts == 1
    taken = ClaimWatch(
        me, "edgepose/pi/claim", config
    )  # the other process took our session and claimed while we were away
    taken.connected()
    taken.claimed()
    taken.connected()
    assert taken.message(other.payload().encode(), retained=True) == other


def wait_for_log(path: Path, text: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace")
        if text in content:
            return content
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} in {path.name} within {timeout_s} s:\n{content[-3000:]}")


def test_two_daemons_with_one_device_id_both_say_so(broker: Broker, tmp_path: Path, demo: Path) -> None:
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    procs = [start_daemon(write_device(tmp_path, broker, "kitchen", demo, loop=True), logs[0])]
    try:
        wait_for_log(logs[0], "MQTT connected", 60)
        procs.append(start_daemon(write_device(tmp_path, broker, "kitchen", demo, loop=True), logs[1]))
        texts = [wait_for_log(log, CONFLICT, 60) for log in logs]
    finally:
        stop(procs)
    for text, other in zip(texts, procs[::-1], strict=True):
        line = next(line for line in text.splitlines() if CONFLICT in line)
        assert "ERROR" in line and f"pid {other.pid}" in line
        assert "Give each device its own [mqtt] device_id" in line
        assert text.count(CONFLICT) == 1  # one error, not one per reconnect


@pytest.fixture
def publishers(tmp_path: Path) -> Iterator[Callable[..., MqttPublisher]]:
    made: list[MqttPublisher] = []

    def make(config: MqttConfig, name: str, claim: Claim) -> MqttPublisher:
        pub = MqttPublisher(config, tmp_path / name, claim=claim)
        made.append(pub)
        pub.start()
        return pub

    yield make
    for pub in made:
        pub.close(timeout_s=1.0)


def wait_until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_distinct_client_ids_one_device_id(
    broker: Broker, publishers: Callable[..., MqttPublisher], caplog: pytest.LogCaptureFixture
) -> None:
    base = {"host": broker.host, "port": broker.port, "device_id": "porch", "topic_prefix": PREFIX}
    with caplog.at_level(logging.ERROR, logger="edgepose.publish"):
        first = publishers(MqttConfig(**base, client_id="porch-a"), "a", Claim("aaaa", "pi-a", 11, 0))
        assert wait_until(lambda: first.connected, 10)
        second = publishers(MqttConfig(**base, client_id="porch-b"), "b", Claim("bbbb", "pi-b", 22, 0))
        assert wait_until(lambda: first.claims.conflicts == 1 and second.claims.conflicts == 1, 10)
    errors = [r.getMessage() for r in caplog.records if CONFLICT in r.getMessage()]
    assert len(errors) == 2
    assert any("host pi-b, pid 22" in e for e in errors) and any("host pi-a, pid 11" in e for e in errors)


def test_a_restarted_device_is_not_a_conflict(
    broker: Broker, publishers: Callable[..., MqttPublisher], caplog: pytest.LogCaptureFixture
) -> None:
    config = MqttConfig(host=broker.host, port=broker.port, device_id="hall", topic_prefix=PREFIX)
    with caplog.at_level(logging.INFO, logger="edgepose.publish"):
        old = publishers(config, "hall", Claim("run1", "pi", 1, 0))
        assert wait_until(lambda: old.connected, 10)
        old.close(timeout_s=1.0)
        new = publishers(config, "hall", Claim("run2", "pi", 2, 0))
        assert wait_until(lambda: new.connected, 10)
        broker.stop()  # a reconnect: the retained claim found now is the new run's own
        broker.start()
        assert wait_until(lambda: new.connects == 2, 15)
        time.sleep(0.5)
    assert new.claims.conflicts == 0
    assert CONFLICT not in caplog.text
