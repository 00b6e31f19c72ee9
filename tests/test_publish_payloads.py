"""Payload builders, their JSON Schemas, Home Assistant discovery, the stdout publisher, the registry.

No broker here: these check what goes on the wire, byte for byte where it matters.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import jinja2
import jsonschema
import numpy as np
import pytest

from edgepose.config import load_config_text
from edgepose.config.mqtt import MqttConfig
from edgepose.errors import ConfigError
from edgepose.publish import create_publisher, publisher_names
from edgepose.publish.homeassistant import discovery_payload
from edgepose.publish.payloads import (
    SCHEMA_NAMES,
    encode,
    event_payload,
    load_schema,
    pose_json,
    pose_payload,
    state_key,
    state_payload,
    stats_payload,
)
from edgepose.publish.stdout import StdoutPublisher
from edgepose.publish.topics import Topics
from edgepose.skeleton import SkeletonKind
from edgepose.types import (
    ActivityState,
    Event,
    EventType,
    Pose,
    PoseResult,
    Posture,
    ServiceStats,
    SourceState,
    StageTimings,
    TrackState,
)


def validate(name: str, payload: Any) -> None:
    """Raise if `payload` breaks the named schema."""
    jsonschema.Draft202012Validator(load_schema(name)).validate(payload)


def make_pose(track_id: int, seed: int, world: bool = True) -> Pose:
    rng = np.random.default_rng(seed)
    landmarks = rng.uniform(0.0, 1.0, size=(33, 5)).astype(np.float32)
    world_lm = rng.uniform(-0.8, 0.8, size=(33, 3)).astype(np.float32) if world else None
    return Pose(landmarks=landmarks, world_landmarks=world_lm, score=0.93456, track_id=track_id)


def make_result(n_people: int = 2, frame: int = 7) -> PoseResult:
    poses = tuple(make_pose(i + 1, seed=i) for i in range(n_people))
    timings = StageTimings(detector_ms=5.0, landmark_ms=9.0, total_ms=15.0, detector_ran=True)
    return PoseResult(
        timestamp_ms=frame * 33, frame_index=frame, width=640, height=480, poses=poses, timings=timings
    )


STATE = ActivityState(
    timestamp_ms=1000,
    people=2,
    tracks=(
        TrackState(track_id=3, posture=Posture.SITTING, zones=("sofa",), rep_counts={}, since_ms=400),
        TrackState(
            track_id=1, posture=Posture.STANDING, zones=(), rep_counts={"squat": 4}, pose_class="tree"
        ),
    ),
    zone_counts={"sofa": 1, "door": 0},
)

STATS = ServiceStats(
    timestamp_ms=5000,
    fps=14.8765,
    frames=300,
    dropped_frames=2,
    detector_ms=4.25,
    landmark_ms=8.5,
    accelerator="cpu",
    spool_depth=0,
    cpu_temp_c=None,
)


def test_every_schema_is_a_valid_json_schema() -> None:
    for name in SCHEMA_NAMES:
        jsonschema.Draft202012Validator.check_schema(load_schema(name))
    with pytest.raises(KeyError):
        load_schema("nope")


def test_pose_payload_rounds_and_matches_schema() -> None:
    result = make_result()
    payload = pose_payload(result, decimals=4)
    validate("pose", payload)
    assert payload["v"] == 1 and payload["frame"] == 7 and payload["timestamp_ms"] == 231
    assert [p["track_id"] for p in payload["poses"]] == [1, 2]
    first = payload["poses"][0]
    assert len(first["landmarks"]) == 33 and len(first["landmarks"][0]) == 5
    assert len(first["world_landmarks"]) == 33 and len(first["world_landmarks"][0]) == 3
    expected = np.round(result.poses[0].landmarks.astype(np.float64), 4)
    assert np.array_equal(np.array(first["landmarks"]), expected)
    # Every number in the text has at most 4 decimals: the point of rounding is a small payload.
    text = encode(payload)
    decimals = [
        len(tok.split(".")[1]) for tok in text.replace("]", ",").replace("[", ",").split(",") if "." in tok
    ]
    assert decimals and max(decimals) <= 4
    assert first["score"] == 0.935


def test_pose_payload_without_world_landmarks_and_nan() -> None:
    pose = make_pose(5, seed=3, world=False)
    landmarks = pose.landmarks.copy()
    landmarks[0, 0] = np.nan
    pose = Pose(landmarks=landmarks, world_landmarks=None, score=float("nan"), track_id=5)
    result = PoseResult(timestamp_ms=0, frame_index=0, width=10, height=10, poses=(pose,))
    payload = pose_payload(result)
    validate("pose", payload)
    assert payload["poses"][0]["world_landmarks"] is None
    assert payload["poses"][0]["landmarks"][0][0] == 0.0
    encode(payload)  # allow_nan=False: would raise on a NaN
    assert pose_payload(make_result(), world_landmarks=False)["poses"][0]["world_landmarks"] is None


def test_command_line_pose_json_is_the_payload_pose_at_six_decimals() -> None:
    # `detect`/`track` print the same pose JSON at 6 decimals (`detect` without a track id).
    pose = make_pose(3, seed=4)
    line = pose_json(pose, 6, 6, track_id=False)
    assert list(line) == ["score", "skeleton", "landmarks", "world_landmarks"]
    assert line["score"] == 0.93456
    assert line["landmarks"][2] == [round(float(v), 6) for v in pose.landmarks[2]]
    payload_pose = pose_payload(make_result(), decimals=6)["poses"][0]
    tracked = pose_json(make_result().poses[0], 6, 3)
    assert tracked == payload_pose and list(tracked) == list(payload_pose)


def test_empty_frame_is_valid() -> None:
    payload = pose_payload(make_result(n_people=0))
    validate("pose", payload)
    assert payload["poses"] == []


def test_event_payload_matches_schema() -> None:
    event = Event(
        id="0f1e2d",
        type=EventType.REP,
        timestamp_ms=1234,
        track_id=2,
        attributes={"exercise": "squat", "count": 3},
        wall_ms=1_733_150_000_123,
    )
    payload = event_payload(event)
    validate("event", payload)
    assert payload == {
        "v": 1,
        "id": "0f1e2d",
        "type": "rep",
        "timestamp_ms": 1234,
        "wall_ms": 1_733_150_000_123,
        "track_id": 2,
        "attributes": {"exercise": "squat", "count": 3},
    }
    nobody = event_payload(
        Event(id="x", type=EventType.PERSON_LEFT, timestamp_ms=1, track_id=None, wall_ms=5)
    )
    validate("event", nobody)
    with pytest.raises(jsonschema.ValidationError):
        validate("event", {**payload, "type": "teleported"})
    without_wall = {k: v for k, v in payload.items() if k != "wall_ms"}
    with pytest.raises(jsonschema.ValidationError):
        validate("event", without_wall)
    with pytest.raises(ValueError, match="wall_ms"):  # the engine's unstamped events never go out
        event_payload(Event(id="y", type=EventType.PERSON_LEFT, timestamp_ms=1, track_id=None))


def test_state_payload_sorted_and_key_ignores_time() -> None:
    payload = state_payload(STATE)
    validate("state", payload)
    assert [t["track_id"] for t in payload["tracks"]] == [1, 3]
    assert payload["occupied"] is True and payload["people"] == 2
    assert list(payload["zone_counts"]) == ["door", "sofa"]
    later = state_payload(
        ActivityState(timestamp_ms=9999, people=2, tracks=STATE.tracks, zone_counts=STATE.zone_counts)
    )
    assert state_key(payload) == state_key(later)
    changed = state_payload(ActivityState(timestamp_ms=1000, people=1, tracks=STATE.tracks[:1]))
    assert state_key(payload) != state_key(changed)


def test_stats_payload_matches_schema() -> None:
    payload = stats_payload(STATS)
    validate("stats", payload)
    assert payload["fps"] == 14.88 and payload["cpu_temp_c"] is None
    hot = stats_payload(ServiceStats(1, math.nan, 0, 0, 0.0, 0.0, "edgetpu", 3, cpu_temp_c=61.234))
    validate("stats", hot)
    assert hot["fps"] is None and hot["cpu_temp_c"] == 61.2 and hot["spool_depth"] == 3
    lost = stats_payload(
        ServiceStats(2, 0.0, 9, 0, 0.0, 0.0, "cpu", 0, source=SourceState.RECONNECTING, people=0)
    )
    validate("stats", lost)
    assert lost["source"] == "reconnecting" and lost["people"] == 0
    assert payload["source"] == "running"


def test_status_schema_is_a_plain_string() -> None:
    validate("status", "online")
    validate("status", "offline")
    with pytest.raises(jsonschema.ValidationError):
        validate("status", {"status": "online"})


def _ha_render(template: str, payload: dict[str, Any]) -> str:
    """Render a discovery value template the way Home Assistant does (`value_json`, `to_json`)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["to_json"] = json.dumps
    return env.from_string(template).render(value_json=payload, value=json.dumps(payload))


