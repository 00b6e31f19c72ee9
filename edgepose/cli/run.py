"""`edgepose run`: the daemon (capture, pose tracking, activity events, MQTT or stdout)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from edgepose.errors import EXIT_SOFTWARE

LOG_LEVELS = ("debug", "info", "warning", "error")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """--config, --source and --publish, shared by `run` and `check`."""
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="config file (default: $EDGEPOSE_CONFIG, else /etc/edgepose/edgepose.toml if present, "
        "else the built-in defaults)",
    )
    parser.add_argument(
        "--source",
        metavar="URI",
        help="override [source] uri: picamera2, v4l2:/dev/video0, file:PATH, rtsp://..., replay:FILE.jsonl",
    )
    parser.add_argument(
        "--publish", choices=("mqtt", "stdout"), help="override [service] publish (stdout: JSON lines)"
    )


def register(subparsers: Any) -> None:
    """Add the `run` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="run the daemon: capture frames, track poses, publish events",
        description="Run the edgepose daemon until SIGTERM (or the end of a file source with loop = false). "
        "SIGHUP re-reads the config file. Under systemd it reports readiness, status and watchdog "
        "liveness via sd_notify and logs to the journal.",
    )
    add_config_arguments(parser)
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="override [service] log_level")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the config, set up logging, run the service; the exit code.

    `edgepose.cli.main` installed the SIGTERM/SIGHUP handlers before any slow import; their
    events (`args.stop_event`, `args.reload_event`) go to the service, so a reload asked for
    while the models load is done once they are loaded.
    """
    from edgepose.config import default_config_path, load_config
    from edgepose.errors import EdgeposeError
    from edgepose.logging_setup import setup_logging
    from edgepose.service import Service
    from edgepose.service_reload import apply_overrides

    path: Path | None = args.config if args.config is not None else default_config_path()
    config = apply_overrides(load_config(path), args.source, args.publish)
    level = args.log_level or ("debug" if args.verbose >= 2 else config.service.log_level)
    setup_logging(level)
    service = Service(
        config,
        config_path=path,
        source_override=args.source,
        publish_override=args.publish,
        stop_event=getattr(args, "stop_event", None),
        reload_event=getattr(args, "reload_event", None),
    )
    try:
        return service.run()
    except EdgeposeError:
        raise
    except Exception:
        # A bug, not a user error: the traceback goes to the log (the journal under systemd), and
        # systemd restarts the daemon (Restart=on-failure).
        logging.getLogger("edgepose.service").critical("the daemon crashed", exc_info=True)
        return EXIT_SOFTWARE
