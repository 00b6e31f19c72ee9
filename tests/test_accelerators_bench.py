"""`edgepose bench --threads 1,2,4`: one JSON line per thread count (the CPU scaling figures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgepose.cli import main


def test_bench_thread_list(media: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = str(media / "pan_zidane.avi")
    args = [
        "bench",
        "--model",
        "lite",
        "--precision",
        "float",
        "--max-frames",
        "8",
        "--threads",
        "1, 2",
        video,
    ]
    assert main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["threads"] for line in lines] == [1, 2]
    for line in lines:
        assert line["frames"] == 8 and line["fps"] > 0 and line["model"] == "lite"


@pytest.mark.parametrize("threads", ["1,x", "0", "1,,2", "65"])
def test_bench_bad_thread_list(media: Path, capsys: pytest.CaptureFixture[str], threads: str) -> None:
    assert main(["bench", "--threads", threads, str(media / "pan_zidane.avi")]) == 64
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("edgepose bench: --threads must be")
