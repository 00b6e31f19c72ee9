"""The `detect`, `track` and `bench` command lines: JSON contracts and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


def edgepose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgepose", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=False,
    )


def check_pose(pose: dict[str, object], with_track: bool) -> None:
    assert isinstance(pose["score"], float) and 0.5 <= pose["score"] <= 1.0
    landmarks = np.array(pose["landmarks"])
    world = np.array(pose["world_landmarks"])
    assert landmarks.shape == (33, 5) and world.shape == (33, 3)
    assert ((landmarks[:, 3:] >= 0) & (landmarks[:, 3:] <= 1)).all()
    assert np.abs(world).max() < 2.0  # metres around the hips
    assert ("track_id" in pose) == with_track


def test_detect_prints_one_json_object_per_image(media: Path, tmp_path: Path) -> None:
    images = [media / "messi5.jpg", media / "basketball2.png"]
    proc = edgepose("detect", "--num-poses", "2", "--annotate", str(tmp_path), *map(str, images))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["image"] for line in lines] == [str(p) for p in images]
    assert [(line["width"], line["height"]) for line in lines] == [(548, 342), (640, 480)]
    assert [len(line["poses"]) for line in lines] == [1, 2]
    for line in lines:
        assert set(line) == {"image", "width", "height", "poses"}
        for pose in line["poses"]:
            check_pose(pose, with_track=False)
    drawn = cv2.imread(str(tmp_path / "messi5.png"))
    original = cv2.imread(str(images[0]))
    assert drawn.shape == original.shape
    assert np.abs(drawn.astype(int) - original.astype(int)).sum(axis=2).astype(bool).mean() > 0.002


# Runs `edgepose detect` in-process, then lists the loaded modules: model building is build time only.
_DETECT_THEN_LIST_MODULES = """
import contextlib, io, json, sys
from edgepose.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["detect", sys.argv[1]])
poses = len(json.loads(out.getvalue())["poses"])
print(json.dumps({"code": code, "poses": poses, "modules": sorted(sys.modules)}))
"""


def test_detect_loads_no_model_building_module(media: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _DETECT_THEN_LIST_MODULES, str(media / "messi5.jpg")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["code"] == 0 and report["poses"] == 1
    modules = report["modules"]
    assert "edgepose.pose.landmarker" in modules  # the detect path really ran
    building = [m for m in modules if m == "tools" or m.startswith("tools.") or "modelbuild" in m]
    assert building == []
    assert "ai_edge_quantizer" not in modules


def test_track_prints_one_object_per_frame_with_track_ids(one_person_clip: Path) -> None:
    proc = edgepose("track", "--model", "lite", "--max-frames", "6", str(one_person_clip))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["frame"] for line in lines] == list(range(6))
    stamps = [line["timestamp_ms"] for line in lines]
    assert stamps == sorted(set(stamps))
    for line in lines:
        assert (line["width"], line["height"]) == (480, 360)
        assert [p["track_id"] for p in line["poses"]] == [1]
        check_pose(line["poses"][0], with_track=True)


def test_bench_prints_the_figures(one_person_clip: Path) -> None:
    proc = edgepose("bench", "--model", "lite", "--threads", "1", "--max-frames", "12", str(one_person_clip))
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    for key in (
        "frames",
        "fps",
        "frame_ms_median",
        "frame_ms_p90",
        "detector_invoke_ms_median",
        "landmark_invoke_ms_median",
        "detector_runs",
        "rss_mb",
    ):
        assert key in figures
    assert figures["frames"] == 12 and figures["threads"] == 1
    assert figures["detector_runs"] == 1  # one person, tracked after the first frame
    assert figures["frame_ms_p90"] >= figures["frame_ms_median"] > 0
    assert figures["fps"] > 0 and figures["rss_mb"] > 10


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["detect", "no-such-photo.jpg"], 64, "no such file: no-such-photo.jpg"),
        (["detect", "README.md"], 66, "not an image: README.md"),
        (["detect", "--model", "huge", "README.md"], 64, "--model must be one of lite, full, heavy"),
        (["detect", "--precision", "fp16", "README.md"], 64, "--precision must be one of int8, float"),
        (["detect", "--num-poses", "zero", "README.md"], 64, "--num-poses must be a number"),
        (["track", "--track-grace-frames", "-1", "x.avi"], 64, "--track-grace-frames must be within"),
        (["track", "README.md"], 66, "not a video: README.md"),
        (["track", "missing.avi"], 64, "no such file: missing.avi"),
        (["bench", "--max-frames", "-3", "README.md"], 64, "--max-frames must be within"),
    ],
)
def test_bad_input_gives_one_line_and_an_exit_code(args: list[str], code: int, message: str) -> None:
    proc = edgepose(*args)
    assert proc.returncode == code
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"edgepose {args[0]}: ") and message in lines[0]
    assert proc.stdout == ""
