"""EdgeTPU diagnostics on fake sysfs trees, fake pycoral, and the `edgepose devices` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from edgepose.cli import main
from edgepose.inference.edgetpu.devices import PI5_KERNEL_4K, PI5_OVERLAY, DeviceKind, scan_pci, scan_usb
from edgepose.inference.edgetpu.diagnosis import Level, diagnose
from tests.plugins.accelerators import FakeCoral, FakeSys

REPO = Path(__file__).resolve().parent.parent
OK_ENV = {"groups": frozenset({"plugdev", "apex"}), "is_root": False, "libedgetpu_found": True}


def _messages(d: object, level: Level) -> list[str]:
    return [f.message for f in d.findings if f.level is level]


def test_empty_system_fails_with_power_and_driver_fixes(fake_sys: FakeSys) -> None:
    d = diagnose(fake_sys.paths(), **OK_ENV)
    assert d.devices == () and d.listed_by == "sysfs"
    assert d.worst is Level.FAIL
    [fail] = [f for f in d.findings if f.level is Level.FAIL]
    assert fail.message == "no EdgeTPU found on USB or PCIe"
    assert fail.fix is not None and "USB 3 port" in fail.fix and "power supply" in fail.fix
    assert "gasket-dkms" in fail.fix


def test_missing_libedgetpu_comes_first(fake_sys: FakeSys) -> None:
    fake_sys.usb("2-1", "18d1", "9302")
    fake_sys.udev_rule()
    d = diagnose(fake_sys.paths(), groups=frozenset({"plugdev"}), is_root=False, libedgetpu_found=False)
    assert d.findings[0].level is Level.FAIL
    assert d.first_fix() == d.findings[0].fix
    assert "libedgetpu1-std" in (d.first_fix() or "")


def test_ready_usb3_device_is_clean(fake_sys: FakeSys) -> None:
    fake_sys.usb("1-1", "046d", "c52b", 12)  # a mouse: ignored
    fake_sys.usb("2-1", "18d1", "9302", 5000)
    fake_sys.udev_rule()
    d = diagnose(fake_sys.paths(), **OK_ENV)
    [dev] = d.devices
    assert (dev.kind, dev.device_spec, dev.initialised, dev.usb_speed_mbps) == (
        DeviceKind.USB,
        "usb:0",
        True,
        5000,
    )
    assert dev.path.endswith("sys/bus/usb/devices/2-1")
    assert [f.level for f in d.findings] == [Level.OK]
    assert "pycoral is not needed" in d.findings[0].message
    assert d.worst is Level.OK


def test_usb2_port_warns_with_fix(fake_sys: FakeSys) -> None:
    fake_sys.usb("1-1.2", "18d1", "9302", 480)
    fake_sys.udev_rule()
    d = diagnose(fake_sys.paths(), **OK_ENV)
    [warn] = [f for f in d.findings if f.level is Level.WARN]
    assert "on a USB 2 port (480 Mbit/s)" in warn.message
    assert warn.fix is not None and "USB 3 port" in warn.fix


def test_uninitialised_usb_is_listed_and_explained(fake_sys: FakeSys) -> None:
    fake_sys.usb("2-1", "1a6e", "089a", 5000)
    fake_sys.usb("2-2", "18d1", "9302", 5000)
    fake_sys.udev_rule()
    d = diagnose(fake_sys.paths(), **OK_ENV)
    assert [(x.device_spec, x.initialised) for x in d.devices] == [("usb:0", False), ("usb:1", True)]
    assert d.worst is Level.OK
    assert any("not initialised yet (1a6e:089a)" in m for m in _messages(d, Level.OK))


def test_missing_udev_rule_and_group(fake_sys: FakeSys) -> None:
    fake_sys.usb("2-1", "18d1", "9302", 5000)
    fake_sys.write("etc/udev/rules.d/99-other.rules", 'ATTRS{idVendor}=="18d1"\n')  # only one of the two ids
    d = diagnose(fake_sys.paths(), groups=frozenset({"video"}), is_root=False, libedgetpu_found=True)
    warns = [f for f in d.findings if f.level is Level.WARN]
    assert [w.message for w in warns] == [
        "no udev rule for the Coral USB ids 1a6e/18d1: only root may open it",
        "this user is not in the plugdev group",
    ]
    assert "udevadm control --reload-rules" in (warns[0].fix or "")
    assert "usermod -aG plugdev" in (warns[1].fix or "")
    # root needs no group
    d_root = diagnose(fake_sys.paths(), groups=frozenset(), is_root=True, libedgetpu_found=True)
    assert "this user is not in the plugdev group" not in _messages(d_root, Level.WARN)


def test_pcie_devices_temperature_and_group(fake_sys: FakeSys) -> None:
    fake_sys.apex(1, 91250)
    fake_sys.apex(0, 45500)
    fake_sys.apex(10, None)
    devs = scan_pci(fake_sys.paths())
    assert [(d.device_spec, Path(d.path).name, d.temperature_c) for d in devs] == [
        ("pci:0", "apex_0", 45.5),
        ("pci:1", "apex_1", 91.25),
        ("pci:2", "apex_10", None),
    ]
    d = diagnose(fake_sys.paths(), groups=frozenset({"plugdev"}), is_root=False, libedgetpu_found=True)
    warns = _messages(d, Level.WARN)
    assert any("pci:1" in m and "91.2 C, throttling (from 85 C)" in m for m in warns)
    # The driver's own trip point wins over the default.
    fake_sys.write("sys/class/apex/apex_0/trip_point0_temp", "40000\n")
    d = diagnose(fake_sys.paths(), groups=frozenset({"apex"}), is_root=False, libedgetpu_found=True)
    assert any("pci:0" in m and "45.5 C, throttling (from 40 C)" in m for m in _messages(d, Level.WARN))
    assert "this user is not in the apex group" in warns
    assert not any("udev rule" in m for m in warns)  # no USB device: no USB rule needed


def test_pcie_card_without_driver_on_pi5(fake_sys: FakeSys) -> None:
    fake_sys.write("sys/bus/pci/devices/0000:01:00.0/vendor", "0x1ac1\n")
    fake_sys.write("sys/bus/pci/devices/0000:01:00.0/device", "0x089a\n")
    fake_sys.write("proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0\x00")
    d = diagnose(fake_sys.paths(), **OK_ENV)
    [fail] = [f for f in d.findings if f.level is Level.FAIL]
    assert (
        "Coral PCIe card is on the bus (1ac1:089a) but the apex/gasket driver is not loaded" in fail.message
    )
    assert fail.fix is not None and "gasket-dkms" in fail.fix and PI5_OVERLAY in fail.fix


@pytest.mark.parametrize("configured", [False, True])
def test_pi5_overlay_hint(fake_sys: FakeSys, configured: bool) -> None:
    fake_sys.write("proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0\x00")
    text = "[all]\ndtparam=pciex1\n"
    if configured:
        text += f"{PI5_OVERLAY}\n{PI5_KERNEL_4K}  # 4K pages for apex\n"
    else:
        text += f"#{PI5_OVERLAY}\n"  # commented out does not count
    fake_sys.write("boot/firmware/config.txt", text)
    d = diagnose(fake_sys.paths(), **OK_ENV)
    hinted = "Raspberry Pi 5 without the PCIe settings an M.2 Coral needs" in _messages(d, Level.WARN)
    assert hinted is not configured


def test_not_a_pi5_gets_no_overlay_hint(fake_sys: FakeSys) -> None:
    fake_sys.write("proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.5\x00")
    d = diagnose(fake_sys.paths(), **OK_ENV)
    assert not any("Raspberry Pi 5" in f.message for f in d.findings)


def test_pycoral_listing_is_used_and_enriched(fake_coral: FakeCoral, fake_sys: FakeSys) -> None:
    fake_coral.attach(("usb", "/sys/bus/usb/devices/2-1"), ("pci", "/dev/apex_0"))
    fake_sys.usb("2-1", "18d1", "9302", 480)
    fake_sys.usb("2-2", "1a6e", "089a", 5000)  # pycoral does not list uninitialised devices
    fake_sys.apex(0, 60000)
    fake_sys.udev_rule()
    d = diagnose(fake_sys.paths(), pycoral_edgetpu=fake_coral.pycoral_edgetpu(), **OK_ENV)
    assert d.listed_by == "pycoral"
    assert [(x.device_spec, x.usb_speed_mbps, x.temperature_c, x.initialised) for x in d.devices] == [
        ("usb:0", 480, None, True),
        ("pci:0", None, 60.0, True),
        ("usb:1", 5000, None, False),
    ]
    assert any("USB 2 port" in m for m in _messages(d, Level.WARN))


def test_scan_usb_handles_missing_files(fake_sys: FakeSys) -> None:
    fake_sys.usb("2-1", "18d1", "9302", None)
    fake_sys.write("sys/bus/usb/devices/usb2/idVendor", "1d6b\n")  # root hub, no idProduct
    [dev] = scan_usb(fake_sys.paths())
    assert dev.usb_speed_mbps is None


def test_devices_cli_json(fake_sys: FakeSys, capsys: pytest.CaptureFixture[str], no_pycoral: None) -> None:
    fake_sys.usb("2-1", "18d1", "9302", 480)
    rc = main(["devices", "--json", "--root", str(fake_sys.root)])
    payload = json.loads(capsys.readouterr().out)
    assert payload["listed_by"] == "sysfs"
    assert payload["devices"] == [
        {
            "device": "usb:0",
            "type": "usb",
            "path": str(fake_sys.root / "sys/bus/usb/devices/2-1"),
            "initialised": True,
            "usb_speed_mbps": 480,
            "temperature_c": None,
        }
    ]
    levels = {f["level"] for f in payload["findings"]}
    assert "warn" in levels
    # This machine has no libedgetpu: that is a FAIL, and the exit code says so.
    assert rc == (1 if payload["verdict"] == "FAIL" else 0)


def test_devices_cli_subprocess_text(fake_sys: FakeSys) -> None:
    fake_sys.apex(0, 52000)
    out = subprocess.run(
        [sys.executable, "-m", "edgepose", "devices", "--root", str(fake_sys.root)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "EdgeTPUs (sysfs): 1"
    assert lines[1].split() == ["pci:0", str(fake_sys.root / "dev/apex_0"), "52.0", "C"]
    assert out.returncode in (0, 1)


def test_devices_cli_bad_root(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["devices", "--root", str(tmp_path / "nope")]) == 64
    assert capsys.readouterr().err.strip() == f"edgepose devices: --root {tmp_path / 'nope'}: not a folder"


def test_devices_cli_model_split(
    fake_sys: FakeSys, tflite_builder: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compiled = tmp_path / "movenet_edgetpu.tflite"
    compiled.write_bytes(tflite_builder.movenet_standin(edgetpu=True))
    main(["devices", "--root", str(fake_sys.root), "--model", str(compiled)])
    assert f"{compiled}: 1 op on EdgeTPU, 3 on CPU (ADD, MEAN, MUL)" in capsys.readouterr().out.splitlines()
    main(["devices", "--json", "--root", str(fake_sys.root), "--model", str(compiled)])
    models = json.loads(capsys.readouterr().out)["models"]
    assert models == {str(compiled): {"edgetpu_ops": 1, "cpu_ops": ["MEAN", "MUL", "ADD"]}}
    assert main(["devices", "--model", str(tmp_path / "missing.tflite")]) == 69
    assert "cannot read model" in capsys.readouterr().err
