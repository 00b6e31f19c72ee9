"""The pinned dependency sets in requirements/ satisfy pyproject.toml on their platforms."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)", re.M)


def _pins(path: Path) -> dict[str, Version]:
    return {canonicalize_name(name): Version(version) for name, version in PIN.findall(path.read_text())}


def _requirements(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def _environment(machine: str) -> dict[str, str]:
    env = default_environment()
    env.update(
        platform_machine=machine,
        sys_platform="linux",
        python_version="3.11",
        python_full_version="3.11.2",
        extra="",
    )
    return env


def _unmet(lock: Path, machine: str, extras: tuple[str, ...]) -> list[str]:
    pins = _pins(lock)
    env = _environment(machine)
    unmet = []
    for requirement in _requirements(extras):
        if requirement.marker is not None and not requirement.marker.evaluate(env):
            continue
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned, prereleases=True):
            unmet.append(f"{requirement} (pinned: {pinned})")
    return unmet


@pytest.mark.parametrize(
    ("name", "machine", "extras"),
    [
        ("dev.txt", "x86_64", ("dev",)),
        ("aarch64-pios.txt", "aarch64", ()),
        ("aarch64-pip.txt", "aarch64", ()),
        ("x86_64-pios.txt", "x86_64", ()),
        ("x86_64-pip.txt", "x86_64", ()),
    ],
)
def test_pinned_set_satisfies_pyproject(name: str, machine: str, extras: tuple[str, ...]) -> None:
    lock = REPO / "requirements" / name
    assert _unmet(lock, machine, extras) == [], f"{name} is stale: run bash scripts/lock.sh"


def test_every_pin_has_a_hash() -> None:
    for lock in (REPO / "requirements").glob("*.txt"):
        for block in re.split(r"\n(?=\S)", lock.read_text()):
            if PIN.match(block):
                assert "--hash=sha256:" in block, f"{lock.name}: {block.splitlines()[0]} has no hash"


def test_pios_sets_keep_debians_numpy() -> None:
    for name in ("aarch64-pios.txt", "x86_64-pios.txt"):
        assert _pins(REPO / "requirements" / name)["numpy"] == Version("1.24.2")


def test_a_stale_set_is_reported(tmp_path: Path) -> None:
    lock = tmp_path / "stale.txt"
    lock.write_text("numpy==1.20.0 \\\n    --hash=sha256:00\n")
    assert any(line.startswith("numpy") for line in _unmet(lock, "x86_64", ()))
