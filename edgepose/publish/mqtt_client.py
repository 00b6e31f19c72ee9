"""The paho client behind `MqttPublisher`: built from `[mqtt]` (auth, TLS, last will, backoff), and the
commands its network-thread callbacks queue for the publisher's worker thread."""

from __future__ import annotations

import enum
import queue
import ssl
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edgepose.config.mqtt import MqttConfig
from edgepose.errors import ConfigError
from edgepose.publish.topics import STATUS_OFFLINE


class Kind(enum.Enum):
    """What happened, as the worker thread hears it."""

    CONNECTED = enum.auto()
    REFUSED = enum.auto()
    UNREACHABLE = enum.auto()
    DISCONNECTED = enum.auto()
    ACKED = enum.auto()
    HA_ONLINE = enum.auto()
    WAKE = enum.auto()
    STOP = enum.auto()


@dataclass(frozen=True, slots=True)
class Command:
    """One message from a callback (or the caller's thread) to the worker thread."""

    kind: Kind
    detail: str = ""  # the reason of REFUSED / DISCONNECTED
    number: int = 0  # the mid of ACKED, the connection generation of CONNECTED


def next_commands(commands: queue.SimpleQueue[Command], timeout_s: float) -> list[Command]:
    """Every queued command, waiting up to `timeout_s` for the first one (empty when none came)."""
    try:
        batch = [commands.get(timeout=timeout_s)]
    except queue.Empty:
        return []
    while True:
        try:
            batch.append(commands.get_nowait())
        except queue.Empty:
            return batch


def make_client(config: MqttConfig, password: str | None, status_topic: str) -> mqtt.Client:
    """A paho 2.x client with credentials, TLS, the `offline` last will on `status_topic` and backoff.

    Raises ConfigError when the TLS files cannot be loaded. Callbacks are the caller's to set.
    """
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=config.resolved_client_id(),
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    secure(client, config, password)
    client.will_set(status_topic, STATUS_OFFLINE, qos=1, retain=True)
    client.reconnect_delay_set(min_delay=config.reconnect_min_delay_s, max_delay=config.reconnect_max_delay_s)
    client.max_queued_messages_set(0)
    return client


def secure(client: mqtt.Client, config: MqttConfig, password: str | None) -> None:
    """Set `[mqtt]`'s credentials and TLS on a client (publisher and `edgepose check` alike).

    Raises ConfigError when the TLS files cannot be loaded.
    """
    if config.username:  # None or empty: anonymous
        client.username_pw_set(config.username, password)
    if config.use_tls:
        try:
            client.tls_set(
                ca_certs=str(config.ca_file) if config.ca_file else None,
                certfile=str(config.cert_file) if config.cert_file else None,
                keyfile=str(config.key_file) if config.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ConfigError(f"mqtt TLS files: {exc}") from exc
        client.tls_insecure_set(config.tls_insecure)
