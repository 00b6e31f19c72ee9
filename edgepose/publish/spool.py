"""The durable event spool: events wait here, on disk, until the broker acknowledged them.

An sqlite3 database in WAL mode with `synchronous=FULL`: an `append` has reached the disk when
it returns, so a crash or power cut after that cannot lose the event. Rows are removed only
after the broker's PUBACK; a crash between the PUBACK and the removal sends that event again
after restart (at-least-once; consumers dedupe by the event `id`). Rows keep their insertion
order (`seq`), which is the delivery order.

The spool is bounded: when `max_events` would be exceeded the OLDEST events are dropped (recent
events matter more to an automation than a backlog from hours ago), with one warning per
overflow episode. A corrupt database file is moved aside and a fresh one started.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from edgepose.errors import ConfigError

log = logging.getLogger(__name__)

SPOOL_FILENAME = "event-spool.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    payload TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class SpooledEvent:
    """One undelivered event: its order number, id and encoded payload."""

    seq: int
    event_id: str
    payload: str


class EventSpool:
    """A bounded, ordered, crash-safe queue of encoded events. Thread-safe."""

    def __init__(self, path: Path, max_events: int) -> None:
        """Open (or create) the spool at `path`; raises ConfigError if its folder is unusable."""
        self.path = path
        self.max_events = max_events
        self._lock = threading.Lock()
        self._overflowing = False
        self.dropped = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"event spool folder {path.parent}: {exc.strerror}") from exc
        self._db = self._open()
        self._depth = int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        if self._depth:
            log.info("event spool %s holds %d undelivered events", path, self._depth)

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and not self.path.exists():
                raise ConfigError(f"event spool {self.path}: {exc}") from exc
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            log.error("event spool %s is unreadable (%s); moved to %s, starting empty", self.path, exc, aside)
            self.path.replace(aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            try:
                return self._connect()
            except sqlite3.Error as again:
                raise ConfigError(f"event spool {self.path}: {again}") from again

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: explicit BEGIN/COMMIT; check_same_thread=False: guarded by _lock.
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(_SCHEMA)
            db.execute("SELECT COUNT(*) FROM events").fetchone()
        except sqlite3.Error:
            db.close()
            raise
        return db

    def __enter__(self) -> EventSpool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def depth(self) -> int:
        """Events not yet acknowledged by the broker."""
        return self._depth

    def recount(self) -> int:
        """Count the rows again (another connection to the same file may have removed some)."""
        with self._lock:
            self._depth = int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
            return self._depth

    def append(self, events: Sequence[tuple[str, str]]) -> list[int]:
        """Store (event_id, payload) pairs durably, in order; returns their seq numbers.

        When the spool would exceed `max_events`, the oldest events are dropped first.
        """
        if not events:
            return []
        with self._lock:
            seqs: list[int] = []
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for event_id, payload in events:
                    cur = self._db.execute(
                        "INSERT INTO events (event_id, payload) VALUES (?, ?)", (event_id, payload)
                    )
                    seqs.append(int(cur.lastrowid or 0))
                excess = self._depth + len(events) - self.max_events
                dropped = 0
                if excess > 0:
                    dropped = self._db.execute(
                        "DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?)",
                        (excess,),
                    ).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._depth += len(events) - dropped
            self._note_overflow(dropped)
            return seqs

    def _note_overflow(self, dropped: int) -> None:
        if dropped > 0:
            self.dropped += dropped
            if not self._overflowing:
                log.warning(
                    "event spool full (%d events): dropping the oldest undelivered events until the broker "
                    "is back",
                    self.max_events,
                )
            self._overflowing = True
        elif self._overflowing and self._depth < self.max_events:
            log.warning(
                "event spool below its limit again; %d old events were dropped in total", self.dropped
            )
            self._overflowing = False

    def after(self, seq: int, limit: int) -> list[SpooledEvent]:
        """Up to `limit` events with a seq greater than `seq`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
            ).fetchall()
        return [SpooledEvent(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def remove(self, seqs: Iterable[int]) -> int:
        """Forget delivered events (already gone ones are ignored); returns how many were removed."""
        wanted = [(s,) for s in seqs]
        if not wanted:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                before = self._db.total_changes
                self._db.executemany("DELETE FROM events WHERE seq = ?", wanted)
                removed = self._db.total_changes - before
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._depth -= removed
            self._note_overflow(0)
            return removed

    def close(self) -> None:
        """Checkpoint and close the database."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.debug("spool checkpoint failed: %s", exc)
            self._db.close()
