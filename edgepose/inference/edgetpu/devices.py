"""Coral EdgeTPUs attached to this machine, and the system facts their diagnosis reads.

Reads sysfs, /dev and a few config files (every root injectable, so tests use fake trees), or asks
pycoral's `list_edge_tpus()` when it is installed. Nothing here loads libedgetpu or opens a device.
"""

from __future__ import annotations

import ctypes.util
import enum
import grp
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)
USB_VENDOR_UNINITIALISED, USB_PRODUCT_UNINITIALISED = "1a6e", "089a"  # before libedgetpu loads firmware
USB_VENDOR_READY, USB_PRODUCT_READY = "18d1", "9302"
PCI_VENDOR, PCI_DEVICE = "0x1ac1", "0x089a"
USB3_MIN_SPEED_MBPS = 5000
# The apex driver starts throttling at 85 C by default (trip points 85/90/95 C).
THROTTLE_TEMP_C = 85.0
PI5_OVERLAY = "dtoverlay=pciex1-compat-pi5,no-mip"
PI5_KERNEL_4K = "kernel=kernel8.img"


class DeviceKind(enum.StrEnum):
    """How an EdgeTPU is attached."""

    USB = "usb"
    PCI = "pci"


@dataclass(frozen=True, slots=True)
class EdgeTpu:
    """One attached EdgeTPU."""

    kind: DeviceKind
    path: str  # sysfs path of the USB device, or /dev/apex_N
    index: int  # position among devices of its kind: the N of 'usb:N' / 'pci:N'
    initialised: bool = True  # USB only: 18d1:9302 (True) or 1a6e:089a (firmware not loaded yet)
    usb_speed_mbps: int | None = None
    temperature_c: float | None = None
    throttle_temp_c: float = THROTTLE_TEMP_C

    @property
    def device_spec(self) -> str:
        """The libedgetpu device string that selects this EdgeTPU, e.g. 'usb:0'."""
        return f"{self.kind.value}:{self.index}"


@dataclass(frozen=True, slots=True)
class SystemPaths:
    """Where the diagnostics look; `under(root)` rebases everything for a fake tree."""

    sys_root: Path = Path("/sys")
    dev_root: Path = Path("/dev")
    udev_rule_dirs: tuple[Path, ...] = (
        Path("/etc/udev/rules.d"),
        Path("/lib/udev/rules.d"),
        Path("/usr/lib/udev/rules.d"),
    )
    boot_configs: tuple[Path, ...] = (Path("/boot/firmware/config.txt"), Path("/boot/config.txt"))
    device_tree_model: Path = Path("/proc/device-tree/model")

    @classmethod
    def under(cls, root: Path) -> SystemPaths:
        """The same layout below `root` instead of `/`."""
        base = cls()

        def move(path: Path) -> Path:
            return root / path.relative_to("/")

        return cls(
            sys_root=move(base.sys_root),
            dev_root=move(base.dev_root),
            udev_rule_dirs=tuple(move(p) for p in base.udev_rule_dirs),
            boot_configs=tuple(move(p) for p in base.boot_configs),
            device_tree_model=move(base.device_tree_model),
        )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip().strip("\x00")
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    if text is None:
        return None
    try:
        return int(float(text))
    except ValueError:
        return None


def _usb_device(folder: Path, index: int) -> EdgeTpu | None:
    ids = (_read(folder / "idVendor"), _read(folder / "idProduct"))
    if ids == (USB_VENDOR_READY, USB_PRODUCT_READY):
        initialised = True
    elif ids == (USB_VENDOR_UNINITIALISED, USB_PRODUCT_UNINITIALISED):
        initialised = False
    else:
        return None
    return EdgeTpu(
        kind=DeviceKind.USB,
        path=str(folder),
        index=index,
        initialised=initialised,
        usb_speed_mbps=_read_int(folder / "speed"),
    )


def scan_usb(paths: SystemPaths) -> list[EdgeTpu]:
    """Coral USB accelerators in sysfs, by their vendor:product ids, in bus order."""
    root = paths.sys_root / "bus" / "usb" / "devices"
    found: list[EdgeTpu] = []
    for folder in sorted(root.glob("*")) if root.is_dir() else []:
        device = _usb_device(folder, len(found))
        if device is not None:
            found.append(device)
    return found


def _apex_number(path: Path) -> int:
    match = re.search(r"(\d+)$", path.name)
    return int(match.group(1)) if match else 0


def _apex_temperature_c(paths: SystemPaths, name: str) -> float | None:
    millideg = _read_int(paths.sys_root / "class" / "apex" / name / "temp")
    return None if millideg is None else millideg / 1000.0


