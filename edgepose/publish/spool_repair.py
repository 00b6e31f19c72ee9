"""Repair of the event spool's database: checked on open, rebuilt from what can be read when damaged.

A damaged file (or a directory in its place) is moved aside with its -wal and -shm as
`<name>.damaged-<time>`; the rows still readable are copied, with their seq numbers, into a fresh
database. The newest few damaged copies are kept for a look, older ones deleted.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from pathlib import Path

from edgepose.errors import ConfigError

log = logging.getLogger("edgepose.publish.spool")

_ASIDE_KEPT = 3  # damaged spool files kept for a look, newest first; older ones are deleted
_DAMAGE_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    payload TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS quarantine (
    seq INTEGER PRIMARY KEY,
    event_id BLOB,
    payload BLOB,
    reason TEXT NOT NULL,
    set_aside_unix_s INTEGER NOT NULL
)""",
)

Row = tuple[object, object, object]


class SpoolDamagedError(Exception):
    """The database file is damaged (SQLite said CORRUPT or NOTADB, or quick_check failed)."""


def is_damage(exc: sqlite3.Error) -> bool:
    """Whether SQLite says the file is damaged (rather than busy, full or read-only)."""
    name = getattr(exc, "sqlite_errorname", "")
    return isinstance(exc, sqlite3.DatabaseError) and (
        name in _DAMAGE_CODES or "malformed" in str(exc) or "not a database" in str(exc)
    )


def open_checked(path: Path) -> sqlite3.Connection:
    """Open the spool database at `path`, checked; a damaged one is rebuilt from what can be read."""
    salvaged: list[Row] = []
    try:
        if path.exists() and not path.is_file():
            raise SpoolDamagedError("not a regular file")
        return connect(path, check=True)
    except SpoolDamagedError as exc:
        reason = str(exc)
    except sqlite3.Error as exc:
        if not (is_damage(exc) or (path.exists() and not path.is_file())):
            raise ConfigError(f"event spool {path}: {exc}") from exc
        reason = str(exc)
    if path.is_file():
        salvaged = salvage(path)
    return rebuild(path, reason, salvaged)


def connect(path: Path, check: bool) -> sqlite3.Connection:
    """A connection in WAL mode with the schema; with `check`, SpoolDamagedError unless quick_check is ok."""
    # isolation_level=None: explicit BEGIN/COMMIT; check_same_thread=False: guarded by _lock.
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    db.text_factory = bytes  # decoded row by row, so that one bad row cannot stop the others
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        if check:
            found = [bytes(r[0]).decode("utf-8", "replace") for r in db.execute("PRAGMA quick_check")]
            if found != ["ok"]:
                raise SpoolDamagedError("; ".join(found[:3]))
        for statement in _SCHEMA:
            db.execute(statement)
    except BaseException:
        db.close()
        raise
    return db


def salvage(path: Path) -> list[Row]:
    """The rows of a damaged file that can still be read, in order (forwards, then backwards)."""
    rows: dict[int, tuple[object, object]] = {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error:
        return []
    db.text_factory = bytes
    try:
        # A damaged page ends a scan; reading from the other end too gets the rows behind it.
        for order in ("ASC", "DESC"):
            try:
                for seq, event_id, payload in db.execute(
                    f"SELECT seq, event_id, payload FROM events ORDER BY seq {order}"
                ):
                    rows.setdefault(int(seq), (event_id, payload))
            except (sqlite3.Error, TypeError, ValueError):
                continue
    finally:
        db.close()
    return [(seq, *rows[seq]) for seq in sorted(rows)]


def rebuild(path: Path, reason: str, salvaged: list[Row]) -> sqlite3.Connection:
    """Move the damaged file aside and start a fresh spool holding the salvaged rows."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    number = 1
    while aside.exists():  # a second repair within the same second
        number += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{number}")
    try:
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                source.replace(f"{aside}{suffix}")
        db = connect(path, check=False)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"event spool {path} is damaged ({reason}) and cannot be replaced: {exc}") from exc
    db.execute("BEGIN IMMEDIATE")
    # The same seq numbers: the order stays, and a publisher that handed some out keeps its place.
    db.executemany("INSERT INTO events (seq, event_id, payload) VALUES (?, ?, ?)", salvaged)
    db.execute("COMMIT")
    log.error(
        "event spool %s was damaged (%s): moved to %s; %d undelivered events saved into a fresh spool",
        path,
        reason,
        aside,
        len(salvaged),
    )
    _prune_aside(path)
    return db


def _prune_aside(path: Path) -> None:
    """Keep the newest few damaged copies (with their -wal/-shm); an SD card is small."""
    copies = sorted(
        (p for p in path.parent.glob(f"{path.name}.damaged-*") if not p.name.endswith(("-wal", "-shm"))),
        key=lambda p: p.name,  # the time of the repair is in the name
        reverse=True,
    )
    for old in copies[_ASIDE_KEPT:]:
        for suffix in ("", "-wal", "-shm"):
            _remove(Path(f"{old}{suffix}"))


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError as exc:
        log.debug("cannot remove old damaged spool %s: %s", path, exc)
