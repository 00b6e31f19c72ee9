"""Two devices with one device_id: found through a retained claim with a per-process nonce.

Two daemons publishing as one device id take over each other's MQTT session (the default client
id derives from the device id) and overwrite each other's retained status, state and discovery.
Each process announces itself on `{prefix}/{device_id}/claim` (retained, QoS 1) on every connect,
after subscribing to that topic. A claim with another nonce means another process, when it

- arrives live (not retained): someone claimed the id while we are connected; or
- is the retained claim found on a reconnect, after we had claimed the id on an earlier
  connection: someone claimed it in between (what two daemons kicking each other off see).

A foreign retained claim on the first connection is usually the previous run of this device (a
restart), so it is not an error by itself. On the first sight of a foreign claim the process
claims again, so that the other side, if it is still running, hears a live claim as well.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from edgepose.config.mqtt import MqttConfig
from edgepose.publish.payloads import PAYLOAD_VERSION, encode

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Claim:
    """Who publishes as a device id: a random nonce per process, the host, the pid, the start time."""

    nonce: str
    host: str
    pid: int
    started_wall_ms: int

    @classmethod
    def for_this_process(cls) -> Claim:
        """This process's claim (the same for every publisher it builds, e.g. after a config reload)."""
        return _PROCESS_CLAIM

    def payload(self) -> str:
        """The JSON text published on the claim topic."""
        return encode(
            {
                "v": PAYLOAD_VERSION,
                "nonce": self.nonce,
                "host": self.host,
                "pid": self.pid,
                "started_wall_ms": self.started_wall_ms,
            }
        )

    @classmethod
    def parse(cls, payload: bytes) -> Claim | None:
        """A claim from its JSON text; None when it is not one (an empty retained message clears it)."""
        try:
            obj: Any = json.loads(payload)
            return cls(
                nonce=str(obj["nonce"]),
                host=str(obj.get("host", "?")),
                pid=int(obj.get("pid", 0)),
                started_wall_ms=int(obj.get("started_wall_ms", 0)),
            )
        except (ValueError, KeyError, TypeError):
            return None


_PROCESS_CLAIM = Claim(
    nonce=secrets.token_hex(8),
    host=socket.gethostname(),
    pid=os.getpid(),
    started_wall_ms=time.time_ns() // 1_000_000,
)


class ClaimWatch:
    """Claims the device id on every connect and tells from claim messages whether another process uses it.

    `connect` and `receive` run in paho's network thread (the on_connect and on_message callbacks),
    so the state needs no lock.
    """

    def __init__(self, own: Claim, topic: str, config: MqttConfig) -> None:
        self.own = own
        self._topic = topic
        self._config = config
        self._claimed_before = False  # our claim went out on an earlier connection
        self._claimed_now = False
        self._seen: set[str] = set()  # foreign nonces already reported

    def connect(self, client: mqtt.Client) -> None:
        """On a new connection: subscribe, then claim (the retained claim we get is the one before ours)."""
        self.connected()
        client.subscribe(self._topic, qos=1)
        self._claim(client)

    def receive(self, client: mqtt.Client, payload: bytes | bytearray, *, retained: bool) -> None:
        """A claim message: on the first sight of another process, log the error and claim again."""
        other = self.message(bytes(payload), retained)
        if other is None:
            return
        cfg = self._config
        log.error(
            "MQTT: another process (host %s, pid %d) publishes as device_id %r on %s:%d; two devices "
            "with one device_id take over each other's MQTT session and retained state. Give each "
            "device its own [mqtt] device_id in its config file",
            other.host,
            other.pid,
            cfg.resolved_device_id(),
            cfg.host,
            cfg.port,
        )
        self._claim(client)  # so that the other process hears a live claim and says so too

    def _claim(self, client: mqtt.Client) -> None:
        client.publish(self._topic, self.own.payload(), qos=1, retain=True)
        self.claimed()

    def connected(self) -> None:
        """A new connection; call before subscribing and claiming on it."""
        self._claimed_before = self._claimed_before or self._claimed_now
        self._claimed_now = False

    def claimed(self) -> None:
        """Our claim was handed to the client on this connection."""
        self._claimed_now = True

    def message(self, payload: bytes, retained: bool) -> Claim | None:
        """A message on the claim topic: the other process's claim the first time one is seen, else None."""
        claim = Claim.parse(payload)
        if claim is None or claim.nonce == self.own.nonce:
            return None
        if retained and not self._claimed_before:
            return None  # most likely this device's previous run
        if claim.nonce in self._seen:
            return None
        self._seen.add(claim.nonce)
        return claim

    @property
    def conflicts(self) -> int:
        """Other processes found so far."""
        return len(self._seen)
