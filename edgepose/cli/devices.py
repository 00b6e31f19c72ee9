"""`edgepose devices`: list Coral EdgeTPUs and name the fix for each known problem."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from edgepose.errors import UsageError


def register(subparsers: Any) -> None:
    """Add the `devices` subcommand."""
    parser = subparsers.add_parser(
        "devices",
        help="list Coral EdgeTPUs (USB, PCIe) and diagnose known problems",
        description=(
            "List Coral EdgeTPUs (pycoral's list when installed, else sysfs and /dev/apex_*) and check "
            "the USB port speed, udev rules, groups, the PCIe driver, the Pi 5 overlay and the chip "
            "temperature. Exit code 0 when nothing failed, 1 otherwise."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="also report how much of a compiled .tflite runs on the EdgeTPU (repeatable)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="read sysfs, /dev and /etc below this folder (a mounted Pi image, or a test tree)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the devices and findings; 1 when any finding failed."""
    from edgepose.inference.edgetpu.report import devices_report

    root: Path | None = args.root
    if root is not None and not root.is_dir():
        raise UsageError(f"--root {root}: not a folder")
    report = devices_report(root, list(args.model))
    if args.json:
        print(json.dumps(report.to_json()))  # noqa: T201
    else:
        print("\n".join(report.lines()))  # noqa: T201
    return 1 if report.failed else 0
