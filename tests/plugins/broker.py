"""A real Mosquitto broker on a free loopback port, and a paho subscriber that records messages.

`broker`: anonymous broker, started; `broker.stop()` / `broker.start()` restart it on the same
port (persistence on, so retained messages and the recorder's session survive like on a real
install). `auth_broker`: the same with a password file (user `edgepose`, password
`AUTH_PASSWORD`). `tls_broker`: TLS only, client certificate required (`broker.tls` has the
files). `mqtt_recorder(broker, topics)`: a subscriber with a persistent session (QoS 2)
that collects messages across broker restarts; every wait is bounded by a timeout.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
AUTH_USER = "edgepose"
AUTH_PASSWORD = "s3cret-pose"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """One mosquitto process with its own config, log and persistence folder."""

    host = "127.0.0.1"

    def __init__(
        self, workdir: Path, port: int, password_file: Path | None = None, tls: TlsFiles | None = None
    ) -> None:
        self.workdir = workdir
        self.tls = tls
        self.port = port
        self.password_file = password_file
        self.log_path = workdir / "mosquitto.log"
        self.conf_path = workdir / "mosquitto.conf"
        self._proc: subprocess.Popen[bytes] | None = None
        lines = [
            f"listener {port} 127.0.0.1",
            "persistence true",
            f"persistence_location {workdir}/",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "max_queued_messages 0",
            # Not queue_qos0_messages: with it, mosquitto 2.0.11 dropped QoS 1 messages queued for an
            # offline session alongside QoS 0 ones. QoS 0 sent while the recorder reconnects is lost.
            "set_tcp_nodelay true",
        ]
        if password_file is None:
            lines.append("allow_anonymous true")
        else:
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        if tls is not None:
            lines += [
                f"cafile {tls.ca_cert}",
                f"certfile {tls.server_cert}",
                f"keyfile {tls.server_key}",
                "require_certificate true",
            ]
        if os.geteuid() == 0:
            lines.append("user root")  # else mosquitto drops to user 'mosquitto', who cannot write here
        self.conf_path.write_text("\n".join(lines) + "\n")

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 10.0) -> None:
        """Start mosquitto and wait until it accepts TCP connections."""
        assert not self.running, "broker already running"
        # stderr to a file: an unread pipe could fill up and stall the broker.
        with (self.workdir / "stderr.log").open("ab") as err_file:
            self._proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.conf_path)], stdout=subprocess.DEVNULL, stderr=err_file
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = (self.workdir / "stderr.log").read_text(errors="replace")
                raise RuntimeError(f"mosquitto exited with {self._proc.returncode}: {err} {self.log_text()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout_s} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop mosquitto gracefully (SIGTERM; it saves its persistence file)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=timeout_s)
        self._proc = None

    def log_text(self) -> str:
        """The broker's log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass(frozen=True)
class TlsFiles:
    """A throw-away CA, a broker certificate for 127.0.0.1 and a client certificate (PEM files)."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path  # a CA that signed nothing here: verifying the broker with it must fail


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


def make_tls_files(folder: Path) -> TlsFiles:
    """Create the CA and certificates with the openssl command line tool."""
    folder.mkdir(parents=True, exist_ok=True)
    for ca in ("ca", "other-ca"):
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=edgepose test {ca}",
            "-keyout", f"{ca}.key", "-out", f"{ca}.crt", cwd=folder,
        )  # fmt: skip
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=edgepose test {name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=folder,
        )  # fmt: skip
        (folder / f"{name}.ext").write_text(ext + "\n")
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=folder,
        )  # fmt: skip
    return TlsFiles(
        ca_cert=folder / "ca.crt",
        server_cert=folder / "server.crt",
        server_key=folder / "server.key",
        client_cert=folder / "client.crt",
        client_key=folder / "client.key",
        other_ca_cert=folder / "other-ca.crt",
    )


def _make_broker(
    tmp_path: Path, name: str, password_file: Path | None, tls: TlsFiles | None = None
) -> Broker:
    workdir = tmp_path / name
    workdir.mkdir()
    if password_file is not None:
        subprocess.run(
            [MOSQUITTO_PASSWD, "-b", "-c", str(password_file), AUTH_USER, AUTH_PASSWORD],
            check=True,
            capture_output=True,
        )
        password_file.chmod(0o600)
    return Broker(workdir, free_port(), password_file, tls)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A running anonymous Mosquitto on 127.0.0.1:<free port>."""
    b = _make_broker(tmp_path, "broker", None)
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def auth_broker(tmp_path: Path) -> Iterator[Broker]:
    """A running Mosquitto that only lets in AUTH_USER with AUTH_PASSWORD."""
    b = _make_broker(tmp_path, "auth-broker", tmp_path / "mosquitto.passwd")
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[Broker]:
    """A running Mosquitto that speaks only TLS and wants a client certificate (`broker.tls`)."""
    b = _make_broker(tmp_path, "tls-broker", None, make_tls_files(tmp_path / "pki"))
    b.start()
    try:
        yield b
    finally:
        b.stop()


