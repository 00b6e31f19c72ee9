"""EdgeTPU diagnosis: the known problems that stop a Coral from working, each with its fix."""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType

from edgepose.inference.edgetpu.devices import (
    PI5_KERNEL_4K,
    PI5_OVERLAY,
    USB3_MIN_SPEED_MBPS,
    DeviceKind,
    EdgeTpu,
    SystemPaths,
    current_groups,
    is_raspberry_pi_5,
    libedgetpu_installed,
    list_edge_tpus,
    pci_coral_on_bus,
    pi5_pcie_ready,
    udev_rules_cover_usb,
)

FIX_POWER_CABLE = (
    "plug the Coral USB into a USB 3 port with the cable that came with it, on a power supply that can "
    "feed it (the official Pi PSU, or a powered hub); then unplug and replug it"
)
FIX_USB3 = (
    "move the Coral to a USB 3 port (blue, 5000 Mbit/s) and use a USB 3 cable; USB 2 is several times slower"
)
FIX_UDEV = (
    "install libedgetpu1-std (it ships the udev rule 60-libedgetpu1-std.rules), or add "
    'SUBSYSTEM=="usb", ATTRS{idVendor}=="1a6e", GROUP="plugdev" and the same for 18d1 to '
    "/etc/udev/rules.d/, then: sudo udevadm control --reload-rules && sudo udevadm trigger"
)
FIX_LIBEDGETPU = "install the EdgeTPU runtime from Coral's apt repository: sudo apt install libedgetpu1-std"
FIX_APEX_MODULE = (
    "install the PCIe driver: sudo apt install gasket-dkms linux-headers-$(uname -r) "
    "(or build it from the gasket-driver source where the package fails), then reboot"
)
FIX_PI5 = (
    f"on a Raspberry Pi 5 add '{PI5_OVERLAY}' and '{PI5_KERNEL_4K}' (the apex driver needs 4K pages) "
    "to /boot/firmware/config.txt, then reboot"
)
FIX_APEX_GROUP = (
    'let the service user open /dev/apex_*: add the udev rule SUBSYSTEM=="apex", MODE="0660", '
    'GROUP="apex" and run: sudo groupadd -f apex && sudo usermod -aG apex edgepose (log in again)'
)
FIX_PLUGDEV_GROUP = "add the service user to plugdev: sudo usermod -aG plugdev edgepose (log in again)"
FIX_HOT = "give the Coral air or a heatsink; above its trip point (85 C by default) the driver slows it"


