"""The vocabulary of `edgepose check`: a verdict per check, its context, and running one safely."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgepose.config import Config
from edgepose.errors import EdgeposeError

log = logging.getLogger("edgepose.checks")


class Verdict(enum.StrEnum):
    """How a check went; FAIL is upper case so it stands out in a column of `ok`."""

    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One verdict and the short reason shown next to it."""

    verdict: Verdict
    detail: str


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What every check may look at: the validated config and where it came from."""

    config: Config
    config_path: Path | None


CheckFunction = Callable[[CheckContext], CheckResult]


def run_check(fn: CheckFunction, ctx: CheckContext) -> CheckResult:
    """One check; an exception becomes a FAIL with its message rather than a traceback."""
    try:
        return fn(ctx)
    except EdgeposeError as exc:
        return CheckResult(Verdict.FAIL, str(exc))
    except Exception as exc:
        log.debug("check crashed", exc_info=True)
        return CheckResult(Verdict.FAIL, f"{type(exc).__name__}: {exc}")
