"""Home Assistant MQTT device discovery: one retained payload describing every entity.

The device-based format (`{discovery_prefix}/device/{device_id}/config`) carries `dev` (the
device), `o` (origin: this software) and `cmps` (components, each with its platform `p` and a
`uniq_id`). Availability is shared at the root, so every entity turns unavailable with the
`offline` last will. Event entities read the one event topic; their value template renders an
empty string for other event types, which Home Assistant ignores. The diagnostic `Skeleton`
sensor names the landmark set the pose model gives (e.g. `blazepose_upper_25` in upper-body mode);
its value is fixed by this payload, so it is rendered whenever the retained `online` arrives.
"""

from __future__ import annotations

from typing import Any

from edgepose import __version__
from edgepose.publish.topics import STATUS_OFFLINE, STATUS_ONLINE, Topics
from edgepose.skeleton import SkeletonKind
from edgepose.types import EventType, Posture

NO_POSTURE = "none"

JsonDict = dict[str, Any]


def _event_template(event_type: EventType, name_attribute: str | None = None) -> str:
    """Jinja that turns one of our events into Home Assistant's `{"event_type": ...}`, others into ''."""
    if name_attribute is None:
        name = f"'{event_type}'"
    else:
        name = f"value_json.attributes.get('{name_attribute}', '{event_type}')"
    return (
        f"{{% if value_json.type == '{event_type}' %}}"
        f'{{"event_type":{{{{ {name} | to_json }}}},'
        '"id":{{ value_json.id | to_json }},'
        '"wall_ms":{{ value_json.wall_ms | to_json }},'
        '"track_id":{{ value_json.track_id | to_json }},'
        '"attributes":{{ value_json.attributes | to_json }}}'
        "{% endif %}"
    )


def _actions_template() -> str:
    """Both action event types on one entity: the event type is the payload's own type."""
    started, ended = EventType.ACTION_STARTED, EventType.ACTION_ENDED
    return (
        f"{{% if value_json.type in ['{started}', '{ended}'] %}}"
        '{"event_type":{{ value_json.type | to_json }},'
        '"id":{{ value_json.id | to_json }},'
        '"wall_ms":{{ value_json.wall_ms | to_json }},'
        '"track_id":{{ value_json.track_id | to_json }},'
        '"attributes":{{ value_json.attributes | to_json }}}'
        "{% endif %}"
    )


def _components(
    device_id: str, topics: Topics, gesture_types: tuple[str, ...], skeleton: SkeletonKind
) -> JsonDict:
    def uid(key: str) -> str:
        return f"edgepose_{device_id}_{key}"

    postures = [str(p) for p in Posture] + [NO_POSTURE]
    diagnostic = "diagnostic"
    return {
        "occupancy": {
            "p": "binary_sensor",
            "name": "Occupancy",
            "uniq_id": uid("occupancy"),
            "dev_cla": "occupancy",
            "stat_t": topics.state,
            "val_tpl": "{{ 'ON' if value_json.people > 0 else 'OFF' }}",
        },
        "people": {
            "p": "sensor",
            "name": "People",
            "uniq_id": uid("people"),
            "stat_t": topics.state,
            "val_tpl": "{{ value_json.people }}",
            "unit_of_meas": "people",
            "stat_cla": "measurement",
            "ic": "mdi:account-group",
        },
        "posture": {
            "p": "sensor",
            "name": "Posture",
            "uniq_id": uid("posture"),
            "stat_t": topics.state,
            "dev_cla": "enum",
            "ops": postures,
            "val_tpl": f"{{{{ value_json.tracks[0].posture if value_json.tracks else '{NO_POSTURE}' }}}}",
            "ic": "mdi:human",
        },
        "reps": {
            "p": "event",
            "name": "Reps",
            "uniq_id": uid("reps"),
            "stat_t": topics.event,
            "evt_typ": [str(EventType.REP)],
            "val_tpl": _event_template(EventType.REP),
            "ic": "mdi:dumbbell",
        },
        "falls": {
            "p": "event",
            "name": "Falls",
            "uniq_id": uid("falls"),
            "stat_t": topics.event,
            "evt_typ": [str(EventType.FALL_DETECTED)],
            "val_tpl": _event_template(EventType.FALL_DETECTED),
            "ic": "mdi:human-handsdown",
        },
        "gestures": {
            "p": "event",
            "name": "Gestures",
            "uniq_id": uid("gestures"),
            "stat_t": topics.event,
            "evt_typ": list(gesture_types) or [str(EventType.GESTURE)],
            "val_tpl": _event_template(EventType.GESTURE, "gesture" if gesture_types else None),
            "ic": "mdi:hand-wave",
        },
        "actions": {
            "p": "event",
            "name": "Actions",
            "uniq_id": uid("actions"),
            "stat_t": topics.event,
            "evt_typ": [str(EventType.ACTION_STARTED), str(EventType.ACTION_ENDED)],
            "val_tpl": _actions_template(),
            "ic": "mdi:run",
        },
        "fps": {
            "p": "sensor",
            "name": "Frame rate",
            "uniq_id": uid("fps"),
            "stat_t": topics.stats,
            "val_tpl": "{{ value_json.fps }}",
            "unit_of_meas": "fps",
            "stat_cla": "measurement",
            "ent_cat": diagnostic,
        },
        "inference_ms": {
            "p": "sensor",
            "name": "Inference time",
            "uniq_id": uid("inference_ms"),
            "stat_t": topics.stats,
            "val_tpl": "{{ ((value_json.detector_ms or 0) + (value_json.landmark_ms or 0)) | round(1) }}",
            "unit_of_meas": "ms",
            "dev_cla": "duration",
            "stat_cla": "measurement",
            "ent_cat": diagnostic,
        },
        "spool_depth": {
            "p": "sensor",
            "name": "Undelivered events",
            "uniq_id": uid("spool_depth"),
            "stat_t": topics.stats,
            "val_tpl": "{{ value_json.spool_depth }}",
            "stat_cla": "measurement",
            "ent_cat": diagnostic,
            "ic": "mdi:tray-full",
        },
        "skeleton": {
            "p": "sensor",
            "name": "Skeleton",
            "uniq_id": uid("skeleton"),
            "stat_t": topics.status,
            "dev_cla": "enum",
            "ops": [str(kind) for kind in SkeletonKind],
            "val_tpl": f"{{{{ '{skeleton}' }}}}",
            "ent_cat": diagnostic,
            "ic": "mdi:human-male-board",
        },
    }


def discovery_payload(
    device_id: str,
    device_name: str,
    topics: Topics,
    gesture_types: tuple[str, ...] = (),
    qos: int = 1,
    *,
    skeleton: SkeletonKind = SkeletonKind.BLAZEPOSE_33,
) -> JsonDict:
    """The device discovery payload for `topics.discovery` (publish it retained).

    `gesture_types` lists the gesture names the activity rules can emit (the `gesture` attribute of
    gesture events); each becomes an event type in Home Assistant. Empty: one type, `gesture`.
    `skeleton` is the pose model's landmark set, shown by the diagnostic `Skeleton` sensor.
    """
    return {
        "dev": {
            "ids": [f"edgepose_{device_id}"],
            "name": device_name,
            "mf": "edgepose",
            "mdl": "edgepose pose daemon",
            "sw": __version__,
        },
        "o": {"name": "edgepose", "sw": __version__},
        "avty_t": topics.status,
        "pl_avail": STATUS_ONLINE,
        "pl_not_avail": STATUS_OFFLINE,
        "qos": qos,
        "cmps": _components(device_id, topics, gesture_types, skeleton),
    }
