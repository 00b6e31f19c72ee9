"""`edgepose check` lines of the publish area: what waits in the event spool."""

from __future__ import annotations

import sqlite3

from edgepose.checks.base import CheckContext, CheckResult, Verdict
from edgepose.config import state_directory
from edgepose.publish.spool import SPOOL_FILENAME
from edgepose.publish.spool_repair import is_damage

_NEARLY_FULL = 0.8


def check_spool(ctx: CheckContext) -> CheckResult:
    """Undelivered events in the spool (read-only: the file is not created here)."""
    path = state_directory(ctx.config) / SPOOL_FILENAME
    limit = ctx.config.mqtt.spool_max_events
    if not path.exists():
        return CheckResult(Verdict.OK, f"no spool yet ({path} is made on first start)")
    repair = "the daemon moves it aside and keeps the events it can still read"
    if not path.is_file():
        return CheckResult(Verdict.WARN, f"{path} is not a file: {repair}")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
        try:
            found = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
            if found != ["ok"]:
                return CheckResult(Verdict.WARN, f"{path} is damaged ({found[0]}): {repair}")
            depth = int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
            tables = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            aside = (
                int(db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0])
                if "quarantine" in tables
                else 0
            )
        finally:
            db.close()
    except sqlite3.Error as exc:
        if is_damage(exc):
            return CheckResult(Verdict.WARN, f"{path} is damaged ({exc}): {repair}")
        return CheckResult(Verdict.WARN, f"{path}: {exc}")
    detail = f"{depth} undelivered events of at most {limit} in {path}"
    if aside:
        detail += f"; {aside} undecodable events set aside (table quarantine)"
    if depth >= _NEARLY_FULL * limit:
        return CheckResult(Verdict.WARN, detail + ": nearly full, the oldest will be dropped")
    return CheckResult(Verdict.OK, detail)
