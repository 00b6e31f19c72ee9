"""Actions from sequences of poses: recording windows, training, held-out accuracy on generated
motions and on motions between real people's poses, run-time hysteresis, config and event schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from edgepose.activity.action_model import load_action_model, train_actions
from edgepose.activity.actions import ActionTracker
from edgepose.activity.engine import ActivityEngine
from edgepose.cli import main
from edgepose.cli._sequence import parse_window
from edgepose.config import load_config_text
from edgepose.config.activity import ActionsConfig, ActivityConfig
from edgepose.config.mqtt import MqttConfig
from edgepose.errors import ConfigError
from edgepose.publish.homeassistant import discovery_payload
from edgepose.publish.payloads import event_payload, load_schema
from edgepose.publish.topics import Topics
from edgepose.types import Event, EventType, PoseResult
from tools.evaluation.activity_sim.actions import ACTIONS, action_clip, action_windows
from tools.evaluation.activity_sim.evaluate import track_lines
from tools.evaluation.datasets import load_class
from tools.evaluation.real_actions import CLASSES, REAL_ACTIONS, block_split, real_action_windows

WINDOW_MS = 1500


def _landmarks_file(tmp_path: Path, action: str, seeds: range) -> Path:
    """Several clips of an action one after another, as one `edgepose track` file."""
    frames: list[PoseResult] = []
    offset = 0
    for seed in seeds:
        clip = action_clip(action, seed, window_ms=3000, fps=15.0)
        frames += [
            PoseResult(r.timestamp_ms + offset, len(frames) + i, r.width, r.height, r.poses)
            for i, r in enumerate(clip)
        ]
        offset = frames[-1].timestamp_ms + 5000  # a gap: windows never span two clips
    path = tmp_path / f"{action}.jsonl"
    path.write_text(track_lines(frames), encoding="utf-8")
    return path


def test_record_windows_and_train_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = []
    for action in ("wave", "squats"):
        out = tmp_path / f"{action}.windows"
        landmarks = _landmarks_file(tmp_path, action, range(2))
        args = ["record", "--sequence", action, "--window-ms", str(WINDOW_MS), "--hop-ms", "500"]
        assert main([*args, "--landmarks", str(landmarks), str(out)]) == 0
        lines = out.read_text().splitlines()
        # 3 s clips at 15 fps, 1.5 s windows every 0.5 s: 3 or 4 windows per clip, 2 clips.
        assert 6 <= len(lines) <= 8, len(lines)
        label, window_ms, frames = parse_window(json.loads(lines[0]))
        assert (label, window_ms) == (action, WINDOW_MS)
        span = frames[-1].timestamp_ms - frames[0].timestamp_ms
        assert 0.8 * WINDOW_MS <= span < WINDOW_MS and frames[0].landmarks.shape == (33, 3)
        files.append(out)
    model_path = tmp_path / "classifier.json"
    assert main(["train", *map(str, files), "-o", str(model_path)]) == 0
    assert "squats: " in capsys.readouterr().out
    model = load_action_model(model_path)
    assert model.classes == ("squats", "wave") and model.window_ms == WINDOW_MS
    # The recorded windows are classified as what they were recorded as.
    from edgepose.activity.action_model import parts_features

    for path in files:
        for line in path.read_text().splitlines():
            label, _, frames = parse_window(json.loads(line))
            p = model.probabilities(parts_features(frames))
            assert max(p, key=lambda k: p[k]) == label


def test_train_refuses_mixed_window_lengths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    landmarks = _landmarks_file(tmp_path, "wave", range(1))
    for label, ms in (("a", 1000), ("b", 1500)):
        assert (
            main(
                [
                    "record",
                    "--sequence",
                    label,
                    "--window-ms",
                    str(ms),
                    "--landmarks",
                    str(landmarks),
                    str(tmp_path / label),
                ]
            )
            == 0
        )
    assert main(["train", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "m.json")]) == 64
    assert "different lengths" in capsys.readouterr().err


def test_held_out_seeds_are_separated() -> None:
    # Measured with these sizes: 47/48 held-out windows right (the miss: a 1.5 s window on the top
    # of a 3 s squat, where almost nothing moves, taken for standing still); half the training
    # clips gave 45/48. The bound is that 45: more than three misses in 48 is a regression.
    train = action_windows(range(6), per_seed=2, window_ms=WINDOW_MS, fps=15.0)
    test = action_windows(range(10_000, 10_004), per_seed=2, window_ms=WINDOW_MS, fps=15.0)
    model = train_actions(train, WINDOW_MS)
    right = sum(1 for label, f in test if max((p := model.probabilities(f)), key=lambda k: p[k]) == label)
    assert len(test) == 4 * 2 * len(ACTIONS)
    assert right >= len(test) - 3, f"{right}/{len(test)}"


def test_real_people_in_the_test_block_are_recognised() -> None:
    """Generated 2D clips + clips between the training block's real poses; tested on the test block.

    `python scripts/eval_actions.py --real --train-seeds 2 --real-train 10 --real-test 10` at these
    sizes measured 54/60 (misses: a wave and a walk taken for standing still, 2 more walks, a sit
    taken for squats, a still stand for walking). The bound, 52/60, allows two more misses.
    """
    samples = {c: load_class(c) for c in CLASSES}
    train_split, test_split = block_split(samples)
    for label in CLASSES:  # no test person's pose is in the training block
        assert train_split.ranges[label][1] < test_split.ranges[label][0]
    generated = action_windows(range(2), per_seed=4, window_ms=2000, fps=30.0, world=False)
    train = generated + real_action_windows(samples, train_split, 10, seed=1)
    test = real_action_windows(samples, test_split, 10, seed=2)
    model = train_actions(train, 2000)
    right = sum(1 for label, f in test if max((p := model.probabilities(f)), key=lambda k: p[k]) == label)
    assert len(test) == 10 * len(REAL_ACTIONS)
    assert right >= 52, f"{right}/{len(test)}"


def _tracker(**config: object) -> ActionTracker:
    model = train_actions(action_windows(range(1), per_seed=1, window_ms=WINDOW_MS, fps=15.0), WINDOW_MS)
    return ActionTracker(model, ActionsConfig.model_validate(config))


def test_hysteresis_does_not_flap() -> None:
    tracker = _tracker(enter_confidence=0.8, exit_confidence=0.5, min_duration_ms=600, exit_ms=800)
    events: list[tuple[int, str]] = []

    def feed(t: int, wave: float) -> None:
        events.extend(
            (t, str(e.type)) for e in tracker.decide({"wave": wave, "squats": min(0.5, 1.0 - wave)}, t)
        )

    t = 0
    for i in range(10):  # hovering around the enter threshold, never 600 ms above it: no start
        feed(t, 0.85 if i % 2 == 0 else 0.75)
        t += 200
    assert events == []
    for _ in range(4):  # above for 600 ms: one start
        feed(t, 0.9)
        t += 200
    assert events == [(t - 200, "action_started")]
    for i in range(20):  # between the thresholds, with short dips below exit: still running
        feed(t, 0.45 if i % 3 == 0 else 0.6)
        t += 200
    assert len(events) == 1 and tracker.current == "wave"
    for _ in range(5):  # below exit for 800 ms: one end, timed at the first frame below
        feed(t, 0.2)
        t += 200
    assert [e for _, e in events] == ["action_started", "action_ended"]
    assert events[1][0] == t - 200 and tracker.current is None


def test_engine_emits_started_then_ended_when_the_person_leaves() -> None:
    model = train_actions(action_windows(range(2), per_seed=2, window_ms=WINDOW_MS, fps=15.0), WINDOW_MS)
    config = ActivityConfig.model_validate({"actions": {"min_duration_ms": 400}})
    engine = ActivityEngine(config, id_prefix="t", action_model=model)
    clip = action_clip("jumping_jack", 77_777, window_ms=5000, fps=15.0)
    events: list[Event] = []
    for r in clip:
        events += engine.update(r)[0]
    last = clip[-1].timestamp_ms
    for k in range(1, 40):  # nobody any more: the person leaves after leave_ms
        events += engine.update(PoseResult(last + k * 100, len(clip) + k, 640, 480, ()))[0]
    actions = [e for e in events if e.type in (EventType.ACTION_STARTED, EventType.ACTION_ENDED)]
    assert [(str(e.type), e.attributes["action"]) for e in actions] == [
        ("action_started", "jumping_jack"),
        ("action_ended", "jumping_jack"),
    ]
    assert float(actions[0].attributes["confidence"]) >= 0.8
    assert int(actions[1].attributes["duration_ms"]) >= 2000
    for e in actions:
        jsonschema.Draft202012Validator(load_schema("event")).validate(event_payload(e.with_wall_ms(1)))


def test_config_validation(tmp_path: Path) -> None:
    assert ActivityConfig.model_validate({}).actions.path is None
    with pytest.raises(ValidationError, match="exit_confidence must not exceed"):
        ActionsConfig.model_validate({"enter_confidence": 0.5, "exit_confidence": 0.7})
    with pytest.raises(ConfigError, match=r"edgepose\.toml:2"):
        load_config_text("[activity.actions]\nwindow = 3\n")
    with pytest.raises(ConfigError, match=r"edgepose\.toml:2"):
        load_config_text('[activity.actions]\nenter_confidence = "high"\n')
    broken = tmp_path / "actions.json"
    broken.write_text('{"format": "edgepose-action-classifier", "v": 1, "channels": 36}')
    config = ActivityConfig.model_validate({"actions": {"path": str(broken)}})
    with pytest.raises(ConfigError, match=r"activity\.actions\.path"):
        ActivityEngine(config)


def test_action_events_in_schema_and_home_assistant() -> None:
    schema = load_schema("event")
    assert {"action_started", "action_ended"} <= set(schema["properties"]["type"]["enum"])
    cmps = discovery_payload("hall", "Hall", Topics.from_config(MqttConfig(device_id="hall")))["cmps"]
    assert cmps["actions"]["evt_typ"] == ["action_started", "action_ended"]
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["to_json"] = json.dumps
    template = env.from_string(cmps["actions"]["val_tpl"])
    ended = event_payload(
        Event("a1", EventType.ACTION_ENDED, 5, 2, {"action": "wave", "duration_ms": 900}).with_wall_ms(7)
    )
    rendered = json.loads(template.render(value_json=ended))
    assert rendered["event_type"] == "action_ended" and rendered["attributes"]["action"] == "wave"
    assert rendered["wall_ms"] == 7
    rep = event_payload(Event("r1", EventType.REP, 5, 2, {"exercise": "squat", "count": 1}).with_wall_ms(7))
    assert template.render(value_json=rep) == ""