def test_ha_discovery_payload_valid_and_bound_to_status() -> None:
    config = MqttConfig(device_id="hall", topic_prefix="home/pose")
    topics = Topics.from_config(config)
    payload = discovery_payload("hall", "Hall camera", topics, gesture_types=("wave", "hands_up"))
    validate("ha_discovery", payload)
    assert topics.discovery == "homeassistant/device/hall/config"
    assert payload["avty_t"] == "home/pose/hall/status"
    assert (payload["pl_avail"], payload["pl_not_avail"]) == ("online", "offline")
    assert payload["o"]["name"] == "edgepose" and payload["dev"]["ids"] == ["edgepose_hall"]
    cmps = payload["cmps"]
    platforms = {key: c["p"] for key, c in cmps.items()}
    assert platforms["occupancy"] == "binary_sensor" and cmps["occupancy"]["dev_cla"] == "occupancy"
    assert platforms["people"] == platforms["posture"] == "sensor"
    assert {k for k, p in platforms.items() if p == "event"} == {"reps", "falls", "gestures", "actions"}
    assert cmps["fps"]["ent_cat"] == cmps["inference_ms"]["ent_cat"] == "diagnostic"
    assert cmps["gestures"]["evt_typ"] == ["wave", "hands_up"]
    assert len({c["uniq_id"] for c in cmps.values()}) == len(cmps)
    assert {c["stat_t"] for c in cmps.values()} == {topics.state, topics.event, topics.stats, topics.status}
    # A missing platform is caught by the schema.
    broken = json.loads(json.dumps(payload))
    del broken["cmps"]["people"]["p"]
    with pytest.raises(jsonschema.ValidationError):
        validate("ha_discovery", broken)


