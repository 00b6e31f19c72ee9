"""The `replay:` source: recorded `edgepose track` landmarks played as a camera, with no models.

The recording is the committed example, config/replay-demo.jsonl.gz (vtest.avi, 10 fps,
300 frames, made with `edgepose track`).
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from edgepose.activity.engine import ActivityEngine
from edgepose.cli._landmarks import read_landmarks
from edgepose.config import Config
from edgepose.config.model import ModelConfig
from edgepose.config.source import SourceConfig
from edgepose.publish.payloads import load_schema
from edgepose.publish.stdout import StdoutPublisher
from edgepose.service import Pipeline, Service
from edgepose.sources import END, FrameSource, SourceError, create_source, make_feed, parse_source_uri
from edgepose.types import Frame
from tests.plugins.broker import free_port
from tests.plugins.daemon import run_edgepose

DEMO_FRAMES = 300
DEMO_FRAME_MS = 100  # vtest.avi is 10 fps


@pytest.fixture(scope="module")
def demo(repo_root: Path) -> Path:
    return repo_root / "config" / "replay-demo.jsonl.gz"


def demo_lines(demo: Path) -> list[str]:
    with gzip.open(demo, "rt", encoding="utf-8") as text:
        return [line for line in text if line.strip()]


def source_for(path: Path, **values: object) -> FrameSource:
    config = SourceConfig.model_validate({"uri": f"replay:{path}", **values})
    return create_source(parse_source_uri(config.uri), config)


def read_all(source: FrameSource, limit: int = 10_000) -> list[Frame]:
    frames: list[Frame] = []
    with source:
        while len(frames) < limit:
            frame = source.read()
            if frame is None:
                break
            frames.append(frame)
    return frames


def test_replay_yields_the_recorded_poses_on_a_blank_frame(demo: Path) -> None:
    recorded = list(read_landmarks(demo))
    frames = read_all(source_for(demo))
    assert len(frames) == len(recorded) == DEMO_FRAMES
    assert [f.timestamp_ms for f in frames] == [r.timestamp_ms for r in recorded]
    assert [f.index for f in frames] == list(range(DEMO_FRAMES))
    busy = max(range(DEMO_FRAMES), key=lambda i: len(recorded[i].poses))
    got, want = frames[busy].recorded, recorded[busy]
    assert got is not None and len(got.poses) == len(want.poses) >= 2
    for a, b in zip(got.poses, want.poses, strict=True):
        assert a.track_id == b.track_id
        np.testing.assert_array_equal(a.landmarks, b.landmarks)
    assert frames[0].image.shape == (want.height, want.width, 3) == (576, 768, 3)
    assert not frames[0].image.any() and not frames[0].image.flags.writeable
    assert frames[0].image is frames[-1].image  # one shared canvas, not an image per frame


def test_loop_continues_the_clock_across_the_seam(demo: Path) -> None:
    frames = read_all(source_for(demo, loop=True), limit=2 * DEMO_FRAMES + 5)
    assert len(frames) == 2 * DEMO_FRAMES + 5
    stamps = [f.timestamp_ms for f in frames]
    gaps = {b - a for a, b in itertools.pairwise(stamps)}
    assert gaps == {DEMO_FRAME_MS}  # the seam too: the recording's own frame interval
    assert [f.index for f in frames] == list(range(len(frames)))
    first, second = frames[0].recorded, frames[DEMO_FRAMES].recorded
    assert first is not None and second is not None
    assert second.timestamp_ms == DEMO_FRAMES * DEMO_FRAME_MS


def test_plain_jsonl_and_bad_lines(demo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lines = demo_lines(demo)[:20]
    path = tmp_path / "poses.jsonl"
    path.write_text("".join(lines[:5]) + '{"timestamp_ms": 1}\n\nnot json\n' + "".join(lines[5:]))
    with caplog.at_level(logging.WARNING, logger="edgepose.sources.replay"):
        frames = read_all(source_for(path))
    assert len(frames) == 20  # the two malformed lines are skipped, nothing else is lost
    assert f"{path}:6: skipping a malformed line" in caplog.text
    assert f"{path}:8: skipping a malformed line" in caplog.text


def test_missing_empty_and_foreign_files_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        source_for(tmp_path / "nope.jsonl").open()
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(SourceError, match="no recorded frames"):
        source_for(empty).open()
    video = tmp_path / "clip.jsonl"
    video.write_bytes(b"RIFF\x00\x00AVI LIST")
    with pytest.raises(SourceError, match=r"clip.jsonl:1: not `edgepose track` output"):
        source_for(video).open()


def test_feed_paces_a_replay_at_its_recorded_rate(demo: Path, tmp_path: Path) -> None:
    path = tmp_path / "two_seconds.jsonl"
    path.write_text("".join(demo_lines(demo)[:21]))  # 0 .. 2000 ms
    feed = make_feed(SourceConfig(uri=f"replay:{path}"))
    started = time.monotonic()
    feed.start()
    got = []
    try:
        while (item := feed.get(5.0)) is not END:
            assert isinstance(item, Frame)
            got.append(item)
    finally:
        feed.close()
    # Only a lower bound: a busy machine can make it slower, never faster than the recording.
    assert time.monotonic() - started >= 1.9
    assert len(got) == 21 and all(f.recorded is not None for f in got)


def _no_models(config: ModelConfig) -> Pipeline:
    raise AssertionError("a replay must not load the pose models")


def test_service_runs_a_replay_without_models(demo: Path, tmp_path: Path) -> None:
    config = Config.model_validate(
        {
            "source": {"uri": f"replay:{demo}", "realtime": False},
            "service": {"publish": "stdout", "state_directory": str(tmp_path)},
            "mqtt": {"device_id": "replay1", "pose_rate_hz": 0.0},
        }
    )
    out = io.StringIO()
    before_ms = time.time_ns() // 1_000_000
    service = Service(
        config,
        publisher_factory=lambda c: StdoutPublisher(c.mqtt, out),
        pipeline_factory=_no_models,
    )
    assert service.run() == 0
    after_ms = time.time_ns() // 1_000_000
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    events = [line["payload"] for line in lines if line["topic"] == "edgepose/replay1/event"]
    # The same events as the engine gives for the recording offline.
    offline = []
    engine = ActivityEngine(config.activity, id_prefix="x")
    for result in read_landmarks(demo):
        offline += engine.update(result)[0]
    assert [(e["type"], e["timestamp_ms"]) for e in events] == [
        (str(e.type), e.timestamp_ms) for e in offline
    ]
    assert len(events) >= 5
    validator = jsonschema.Draft202012Validator(load_schema("event"))
    for n, event in enumerate(events, start=1):
        validator.validate(event)
        assert before_ms <= event["wall_ms"] <= after_ms
        assert event["id"].startswith("replay1-") and event["id"].endswith(f"-{n}")
    stats = [line["payload"] for line in lines if line["topic"] == "edgepose/replay1/stats"]
    assert stats and stats[0]["accelerator"] == "none"


def test_check_of_a_replay_loads_no_model(demo: Path, tmp_path: Path) -> None:
    proc = run_edgepose(
        "check", "--source", f"replay:{demo}", "--only", "accelerator", "--only", "models", "--only", "source"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()[1:]  # the config line comes first
    assert [line.split()[1] for line in lines] == ["accelerator", "models", "source"]
    assert lines[0].endswith("not used: the replay source carries recorded poses")
    assert lines[1].endswith("not used: the replay source carries recorded poses")
    assert "768x576" in lines[2]
    missing = run_edgepose("check", "--source", f"replay:{tmp_path / 'none.jsonl'}", "--only", "source")
    assert missing.returncode == 1 and "no such file" in missing.stdout


def test_preview_page_draws_the_replayed_skeletons(demo: Path, tmp_path: Path) -> None:
    import urllib.request

    import cv2

    port = free_port()
    config = tmp_path / "preview.toml"
    config.write_text(
        f'[source]\nuri = "replay:{demo}"\nloop = true\n\n[service]\npublish = "stdout"\n'
        f'state_directory = "{tmp_path}"\n\n[http]\nenabled = true\nport = {port}\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgepose", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "daemon.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 60
        drawn = 0.0
        while time.monotonic() < deadline and drawn == 0.0:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/snapshot.jpg", timeout=5) as response:
                    image = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
            except OSError:
                continue
            assert image.shape == (576, 768, 3)  # the recorded frame size
            drawn = float((image.max(axis=2) > 100).mean())  # skeleton pixels on the black canvas
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert 0.0 < drawn < 0.05, (tmp_path / "daemon.log").read_text()[-2000:]
