"""The `source` check: the configured camera, file or stream opens and delivers one frame."""

from __future__ import annotations

import logging
import threading
from typing import Any

from edgepose.checks.base import CheckContext, CheckResult, Verdict
from edgepose.errors import EdgeposeError

log = logging.getLogger("edgepose.checks")


def check_source(ctx: CheckContext) -> CheckResult:
    """The source opens and delivers one frame within its read timeout."""
    from edgepose.sources import create_source, parse_source_uri

    settings = ctx.config.source
    uri = parse_source_uri(settings.uri)
    source = create_source(uri, settings)
    outcome: list[Any] = []

    def grab() -> None:
        try:
            source.open()
            outcome.append(source.read())
        except BaseException as exc:
            outcome.append(exc)

    # A wedged driver must not hang `check`: read in a helper thread and give up after the timeout.
    worker = threading.Thread(target=grab, name="check source", daemon=True)
    worker.start()
    worker.join(settings.read_timeout_s + 10.0)
    if not outcome:
        return CheckResult(
            Verdict.FAIL, f"{uri.text}: no frame within {settings.read_timeout_s + 10.0:.0f} s"
        )
    try:
        source.close()
    except Exception as exc:
        log.debug("closing source: %s", exc)
    got = outcome[0]
    if isinstance(got, BaseException):
        if isinstance(got, EdgeposeError):
            return CheckResult(Verdict.FAIL, str(got))
        return CheckResult(Verdict.FAIL, f"{uri.text}: {type(got).__name__}: {got}")
    if got is None:
        return CheckResult(Verdict.FAIL, f"{uri.text}: opened but delivered no frame")
    kind = "live" if uri.live else "file"
    return CheckResult(Verdict.OK, f"{uri.text}: {got.width}x{got.height} ({kind})")
