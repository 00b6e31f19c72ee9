"""MqttPublisher: poses, events, state and stats to an MQTT broker with paho-mqtt 2.x.

Threads: paho's network thread (`loop_start`) runs the socket and the callbacks; the callbacks
only set a flag, put a small command on a queue, or claim the device id (`publish.claim`). One
worker thread (`edgepose-mqtt`) does the rest: it announces `online`, sends Home Assistant
discovery and the retained state on every connect, and feeds spooled events to paho in order.
The caller's thread (the processing loop) only encodes, appends events to the spool and hands QoS 0
messages to paho; it never waits on the network.

Events: appended to the `EventSpool` (on disk, fsync'd) before paho sees them, removed once the
broker's PUBACK arrived. Events are handed to paho only while connected, at most `_WINDOW` at a
time; paho resends those it holds after a reconnect, and after a reconnect new events wait until
those old ones are acknowledged, so the broker receives events in spool order. After a restart
everything left in the spool is sent again: delivery is at least once, consumers dedupe on `id`.

Connection: `connect_async` and paho's own reconnect loop with a doubling delay between
`reconnect_min_delay_s` and `reconnect_max_delay_s`, so an unreachable broker at start is not
fatal. A refused connection (bad password, not authorised) is logged once as an error and
retried with the same backoff.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from edgepose.config.mqtt import MqttConfig
from edgepose.publish.claim import Claim, ClaimWatch
from edgepose.publish.homeassistant import discovery_payload
from edgepose.publish.mqtt_client import Command, Kind, make_client, next_commands
from edgepose.publish.pacing import Pacer
from edgepose.publish.payloads import (
    encode,
    event_payload,
    pose_payload,
    state_key,
    state_payload,
    stats_payload,
)
from edgepose.publish.spool import SPOOL_FILENAME, EventSpool
from edgepose.publish.topics import STATUS_OFFLINE, STATUS_ONLINE, Topics
from edgepose.skeleton import SkeletonKind
from edgepose.types import ActivityState, Event, PoseResult, ServiceStats

log = logging.getLogger(__name__)

_WINDOW = 64  # events handed to paho and not yet acknowledged
_TICK_S = 0.1  # worker wake-up when no command arrives (commands wake it at once)


class MqttPublisher:
    """The MQTT implementation of the `Publisher` protocol (see edgepose.publish.base)."""

    def __init__(
        self,
        config: MqttConfig,
        state_dir: Path,
        *,
        gesture_types: tuple[str, ...] = (),
        skeleton: SkeletonKind = SkeletonKind.BLAZEPOSE_33,
        clock: Callable[[], float] = time.monotonic,
        claim: Claim | None = None,  # this process on the claim topic (default: one per process)
    ) -> None:
        """Read credentials, open the spool, prepare the client; nothing touches the network yet.

        Raises ConfigError for an unreadable password file, bad TLS files or an unusable `state_dir`.
        """
        self._config = config
        self._device_id = config.resolved_device_id()
        self.topics = Topics.from_config(config)
        self._gesture_types, self._skeleton = gesture_types, skeleton
        password = config.read_password()
        self._spool = EventSpool(state_dir / SPOOL_FILENAME, config.spool_max_events)
        try:
            self._client = self._make_client(password)
        except BaseException:
            self._spool.close()
            raise
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._connected = threading.Event()
        self._closed = False
        self._started = False
        self._worker: threading.Thread | None = None
        # Owned by the worker thread: events handed to paho (seq -> mid, oldest first), the reverse
        # map for PUBACKs, and acknowledged seqs not yet removed from the spool.
        self._handed: OrderedDict[int, int] = OrderedDict()
        self._mid_seq: dict[int, int] = {}
        self._acked: list[int] = []
        self._last_handed_seq = 0
        self._generation = 0  # connections accepted (network thread); events wait for the worker to catch up
        self._ready_generation = -1
        self._drain_first = False
        # Shared with the caller's thread; plain assignments of immutable values.
        self._state_lock = threading.RLock()
        self._state_text: str | None = None
        self._state_key: str | None = None
        self._pose_pacer = Pacer.per_second(config.pose_rate_hz, clock=clock)
        self._stats_pacer = Pacer(config.stats_interval_s, clock=clock)
        self.claims = ClaimWatch(claim or Claim.for_this_process(), self.topics.claim, config)
        self._refused_reason: str | None = None
        self._unreachable_logged = False
        self.connects = 0  # connections accepted so far (for tests and diagnostics)
        self.refusals = 0  # connections the broker refused (bad credentials)

    def _make_client(self, password: str | None) -> mqtt.Client:
        client = make_client(self._config, password, self.topics.status)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    # -- Publisher protocol -------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; `online` is announced once the broker accepts us."""
        if self._started:
            return
        self._started = True
        self._spool.recount()  # a previous publisher on the same spool (config reload) may have sent some
        cfg = self._config
        log.info(
            "MQTT: connecting to %s:%d as %s (topics %s/...)",
            cfg.host,
            cfg.port,
            self._client_id,
            self.topics.base,
        )
        self._client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        self._worker = threading.Thread(target=self._run_worker, name="edgepose-mqtt", daemon=True)
        self._worker.start()
        self._client.loop_start()

    @property
    def _client_id(self) -> str:
        return self._config.resolved_client_id()

    def publish_pose(self, result: PoseResult) -> None:
        """Send one frame's poses at QoS 0 if connected and the rate limit allows."""
        if self._closed or not self._connected.is_set() or not self._pose_pacer.due():
            return
        payload = pose_payload(result, self._config.pose_decimals, self._config.pose_world_landmarks)
        self._client.publish(self.topics.pose, encode(payload), qos=0, retain=False)

    def publish_events(self, events: Sequence[Event]) -> None:
        """Spool the events durably (on disk when this returns) and wake the sender."""
        if not events:
            return
        if self._closed:
            log.warning("MQTT publisher closed; %d events not spooled", len(events))
            return
        self._spool.append([(e.id, encode(event_payload(e))) for e in events])
        self._commands.put(Command(Kind.WAKE))

    def publish_state(self, state: ActivityState) -> None:
        """Send the retained state if it changed (it is sent again on every reconnect)."""
        payload = state_payload(state)
        key = state_key(payload)
        if key == self._state_key or self._closed:
            return
        with self._state_lock:
            self._state_key, self._state_text = key, encode(payload)
            if self._connected.is_set():
                self._send_state()

    def publish_stats(self, stats: ServiceStats) -> None:
        """Send service figures, at most once per `stats_interval_s`; spool depth is filled in here."""
        if self._closed or not self._connected.is_set():
            return
        if not self._stats_pacer.due():
            return
        payload = stats_payload(dataclasses.replace(stats, spool_depth=self._spool.depth))
        self._client.publish(self.topics.stats, encode(payload), qos=0, retain=False)

    @property
    def connected(self) -> bool:
        """Whether the broker accepted the connection and it is up now."""
        return self._connected.is_set()

    @property
    def spool_depth(self) -> int:
        """Events spooled and not yet acknowledged by the broker."""
        return self._spool.depth

    @property
    def dropped_events(self) -> int:
        """Events dropped because the spool was full (oldest first)."""
        return self._spool.dropped

    def wait_for_delivery(self, timeout_s: float) -> bool:
        """Block until the spool is empty (True) or the timeout passed (False)."""
        deadline = time.monotonic() + timeout_s
        while self._spool.depth > 0:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self, timeout_s: float = 2.0) -> None:
        """Deliver what can be delivered in `timeout_s`, publish `offline`, disconnect, close the spool."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + max(0.0, timeout_s)
        if self._started:
            if self._connected.is_set() and not self.wait_for_delivery(max(0.0, deadline - time.monotonic())):
                log.warning(
                    "MQTT: %d events still undelivered at shutdown; kept in the spool", self._spool.depth
                )
            if self._connected.is_set():
                info = self._client.publish(self.topics.status, STATUS_OFFLINE, qos=1, retain=True)
                try:
                    info.wait_for_publish(max(0.2, deadline - time.monotonic()))
                except (RuntimeError, ValueError) as exc:
                    log.debug("offline status not confirmed: %s", exc)
            self._client.disconnect()
            self._client.loop_stop()
            self._commands.put(Command(Kind.STOP))
            if self._worker is not None:
                self._worker.join(timeout=2.0)
        self._connected.clear()
        self._spool.close()
        log.info("MQTT: closed (%d events left in the spool)", self._spool.depth)

    def __enter__(self) -> MqttPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paho callbacks (network thread): set state, queue a command, nothing else -------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            self._commands.put(Command(Kind.REFUSED, str(reason_code)))
            return
        self._generation += 1
        self._connected.set()
        self.claims.connect(client)
        self._commands.put(Command(Kind.CONNECTED, number=self._generation))

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._commands.put(Command(Kind.UNREACHABLE))

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if was_connected:
            self._commands.put(Command(Kind.DISCONNECTED, str(reason_code)))

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: ReasonCode, properties: Any
    ) -> None:
        self._commands.put(Command(Kind.ACKED, number=mid))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self.topics.claim:
            self.claims.receive(client, message.payload, retained=bool(message.retain))
        elif message.topic == self.topics.ha_status and message.payload.strip() == STATUS_ONLINE.encode():
            self._commands.put(Command(Kind.HA_ONLINE))

    # -- worker thread ---------------------------------------------------------------------------

    def _run_worker(self) -> None:
        while True:
            for cmd in next_commands(self._commands, _TICK_S):
                if cmd.kind is Kind.STOP:
                    return
                self._handle(cmd)
            try:
                self._pump()
            except Exception:
                # A failing disk must not kill delivery for good; the next tick tries again.
                log.exception("MQTT: event spool error")
                time.sleep(1.0)

    def _handle(self, cmd: Command) -> None:
        cfg = self._config
        if cmd.kind is Kind.ACKED:
            # The mid of a PUBACK. paho numbers every message, QoS 0 ones too, from one 16-bit counter;
            # a pose could only reuse an event's mid after 65535 messages with that event unacknowledged.
            seq = self._mid_seq.pop(cmd.number, None)
            if seq is not None:
                self._handed.pop(seq, None)
                self._acked.append(seq)
        elif cmd.kind is Kind.CONNECTED:
            self._refused_reason, self._unreachable_logged = None, False
            self._on_connected()
            self._ready_generation = cmd.number
        elif cmd.kind is Kind.REFUSED:
            self.refusals += 1
            if cmd.detail != self._refused_reason:
                self._refused_reason = cmd.detail
                log.error(
                    "MQTT broker %s:%d refused the connection: %s (check mqtt.username and "
                    "mqtt.password_file); retrying with backoff",
                    cfg.host,
                    cfg.port,
                    cmd.detail,
                )
        elif cmd.kind is Kind.UNREACHABLE:
            if not self._unreachable_logged:
                self._unreachable_logged = True
                log.warning(
                    "MQTT broker %s:%d unreachable%s; retrying with backoff, events go to the spool",
                    cfg.host,
                    cfg.port,
                    " or TLS handshake failed (check ca_file, cert_file, key_file)" if cfg.use_tls else "",
                )
        elif cmd.kind is Kind.DISCONNECTED and not self._closed:
            log.warning("MQTT connection lost (%s); reconnecting, events go to the spool", cmd.detail)
        elif cmd.kind is Kind.HA_ONLINE and self._connected.is_set():
            log.info("Home Assistant came online; sending discovery again")
            self._send_discovery()
            self._send_state()

    def _on_connected(self) -> None:
        self.connects += 1
        log.info(
            "MQTT connected to %s:%d (%d events waiting in the spool)",
            self._config.host,
            self._config.port,
            self._spool.depth,
        )
        client = self._client
        client.publish(self.topics.status, STATUS_ONLINE, qos=1, retain=True)
        if self._config.discovery:
            client.subscribe(self.topics.ha_status, qos=1)
            self._send_discovery()
        self._send_state()
        # Events paho still holds from the last connection are resent by paho first; newer ones wait.
        self._drain_first = bool(self._handed)

    def _send_discovery(self) -> None:
        if not self._config.discovery:
            return
        payload = discovery_payload(
            self._device_id,
            self._config.resolved_device_name(),
            self.topics,
            gesture_types=self._gesture_types,
            qos=self._config.qos_events,
            skeleton=self._skeleton,
        )
        self._client.publish(self.topics.discovery, encode(payload), qos=1, retain=True)

    def _send_state(self) -> None:
        # QoS 0: a newer state must never be overtaken by an older one paho resends after a reconnect;
        # a state lost with a connection is sent again on the next connect. The lock keeps the worker
        # (reconnect) and the caller (change) from sending an older text after a newer one.
        with self._state_lock:
            if self._state_text is not None:
                self._client.publish(self.topics.state, self._state_text, qos=0, retain=True)

    def _pump(self) -> None:
        """Forget acknowledged events, then hand the next spooled ones to paho."""
        if self._acked:
            self._spool.remove(self._acked)
            self._acked = []
        if not self._handed:
            self._drain_first = False
        if self._drain_first or not self._connected.is_set() or self._ready_generation != self._generation:
            return
        room = _WINDOW - len(self._handed)
        if room <= 0:
            return
        for item in self._spool.after(self._last_handed_seq, room):
            info = self._client.publish(self.topics.event, item.payload, qos=self._config.qos_events)
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                break
            # Any other rc (e.g. not connected any more): paho keeps the message and sends it on reconnect.
            self._handed[item.seq] = info.mid
            self._mid_seq[info.mid] = item.seq
            self._last_handed_seq = item.seq
