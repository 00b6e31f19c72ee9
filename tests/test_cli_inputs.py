"""Odd inputs to the command line: huge images, NaN from a model, damaged video, an unusable --annotate."""

from __future__ import annotations

import json
import logging
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edgepose.cli import main
from edgepose.cli._image_header import MAX_IMAGE_PIXELS, declared_size
from edgepose.cli._pose import read_video
from edgepose.config.source import SourceConfig
from edgepose.inference import runtime
from edgepose.pose import landmarker as landmarker_module
from edgepose.sources import create_source, parse_source_uri

REPO = Path(__file__).resolve().parent.parent


def edgepose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "edgepose", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height: signature, IHDR and the start of its pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    data = zlib.compress(bytes(64 * 1024))
    idat = b"IDAT" + data
    return head + struct.pack(">I", len(data)) + idat + struct.pack(">I", zlib.crc32(idat))


def _one_line(proc: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert proc.stdout == ""
    return lines[0]


def test_huge_image_refused_from_its_header(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_header(20000, 20000))
    assert huge.stat().st_size < 100_000
    proc = edgepose("detect", str(huge))
    _one_line(proc, 66, "huge.png: 20000x20000 is 400 megapixels, over the limit of 50")


def test_pixel_limit_follows_opencv_variable(media: Path) -> None:
    proc = edgepose("detect", str(media / "messi5.jpg"), env={"OPENCV_IO_MAX_IMAGE_PIXELS": "1000"})
    _one_line(proc, 66, "messi5.jpg", "over the limit", "OPENCV_IO_MAX_IMAGE_PIXELS")


def test_format_without_a_header_check_meets_opencvs_limit(tmp_path: Path) -> None:
    # PPM is not parsed here: OpenCV's own limit, set by the CLI, must refuse it before decoding.
    huge = tmp_path / "huge.ppm"
    huge.write_bytes(b"P6\n20000 20000\n255\n" + bytes(1000))
    _one_line(edgepose("detect", str(huge)), 66, "huge.ppm")


def _gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00;"


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp"])
def test_declared_size_matches_real_files(media: Path, ext: str) -> None:
    image = cv2.imread(str(media / "messi5.jpg"))
    params = [cv2.IMWRITE_WEBP_QUALITY, 100] if ext == ".webp" else []
    for quality in ([], [cv2.IMWRITE_WEBP_QUALITY, 50]) if ext == ".webp" else ([],):
        ok, data = cv2.imencode(ext, image, params or quality)
        assert ok
        size = declared_size(data.tobytes())
        assert size is not None and (size.height_px, size.width_px) == image.shape[:2]
    assert declared_size(_gif(300, 200)) is not None and declared_size(_gif(300, 200)).pixels == 60_000  # type: ignore[union-attr]
    assert declared_size(b"P6\n1 1\n255\n") is None
    assert MAX_IMAGE_PIXELS == 50_000_000


@pytest.mark.parametrize("command", ["detect", "track"])
def test_unusable_annotate_folder_is_one_line_and_exit_73(
    media: Path, tmp_path: Path, one_person_clip: Path, command: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    source = media / "messi5.jpg" if command == "detect" else one_person_clip
    proc = edgepose(command, "--annotate", str(blocker / "out"), str(source))
    _one_line(proc, 73, f"--annotate {blocker / 'out'}")


class NanOutputs:
    """A real interpreter whose chosen outputs come back as NaN, as a damaged model's would."""

    def __init__(self, real: Any, poison: Any) -> None:
        self._real = real
        self._poison = poison

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def get_tensor(self, index: int) -> Any:
        value = self._real.get_tensor(index)
        if self._poison(value):
            return np.full(value.shape, np.nan, dtype=np.float32)
        return value


@pytest.mark.parametrize(
    ("model", "poison"),
    [
        ("landmark", lambda v: True),  # every landmark output: presence, landmarks, world, mask
        ("detection", lambda v: v.shape[-1] == 12),  # detector boxes only: the scores still pass
    ],
    ids=["landmark-model", "detector-boxes"],
)
def test_nan_model_outputs_drop_the_pose_with_one_warning(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    one_person_clip: Path,
    model: str,
    poison: Any,
) -> None:
    real_make = runtime.make_interpreter

    def make(path: Path, *args: Any, **kwargs: Any) -> Any:
        interpreter = real_make(path, *args, **kwargs)
        return NanOutputs(interpreter, poison) if model in path.name else interpreter

    monkeypatch.setattr(landmarker_module, "make_interpreter", make)
    caplog.set_level(logging.WARNING)
    assert main(["track", "--max-frames", "12", str(one_person_clip)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 12

    def no_constant(name: str) -> float:
        raise AssertionError(f"{name} in the JSON")

    for line in lines:
        assert json.loads(line, parse_constant=no_constant)["poses"] == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "gave NaN or infinite outputs" in warnings[0], warnings


@pytest.fixture
def truncated_clip(media: Path, tmp_path: Path) -> Path:
    """The first 5% of vtest.avi: its header still declares all 795 frames."""
    data = (media / "vtest.avi").read_bytes()
    path = tmp_path / "truncated.avi"
    path.write_bytes(data[: len(data) // 20])
    return path


def test_truncated_video_warns_in_read_video(truncated_clip: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    frames = list(read_video(truncated_clip))
    assert 0 < len(frames) < 795
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"decoded {len(frames)} of the 795 frames the file declares" in warning
    caplog.clear()
    assert len(list(read_video(truncated_clip, max_frames=5))) == 5
    assert not caplog.records  # stopping early on purpose is no damage


def test_truncated_video_warns_in_the_daemon_source(
    truncated_clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    settings = SourceConfig(uri=f"file:{truncated_clip}", realtime=False)
    source = create_source(parse_source_uri(settings.uri), settings)
    source.open()
    count = 0
    while source.read() is not None:
        count += 1
    assert source.read() is None
    source.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"file:{truncated_clip}: decoded {count} of the 795 frames the file declares: "
        "it is damaged or truncated"
    ]


def test_truncated_video_track_warns_and_still_exits_0(truncated_clip: Path) -> None:
    proc = edgepose("track", str(truncated_clip))
    assert proc.returncode == 0, proc.stderr
    frames = proc.stdout.strip().splitlines()
    assert 0 < len(frames) < 795
    assert f"decoded {len(frames)} of the 795 frames the file declares" in proc.stderr
