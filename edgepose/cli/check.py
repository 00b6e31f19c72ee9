"""`edgepose check`: config, runtime, accelerator, models, source and broker, one verdict line each."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_FAILED = 1


def register(subparsers: Any) -> None:
    """Add the `check` subcommand."""
    from edgepose.cli.run import add_config_arguments

    parser = subparsers.add_parser(
        "check",
        help="check config, models, source, broker and accelerator",
        description="Check everything `edgepose run` needs and print one line per check: ok, warn or FAIL. "
        "Exit code 0 when nothing failed, 1 when a check failed, 78 when the config is invalid.",
    )
    add_config_arguments(parser)
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this check (repeatable)")
    parser.set_defaults(handler=run)


def _line(verdict: str, name: str, detail: str) -> None:
    from edgepose.redact import redact

    print(f"{verdict:<4}  {name:<12} {redact(detail)}")  # noqa: T201


def run(args: argparse.Namespace) -> int:
    """Run the checks; the exit code."""
    from edgepose.checks import CheckContext, Verdict, registered_checks, run_check
    from edgepose.config import default_config_path, load_config
    from edgepose.errors import ConfigError, EdgeposeError
    from edgepose.service_reload import apply_overrides

    path: Path | None = args.config if args.config is not None else default_config_path()
    try:
        config = apply_overrides(load_config(path), args.source, args.publish)
    except ConfigError as exc:
        first, *rest = str(exc).splitlines()
        _line(Verdict.FAIL, "config", first)
        for extra in rest:
            _line("", "", extra)
        return exc.exit_code
    except EdgeposeError as exc:
        _line(Verdict.FAIL, "config", str(exc))
        return exc.exit_code
    _line(Verdict.OK, "config", str(path) if path is not None else "built-in defaults (no config file)")
    ctx = CheckContext(config=config, config_path=path)
    failed = False
    for name, fn in registered_checks():
        if args.only and name not in args.only:
            continue
        result = run_check(fn, ctx)
        _line(result.verdict, name, result.detail)
        sys.stdout.flush()
        failed = failed or result.verdict is Verdict.FAIL
    return EXIT_FAILED if failed else 0
