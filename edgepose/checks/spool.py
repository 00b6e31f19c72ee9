"""`edgepose check` lines of the publish area: what waits in the event spool."""

from __future__ import annotations

import sqlite3

from edgepose.checks.base import CheckContext, CheckResult, Verdict
from edgepose.config import state_directory
from edgepose.publish.spool import SPOOL_FILENAME

_NEARLY_FULL = 0.8


def check_spool(ctx: CheckContext) -> CheckResult:
    """Undelivered events in the spool (read-only: the file is not created here)."""
    path = state_directory(ctx.config) / SPOOL_FILENAME
    limit = ctx.config.mqtt.spool_max_events
    if not path.exists():
        return CheckResult(Verdict.OK, f"no spool yet ({path} is made on first start)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
        try:
            depth = int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error as exc:
        return CheckResult(Verdict.WARN, f"{path}: {exc} (the daemon moves a corrupt spool aside)")
    detail = f"{depth} undelivered events of at most {limit} in {path}"
    if depth >= _NEARLY_FULL * limit:
        return CheckResult(Verdict.WARN, detail + ": nearly full, the oldest will be dropped")
    return CheckResult(Verdict.OK, detail)
