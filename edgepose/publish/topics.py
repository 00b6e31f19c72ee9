"""Topic names and the message value every publisher sends."""

from __future__ import annotations

from dataclasses import dataclass

from edgepose.config.mqtt import MqttConfig

STATUS_ONLINE = "online"
STATUS_OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Topics:
    """The topics of one device: `{prefix}/{device_id}/...` plus Home Assistant's."""

    base: str
    discovery: str
    ha_status: str

    @classmethod
    def from_config(cls, config: MqttConfig) -> Topics:
        """Topics for the configured prefix and device id."""
        device_id = config.resolved_device_id()
        return cls(
            base=f"{config.topic_prefix}/{device_id}",
            discovery=f"{config.discovery_prefix}/device/{device_id}/config",
            ha_status=f"{config.discovery_prefix}/status",
        )

    @property
    def status(self) -> str:
        """Retained `online` / `offline` (the last will)."""
        return f"{self.base}/status"

    @property
    def pose(self) -> str:
        """Landmarks per frame, rate-limited."""
        return f"{self.base}/pose"

    @property
    def event(self) -> str:
        """Activity events, at least once."""
        return f"{self.base}/event"

    @property
    def state(self) -> str:
        """Retained activity summary."""
        return f"{self.base}/state"

    @property
    def claim(self) -> str:
        """Retained: which process publishes as this device id (finds two devices with one id)."""
        return f"{self.base}/claim"

    @property
    def stats(self) -> str:
        """Service figures."""
        return f"{self.base}/stats"


@dataclass(frozen=True, slots=True)
class Message:
    """One message as it goes on the wire: topic, encoded payload, QoS, retain flag."""

    topic: str
    payload: str
    qos: int
    retain: bool
