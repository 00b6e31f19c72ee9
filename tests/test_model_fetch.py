"""Fetching float models over HTTP from a local server: verified, refused, or the registry client instead."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgepose.errors import ModelError
from edgepose.inference.model_fetch import (
    FloatSource,
    PublishedArchive,
    RefusedModelError,
    fetch_float,
)

LANDMARK = b"landmark model bytes " * 4000
DETECTOR = b"detector model bytes " * 3000


def _source(name: str, registry: str, member: str, data: bytes) -> FloatSource:
    return FloatSource(name, registry, "pkg", "1.0", member, hashlib.sha256(data).hexdigest())


SOURCES = (
    _source("pose_landmark_lite.tflite", "npm", "package/pose_landmark_lite.tflite", LANDMARK),
    _source(
        "pose_detection.tflite", "pypi", "mediapipe/modules/pose_detection/pose_detection.tflite", DETECTOR
    ),
)


def _tarball(path: Path) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for member, data in (
            ("package/README.md", b"readme"),
            ("package/pose_landmark_lite.tflite", LANDMARK),
        ):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _wheel(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("mediapipe/__init__.py", "")
        wheel.writestr("mediapipe/modules/pose_detection/pose_detection.tflite", DETECTOR)


@dataclass(frozen=True)
class Server:
    """A local HTTP server over a folder, and the paths it was asked for."""

    root: Path
    base_url: str
    requests: list[str]

    def archives(self) -> dict[str, PublishedArchive]:
        return {
            "npm": PublishedArchive(f"{self.base_url}/pose-1.0.tgz", "tgz"),
            "pypi": PublishedArchive(f"{self.base_url}/mediapipe-1.0-py3-none-any.whl", "zip"),
        }


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    _tarball(root / "pose-1.0.tgz")
    _wheel(root / "mediapipe-1.0-py3-none-any.whl")
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            requests.append(self.path)

        def do_GET(self) -> None:
            if self.path != "/cut.tgz":
                super().do_GET()
                return
            # The connection drops after a third of the promised bytes.
            data = (root / "pose-1.0.tgz").read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 3])
            self.wfile.flush()
            self.close_connection = True

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(root, f"http://127.0.0.1:{httpd.server_address[1]}", requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _no_client(tmp: Path) -> Path:
    raise AssertionError("the registry client must not be used")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_files_come_over_http_verified_and_only_once(server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "float"
    clients = {"npm": _no_client, "pypi": _no_client}
    fetched = fetch_float(folder, SOURCES, server.archives(), clients)
    assert sorted(fetched) == ["pose_detection.tflite", "pose_landmark_lite.tflite"]
    assert (folder / "pose_landmark_lite.tflite").read_bytes() == LANDMARK
    assert (folder / "pose_detection.tflite").read_bytes() == DETECTOR
    assert sorted(p.name for p in folder.iterdir()) == sorted(fetched)  # no partial files
    assert sorted(server.requests) == ["/mediapipe-1.0-py3-none-any.whl", "/pose-1.0.tgz"]
    assert fetch_float(folder, SOURCES, server.archives(), clients) == []
    assert len(server.requests) == 2


def test_a_file_with_another_digest_is_refused(server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "float"
    wrong = FloatSource(
        "pose_landmark_lite.tflite", "npm", "pkg", "1.0", "package/pose_landmark_lite.tflite", "0" * 64
    )
    with pytest.raises(
        RefusedModelError, match=r"refused package/pose_landmark_lite.tflite from http://.*expected 0000"
    ):
        fetch_float(folder, [wrong], server.archives(), {"npm": _no_client})
    assert list(folder.iterdir()) == []  # nothing under the final name, no partial file


def test_a_missing_member_is_named(server: Server, tmp_path: Path) -> None:
    absent = FloatSource("pose_landmark_heavy.tflite", "npm", "pkg", "1.0", "package/heavy.tflite", "0" * 64)
    with pytest.raises(ModelError, match=r"package/heavy.tflite missing from http://"):
        fetch_float(tmp_path / "float", [absent], server.archives(), {"npm": _no_client})


@pytest.mark.parametrize("down", ["closed port", "404"])
def test_an_unreachable_archive_falls_back_to_the_registry_client(
    down: str, server: Server, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{_closed_port()}" if down == "closed port" else f"{server.base_url}/gone"
    published = {"npm": PublishedArchive(f"{base}/pose-1.0.tgz", "tgz")}
    used: list[Path] = []

    def npm_pack(tmp: Path) -> Path:  # what `npm pack` leaves behind: the package tarball
        used.append(tmp)
        _tarball(tmp / "pkg-1.0.tgz")
        return tmp / "pkg-1.0.tgz"

    folder = tmp_path / "float"
    assert fetch_float(folder, SOURCES[:1], published, {"npm": npm_pack}) == ["pose_landmark_lite.tflite"]
    assert len(used) == 1 and (folder / "pose_landmark_lite.tflite").read_bytes() == LANDMARK


def test_both_routes_failing_is_one_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/pose-1.0.tgz"

    def npm_missing(tmp: Path) -> Path:
        raise ModelError("npm is not installed")

    with pytest.raises(ModelError) as caught:
        fetch_float(
            tmp_path / "float", SOURCES[:1], {"npm": PublishedArchive(url, "tgz")}, {"npm": npm_missing}
        )
    message = str(caught.value)
    assert message.startswith(f"cannot fetch the float models: {url}: ")
    assert message.endswith("; npm client: npm is not installed")
    assert not isinstance(caught.value, RefusedModelError)


def test_a_truncated_download_falls_back_too(server: Server, tmp_path: Path) -> None:
    published = {"npm": PublishedArchive(f"{server.base_url}/cut.tgz", "tgz")}
    with pytest.raises(ModelError, match=r"cut.tgz: .*; npm client: offline"):
        fetch_float(
            tmp_path / "float",
            SOURCES[:1],
            published,
            {"npm": lambda tmp: (_ for _ in ()).throw(ModelError("offline"))},
        )
    assert not list((tmp_path / "float").glob("*.tflite"))


# A packed member like @mediapipe/pose 0.1.1612239201's pose_solution_packed_assets.data: models
# back to back, each cut out by the [start, end) range the package's loader script lists.
UPPER = b"upper-body landmark model " * 2000
FULL = b"full-body landmark model " * 2500
UPPER_DETECTOR = b"upper-body detector " * 1500
PACKED = UPPER + FULL + UPPER_DETECTOR
PACKED_MEMBER = "package/pose_solution_packed_assets.data"
PACKED_KEY = "npm@0.1"


def _packed_source(name: str, start: int, end: int, sha256: str | None = None) -> FloatSource:
    digest = sha256 or hashlib.sha256(PACKED[start:end]).hexdigest()
    return FloatSource(name, "npm", "pkg", "0.1", PACKED_MEMBER, digest, (start, end), PACKED_KEY)


UPPER_RANGE = (0, len(UPPER))
DETECTOR_RANGE = (len(UPPER) + len(FULL), len(PACKED))


@pytest.fixture
def packed_archive(server: Server) -> dict[str, PublishedArchive]:
    with tarfile.open(server.root / "pose-0.1.tgz", "w:gz") as tar:
        for member, data in (("package/README.md", b"readme"), (PACKED_MEMBER, PACKED)):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return {PACKED_KEY: PublishedArchive(f"{server.base_url}/pose-0.1.tgz", "tgz")}


def test_a_packed_member_is_cut_into_two_files(
    server: Server, packed_archive: dict[str, PublishedArchive], tmp_path: Path
) -> None:
    folder = tmp_path / "float"
    sources = (
        _packed_source("pose_landmark_upper_body.tflite", *UPPER_RANGE),
        _packed_source("pose_detection_upper_body.tflite", *DETECTOR_RANGE),
    )
    fetched = fetch_float(folder, sources, packed_archive, {PACKED_KEY: _no_client})
    assert sorted(fetched) == ["pose_detection_upper_body.tflite", "pose_landmark_upper_body.tflite"]
    assert (folder / "pose_landmark_upper_body.tflite").read_bytes() == UPPER
    assert (folder / "pose_detection_upper_body.tflite").read_bytes() == UPPER_DETECTOR
    assert sorted(p.name for p in folder.iterdir()) == sorted(fetched)  # the full-body part not kept
    assert server.requests == ["/pose-0.1.tgz"]  # one download serves both cuts
    assert fetch_float(folder, sources, packed_archive, {PACKED_KEY: _no_client}) == []


@pytest.mark.parametrize(
    "bad",
    [
        _packed_source("pose_detection_upper_body.tflite", *DETECTOR_RANGE, sha256="0" * 64),
        # One byte off: the digest of the cut is not the pinned one.
        _packed_source(
            "pose_detection_upper_body.tflite",
            DETECTOR_RANGE[0] + 1,
            DETECTOR_RANGE[1] + 1,
            hashlib.sha256(UPPER_DETECTOR).hexdigest(),
        ),
    ],
    ids=["wrong sha", "shifted range"],
)
def test_a_cut_with_another_digest_is_refused(
    bad: FloatSource, server: Server, packed_archive: dict[str, PublishedArchive], tmp_path: Path
) -> None:
    folder = tmp_path / "float"
    good = _packed_source("pose_landmark_upper_body.tflite", *UPPER_RANGE)
    with pytest.raises(RefusedModelError, match=rf"refused {PACKED_MEMBER} from http://.*pose-0.1.tgz"):
        fetch_float(folder, [good, bad], packed_archive, {PACKED_KEY: _no_client})
    # The verified cut stays; the refused one is neither under its name nor left as a partial file.
    assert sorted(p.name for p in folder.iterdir()) == ["pose_landmark_upper_body.tflite"]
    assert (folder / "pose_landmark_upper_body.tflite").read_bytes() == UPPER