def test_ha_templates_render_our_payloads() -> None:
    topics = Topics.from_config(MqttConfig(device_id="hall"))
    cmps = discovery_payload("hall", "Hall", topics, gesture_types=("wave",))["cmps"]
    state = state_payload(STATE)
    empty = state_payload(ActivityState(timestamp_ms=1, people=0))
    assert _ha_render(cmps["occupancy"]["val_tpl"], state) == "ON"
    assert _ha_render(cmps["occupancy"]["val_tpl"], empty) == "OFF"
    assert _ha_render(cmps["people"]["val_tpl"], state) == "2"
    assert _ha_render(cmps["posture"]["val_tpl"], state) == "standing"
    assert _ha_render(cmps["posture"]["val_tpl"], empty) == "none"
    assert "none" in cmps["posture"]["ops"] and "lying" in cmps["posture"]["ops"]
    assert float(_ha_render(cmps["inference_ms"]["val_tpl"], stats_payload(STATS))) == 12.8
    assert float(_ha_render(cmps["fps"]["val_tpl"], stats_payload(STATS))) == 14.88

    rep = event_payload(
        Event("r1", EventType.REP, 10, 1, {"exercise": "squat", "count": 5}, 1_733_150_000_010)
    )
    fall = event_payload(Event("f1", EventType.FALL_DETECTED, 11, 2, {"confidence": 0.9}, 1_733_150_000_011))
    wave = event_payload(Event("g1", EventType.GESTURE, 12, 1, {"gesture": "wave"}, 1_733_150_000_012))
    rendered = json.loads(_ha_render(cmps["reps"]["val_tpl"], rep))
    assert rendered == {
        "event_type": "rep",
        "id": "r1",
        "wall_ms": 1_733_150_000_010,
        "track_id": 1,
        "attributes": {"exercise": "squat", "count": 5},
    }
    assert rendered["event_type"] in cmps["reps"]["evt_typ"]
    assert json.loads(_ha_render(cmps["falls"]["val_tpl"], fall))["event_type"] == "fall_detected"
    assert json.loads(_ha_render(cmps["gestures"]["val_tpl"], wave))["event_type"] == "wave"
    # Other event types render empty, which Home Assistant ignores without a warning.
    assert _ha_render(cmps["reps"]["val_tpl"], fall) == ""
    assert _ha_render(cmps["falls"]["val_tpl"], wave) == ""
    assert _ha_render(cmps["gestures"]["val_tpl"], rep) == ""


