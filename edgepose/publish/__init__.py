"""Publishers: where poses, events, state and stats go (MQTT, stdout), and the durable event spool.

`create_publisher(name, config, state_dir)` is the registry the service uses; `name` is the
`[service] publish` value or `edgepose run --publish`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgepose.config.mqtt import MqttConfig
from edgepose.errors import ConfigError
from edgepose.publish.base import Publisher
from edgepose.skeleton import SkeletonKind

PublisherFactory = Callable[[MqttConfig, Path, tuple[str, ...], SkeletonKind], Publisher]


def _mqtt(
    config: MqttConfig, state_dir: Path, gesture_types: tuple[str, ...], skeleton: SkeletonKind
) -> Publisher:
    from edgepose.publish.mqtt import MqttPublisher

    return MqttPublisher(config, state_dir, gesture_types=gesture_types, skeleton=skeleton)


def _stdout(
    config: MqttConfig, state_dir: Path, gesture_types: tuple[str, ...], skeleton: SkeletonKind
) -> Publisher:
    from edgepose.publish.stdout import StdoutPublisher

    return StdoutPublisher(config, gesture_types=gesture_types, skeleton=skeleton)


PUBLISHERS: dict[str, PublisherFactory] = {"mqtt": _mqtt, "stdout": _stdout}


def publisher_names() -> tuple[str, ...]:
    """The names `create_publisher` accepts."""
    return tuple(sorted(PUBLISHERS))


def create_publisher(
    name: str,
    config: MqttConfig,
    state_dir: Path,
    gesture_types: tuple[str, ...] = (),
    skeleton: SkeletonKind = SkeletonKind.BLAZEPOSE_33,
) -> Publisher:
    """Build the named publisher (not started). Raises ConfigError for an unknown name or bad settings.

    `state_dir` holds the MQTT event spool; `gesture_types` are the gesture names announced to
    Home Assistant (empty: a single `gesture` event type); `skeleton` is the pose model's landmark set.
    """
    try:
        factory = PUBLISHERS[name]
    except KeyError:
        raise ConfigError(f"unknown publisher {name!r} (known: {', '.join(publisher_names())})") from None
    return factory(config, state_dir, gesture_types, skeleton)