def _apex_throttle_c(paths: SystemPaths, name: str) -> float:
    """The driver's first throttling trip point (`trip_point0_temp`), 85 C when not exposed."""
    millideg = _read_int(paths.sys_root / "class" / "apex" / name / "trip_point0_temp")
    return THROTTLE_TEMP_C if not millideg else millideg / 1000.0


def scan_pci(paths: SystemPaths) -> list[EdgeTpu]:
    """PCIe/M.2 EdgeTPUs: the apex driver's /dev/apex_N nodes, with the chip temperature."""
    nodes = sorted(paths.dev_root.glob("apex_*"), key=_apex_number)
    return [
        EdgeTpu(
            kind=DeviceKind.PCI,
            path=str(paths.dev_root / node.name),
            index=i,
            temperature_c=_apex_temperature_c(paths, node.name),
            throttle_temp_c=_apex_throttle_c(paths, node.name),
        )
        for i, node in enumerate(nodes)
    ]


def _sys_path(paths: SystemPaths, path: str) -> Path:
    """A /sys path as reported by pycoral, inside the (possibly fake) sysfs root."""
    return paths.sys_root / path[len("/sys/") :] if path.startswith("/sys/") else Path(path)


def devices_from_pycoral(entries: Sequence[dict[str, Any]], paths: SystemPaths) -> list[EdgeTpu]:
    """pycoral's `list_edge_tpus()` entries ({'type': 'usb', 'path': ...}), with speed and temperature."""
    devices: list[EdgeTpu] = []
    counts = {DeviceKind.USB: 0, DeviceKind.PCI: 0}
    for entry in entries:
        kind = DeviceKind(str(entry.get("type", "usb")))
        path = str(entry.get("path", ""))
        speed = _read_int(_sys_path(paths, path) / "speed") if kind is DeviceKind.USB else None
        name = Path(path).name
        temp = _apex_temperature_c(paths, name) if kind is DeviceKind.PCI else None
        throttle = _apex_throttle_c(paths, name)
        devices.append(
            EdgeTpu(
                kind, path, counts[kind], usb_speed_mbps=speed, temperature_c=temp, throttle_temp_c=throttle
            )
        )
        counts[kind] += 1
    return devices


def list_edge_tpus(
    paths: SystemPaths, pycoral_edgetpu: ModuleType | None = None
) -> tuple[list[EdgeTpu], str]:
    """The attached EdgeTPUs and who listed them: pycoral where present, else sysfs and /dev."""
    if pycoral_edgetpu is not None:
        try:
            entries = pycoral_edgetpu.list_edge_tpus()
        except (RuntimeError, OSError) as exc:
            log.warning("pycoral list_edge_tpus failed (%s); reading sysfs", exc)
        else:
            # pycoral lists only initialised USB devices; an uninitialised one is still worth showing.
            pending = [d for d in scan_usb(paths) if not d.initialised]
            return devices_from_pycoral(entries, paths) + pending, "pycoral"
    return scan_usb(paths) + scan_pci(paths), "sysfs"


def udev_rules_cover_usb(paths: SystemPaths) -> bool:
    seen: set[str] = set()
    for folder in paths.udev_rule_dirs:
        for rule in sorted(folder.glob("*.rules")) if folder.is_dir() else []:
            text = (_read(rule) or "").lower()
            seen.update(v for v in (USB_VENDOR_UNINITIALISED, USB_VENDOR_READY) if v in text)
    return {USB_VENDOR_UNINITIALISED, USB_VENDOR_READY} <= seen


def pci_coral_on_bus(paths: SystemPaths) -> bool:
    root = paths.sys_root / "bus" / "pci" / "devices"
    return any(
        _read(d / "vendor") == PCI_VENDOR and _read(d / "device") == PCI_DEVICE
        for d in (sorted(root.glob("*")) if root.is_dir() else [])
    )


def is_raspberry_pi_5(paths: SystemPaths) -> bool:
    """True on a Raspberry Pi 5 (from the device-tree model string)."""
    return "Raspberry Pi 5" in (_read(paths.device_tree_model) or "")


def _boot_config_lines(paths: SystemPaths) -> list[str]:
    for config in paths.boot_configs:
        text = _read(config)
        if text is not None:
            return [line.split("#", 1)[0].strip().replace(" ", "") for line in text.splitlines()]
    return []


def pi5_pcie_ready(paths: SystemPaths) -> bool:
    lines = _boot_config_lines(paths)
    return PI5_OVERLAY in lines and PI5_KERNEL_4K in lines


def current_groups() -> frozenset[str]:
    """The group names of this process."""
    names: set[str] = set()
    for gid in [*os.getgroups(), os.getgid()]:
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return frozenset(names)


def libedgetpu_installed() -> bool:
    """Whether the dynamic loader can find libedgetpu."""
    return ctypes.util.find_library("edgetpu") is not None