@pytest.mark.parametrize("skeleton", list(SkeletonKind))
def test_ha_discovery_names_the_skeleton(skeleton: SkeletonKind) -> None:
    """A diagnostic sensor shows the pose model's landmark set (e.g. upper-body mode's)."""
    topics = Topics.from_config(MqttConfig(device_id="desk"))
    payload = discovery_payload("desk", "Desk", topics, skeleton=skeleton)
    validate("ha_discovery", payload)
    sensor = payload["cmps"]["skeleton"]
    assert sensor["p"] == "sensor" and sensor["ent_cat"] == "diagnostic"
    assert sensor["stat_t"] == topics.status == payload["avty_t"]
    assert sensor["ops"] == ["blazepose_33", "blazepose_upper_25", "coco_17"]
    # The status topic carries plain `online`; the template ignores it and names the skeleton.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    assert env.from_string(sensor["val_tpl"]).render(value="online") == str(skeleton)
    assert str(skeleton) in sensor["ops"]


def test_ha_discovery_schema_checks_the_skeleton_sensor() -> None:
    topics = Topics.from_config(MqttConfig(device_id="desk"))
    payload = discovery_payload("desk", "Desk", topics, skeleton=SkeletonKind.BLAZEPOSE_UPPER_25)
    for key, bad in (("ops", ["blazepose_99"]), ("ent_cat", "config"), ("stat_t", "edgepose/desk/state")):
        broken = json.loads(json.dumps(payload))
        broken["cmps"]["skeleton"][key] = bad
        with pytest.raises(jsonschema.ValidationError):
            validate("ha_discovery", broken)


def test_upper_body_pose_payload_matches_schema() -> None:
    landmarks = np.random.default_rng(4).uniform(0.0, 1.0, size=(25, 5)).astype(np.float32)
    pose = Pose(landmarks, None, 0.99, 1, skeleton=SkeletonKind.BLAZEPOSE_UPPER_25)
    payload = pose_payload(PoseResult(timestamp_ms=0, frame_index=0, width=10, height=10, poses=(pose,)))
    validate("pose", payload)
    assert payload["poses"][0]["skeleton"] == "blazepose_upper_25"
    assert len(payload["poses"][0]["landmarks"]) == 25


