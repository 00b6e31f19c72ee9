"""The real daemon (`edgepose run`) on a real clip of people against a real Mosquitto.

- payloads on the wire valid against the schemas, discovery and retained state, the last will on
  SIGKILL;
- the broker stopped for 30 s mid-run: the pose stream is back within 5 s of the restart and every
  event the daemon spooled was delivered, in order;
- events spooled while the broker is unreachable survive a SIGKILL of the daemon and are delivered
  by the restarted daemon;
- a wrong broker password: one clear error line, the daemon keeps running and retrying.

The models are the float BlazePose files from the cache (`scripts/build_models.py --precision float`),
lite variant, so the tests do not depend on the int8 build.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from edgepose.publish.payloads import load_schema
from edgepose.publish.spool import SPOOL_FILENAME
from tests.plugins.broker import AUTH_USER, Broker, Received, Recorder

pytestmark = pytest.mark.slow

Record = Callable[[Broker, Sequence[str]], Recorder]

DEVICE = "daemontest"
BASE = f"edgepose/{DEVICE}"
STATUS, POSE, EVENT, STATE, STATS = (f"{BASE}/{t}" for t in ("status", "pose", "event", "state", "stats"))
DISCOVERY = f"homeassistant/device/{DEVICE}/config"
ALL = [f"{BASE}/#", "homeassistant/#"]
OUTAGE_S = 30.0


def validate(name: str, payload: Any) -> None:
    jsonschema.Draft202012Validator(load_schema(name)).validate(payload)


def write_config(
    path: Path,
    media: Path,
    broker: Broker,
    state_dir: Path,
    extra_mqtt: str = "",
    clip: str = "pan_zidane.avi",
) -> Path:
    path.write_text(
        f"""
[source]
uri = "file:{media / clip}"
loop = true

[model]
variant = "lite"
precision = "float"

[service]
publish = "mqtt"
state_directory = "{state_dir}"
log_level = "info"

[mqtt]
host = "{broker.host}"
port = {broker.port}
device_id = "{DEVICE}"
pose_rate_hz = 10.0
stats_interval_s = 1.0
keepalive_s = 5
{extra_mqtt}
"""
    )
    return path


class Daemon:
    """`edgepose run` in a subprocess, its stderr in a file."""

    def __init__(self, config: Path, log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edgepose", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_running(self) -> None:
        assert self.proc.poll() is None, (
            f"daemon exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}"
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()

    def terminate(self, timeout_s: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout_s)
        self._log.close()
        return code


@pytest.fixture
def daemons() -> Iterator[Callable[[Path, Path], Daemon]]:
    """Factory for daemons; any still running after the test are killed."""
    made: list[Daemon] = []

    def start(config: Path, log_path: Path) -> Daemon:
        d = Daemon(config, log_path)
        made.append(d)
        return d

    yield start
    for d in made:
        if d.proc.poll() is None:
            d.kill()


def spool_rows(state_dir: Path) -> list[tuple[int, str, str]]:
    """(seq, event_id, payload) rows still in the daemon's spool, oldest first."""
    path = state_dir / SPOOL_FILENAME
    if not path.exists():
        return []
    db = sqlite3.connect(path, timeout=5.0)
    try:
        rows = db.execute("SELECT seq, event_id, payload FROM events ORDER BY seq").fetchall()
    except sqlite3.OperationalError:
        return []  # table not created yet
    finally:
        db.close()
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def spooled_total(state_dir: Path) -> int:
    """How many events were ever appended to the spool (AUTOINCREMENT's high-water mark)."""
    db = sqlite3.connect(state_dir / SPOOL_FILENAME, timeout=5.0)
    try:
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    except sqlite3.OperationalError:
        row = None
    finally:
        db.close()
    return int(row[0]) if row else 0


def unique_events(messages: Sequence[Received]) -> list[dict[str, Any]]:
    """Event payloads in arrival order without redeliveries (dedupe by id, as consumers must)."""
    seen: dict[str, dict[str, Any]] = {}
    for m in messages:
        payload = json.loads(m.payload)
        seen.setdefault(payload["id"], payload)
    return list(seen.values())


def has_person(m: Received) -> bool:
    return m.topic == POSE and bool(json.loads(m.payload)["poses"])


