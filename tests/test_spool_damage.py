"""The event spool survives its own damage: checked on open, rebuilt from what is left, bad rows set aside.

Each case damages a real spool file the way an SD card does (garbage, an empty file, a directory
in its place, garbage in -wal, a corrupt page, a corrupt row) and checks that the spool opens
with one clear log line, keeps every event that can still be read, in order, and goes on.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from edgepose.config.mqtt import MqttConfig
from edgepose.publish.mqtt import MqttPublisher
from edgepose.publish.spool import SPOOL_FILENAME, EventSpool
from edgepose.types import Event, EventType
from tests.plugins.broker import Broker, Recorder

Record = Callable[[Broker, Sequence[str]], Recorder]


def _fill(path: Path, count: int, payload_bytes: int = 20) -> list[str]:
    """A closed spool holding `count` events e0, e1, ...; their ids."""
    ids = [f"e{i}" for i in range(count)]
    with EventSpool(path, max_events=100_000) as spool:
        spool.append([(i, json.dumps({"id": i, "pad": "x" * payload_bytes})) for i in ids])
    return ids


def _ids(spool: EventSpool) -> list[str]:
    return [e.event_id for e in spool.after(0, 100_000)]


def _page(path: Path, number: int, content: bytes) -> None:
    """Overwrite page `number` (1-based) of a closed database file."""
    size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as handle:
        handle.seek((number - 1) * size)
        handle.write(content[:size].ljust(size, b"\x5a"))


def _root_page(path: Path, name: str) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0])
    finally:
        db.close()


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def _aside(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.glob(f"{SPOOL_FILENAME}.damaged-*") if not p.name.endswith(("-wal", "-shm"))
    )


@pytest.fixture
def spool_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / SPOOL_FILENAME


def test_garbage_file_is_moved_aside(spool_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool_path.parent.mkdir()
    spool_path.write_bytes(b"this is not an sqlite database, it is garbage" * 100)
    with EventSpool(spool_path, max_events=10) as spool:
        assert spool.depth == 0
        spool.append([("a", "{}")])
        assert _ids(spool) == ["a"]
    [aside] = _aside(spool_path.parent)
    assert aside.read_bytes().startswith(b"this is not")
    [error] = _errors(caplog)
    assert f"event spool {spool_path} was damaged" in error and str(aside) in error
    assert "0 undelivered events saved" in error


def test_empty_file_is_an_empty_spool(spool_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool_path.parent.mkdir()
    spool_path.touch()
    with EventSpool(spool_path, max_events=10) as spool:
        spool.append([("a", "{}"), ("b", "{}")])
        assert _ids(spool) == ["a", "b"]
    assert not _aside(spool_path.parent) and not _errors(caplog)


def test_directory_in_place_of_the_file(spool_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool_path.mkdir(parents=True)
    (spool_path / "something").write_text("x")
    with EventSpool(spool_path, max_events=10) as spool:
        spool.append([("a", "{}")])
        assert _ids(spool) == ["a"]
    [aside] = _aside(spool_path.parent)
    assert (aside / "something").read_text() == "x"
    assert len(_errors(caplog)) == 1


def test_garbage_in_the_wal(spool_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ids = _fill(spool_path, 30)
    Path(f"{spool_path}-wal").write_bytes(b"\x37\x7f\x06\x82" + b"garbage that is no WAL frame " * 300)
    with EventSpool(spool_path, max_events=100) as spool:
        assert _ids(spool) == ids
        spool.append([("after", "{}")])
        assert _ids(spool) == [*ids, "after"]
    with EventSpool(spool_path, max_events=100) as spool:
        assert _ids(spool) == [*ids, "after"]
    assert not _errors(caplog)


def test_corrupt_sqlite_sequence_page(spool_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """It passed the old open check, then crashed the daemon on the first event, on every restart."""
    ids = _fill(spool_path, 40)
    with EventSpool(spool_path, max_events=100) as spool:
        last_seq = spool.after(0, 100)[-1].seq
    _page(spool_path, _root_page(spool_path, "sqlite_sequence"), b"\x0d\xff\xff" + b"\x00" * 9)
    for _ in range(2):  # the repair holds: the second start is a normal one
        with EventSpool(spool_path, max_events=100) as spool:
            assert _ids(spool)[: len(ids)] == ids  # every event kept, in order
            [new_seq] = spool.append([(f"new{len(_ids(spool))}", "{}")])
            assert new_seq > last_seq  # seq numbers never go back: the delivery order holds
            last_seq = new_seq
    assert len(_aside(spool_path.parent)) == 1
    [error] = _errors(caplog)
    assert "was damaged" in error and "40 undelivered events saved" in error


def test_corrupt_page_of_events_salvages_both_sides(
    spool_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _fill(spool_path, 400, payload_bytes=200)  # many leaf pages
    db = sqlite3.connect(spool_path)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    _page(spool_path, pages // 2, b"\xff" * 64)  # a leaf page in the middle of the table
    with EventSpool(spool_path, max_events=1000) as spool:
        kept = _ids(spool)
    assert kept[0] == ids[0] and kept[-1] == ids[-1]  # read from both ends
    assert 300 < len(kept) < len(ids)
    assert kept == [i for i in ids if i in set(kept)]  # in order
    assert f"{len(kept)} undelivered events saved" in _errors(caplog)[0]


# (event id SQL, payload SQL, the reason logged): what a damaged sector can leave in a row.
BAD_ROWS: list[tuple[str, str, str]] = [
    ("'bad-utf8'", "CAST(x'fffe7b7d' AS TEXT)", "payload is not UTF-8"),
    ("'bad-blob'", "x'c328'", "payload is not UTF-8"),
    ("'not-json'", "'{half'", "payload is not JSON"),
    ("CAST(x'80' AS TEXT)", "'{}'", "event id is not UTF-8"),
]


def test_undecodable_rows_are_set_aside_once(spool_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _fill(spool_path, 2)
    db = sqlite3.connect(spool_path)
    for n, (event_id, payload, _) in enumerate(BAD_ROWS):
        db.execute(f"INSERT INTO events (event_id, payload) VALUES ({event_id}, {payload})")
        db.execute("INSERT INTO events (event_id, payload) VALUES (?, '{}')", (f"good{n}",))
    db.commit()
    db.close()
    caplog.set_level(logging.WARNING, logger="edgepose.publish.spool")
    with EventSpool(spool_path, max_events=100) as spool:
        assert spool.depth == 10
        first = spool.after(0, 3)
        assert [e.event_id for e in first] == ["e0", "e1", "good0"]  # the bad row before good0 skipped
        assert _ids(spool) == ["e0", "e1", "good0", "good1", "good2", "good3"]
        assert _ids(spool) == ["e0", "e1", "good0", "good1", "good2", "good3"]  # no second warning
        assert spool.depth == 6 and spool.quarantined == 4
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4, warnings
    for (_, _, reason), warning in zip(BAD_ROWS, warnings, strict=True):
        assert reason in warning and "set aside in the quarantine table" in warning
    db = sqlite3.connect(spool_path)
    assert db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0] == 4
    assert db.execute("SELECT payload FROM quarantine ORDER BY seq").fetchone()[0] == b"\xff\xfe{}"
    db.close()


def _event(i: int) -> Event:
    return Event(
        id=f"live-{i}", type=EventType.REP, timestamp_ms=i, track_id=1, attributes={"count": i}
    ).with_wall_ms(1_700_000_000_000 + i)


def test_publisher_delivers_around_a_bad_row_and_a_damaged_file(
    tmp_path: Path, broker: Broker, mqtt_recorder: Record, caplog: pytest.LogCaptureFixture
) -> None:
    """A real broker receives every good event, in order, from a spool that had a bad row and a bad page."""
    state = tmp_path / "state"
    path = state / SPOOL_FILENAME
    ids = _fill(path, 5)
    db = sqlite3.connect(path)
    db.execute("INSERT INTO events (event_id, payload) VALUES ('bad', CAST(x'c328' AS TEXT))")
    db.execute("INSERT INTO events (event_id, payload) VALUES ('after-bad', '{\"id\": \"after-bad\"}')")
    db.commit()
    db.close()
    _page(path, _root_page(path, "sqlite_sequence"), b"\x0d\xff\xff")
    topic = "edgepose/spooltest/event"
    rec = mqtt_recorder(broker, [topic])
    config = MqttConfig(host=broker.host, port=broker.port, device_id="spooltest")
    publisher = MqttPublisher(config, state)
    publisher.start()
    try:
        publisher.publish_events([_event(i) for i in range(3)])  # crashed here before: sqlite_sequence
        want = [*ids, "after-bad", "live-0", "live-1", "live-2"]
        rec.wait_for(lambda m: m.topic == topic and json.loads(m.payload)["id"] == "live-2", timeout_s=15)
        assert [json.loads(m.payload)["id"] for m in rec.on(topic)] == want
        assert publisher.wait_for_delivery(5.0)
    finally:
        publisher.close(timeout_s=2.0)
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum("was damaged" in m for m in messages) == 1
    assert sum("cannot be delivered" in m for m in messages) == 1
    assert not [r for r in caplog.records if r.exc_info]  # no traceback


def test_damage_while_running_rebuilds_and_goes_on(
    spool_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A page goes bad under an open spool (an SD card mid-run): it rebuilds, nothing readable is lost."""
    ids = _fill(spool_path, 400, payload_bytes=200)
    with EventSpool(spool_path, max_events=1000) as spool:
        assert _ids(spool) == ids
        spool._db.execute(
            "PRAGMA wal_checkpoint(TRUNCATE)"
        )  # all rows in the main file, as after a quiet spell
        db = sqlite3.connect(spool_path)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.close()
        _page(spool_path, pages // 2, b"\xff" * 64)
        spool._db.execute("PRAGMA cache_size = 0")  # read the damaged page from disk, not from the cache
        [seq] = spool.append([("live", "{}")])
        spool.remove([e.seq for e in spool.after(0, 5)])  # delivery goes on after the rebuild
        kept = _ids(spool)
    assert kept[-1] == "live" and seq > 0
    assert 250 < len(kept) < len(ids)  # the readable rows on both sides of the bad page survive
    assert kept[:-1] == [i for i in ids if i in set(kept)]
    [error] = _errors(caplog)
    assert "was damaged" in error
    assert len(_aside(spool_path.parent)) == 1
