"""The `edgepose` command line: one module per subcommand in this package.

Each module `edgepose/cli/<name>.py` defines `register(subparsers) -> None`, which adds its
parser and sets `handler=run`, and `run(args) -> int`. Modules import heavy dependencies
inside `run`, so `edgepose --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from edgepose import __version__
from edgepose.cli._image_header import apply_opencv_limit
from edgepose.errors import EdgeposeError
from edgepose.redact import RedactingFilter, redact
from edgepose.service_lifecycle import install_signals

log = logging.getLogger("edgepose")

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand found in this package."""
    parser = argparse.ArgumentParser(prog="edgepose", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"edgepose {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run one subcommand, map user-facing errors to one stderr line and an exit code."""
    # Before the subcommands (numpy, OpenCV) are imported: a SIGHUP now must not kill a starting
    # daemon (systemctl reload); `run` takes the events over, other commands get the defaults back.
    stop, reload = threading.Event(), threading.Event()
    restore_signals = install_signals(stop, reload)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except BaseException:
        restore_signals()
        raise
    if args.command == "run":
        args.stop_event, args.reload_event = stop, reload
    else:
        restore_signals()
        if stop.is_set():
            return 128 + signal.SIGTERM
    apply_opencv_limit()  # before anything decodes an image: OpenCV reads the limit once
    try:
        return _dispatch(args)
    finally:
        restore_signals()


def _dispatch(args: argparse.Namespace) -> int:
    """Run the chosen subcommand; user-facing errors become one stderr line and their exit code."""
    if not logging.getLogger().handlers:
        level = logging.WARNING - 10 * min(int(args.verbose), 2)
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
        for root_handler in logging.getLogger().handlers:
            root_handler.addFilter(RedactingFilter())
    handler: Handler = args.handler
    try:
        return handler(args)
    except EdgeposeError as exc:
        print(f"edgepose {args.command}: {redact(str(exc))}", file=sys.stderr)  # noqa: T201
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
