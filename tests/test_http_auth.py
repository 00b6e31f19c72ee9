"""Basic auth from a password file of PBKDF2 hashes, in isolation and on a running server."""

from __future__ import annotations

import base64
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edgepose.errors import ConfigError
from edgepose.http.auth import BasicAuth, hash_password, load_password_file, parse_hash
from edgepose.http.hub import PreviewHub


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_hash_round_trip_and_salt() -> None:
    a, b = hash_password("s3cret", iterations=1000), hash_password("s3cret", iterations=1000)
    assert a.salt != b.salt and a.key != b.key
    parsed = parse_hash(a.encode())
    assert parsed == a
    assert parsed.matches("s3cret")
    assert not parsed.matches("s3cret ")


def test_password_file_errors_name_the_line(tmp_path: Path) -> None:
    good = hash_password("pw", iterations=1000).encode()
    with pytest.raises(ConfigError, match=r"pw.txt:3: not a pbkdf2_sha256 hash"):
        load_password_file(_write(tmp_path / "pw.txt", ["# users", f"coach:{good}", "gym:plaintext"]))
    with pytest.raises(ConfigError, match=r"pw2.txt:1: expected 'user:"):
        load_password_file(_write(tmp_path / "pw2.txt", ["nocolon"]))
    with pytest.raises(ConfigError, match="no users"):
        load_password_file(_write(tmp_path / "pw3.txt", ["# nobody"]))
    with pytest.raises(ConfigError, match="cannot read password file"):
        load_password_file(tmp_path / "missing.txt")


def test_check_accepts_only_the_right_pair(tmp_path: Path) -> None:
    path = _write(tmp_path / "pw", [f"coach:{hash_password('pw1', iterations=1000).encode()}"])
    auth = BasicAuth.from_file(path)
    assert auth.check(_basic("coach", "pw1"))
    assert auth.check(_basic("coach", "pw1"))  # cached path
    assert not auth.check(_basic("coach", "pw2"))
    assert not auth.check(_basic("other", "pw1"))
    assert not auth.check(None)
    assert not auth.check("Bearer abc")
    assert not auth.check("Basic !!notbase64")


def test_hash_tool_prints_a_usable_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "edgepose.http.auth", "coach"],
        input="pw1\npw1\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith("coach:pbkdf2_sha256$")
    auth = BasicAuth.from_file(_write(tmp_path / "pw", [line]))
    assert auth.check(_basic("coach", "pw1"))


def _status(url: str, header: str | None = None) -> int:
    request = urllib.request.Request(url)
    if header:
        request.add_header("Authorization", header)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def test_server_asks_for_credentials_except_on_healthz(
    tmp_path: Path, http_server: Callable[..., Any]
) -> None:
    path = _write(tmp_path / "pw", [f"coach:{hash_password('pw1', iterations=1000).encode()}"])
    server = http_server(PreviewHub(), password_file=path)
    for route in ("/", "/kiosk", "/metrics", "/api/state", "/api/events", "/snapshot.jpg"):
        assert _status(server.url + route) == 401, route
        assert _status(server.url + route, _basic("coach", "nope")) == 401, route
    assert _status(server.url + "/", _basic("coach", "pw1")) == 200
    assert _status(server.url + "/metrics", _basic("coach", "pw1")) == 200
    # No frame yet: healthz answers without credentials, and says 503.
    assert _status(server.url + "/healthz") == 503
    try:
        urllib.request.urlopen(server.url + "/", timeout=10)
    except urllib.error.HTTPError as err:
        assert err.headers["WWW-Authenticate"].startswith('Basic realm="edgepose"')
