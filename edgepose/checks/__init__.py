"""`edgepose check`: one registry of named checks, each giving one verdict line (ok / warn / FAIL).

The built-in checks are registered below, explicitly, when this module is imported: runtime,
accelerator, edgetpu, models, source, broker, state, spool. `register_check(name, fn, order)` adds
one or replaces one by name; lower `order` runs first.
"""

from __future__ import annotations

from edgepose.checks.base import CheckContext, CheckFunction, CheckResult, Verdict, run_check
from edgepose.checks.broker import check_broker, check_state
from edgepose.checks.edgetpu import check_edgetpu
from edgepose.checks.models import check_accelerator, check_models
from edgepose.checks.runtime import check_runtime
from edgepose.checks.source import check_source
from edgepose.checks.spool import check_spool

__all__ = [
    "CheckContext",
    "CheckFunction",
    "CheckResult",
    "Verdict",
    "register_check",
    "registered_checks",
    "run_check",
]

_CHECKS: dict[str, tuple[int, CheckFunction]] = {}


def register_check(name: str, fn: CheckFunction, order: int = 50) -> None:
    """Run `fn(ctx) -> CheckResult` as check `name` (replacing one of that name)."""
    _CHECKS[name] = (order, fn)


def registered_checks() -> list[tuple[str, CheckFunction]]:
    """The checks in run order (by `order`, then name)."""
    return [(name, fn) for name, (_, fn) in sorted(_CHECKS.items(), key=lambda item: (item[1][0], item[0]))]


register_check("runtime", check_runtime, order=10)
register_check("accelerator", check_accelerator, order=20)
register_check("edgetpu", check_edgetpu, order=21)
register_check("models", check_models, order=30)
register_check("source", check_source, order=40)
register_check("broker", check_broker, order=50)
register_check("state", check_state, order=60)
register_check("spool", check_spool, order=61)