def test_daemon_payloads_outage_and_last_will(
    broker: Broker,
    mqtt_recorder: Record,
    daemons: Callable[[Path, Path], Daemon],
    media: Path,
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "state"
    rec = mqtt_recorder(broker, ALL)
    daemon = daemons(
        write_config(tmp_path / "edgepose.toml", media, broker, state_dir), tmp_path / "daemon.log"
    )

    # Online, discovery, real poses of the people in the clip, state and stats: all schema-valid.
    rec.wait_for(lambda m: m.topic == STATUS and m.payload == b"online", timeout_s=60)
    validate("ha_discovery", json.loads(rec.wait_topic(DISCOVERY)[0].payload))
    pose_msg = rec.wait_for(has_person, timeout_s=30)[0]
    pose = json.loads(pose_msg.payload)
    validate("pose", pose)
    assert len(pose["poses"][0]["landmarks"]) == 33 and pose["width"] == 640
    validate("state", json.loads(rec.wait_topic(STATE)[0].payload))
    validate("stats", json.loads(rec.wait_topic(STATS)[0].payload))
    late = mqtt_recorder(broker, [STATE])
    assert late.wait_topic(STATE)[0].retain

    # The broker goes away for 30 s while the daemon keeps processing and spooling.
    time.sleep(3.0)
    outage_start_ms = json.loads(rec.on(POSE)[-1].payload)["timestamp_ms"]  # media time
    broker.stop()
    time.sleep(OUTAGE_S)
    daemon.assert_running()
    broker.start()
    restarted = time.monotonic()
    back = rec.wait_for(lambda m: m.topic == POSE and m.at_s > restarted, timeout_s=15)[0]
    outage_end_ms = json.loads(back.payload)["timestamp_ms"]
    print(f"pose stream back {back.at_s - restarted:.2f} s after the broker restart")
    assert back.at_s - restarted < 5.0, f"pose stream back after {back.at_s - restarted:.1f} s"
    rec.wait_for(
        lambda m: m.topic == STATS and m.at_s > restarted and json.loads(m.payload)["spool_depth"] == 0
    )

    # SIGKILL: the broker publishes the last will.
    daemon.kill()
    offline = rec.wait_for(lambda m: m.topic == STATUS and m.payload == b"offline" and m.at_s > back.at_s)
    assert offline

    # Every event the daemon handed to its spool reached the broker, in order, none twice after dedupe.
    delivered = unique_events(rec.on(EVENT))
    for event in delivered:
        validate("event", event)
    left = {row[1] for row in spool_rows(state_dir)}
    delivered_ids = {e["id"] for e in delivered}
    total = spooled_total(state_dir)
    if len(delivered_ids | left) != total:  # diagnostics for a failure
        for m in rec.on(EVENT):
            print("EVENT", m.at_s, m.payload[:160])
    assert len(delivered_ids | left) == total, (
        f"{total} spooled, {len(delivered_ids)} delivered, {len(left)} left"
    )
    stamps = [e["timestamp_ms"] for e in delivered]
    assert stamps == sorted(stamps)
    # People walk in and out of view in the clip: presence events were made, also during the outage.
    assert total > 0 and any(e["type"] == "person_entered" for e in delivered)
    during = [e for e in delivered if outage_start_ms < e["timestamp_ms"] < outage_end_ms]
    print(f"{total} events spooled, {len(delivered_ids)} delivered ({len(during)} made during the outage)")
    assert during


def test_daemon_spool_survives_sigkill(
    broker: Broker,
    mqtt_recorder: Record,
    daemons: Callable[[Path, Path], Daemon],
    media: Path,
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "state"
    config = write_config(tmp_path / "edgepose.toml", media, broker, state_dir)
    broker.stop()  # unreachable from the start: not fatal, events go to the spool
    first = daemons(config, tmp_path / "first.log")
    deadline = time.monotonic() + 45
    while len(spool_rows(state_dir)) < 3 and time.monotonic() < deadline:
        first.assert_running()
        time.sleep(0.5)
    first.kill()
    rows = spool_rows(state_dir)
    print(f"{len(rows)} events in the spool at SIGKILL")
    assert rows, "no events spooled in 45 s of video"
    assert "unreachable" in first.log_text()

    broker.start()
    rec = mqtt_recorder(broker, ALL)
    second = daemons(config, tmp_path / "second.log")
    wanted = [row[1] for row in rows]
    rec.wait_for(lambda m: m.topic == EVENT and json.loads(m.payload)["id"] == wanted[-1], timeout_s=60)
    second.terminate()
    got = [e["id"] for e in unique_events(rec.on(EVENT))]
    assert got[: len(wanted)] == wanted  # the spooled ones first, in their order
    assert [json.loads(p) for _, _, p in rows] == unique_events(rec.on(EVENT))[: len(wanted)]


def test_daemon_wrong_password_one_error_line(
    auth_broker: Broker, daemons: Callable[[Path, Path], Daemon], media: Path, tmp_path: Path
) -> None:
    wrong = tmp_path / "mqtt.password"
    wrong.write_text("wrong-password\n")
    config = write_config(
        tmp_path / "edgepose.toml",
        media,
        auth_broker,
        tmp_path / "state",
        extra_mqtt=f'username = "{AUTH_USER}"\npassword_file = "{wrong}"\n',
    )
    daemon = daemons(config, tmp_path / "daemon.log")
    deadline = time.monotonic() + 30
    while auth_broker.log_text().count("not authorised") < 3 and time.monotonic() < deadline:
        daemon.assert_running()
        time.sleep(0.2)
    assert auth_broker.log_text().count("not authorised") >= 3, "the daemon should keep retrying"
    daemon.assert_running()
    assert daemon.terminate() == 0
    lines = [line for line in daemon.log_text().splitlines() if "Not authorized" in line]
    assert len(lines) == 1, lines
    assert "ERROR" in lines[0] and "refused the connection" in lines[0] and str(auth_broker.port) in lines[0]
