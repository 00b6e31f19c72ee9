"""The systemd unit (verify, security score, required settings) and scripts/install.sh (lint, dry run)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.daemon import REPO

UNIT = REPO / "systemd" / "edgepose.service"
INSTALL = REPO / "scripts" / "install.sh"
SHIPPED_EXEC = "/opt/edgepose/bin/edgepose"
MAX_EXPOSURE = 2.5


def unit_settings(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment; repeated keys (DeviceAllow=) all kept."""
    section = ""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def values(key: str) -> list[str]:
    return [v for s, k, v in unit_settings(UNIT.read_text()) if k == key and s == "Service"]


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze missing: scripts/apt-packages.txt installs Debian's systemd")
    return subprocess.run(
        ["systemd-analyze", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def unit_copy_for_verify(tmp_path: Path) -> Path:
    """The shipped unit with ExecStart pointing at this checkout's real `edgepose` executable.

    verify checks that ExecStart exists; /opt/edgepose is only there after scripts/install.sh.
    """
    exe = Path(sys.executable).parent / "edgepose"
    assert exe.is_file()
    copy = tmp_path / "edgepose.service"
    copy.write_text(UNIT.read_text().replace(SHIPPED_EXEC, str(exe)))
    return copy


def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    copy = unit_copy_for_verify(tmp_path)
    proc = analyze("verify", str(copy), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr


def test_shipped_unit_only_lacks_the_installed_executable(tmp_path: Path) -> None:
    shutil.copy(UNIT, tmp_path / "edgepose.service")
    proc = analyze("verify", str(tmp_path / "edgepose.service"), cwd=tmp_path)
    if Path(SHIPPED_EXEC).exists():
        assert proc.returncode == 0, proc.stderr
        return
    complaints = [line for line in proc.stderr.splitlines() if line.strip()]
    assert complaints == [
        f"edgepose.service: Command {SHIPPED_EXEC} is not executable: No such file or directory"
    ]


def test_security_exposure_score(tmp_path: Path) -> None:
    proc = analyze("security", "--offline=true", str(unit_copy_for_verify(tmp_path)), cwd=tmp_path)
    match = re.search(r"Overall exposure level for edgepose\.service: (\d+\.\d)", proc.stdout + proc.stderr)
    assert match, proc.stdout + proc.stderr
    score = float(match.group(1))
    print(f"systemd-analyze security --offline=true: {score}")
    assert score <= MAX_EXPOSURE


def test_unit_has_the_required_settings() -> None:
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "30",
        "Restart": "on-failure",
        "RestartPreventExitStatus": "78",
        "User": "edgepose",
        "SupplementaryGroups": "video",
        "StateDirectory": "edgepose",
        "ConfigurationDirectory": "edgepose",
        "ProtectSystem": "strict",
        "NoNewPrivileges": "true",
        "PrivateTmp": "true",
        "ProtectHome": "true",
        "ProtectKernelTunables": "true",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "DevicePolicy": "closed",
        "ExecReload": "/bin/kill -HUP $MAINPID",
    }
    for key, value in expected.items():
        assert value in values(key), f"{key}={value}"
    assert "@system-service" in values("SystemCallFilter")
    allowed = set(values("DeviceAllow"))
    for device in (
        "char-video4linux rw",
        "char-media rw",
        "char-dma_heap rw",
        "char-apex rw",
        "char-usb_device rw",
    ):
        assert device in allowed
    assert values("ExecStart") == [f"{SHIPPED_EXEC} run --config /etc/edgepose/edgepose.toml"]


def test_repeated_crashes_never_leave_a_permanently_failed_unit() -> None:
    unit = [(k, v) for s, k, v in unit_settings(UNIT.read_text()) if s == "Unit"]
    assert ("StartLimitIntervalSec", "0") in unit  # no start rate limit: restarts go on
    assert values("Restart") == ["on-failure"] and float(values("RestartSec")[0]) > 0
    # systemd 252 (bookworm) does not know RestartSteps=/RestartMaxDelaySec= (254+).
    assert not values("RestartSteps") and not values("RestartMaxDelaySec")


def test_install_gives_every_install_the_preview_page() -> None:
    out = dry_run().stdout
    pip = [line for line in out.splitlines() if " pip install " in line and "constraint" in line]
    assert pip and pip[0].endswith(r"\[http\]"), out


def test_exit_code_78_is_the_config_error_code() -> None:
    from edgepose.errors import ConfigError

    assert str(ConfigError.exit_code) in values("RestartPreventExitStatus")


def test_install_script_syntax_and_shellcheck() -> None:
    assert subprocess.run(["bash", "-n", str(INSTALL)], check=False).returncode == 0
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck missing: scripts/apt-packages.txt installs it")
    proc = subprocess.run(["shellcheck", str(INSTALL)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def dry_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(INSTALL), "--dry-run", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_install_dry_run_lists_every_step() -> None:
    proc = dry_run()
    assert proc.returncode == 0, proc.stderr
    steps = proc.stdout
    assert "nothing is changed" in steps
    assert "python3 -m venv --system-site-packages /opt/edgepose" in steps
    assert f"pip install --quiet --upgrade --constraint /opt/edgepose/constraints.txt {REPO}" in steps
    assert "/etc/edgepose" in steps
    assert "+ install -m 0644 " + str(UNIT) + " /etc/systemd/system/edgepose.service" in steps
    assert "edgepose check --config /etc/edgepose/edgepose.toml" in steps
    # The user is created unless it exists; either way the script says which.
    assert "useradd --system" in steps or "= user edgepose exists" in steps
    assert not Path("/opt/edgepose").exists() or "= virtualenv" in steps


def test_install_never_overwrites_an_edited_config() -> None:
    text = INSTALL.read_text()
    assert 'if [ -e "$target" ]' in text and "$target.dist" in text
    proc = dry_run()
    edited = Path("/etc/edgepose/edgepose.toml")
    if edited.exists():
        assert "was edited: kept" in proc.stdout or "is the default" in proc.stdout
    else:
        assert "/etc/edgepose/edgepose.toml" in proc.stdout


def test_uninstall_keeps_config_unless_purged() -> None:
    keep = dry_run("--uninstall")
    assert keep.returncode == 0
    assert "+ rm -rf /opt/edgepose" in keep.stdout
    assert "/etc/edgepose" not in [line for line in keep.stdout.splitlines() if line.startswith("+")]
    assert "kept /etc/edgepose" in keep.stdout
    purge = dry_run("--uninstall", "--purge")
    assert "+ rm -rf /etc/edgepose /var/lib/edgepose /var/cache/edgepose" in purge.stdout


def test_install_rejects_bad_options() -> None:
    assert dry_run("--bogus").returncode == 64
    assert dry_run("--purge").returncode == 64
