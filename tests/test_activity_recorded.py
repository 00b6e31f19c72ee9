"""Activity on pipeline output of real footage (tests/data/activity), and the activity CLIs.

The recorded streams are `edgepose track` output of vtest.avi (pedestrians walking in and out)
and pan_zidane.avi (two men standing, camera panning); see tests/data/activity/README.md.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from edgepose.activity.engine import ActivityEngine
from edgepose.cli import main
from edgepose.config.activity import ActivityConfig, ZoneConfig
from edgepose.types import EventType, PoseResult, Posture
from tools.evaluation.activity_sim import scenarios as sim
from tools.evaluation.activity_sim.evaluate import frames_for, track_lines

LEFT_HALF = ZoneConfig(name="left_half", polygon=((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)))


def _replay(stream: list[PoseResult], config: ActivityConfig) -> tuple[list, list]:
    engine = ActivityEngine(config, id_prefix="rec")
    events, states = [], []
    for result in stream:
        new, state = engine.update(result)
        events += new
        states.append(state)
    return events, states


def test_vtest_pedestrians_enter_leave_and_stand(vtest_stream: list[PoseResult]) -> None:
    events, states = _replay(vtest_stream, ActivityConfig(zones=(LEFT_HALF,)))
    kinds = Counter(e.type for e in events)
    entered = {e.track_id for e in events if e.type is EventType.PERSON_ENTERED}
    left = {e.track_id for e in events if e.type is EventType.PERSON_LEFT}
    assert len(entered) >= 5  # several pedestrians pass through
    assert left <= entered
    assert len(entered - left) == states[-1].people  # whoever did not leave is still there
    # Pedestrians walk upright: nothing else may be claimed.
    for kind in (EventType.FALL_DETECTED, EventType.REP, EventType.GESTURE, EventType.INACTIVITY):
        assert kinds[kind] == 0, kind
    postures = Counter(t.posture for s in states for t in s.tracks)
    assert postures[Posture.STANDING] >= 0.8 * sum(postures.values())
    assert not postures[Posture.LYING] and not postures[Posture.SITTING]
    # Zone events come in entered/left pairs per track, and counts match the tracks' zones.
    for track in entered:
        zone = [
            e.type
            for e in events
            if e.track_id == track and e.type in (EventType.ZONE_ENTERED, EventType.ZONE_LEFT)
        ]
        assert all(a is not b for a, b in itertools.pairwise(zone))
    assert kinds[EventType.ZONE_ENTERED] >= 2
    for s in states:
        assert s.zone_counts["left_half"] == sum(1 for t in s.tracks if "left_half" in t.zones)


def test_pan_zidane_two_men_no_false_events(pan_zidane_stream: list[PoseResult]) -> None:
    events, states = _replay(pan_zidane_stream, ActivityConfig())
    kinds = Counter(e.type for e in events)
    assert kinds[EventType.PERSON_ENTERED] >= 2
    assert max(s.people for s in states) == 2
    assert kinds[EventType.FALL_DETECTED] == 0
    assert kinds[EventType.REP] == 0


def test_activity_cli_replays_track_output(
    activity_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "edgepose.toml"
    config.write_text(
        "[activity]\n[[activity.zones]]\n"
        'name = "door"\npolygon = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]\n'
    )
    code = main(
        [
            "activity",
            "--landmarks",
            str(activity_data / "vtest.track.jsonl.gz"),
            "--config",
            str(config),
            "--state",
        ]
    )
    assert code == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    events, state = lines[:-1], lines[-1]["state"]
    assert {e["type"] for e in events} >= {"person_entered", "person_left", "zone_entered", "zone_left"}
    assert all(e["v"] == 1 and e["id"] and "track_id" in e for e in events)
    assert all(e["attributes"]["zone"] == "door" for e in events if e["type"].startswith("zone"))
    assert "door" in state["zone_counts"]


def test_activity_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["activity", "--landmarks", str(tmp_path / "missing.jsonl")]) == 64
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"frame": 0}\n')
    assert main(["activity", "--landmarks", str(bad)]) == 66
    assert "bad.jsonl:1" in capsys.readouterr().err
    config = tmp_path / "c.toml"
    config.write_text("[activity.posture]\nhold_msec = 3\n")
    assert main(["activity", "--landmarks", str(bad), "--config", str(config)]) == 78


def test_record_train_and_classify_custom_poses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Landmark streams in the track format: squats held at the bottom, and standing.
    down = tmp_path / "down.jsonl"
    down.write_text(
        track_lines(
            frames_for(sim.Scenario("down", 3.0, lambda t: sim.squat_pose(70.0 + 10 * (t % 1))), seed=1)
        )
    )
    up = tmp_path / "up.jsonl"
    up.write_text(track_lines(frames_for(sim.Scenario("up", 3.0, sim.stand_still()), seed=2)))
    samples_down, samples_up = tmp_path / "down.samples", tmp_path / "up.samples"
    assert (
        main(["record", "--label", "down", "--landmarks", str(down), "--every", "3", str(samples_down)]) == 0
    )
    assert main(["record", "--label", "up", "--landmarks", str(up), "--every", "3", str(samples_up)]) == 0
    first = json.loads(samples_down.read_text().splitlines()[0])
    assert first["label"] == "down" and len(first["landmarks"]) == 33
    classifier = tmp_path / "classifier.json"
    assert main(["train", str(samples_down), str(samples_up), "-o", str(classifier)]) == 0
    assert "down: 30 samples" in capsys.readouterr().out

    config = ActivityConfig.model_validate(
        {"classifier": {"path": str(classifier), "rep_class": "down", "rep_name": "custom_squat"}}
    )
    engine = ActivityEngine(config)
    events = []
    for result in frames_for(sim.squats(4, 70.0, 2.5, yaw=30.0), seed=9):
        events += engine.update(result)[0]
    classes = [e.attributes["pose_class"] for e in events if e.type is EventType.POSE_CLASS_CHANGED]
    custom = [
        e.attributes["count"]
        for e in events
        if e.type is EventType.REP and e.attributes["exercise"] == "custom_squat"
    ]
    assert custom == [1, 2, 3, 4]
    assert classes[:3] == ["up", "down", "up"]
    assert engine.state().tracks[0].rep_counts["custom_squat"] == 4


def test_train_rejects_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "x.samples"
    bad.write_text('{"label": "a", "landmarks": [[1, 2]]}\n')
    assert main(["train", str(bad), "-o", str(tmp_path / "c.json")]) == 66
    assert main(["train", str(tmp_path / "none"), "-o", str(tmp_path / "c.json")]) == 64


def test_broken_classifier_file_is_a_config_error(tmp_path: Path) -> None:
    from edgepose.errors import ConfigError

    path = tmp_path / "classifier.json"
    path.write_text("{}")
    with pytest.raises(ConfigError):
        ActivityEngine(ActivityConfig.model_validate({"classifier": {"path": str(path)}}))


@pytest.mark.slow
def test_record_from_a_real_photo_through_the_pipeline(media: Path, tmp_path: Path) -> None:
    out = tmp_path / "kick.samples"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgepose",
            "record",
            "--label",
            "kick",
            "--source",
            str(media / "messi5.jpg"),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    samples = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(samples) == 1
    rows = [r for r in samples[0]["landmarks"] if r is not None]
    assert len(rows) >= 20  # most of the body of one player


def test_postures_on_real_photos(activity_data: Path) -> None:
    from edgepose.activity.features import compute_features
    from edgepose.activity.posture import classify_posture
    from edgepose.cli._landmarks import read_landmarks

    cfg = ActivityConfig().posture

    def postures(name: str) -> list[Posture]:
        (frame,) = read_landmarks(activity_data / f"{name}.detect.jsonl")
        return [classify_posture(compute_features(p, 0, frame.width, frame.height), cfg) for p in frame.poses]

    assert postures("bus") == [Posture.STANDING]  # a man standing in front of the bus
    # A player kicking on one leg is none of the postures: not a squat, not sitting, not lying.
    assert postures("messi5") == [Posture.UNKNOWN]


def test_activity_cli_reads_coco17_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # MoveNet-style output: 17 keypoints, no world landmarks; a squat seen at an angle.
    lines = []
    for line in track_lines(frames_for(sim.squats(3, 80.0, 2.0, yaw=60.0), seed=3)).splitlines():
        frame = json.loads(line)
        for pose in frame["poses"]:
            pose["landmarks"] = [
                pose["landmarks"][i] for i in (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
            ]
            pose["world_landmarks"] = None
        lines.append(json.dumps(frame))
    path = tmp_path / "coco.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert main(["activity", "--landmarks", str(path)]) == 0
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [e["attributes"]["count"] for e in events if e["type"] == "rep"] == [1, 2, 3]
