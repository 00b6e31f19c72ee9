"""The durable event spool: events wait here, on disk, until the broker acknowledged them.

An sqlite3 database in WAL mode with `synchronous=FULL`: an `append` has reached the disk when
it returns, so a crash or power cut after that cannot lose the event. Rows are removed only
after the broker's PUBACK; a crash between the PUBACK and the removal sends that event again
after restart (at-least-once; consumers dedupe by the event `id`). Rows keep their insertion
order (`seq`), which is the delivery order.

The spool is bounded: when `max_events` would be exceeded the OLDEST events are dropped (recent
events matter more to an automation than a backlog from hours ago), with one warning per
overflow episode.

SD cards damage files, so the spool never trusts its own: `PRAGMA quick_check` runs on open; a
damaged file (or a directory in its place) is moved aside with its -wal/-shm, the rows that can
still be read are copied into a fresh spool in their order, and delivery goes on. The same
happens when damage shows up while running. A row that cannot be decoded (not UTF-8, not JSON)
is moved to the `quarantine` table with one warning, and the rows after it are delivered.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from edgepose.errors import ConfigError
from edgepose.publish.spool_repair import is_damage, open_checked, rebuild, salvage

log = logging.getLogger(__name__)

SPOOL_FILENAME = "event-spool.sqlite3"
QUARANTINE_MAX_ROWS = 1000  # rows set aside are kept for a look, the newest this many

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SpooledEvent:
    """One undelivered event: its order number, id and encoded payload."""

    seq: int
    event_id: str
    payload: str


def decode_row(event_id: object, payload: object) -> tuple[str, str]:
    """The (id, payload) texts of a stored row; ValueError saying why it cannot be delivered."""
    texts: list[str] = []
    for name, value in (("event id", event_id), ("payload", payload)):
        if not isinstance(value, bytes):
            raise ValueError(f"{name} is {type(value).__name__}, not text")
        try:
            texts.append(value.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        json.loads(texts[1])
    except ValueError as exc:
        raise ValueError(f"payload is not JSON ({exc})") from None
    return texts[0], texts[1]


class EventSpool:
    """A bounded, ordered, crash-safe queue of encoded events. Thread-safe."""

    def __init__(self, path: Path, max_events: int) -> None:
        """Open (or create, or rebuild) the spool at `path`; ConfigError if its folder is unusable."""
        self.path = path
        self.max_events = max_events
        self._lock = threading.Lock()
        self._overflowing = False
        self._append_failing = False
        self.dropped = 0
        self.quarantined = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"event spool folder {path.parent}: {exc.strerror}") from exc
        self._db = open_checked(path)
        self._depth = self._count()
        if self._depth:
            log.info("event spool %s holds %d undelivered events", path, self._depth)

    def _guard(self, operation: Callable[[], T]) -> T:
        """Run a database operation (lock held); damage found on the way rebuilds the spool and retries."""
        try:
            return operation()
        except sqlite3.Error as exc:
            if not is_damage(exc):
                raise
            reason = str(exc)
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._db = rebuild(self.path, reason, salvage(self.path))
        self._depth = self._count()
        return operation()

    def _count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    # ---- the queue ---------------------------------------------------------------------------

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
            self._depth = self._guard(self._count)
            return self._depth

    def append(self, events: Sequence[tuple[str, str]]) -> list[int]:
        """Store (event_id, payload) pairs durably, in order; returns their seq numbers.

        When the spool would exceed `max_events`, the oldest events are dropped first. When the
        disk refuses the write (full, read-only), the events are dropped and counted, with one
        error per episode: the daemon keeps running rather than crash on every event.
        """
        if not events:
            return []
        with self._lock:
            try:
                seqs, dropped = self._guard(lambda: self._insert(events))
            except sqlite3.Error as exc:
                self.dropped += len(events)
                if not self._append_failing:
                    log.error("event spool %s cannot store events (%s); dropping them", self.path, exc)
                self._append_failing = True
                return []
            if self._append_failing:
                log.warning("event spool %s stores events again", self.path)
                self._append_failing = False
            self._depth += len(events) - dropped
            self._note_overflow(dropped)
            return seqs

    def _insert(self, events: Sequence[tuple[str, str]]) -> tuple[list[int], int]:
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
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return seqs, dropped

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
        """Up to `limit` events with a seq greater than `seq`, oldest first.

        Rows that cannot be decoded are moved to the quarantine table on the way (one warning each).
        """
        with self._lock:
            return self._guard(lambda: self._read_after(seq, limit))

    def _read_after(self, seq: int, limit: int) -> list[SpooledEvent]:
        found: list[SpooledEvent] = []
        while len(found) < limit:
            rows = self._db.execute(
                "SELECT seq, event_id, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit - len(found)),
            ).fetchall()
            if not rows:
                break
            for row_seq, event_id, payload in rows:
                seq = int(row_seq)
                try:
                    found.append(SpooledEvent(seq, *decode_row(event_id, payload)))
                except ValueError as exc:
                    self._quarantine(seq, str(exc))
        return found

    def _quarantine(self, seq: int, reason: str) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO quarantine (seq, event_id, payload, reason, set_aside_unix_s) "
                "SELECT seq, CAST(event_id AS BLOB), CAST(payload AS BLOB), ?, ? FROM events WHERE seq = ?",
                (reason, int(time.time()), seq),
            )
            removed = self._db.execute("DELETE FROM events WHERE seq = ?", (seq,)).rowcount
            self._db.execute(
                "DELETE FROM quarantine WHERE seq NOT IN "
                "(SELECT seq FROM quarantine ORDER BY seq DESC LIMIT ?)",
                (QUARANTINE_MAX_ROWS,),
            )
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._depth -= removed
        self.quarantined += removed
        log.warning(
            "event spool: event %d cannot be delivered (%s); set aside in the quarantine table of %s, "
            "delivering the rest",
            seq,
            reason,
            self.path,
        )

    def remove(self, seqs: Iterable[int]) -> int:
        """Forget delivered events (already gone ones are ignored); returns how many were removed."""
        wanted = [(s,) for s in seqs]
        if not wanted:
            return 0
        with self._lock:
            removed = self._guard(lambda: self._delete(wanted))
            self._depth = max(0, self._depth - removed)
            self._note_overflow(0)
            return removed

    def _delete(self, wanted: list[tuple[int]]) -> int:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            before = self._db.total_changes
            self._db.executemany("DELETE FROM events WHERE seq = ?", wanted)
            removed = self._db.total_changes - before
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return removed

    def close(self) -> None:
        """Checkpoint and close the database."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.debug("spool checkpoint failed: %s", exc)
            self._db.close()