@dataclass(frozen=True)
class Received:
    """One message the recorder saw."""

    topic: str
    payload: bytes
    retain: bool
    qos: int
    at_s: float

    def text(self) -> str:
        """The payload as text."""
        return self.payload.decode()


class Recorder:
    """A paho subscriber with a persistent session that records every message on its topics."""

    def __init__(self, broker: Broker, topics: Sequence[str]) -> None:
        self.broker = broker
        self.topics = list(topics)
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self.connected = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"edgepose-test-recorder-{uuid.uuid4().hex[:8]}",
            clean_session=False,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if not rc.is_failure:
            client.subscribe(
                [(t, 2) for t in self.topics]
            )  # QoS 2: messages arrive at the QoS they were sent with
            self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        self.connected.clear()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(
                Received(msg.topic, bytes(msg.payload), bool(msg.retain), int(msg.qos), time.monotonic())
            )
            self._cond.notify_all()

    def start(self, timeout_s: float = 10.0) -> Recorder:
        """Connect and subscribe; returns once the subscription is in place."""
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=10)
        self.client.loop_start()
        assert self.connected.wait(timeout_s), "recorder could not connect"
        # A round trip through the broker proves the SUBSCRIBE was processed.
        probe = f"edgepose-test/probe/{uuid.uuid4().hex}"
        self.client.subscribe(probe, 1)
        self.client.publish(probe, b"probe", qos=1)
        self.wait_for(lambda m: m.topic == probe, timeout_s=timeout_s)
        return self

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def on(self, topic: str) -> list[Received]:
        """Messages received on one topic so far."""
        with self._cond:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(
        self, predicate: Callable[[Received], bool], count: int = 1, timeout_s: float = 10.0
    ) -> list[Received]:
        """Wait until at least `count` messages match; returns them. Fails the test on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                hits = [m for m in self.messages if predicate(m)]
                if len(hits) >= count:
                    return hits
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = sorted({m.topic for m in self.messages})
                    raise AssertionError(
                        f"only {len(hits)}/{count} matching messages in {timeout_s} s; topics {seen}"
                    )
                self._cond.wait(remaining)

    def wait_topic(self, topic: str, count: int = 1, timeout_s: float = 10.0) -> list[Received]:
        """Wait for `count` messages on `topic`."""
        return self.wait_for(lambda m: m.topic == topic, count, timeout_s)


@pytest.fixture
def mqtt_recorder() -> Iterator[Callable[[Broker, Sequence[str]], Recorder]]:
    """Factory: `mqtt_recorder(broker, ["edgepose/#"])` -> a started Recorder, closed after the test."""
    made: list[Recorder] = []

    def make(broker: Broker, topics: Sequence[str]) -> Recorder:
        rec = Recorder(broker, topics)
        made.append(rec)
        return rec.start()

    yield make
    for rec in made:
        rec.close()
