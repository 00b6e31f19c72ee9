"""[mqtt] config: broker, topics, rates, the event spool bound and Home Assistant discovery.

The spool's folder is the service's state directory (`[service] state_directory`), not a key here.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from edgepose.config.base import Bool, ConfigPath, Float, Int, IntOnly, Str, StrictModel
from edgepose.errors import ConfigError

_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
# RFC 1123 host names (underscores allowed, as resolvers accept them in practice).
_HOST_LABEL_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def check_host(value: str) -> str:
    """The broker host as paho needs it: a host name or an IP address; ValueError otherwise."""
    if not value:
        raise ValueError("host is empty; name the broker (e.g. 'localhost' or '192.168.1.10')")
    if "://" in value:
        raise ValueError(
            "host is a name or an address without a scheme ('broker.lan', not 'mqtt://broker.lan')"
        )
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(value)
        return value
    name = value.removesuffix(".")
    if len(name) > 253 or not all(_HOST_LABEL_RE.match(label) for label in name.split(".")):
        hint = " (the port goes in `port`)" if ":" in value else ""
        raise ValueError(f"host must be a host name or an IP address{hint}")
    return value


_TOPIC_BAD = frozenset("+#\0")


def _clean_id(text: str) -> str:
    """A host name turned into an id Home Assistant accepts ([A-Za-z0-9_-])."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")
    return cleaned or "edgepose"


class MqttConfig(StrictModel):
    """Where and how edgepose publishes over MQTT."""

    host: Str = Field(
        "localhost", description="Broker host name or IP address (no scheme, no port: the port is `port`)."
    )
    port: Int = Field(1883, ge=1, le=65535, description="Broker TCP port (8883 is usual with TLS).")
    client_id: Str | None = Field(
        None, description="MQTT client id; empty means 'edgepose-<device_id>'. Must be unique per broker."
    )
    keepalive_s: Int = Field(
        30, ge=5, le=3600, description="Keepalive interval; the broker sends the last will after 1.5x this."
    )
    device_id: Str | None = Field(
        None,
        description="Id in topics and in Home Assistant ([A-Za-z0-9_-]); empty means the host name.",
    )
    device_name: Str | None = Field(
        None, description="Friendly device name shown in Home Assistant; empty means 'edgepose <device_id>'."
    )
    topic_prefix: Str = Field(
        "edgepose", min_length=1, description="First topic level: {prefix}/{device_id}/..."
    )
    username: Str | None = Field(None, description="Broker user name; empty for anonymous access.")
    password_file: ConfigPath | None = Field(
        None,
        description="File whose first line is the broker password, read once at start (missing: error).",
    )
    tls: Bool = Field(False, description="Use TLS; also turned on by setting ca_file.")
    ca_file: ConfigPath | None = Field(
        None, description="CA certificate (PEM) to verify the broker; empty: system CAs."
    )
    cert_file: ConfigPath | None = Field(None, description="Client certificate (PEM) for mutual TLS.")
    key_file: ConfigPath | None = Field(None, description="Private key (PEM) of cert_file.")
    tls_insecure: Bool = Field(
        False, description="Skip the broker host name check. Only for testing; never in production."
    )
    qos_events: Annotated[Literal[1, 2], IntOnly] = Field(
        1, description="QoS of event messages; at least 1 so the broker's PUBACK can clear the spool."
    )
    pose_rate_hz: Float = Field(
        5.0, ge=0.0, le=120.0, description="Most pose messages per second; 0 turns the pose topic off."
    )
    pose_decimals: Int = Field(
        4, ge=1, le=8, description="Decimals kept in landmark coordinates (4 = 0.1 pixel at 1000 px)."
    )
    pose_world_landmarks: Bool = Field(
        True, description="Include the 33 world landmarks (metres) in pose messages."
    )
    stats_interval_s: Float = Field(10.0, gt=0.0, description="Seconds between stats messages.")
    reconnect_min_delay_s: Int = Field(
        1, ge=1, le=60, description="First wait before reconnecting to the broker."
    )
    reconnect_max_delay_s: Int = Field(
        3,
        ge=1,
        le=300,
        description="Longest wait between reconnect attempts (the wait doubles up to this); 3 s keeps the "
        "recovery after a broker restart under 5 s.",
    )
    spool_max_events: Int = Field(
        10000,
        ge=10,
        le=10_000_000,
        description="Most undelivered events kept; when full the oldest are dropped.",
    )
    discovery: Bool = Field(True, description="Publish Home Assistant MQTT device discovery.")
    discovery_prefix: Str = Field(
        "homeassistant",
        min_length=1,
        description="Home Assistant discovery prefix (its status topic is under it).",
    )

    @field_validator("host")
    @classmethod
    def _host_form(cls, value: str) -> str:
        return check_host(value)

    @field_validator("device_id")
    @classmethod
    def _device_id_chars(cls, value: str | None) -> str | None:
        if value is not None and not _ID_RE.match(value):
            raise ValueError("device_id may only contain letters, digits, '_' and '-'")
        return value

    @field_validator("topic_prefix", "discovery_prefix")
    @classmethod
    def _topic_chars(cls, value: str) -> str:
        if _TOPIC_BAD.intersection(value) or value.startswith("/") or value.endswith("/"):
            raise ValueError("a topic prefix may not contain '+', '#' or NUL, nor start or end with '/'")
        return value

    @model_validator(mode="after")
    def _pairs(self) -> MqttConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.password_file is not None and self.username is None:
            raise ValueError("password_file needs username")
        if self.reconnect_max_delay_s < self.reconnect_min_delay_s:
            raise ValueError("reconnect_max_delay_s must be >= reconnect_min_delay_s")
        return self

    @property
    def use_tls(self) -> bool:
        """Whether the connection is TLS."""
        return self.tls or self.ca_file is not None or self.cert_file is not None

    def resolved_device_id(self) -> str:
        """The device id used in topics: the configured one, else the host name made safe."""
        return self.device_id or _clean_id(socket.gethostname())

    def resolved_client_id(self) -> str:
        """The MQTT client id."""
        return self.client_id or f"edgepose-{self.resolved_device_id()}"

    def resolved_device_name(self) -> str:
        """The name Home Assistant shows for the device."""
        return self.device_name or f"edgepose {self.resolved_device_id()}"

    def read_password(self) -> str | None:
        """The broker password from `password_file` (first line), None without one.

        Raises ConfigError when the file cannot be read (it may vanish after validation).
        """
        if self.password_file is None:
            return None
        from edgepose.config.files import read_password

        try:
            return read_password(self.password_file)
        except ConfigError as exc:
            raise ConfigError(f"[mqtt] password_file: {exc}") from None
