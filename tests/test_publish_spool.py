"""The on-disk event spool: order, durability across reopen and kill, the bound, a corrupt file."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edgepose.errors import ConfigError
from edgepose.publish.spool import EventSpool


def test_order_and_remove(tmp_path: Path) -> None:
    with EventSpool(tmp_path / "s.sqlite3", max_events=100) as spool:
        seqs = spool.append([(f"e{i}", f'{{"i":{i}}}') for i in range(10)])
        assert seqs == sorted(seqs) and len(set(seqs)) == 10
        assert spool.depth == 10
        first = spool.after(0, 4)
        assert [e.event_id for e in first] == ["e0", "e1", "e2", "e3"]
        assert [e.event_id for e in spool.after(first[-1].seq, 100)] == [f"e{i}" for i in range(4, 10)]
        assert spool.remove([first[0].seq, first[2].seq]) == 2
        assert spool.remove([first[0].seq]) == 0  # already gone: ignored
        assert spool.depth == 8
        assert [e.event_id for e in spool.after(0, 3)] == ["e1", "e3", "e4"]
        assert spool.append([]) == []


def test_reopen_keeps_undelivered_in_order(tmp_path: Path) -> None:
    path = tmp_path / "state" / "s.sqlite3"
    with EventSpool(path, max_events=100) as spool:
        spool.append([("a", "1"), ("b", "2"), ("c", "3")])
        spool.remove([spool.after(0, 1)[0].seq])
    with EventSpool(path, max_events=100) as again:
        assert again.depth == 2
        assert [(e.event_id, e.payload) for e in again.after(0, 10)] == [("b", "2"), ("c", "3")]
        again.append([("d", "4")])
        assert [e.event_id for e in again.after(0, 10)] == ["b", "c", "d"]


CHILD = """
import os, sys
from pathlib import Path
from edgepose.publish.spool import EventSpool
spool = EventSpool(Path(sys.argv[1]), max_events=1000)
for i in range(50):
    spool.append([(f"k{i}", "{}")])
print("appended", flush=True)
sys.stdin.read()  # wait to be killed; the spool is never closed
"""


def test_append_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "appended"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    with EventSpool(path, max_events=1000) as spool:
        assert [e.event_id for e in spool.after(0, 100)] == [f"k{i}" for i in range(50)]


def test_bound_drops_oldest_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="edgepose.publish.spool")
    with EventSpool(tmp_path / "s.sqlite3", max_events=10) as spool:
        for i in range(25):
            spool.append([(f"e{i}", "{}")])
        assert spool.depth == 10 and spool.dropped == 15
        assert [e.event_id for e in spool.after(0, 100)] == [f"e{i}" for i in range(15, 25)]
        full = [r for r in caplog.records if "spool full" in r.getMessage()]
        assert len(full) == 1
        # Draining below the bound ends the episode (one line), a new overflow warns again.
        spool.remove([e.seq for e in spool.after(0, 5)])
        spool.append([("x", "{}"), ("y", "{}"), ("z", "{}"), ("w", "{}"), ("v", "{}"), ("u", "{}")])
        assert len([r for r in caplog.records if "spool full" in r.getMessage()]) == 2
        assert spool.depth == 10
        # A batch larger than the bound keeps its newest events.
        spool.append([(f"b{i}", "{}") for i in range(12)])
        assert [e.event_id for e in spool.after(0, 100)] == [f"b{i}" for i in range(2, 12)]


def test_corrupt_file_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not an sqlite database, it is garbage" * 100)
    with (
        caplog.at_level(logging.ERROR, logger="edgepose.publish.spool"),
        EventSpool(path, max_events=10) as spool,
    ):
        assert spool.depth == 0
        spool.append([("a", "{}")])
        assert spool.depth == 1
    aside = list(tmp_path.glob("s.sqlite3.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    assert any("was damaged" in r.getMessage() for r in caplog.records)


def test_unusable_folder_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="event spool folder"):
        EventSpool(blocker / "sub" / "s.sqlite3", max_events=10)
