"""What `edgepose devices` reports: the EdgeTPUs, the findings and the op split of compiled models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgepose.inference.edgetpu.accelerator import import_pycoral
from edgepose.inference.edgetpu.devices import DeviceKind, EdgeTpu, SystemPaths
from edgepose.inference.edgetpu.diagnosis import Diagnosis, Level, diagnose
from edgepose.inference.edgetpu.opsplit import OpSplit, op_split


@dataclass(frozen=True, slots=True)
class DevicesReport:
    """The diagnosis of this machine (or a tree under `--root`) and the op split of each model named."""

    diagnosis: Diagnosis
    splits: dict[str, OpSplit]

    @property
    def failed(self) -> bool:
        """Whether any finding failed."""
        return self.diagnosis.worst is Level.FAIL

    def to_json(self) -> dict[str, Any]:
        """One JSON object with devices, findings, the verdict and the models' op splits."""
        diagnosis = self.diagnosis
        return {
            "listed_by": diagnosis.listed_by,
            "devices": [_device_json(d) for d in diagnosis.devices],
            "findings": [
                {"level": f.level.value, "message": f.message, "fix": f.fix} for f in diagnosis.findings
            ],
            "verdict": diagnosis.worst.value,
            "models": {
                name: {"edgetpu_ops": split.edgetpu_ops, "cpu_ops": list(split.cpu_ops)}
                for name, split in self.splits.items()
            },
        }

    def lines(self) -> list[str]:
        """The text report, one line each."""
        diagnosis = self.diagnosis
        out = [f"EdgeTPUs ({diagnosis.listed_by}): {len(diagnosis.devices)}"]
        out += [_device_line(device) for device in diagnosis.devices]
        out += [finding.line() for finding in diagnosis.findings]
        if not diagnosis.findings:
            out.append("ok: no known problem found")
        out += [f"{name}: {split.describe()}" for name, split in self.splits.items()]
        return out


def devices_report(root: Path | None, models: list[Path]) -> DevicesReport:
    """Diagnose the EdgeTPUs (below `root` when given) and read the op split of each model file."""
    paths = SystemPaths.under(root) if root is not None else SystemPaths()
    splits = {str(model): op_split(model) for model in models}
    return DevicesReport(diagnose(paths, pycoral_edgetpu=import_pycoral()), splits)


def _device_json(device: EdgeTpu) -> dict[str, Any]:
    return {
        "device": device.device_spec,
        "type": device.kind.value,
        "path": device.path,
        "initialised": device.initialised,
        "usb_speed_mbps": device.usb_speed_mbps,
        "temperature_c": device.temperature_c,
    }


def _device_line(device: EdgeTpu) -> str:
    parts = [device.device_spec, device.path]
    if device.kind is DeviceKind.USB:
        parts.append("ready" if device.initialised else "not initialised (1a6e:089a)")
        if device.usb_speed_mbps is not None:
            parts.append(f"{device.usb_speed_mbps} Mbit/s")
    if device.temperature_c is not None:
        parts.append(f"{device.temperature_c:.1f} C")
    return "  " + "  ".join(parts)
