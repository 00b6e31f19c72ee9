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


def _device_json(device: Any) -> dict[str, Any]:
    return {
        "device": device.device_spec,
        "type": device.kind.value,
        "path": device.path,
        "initialised": device.initialised,
        "usb_speed_mbps": device.usb_speed_mbps,
        "temperature_c": device.temperature_c,
    }


def _device_line(device: Any) -> str:
    parts = [device.device_spec, device.path]
    if device.kind.value == "usb":
        parts.append("ready" if device.initialised else "not initialised (1a6e:089a)")
        if device.usb_speed_mbps is not None:
            parts.append(f"{device.usb_speed_mbps} Mbit/s")
    if device.temperature_c is not None:
        parts.append(f"{device.temperature_c:.1f} C")
    return "  " + "  ".join(parts)


def run(args: argparse.Namespace) -> int:
    """Print the devices and findings; 1 when any finding failed."""
    from edgepose.inference.accelerators.edgetpu import import_pycoral
    from edgepose.inference.accelerators.opsplit import op_split
    from edgepose.inference.edgetpu_devices import Level, SystemPaths, diagnose

    root: Path | None = args.root
    if root is not None and not root.is_dir():
        raise UsageError(f"--root {root}: not a folder")
    paths = SystemPaths.under(root) if root is not None else SystemPaths()
    splits = {str(model): op_split(model) for model in args.model}
    diagnosis = diagnose(paths, pycoral_edgetpu=import_pycoral())
    if args.json:
        payload = {
            "listed_by": diagnosis.listed_by,
            "devices": [_device_json(d) for d in diagnosis.devices],
            "findings": [
                {"level": f.level.value, "message": f.message, "fix": f.fix} for f in diagnosis.findings
            ],
            "verdict": diagnosis.worst.value,
            "models": {
                name: {"edgetpu_ops": split.edgetpu_ops, "cpu_ops": list(split.cpu_ops)}
                for name, split in splits.items()
            },
        }
        print(json.dumps(payload))  # noqa: T201
    else:
        print(f"EdgeTPUs ({diagnosis.listed_by}): {len(diagnosis.devices)}")  # noqa: T201
        for device in diagnosis.devices:
            print(_device_line(device))  # noqa: T201
        for finding in diagnosis.findings:
            print(finding.line())  # noqa: T201
        if not diagnosis.findings:
            print("ok: no known problem found")  # noqa: T201
        for name, split in splits.items():
            print(f"{name}: {split.describe()}")  # noqa: T201
    return 1 if diagnosis.worst is Level.FAIL else 0
