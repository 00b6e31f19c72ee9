"""The aarch64 check: its comparison of CLI outputs, the runtime line of `edgepose check`, and the
end-to-end run of scripts/check_aarch64.sh (edgepose installed for aarch64 and run under qemu-user)."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from edgepose.checks.runtime import (
    LITERT,
    TFLITE_RUNTIME,
    RuntimeFacts,
    expected_distribution,
    runtime_verdict,
)

REPO = Path(__file__).resolve().parent.parent


def _load_script(name: str) -> ModuleType:
    path = REPO / "scripts" / "aarch64" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"aarch64_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


cmp = _load_script("compare")


def _pose(center_x: float, center_y: float, track_id: int | None = None, seed: int = 0) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    landmarks = np.zeros((33, 5))
    landmarks[:, 0] = center_x + rng.uniform(-0.05, 0.05, 33)
    landmarks[:, 1] = center_y + rng.uniform(-0.2, 0.2, 33)
    landmarks[:, 3:] = 0.9
    pose: dict[str, object] = {
        "score": 0.95,
        "landmarks": landmarks.tolist(),
        "world_landmarks": rng.uniform(-0.5, 0.5, (33, 3)).tolist(),
    }
    if track_id is not None:
        pose["track_id"] = track_id
    return pose


def _image_line(poses: list[dict[str, object]], name: str = "zidane.jpg") -> str:
    return json.dumps({"image": f"/somewhere/{name}", "width": 1280, "height": 720, "poses": poses})


def _shifted(pose: dict[str, object], landmark: int, dx_px: float, dy_px: float) -> dict[str, object]:
    moved = json.loads(json.dumps(pose))
    moved["landmarks"][landmark][0] += dx_px / 1280
    moved["landmarks"][landmark][1] += dy_px / 720
    return moved


def test_identical_runs_have_zero_difference() -> None:
    line = _image_line([_pose(0.3, 0.5, seed=1), _pose(0.7, 0.5, seed=2)])
    result = cmp.compare(cmp.parse_records([line]), cmp.parse_records([line]))
    assert result.poses == 2
    assert result.worst.landmark_px == 0.0
    assert result.passed(cmp.Tolerance(px=0.0))


def test_difference_is_measured_in_pixels_of_the_image() -> None:
    a = _pose(0.3, 0.5, seed=1)
    b = _shifted(a, landmark=15, dx_px=3.0, dy_px=4.0)
    result = cmp.compare(cmp.parse_records([_image_line([a])]), cmp.parse_records([_image_line([b])]))
    assert result.worst.landmark_px == pytest.approx(5.0, abs=1e-6)
    assert result.worst.landmark == 15
    assert result.worst.record == "zidane.jpg"
    assert not result.passed(cmp.Tolerance(px=4.9))
    assert result.passed(cmp.Tolerance(px=5.1))
    height_px = (np.max(a["landmarks"], axis=0)[1] - np.min(a["landmarks"], axis=0)[1]) * 720
    mean_pct = 100.0 * (5.0 / 33) / height_px  # one of 33 visible landmarks moved by 5 px
    assert result.mean_height_pct == pytest.approx(mean_pct, rel=1e-6)
    assert result.max_height_pct == pytest.approx(100.0 * 5.0 / height_px, rel=1e-6)
    assert not result.passed(cmp.Tolerance(max_height_pct=0.99 * 100.0 * 5.0 / height_px))
    assert result.passed(cmp.Tolerance(mean_height_pct=1.01 * mean_pct))
    assert not result.passed(cmp.Tolerance(mean_height_pct=0.99 * mean_pct))


def test_landmarks_marked_not_visible_are_reported_not_judged() -> None:
    a = _pose(0.3, 0.5, seed=1)
    a["landmarks"][28][3] = 0.1  # e.g. an ankle below the picture's edge
    b = _shifted(_shifted(a, landmark=28, dx_px=40.0, dy_px=0.0), landmark=0, dx_px=0.3, dy_px=0.0)
    result = cmp.compare(cmp.parse_records([_image_line([a])]), cmp.parse_records([_image_line([b])]))
    assert result.worst.landmark_px == pytest.approx(0.3, abs=1e-6)
    assert result.worst.landmark == 0
    assert result.all_landmarks_px == pytest.approx(40.0, abs=1e-6)
    assert result.passed(cmp.Tolerance(px=0.5))


def test_poses_are_paired_by_position_not_by_order() -> None:
    left, right = _pose(0.2, 0.5, seed=1), _pose(0.8, 0.5, seed=2)
    reference = cmp.parse_records([_image_line([left, right])])
    other = cmp.parse_records([_image_line([right, _shifted(left, 0, 0.5, 0.0)])])
    result = cmp.compare(reference, other)
    assert result.worst.landmark_px == pytest.approx(0.5, abs=1e-6)
    assert result.worst.pose == 0


def test_different_people_fail_whatever_the_tolerance() -> None:
    one = cmp.parse_records([_image_line([_pose(0.2, 0.5)])])
    two = cmp.parse_records([_image_line([_pose(0.2, 0.5), _pose(0.8, 0.5, seed=3)])])
    result = cmp.compare(one, two)
    assert result.mismatches
    assert not result.passed(cmp.Tolerance(px=1e9))
    assert "different people" in cmp.describe("detect", result, cmp.Tolerance(px=1.0))


def test_track_ids_must_agree() -> None:
    frame = {"frame": 0, "timestamp_ms": 0, "width": 1280, "height": 720}
    a = json.dumps({**frame, "poses": [_pose(0.5, 0.5, track_id=1)]})
    b = json.dumps({**frame, "poses": [_pose(0.5, 0.5, track_id=2)]})
    result = cmp.compare(cmp.parse_records([a]), cmp.parse_records([b]))
    assert any("track id" in m for m in result.mismatches)


def test_missing_frames_fail() -> None:
    frames = [
        json.dumps({"frame": i, "timestamp_ms": i * 33, "width": 640, "height": 480, "poses": []})
        for i in range(3)
    ]
    result = cmp.compare(cmp.parse_records(frames), cmp.parse_records(frames[:2]))
    assert not result.passed(cmp.Tolerance(px=1.0))


def test_pairing_beyond_brute_force_is_still_one_to_one() -> None:
    poses = [_pose(0.1 + 0.1 * i, 0.5, seed=i) for i in range(8)]
    pairs = cmp.pair_poses(
        [cmp._pose_from_json(p) for p in poses], [cmp._pose_from_json(p) for p in reversed(poses)], 1280, 720
    )
    assert pairs == [(i, 7 - i) for i in range(8)]


def test_main_writes_figures_and_sets_the_exit_code(tmp_path: Path) -> None:
    a = _pose(0.3, 0.5, seed=1)
    ref, oth, figures = tmp_path / "x86.jsonl", tmp_path / "arm.jsonl", tmp_path / "cmp.json"
    ref.write_text(_image_line([a]) + "\n")
    oth.write_text(_image_line([_shifted(a, 3, 2.0, 0.0)]) + "\n")
    assert cmp.main([str(ref), str(oth), "--tolerance-px", "1", "--json", str(figures)]) == 1
    assert json.loads(figures.read_text())["max_landmark_px"] == pytest.approx(2.0, abs=1e-6)
    assert (
        cmp.main([str(ref), str(oth), "--tolerance-px", "2.5", "--json", str(figures), "--label", "b"]) == 0
    )
    rows = [json.loads(line) for line in figures.read_text().splitlines()]
    assert [r["passed"] for r in rows] == [False, True]
    assert "2.0000 px" in cmp.summarize(rows) and "1 failed" in cmp.summarize(rows)
    ref.write_text("")
    assert cmp.main([str(ref), str(ref), "--tolerance-px", "1"]) == 1
    with pytest.raises(SystemExit):
        cmp.main([str(ref), str(oth)])  # no tolerance given


def _frames(path: Path) -> list[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def test_clip_is_lossless_and_the_perturbed_one_differs_by_one_level(media: Path, tmp_path: Path) -> None:
    make_clip = _load_script("make_clip")
    source = media / "pan_zidane.avi"
    assert make_clip.make_clip(source, tmp_path / "clip.avi", 3) == 3
    assert make_clip.make_clip(source, tmp_path / "pert.avi", 3, perturb_fraction=0.01) == 3
    original, clip, perturbed = (
        _frames(source)[:3],
        _frames(tmp_path / "clip.avi"),
        _frames(tmp_path / "pert.avi"),
    )
    assert len(clip) == len(perturbed) == 3
    for a, b, c in zip(original, clip, perturbed, strict=True):
        assert np.array_equal(a, b)
        delta = c.astype(np.int16) - a.astype(np.int16)
        assert set(np.unique(delta)) <= {0, 1}
        changed = float(np.any(delta != 0, axis=2).mean())
        assert 0.005 < changed < 0.015


# ---- the runtime line of `edgepose check` -------------------------------------------------------


def _facts(
    distribution: str, machine: str, numpy_version: str = "2.4.6", forced: bool = False
) -> RuntimeFacts:
    return RuntimeFacts(distribution, "9.9", machine, "3.11.2", numpy_version, forced)


@pytest.mark.parametrize(
    ("machine", "expected"),
    [("x86_64", LITERT), ("aarch64", LITERT), ("armv7l", TFLITE_RUNTIME), ("riscv64", None)],
)
def test_expected_runtime_per_machine_follows_pyproject(machine: str, expected: str | None) -> None:
    assert expected_distribution(machine) == expected


def test_expected_runtimes_match_the_dependency_markers() -> None:
    import tomllib

    from packaging.markers import Marker

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for machine in ("x86_64", "aarch64", "armv7l"):
        env = {"platform_machine": machine}
        chosen = {
            name
            for dep in deps
            if ";" in dep
            for name in (LITERT, TFLITE_RUNTIME)
            if dep.startswith(name) and Marker(dep.split(";", 1)[1]).evaluate(env)
        }
        assert chosen == {expected_distribution(machine)}, machine
    armv7l_numpy = [
        d
        for d in deps
        if d.startswith("numpy<2") and Marker(d.split(";", 1)[1]).evaluate({"platform_machine": "armv7l"})
    ]
    assert armv7l_numpy, "tflite-runtime 2.14 needs numpy<2 on armv7l"


def test_runtime_verdicts() -> None:
    assert runtime_verdict(_facts(LITERT, "aarch64")).level == "ok"
    assert "ai-edge-litert 9.9 on aarch64" in runtime_verdict(_facts(LITERT, "aarch64")).detail
    assert runtime_verdict(_facts(TFLITE_RUNTIME, "armv7l", "1.26.4")).level == "ok"
    numpy2 = runtime_verdict(_facts(TFLITE_RUNTIME, "armv7l", "2.4.6"))
    assert numpy2.level == "FAIL" and "numpy<2" in numpy2.detail
    assert runtime_verdict(_facts(TFLITE_RUNTIME, "aarch64", "1.26.4")).level == "warn"
    assert runtime_verdict(_facts(TFLITE_RUNTIME, "aarch64", "1.26.4", forced=True)).level == "ok"
    assert runtime_verdict(_facts(LITERT, "riscv64")).level == "warn"


def test_check_prints_the_runtime_in_use() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "edgepose", "check", "--only", "runtime"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    line = next(ln for ln in out.stdout.splitlines() if re.search(r"\bruntime\b", ln))
    assert line.startswith("ok")
    assert f"on {platform.machine()}" in line
    assert re.search(r"(ai-edge-litert|tflite-runtime) \d+\.\d+", line)


# ---- end to end under qemu-user -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.skipif(platform.machine() != "x86_64", reason="compares an emulated aarch64 run with x86_64")
def test_edgepose_on_aarch64_gives_the_same_poses_as_on_x86(media: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "check_aarch64.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=1450,
        check=False,
    )
    if out.returncode == 77:
        pytest.skip(out.stderr.strip().splitlines()[-1])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    assert re.search(r"guest: ok +runtime +ai-edge-litert \S+ on aarch64", out.stderr), out.stderr
    found = re.findall(
        r"^(\w+): (detect|track) [^:]*: (ok|FAIL): (\d+) records, (\d+) poses", out.stdout, re.M
    )
    kinds = {(profile, kind) for profile, kind, verdict, _, _ in found if verdict == "ok"}
    assert {("pios", "detect"), ("pios", "track"), ("pip", "detect")} <= kinds, out.stdout
    assert all(int(poses) > 0 for *_, poses in found), out.stdout
    assert re.search(r"tflite-runtime with numpy 2: guest: FAIL +runtime .*numpy<2", out.stderr), out.stderr
    assert re.search(
        r"^pios: detect lite float, tflite-runtime 2\.14 on aarch64 vs x86: ok", out.stdout, re.M
    )
    assert "largest visible landmark difference aarch64 vs x86" in out.stderr


def test_model_outputs_judges_every_raw_output_value(tmp_path: Path) -> None:
    """The int8-on-identical-inputs check: a difference past the tolerance in any output fails."""
    outputs = _load_script("model_outputs")
    ref = {"output0": np.zeros((3, 1, 195), np.float32), "output1": np.ones((3, 1, 1), np.float32)}
    np.savez(tmp_path / "ref.npz", **ref)
    close = {k: v + 1e-4 for k, v in ref.items()}
    np.savez(tmp_path / "close.npz", **close)
    far = dict(close, output1=close["output1"] + np.array(0.01, np.float32))
    np.savez(tmp_path / "far.npz", **far)
    np.savez(tmp_path / "fewer.npz", output0=ref["output0"])
    assert outputs.compare(tmp_path / "ref.npz", tmp_path / "close.npz", 2e-3, "close")
    assert not outputs.compare(tmp_path / "ref.npz", tmp_path / "far.npz", 2e-3, "far")
    assert not outputs.compare(tmp_path / "ref.npz", tmp_path / "fewer.npz", 2e-3, "fewer")
