"""Shared fixtures: real media of people and the model files, fetched once into the cache.

Fixture plugins per area live in tests/plugins/ and are listed in `pytest_plugins`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edgepose.paths import media_dir

REPO = Path(__file__).resolve().parent.parent

pytest_plugins: list[str] = [
    "tests.plugins.chromium",
    "tests.plugins.daemon",
    "tests.plugins.http",
    "tests.plugins.accelerators",
    "tests.plugins.broker",
    "tests.plugins.reference",
    "tests.plugins.activity",
    "tests.plugins.scene",
]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout."""
    return REPO


@pytest.fixture(scope="session")
def media() -> Path:
    """Folder with vtest.avi, basketball1/2.png, messi5.jpg, bus.jpg, zidane.jpg, pan_zidane.avi."""
    folder = media_dir()
    if not (folder / "pan_zidane.avi").is_file():
        subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_media.py")], check=True)
    return folder