class Level(enum.StrEnum):
    """The verdict of one finding, as `edgepose check` prints it."""

    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Finding:
    """One diagnostic line: a verdict, what was seen, and the fix when something is wrong."""

    level: Level
    message: str
    fix: str | None = None

    def line(self) -> str:
        """'warn: message (fix: ...)'."""
        text = f"{self.level.value}: {self.message}"
        return text + (f" (fix: {self.fix})" if self.fix else "")


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The EdgeTPUs found, how they were listed, and the findings in order of importance."""

    devices: tuple[EdgeTpu, ...]
    listed_by: str  # "pycoral" or "sysfs"
    findings: tuple[Finding, ...] = field(default=())

    @property
    def worst(self) -> Level:
        """The most severe verdict (ok when there are no findings)."""
        levels = {f.level for f in self.findings}
        for level in (Level.FAIL, Level.WARN):
            if level in levels:
                return level
        return Level.OK

    def first_fix(self) -> str | None:
        """The fix of the most severe finding, for an error message."""
        for level in (Level.FAIL, Level.WARN):
            for finding in self.findings:
                if finding.level is level and finding.fix:
                    return finding.fix
        return None


def _device_findings(devices: Sequence[EdgeTpu]) -> list[Finding]:
    findings: list[Finding] = []
    for dev in devices:
        name = f"{dev.device_spec} ({dev.path})"
        if dev.kind is DeviceKind.USB and not dev.initialised:
            findings.append(
                Finding(
                    Level.OK,
                    f"{name}: Coral USB not initialised yet (1a6e:089a); normal until first use, when "
                    "libedgetpu loads its firmware and it becomes 18d1:9302",
                )
            )
        if dev.usb_speed_mbps is not None and dev.usb_speed_mbps < USB3_MIN_SPEED_MBPS:
            findings.append(
                Finding(Level.WARN, f"{name}: on a USB 2 port ({dev.usb_speed_mbps} Mbit/s)", FIX_USB3)
            )
        if dev.temperature_c is not None and dev.temperature_c >= dev.throttle_temp_c:
            where = f"{dev.temperature_c:.1f} C, throttling (from {dev.throttle_temp_c:.0f} C)"
            findings.append(Finding(Level.WARN, f"{name}: {where}", FIX_HOT))
    return findings


def _access_findings(
    devices: Sequence[EdgeTpu], paths: SystemPaths, groups: frozenset[str], is_root: bool
) -> list[Finding]:
    findings: list[Finding] = []
    usb = [d for d in devices if d.kind is DeviceKind.USB]
    pci = [d for d in devices if d.kind is DeviceKind.PCI]
    if usb and not udev_rules_cover_usb(paths):
        findings.append(
            Finding(
                Level.WARN, "no udev rule for the Coral USB ids 1a6e/18d1: only root may open it", FIX_UDEV
            )
        )
    if usb and not is_root and "plugdev" not in groups:
        findings.append(Finding(Level.WARN, "this user is not in the plugdev group", FIX_PLUGDEV_GROUP))
    if pci and not is_root and "apex" not in groups:
        findings.append(Finding(Level.WARN, "this user is not in the apex group", FIX_APEX_GROUP))
    return findings


def _missing_findings(paths: SystemPaths) -> list[Finding]:
    """Why no EdgeTPU shows up: the PCIe driver or the Pi 5 overlay, else power and cable."""
    if pci_coral_on_bus(paths) and not (paths.sys_root / "module" / "apex").is_dir():
        return [
            Finding(
                Level.FAIL,
                "a Coral PCIe card is on the bus (1ac1:089a) but the apex/gasket driver is not loaded",
                FIX_APEX_MODULE + ("; " + FIX_PI5 if is_raspberry_pi_5(paths) else ""),
            )
        ]
    fix = "USB: " + FIX_POWER_CABLE
    if not (paths.sys_root / "module" / "apex").is_dir():
        fix += "; M.2/PCIe: " + FIX_APEX_MODULE
    findings = [Finding(Level.FAIL, "no EdgeTPU found on USB or PCIe", fix)]
    if is_raspberry_pi_5(paths) and not pi5_pcie_ready(paths):
        findings.append(
            Finding(Level.WARN, "Raspberry Pi 5 without the PCIe settings an M.2 Coral needs", FIX_PI5)
        )
    return findings


def diagnose(
    paths: SystemPaths | None = None,
    *,
    pycoral_edgetpu: ModuleType | None = None,
    groups: frozenset[str] | None = None,
    is_root: bool | None = None,
    libedgetpu_found: bool | None = None,
) -> Diagnosis:
    """List the EdgeTPUs and check everything known to stop one from working."""
    paths = paths or SystemPaths()
    devices, listed_by = list_edge_tpus(paths, pycoral_edgetpu)
    groups = current_groups() if groups is None else groups
    is_root = (os.geteuid() == 0) if is_root is None else is_root
    found_lib = libedgetpu_installed() if libedgetpu_found is None else libedgetpu_found
    findings: list[Finding] = []
    if not found_lib and pycoral_edgetpu is None:
        findings.append(Finding(Level.FAIL, "libedgetpu.so.1 is not installed", FIX_LIBEDGETPU))
    if not devices:
        findings += _missing_findings(paths)
    if found_lib and pycoral_edgetpu is None:
        findings.append(
            Finding(
                Level.OK,
                "libedgetpu.so.1 installed; pycoral is not needed: edgepose loads the delegate "
                "through the TFLite runtime (so Python 3.11+ works without a pycoral wheel)",
            )
        )
    findings += _device_findings(devices)
    findings += _access_findings(devices, paths, groups, is_root)
    return Diagnosis(devices=tuple(devices), listed_by=listed_by, findings=tuple(findings))