def test_stdout_publisher_lines(tmp_path: Path) -> None:
    clock = [0.0]
    out = io.StringIO()
    config = MqttConfig(device_id="desk", pose_rate_hz=2.0, stats_interval_s=10.0)
    with StdoutPublisher(config, out, clock=lambda: clock[0]) as pub:
        pub.start()
        for i in range(20):  # 2 s of frames at 10 fps -> 4 pose lines at 2 Hz
            pub.publish_pose(make_result(1, frame=i))
            clock[0] += 0.1
        pub.publish_events(
            [
                Event("e1", EventType.PERSON_ENTERED, 5, 1, wall_ms=1_733_150_000_005),
                Event("e2", EventType.PERSON_LEFT, 9, 1, wall_ms=1_733_150_000_009),
            ]
        )
        pub.publish_state(STATE)
        pub.publish_state(STATE)  # unchanged: not written again
        pub.publish_stats(STATS)
        pub.publish_stats(STATS)  # within the interval: not written
        assert pub.connected and pub.spool_depth == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    for line in lines:
        assert set(line) == {"topic", "payload", "retain", "qos"}
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_topic.setdefault(line["topic"], []).append(line)
    status = by_topic["edgepose/desk/status"]
    assert [s["payload"] for s in status] == ["online", "offline"] and all(s["retain"] for s in status)
    validate("ha_discovery", by_topic["homeassistant/device/desk/config"][0]["payload"])
    poses = by_topic["edgepose/desk/pose"]
    assert len(poses) == 4 and all(p["qos"] == 0 for p in poses)
    for p in poses:
        validate("pose", p["payload"])
    events = by_topic["edgepose/desk/event"]
    assert [e["payload"]["id"] for e in events] == ["e1", "e2"] and events[0]["qos"] == 1
    assert len(by_topic["edgepose/desk/state"]) == 1 and by_topic["edgepose/desk/state"][0]["retain"]
    assert len(by_topic["edgepose/desk/stats"]) == 1
    validate("stats", by_topic["edgepose/desk/stats"][0]["payload"])


def test_registry(tmp_path: Path) -> None:
    assert publisher_names() == ("mqtt", "stdout")
    pub = create_publisher("stdout", MqttConfig(device_id="a"), tmp_path)
    assert isinstance(pub, StdoutPublisher)
    with pytest.raises(ConfigError, match="unknown publisher 'kafka'"):
        create_publisher("kafka", MqttConfig(), tmp_path)


def test_config_keys_and_errors(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("hunter2\nignored\n")
    cfg = load_config_text(
        f'[mqtt]\nhost = "broker.lan"\nport = 8883\nusername = "pose"\n'
        f'password_file = "{pw}"\ndevice_id = "gym"\n',
        "edgepose.toml",
    ).mqtt
    assert (cfg.host, cfg.port, cfg.read_password()) == ("broker.lan", 8883, "hunter2")
    assert cfg.resolved_client_id() == "edgepose-gym"
    assert Topics.from_config(cfg).event == "edgepose/gym/event"
    with pytest.raises(ConfigError, match=r"edgepose.toml:3: \[mqtt\] password_file"):
        load_config_text(
            f'[mqtt]\nusername = "u"\npassword_file = "{tmp_path / "missing"}"\n', "edgepose.toml"
        )
    with pytest.raises(ConfigError, match="device_id"):
        load_config_text('[mqtt]\ndevice_id = "a/b"\n', "edgepose.toml")
    with pytest.raises(ConfigError, match="qos_events"):
        load_config_text("[mqtt]\nqos_events = 0\n", "edgepose.toml")
    with pytest.raises(ConfigError, match="cert_file and key_file"):
        load_config_text(f'[mqtt]\ncert_file = "{pw}"\n', "edgepose.toml")
    # The file vanishing after validation is still a config error, not a crash.
    pw.unlink()
    with pytest.raises(ConfigError, match="password_file"):
        cfg.read_password()
    assert MqttConfig(device_id=None).resolved_device_id()
