"""The HTTP server against strangers: user names do not leak, hashing never blocks the loop, wrong
passwords are limited per client, oversized headers are a client error, stream viewers are capped."""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edgepose.http import auth as auth_module
from edgepose.http.auth import FAILED_LOGIN_LIMIT, BasicAuth, FailedLogins, PasswordHash, hash_password
from edgepose.http.hub import PreviewHub
from tests.plugins.http import ClipFeeder, ClipFrame, get, wait_until

ITERATIONS = 1500


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _users(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "users"
    path.write_text("".join(f"{n}:{hash_password(n + '-pw', ITERATIONS).encode()}\n" for n in names))
    return path


def _status(url: str, header: str | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Authorization": header} if header else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), dict(response.headers)
    except urllib.error.HTTPError as err:
        return int(err.code), dict(err.headers)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The iteration counts of every PBKDF2 derivation the auth module runs."""
    calls: list[int] = []
    real = hashlib.pbkdf2_hmac

    def counting(name: str, password: bytes, salt: bytes, iterations: int, dklen: int | None = None) -> bytes:
        calls.append(iterations)
        return real(name, password, salt, iterations, dklen)

    monkeypatch.setattr(auth_module.hashlib, "pbkdf2_hmac", counting)
    return calls


def test_unknown_user_costs_the_same_hash_as_a_known_one(derivations: list[int]) -> None:
    auth = BasicAuth({"coach": hash_password("right", ITERATIONS)})
    derivations.clear()
    assert not auth.check(_basic("coach", "wrong"))
    known = list(derivations)
    derivations.clear()
    assert not auth.check(_basic("nobody", "wrong"))
    assert derivations == known == [ITERATIONS]  # same work: the time does not tell who exists
    derivations.clear()
    assert not auth.check("Basic " + base64.b64encode(b"no-colon-here").decode())
    assert derivations == [ITERATIONS]


def test_verified_header_is_remembered_for_a_while(derivations: list[int]) -> None:
    clock = Clock()
    auth = BasicAuth({"coach": hash_password("right", ITERATIONS)}, remember_s=300.0, clock=clock)
    header = _basic("coach", "right")
    derivations.clear()
    assert auth.check(header) and auth.check(header) and auth.remembered(header)
    assert derivations == [ITERATIONS]  # one hash for many requests
    assert not auth.remembered(_basic("coach", "other"))
    # What is kept is a digest keyed per process, not the header or its plain hash.
    assert hashlib.sha256(header.encode()).digest() not in auth._good
    assert all(header.encode() not in key for key in auth._good)
    clock.now += 301.0
    assert not auth.remembered(header)
    assert auth.check(header)
    assert derivations == [ITERATIONS, ITERATIONS]  # expired: verified again


def test_failed_logins_are_limited_per_client() -> None:
    clock = Clock()
    limit = FailedLogins(limit=3, window_s=60.0, clock=clock)
    assert [limit.failed("a") for _ in range(3)] == [False, False, True]
    assert limit.retry_after_s("a") == 60.0 and limit.retry_after_s("b") == 0.0
    clock.now += 45.0
    assert limit.retry_after_s("a") == 15.0
    clock.now += 15.0
    assert limit.retry_after_s("a") == 0.0
    small = FailedLogins(limit=1, clock=clock, max_clients=2)
    for client in ("x", "y", "z"):
        small.failed(client)
    assert small.retry_after_s("x") == 0.0 and small.retry_after_s("z") > 0  # bounded: the oldest forgotten


def test_server_limits_wrong_passwords_but_keeps_a_known_kiosk(
    tmp_path: Path, http_server: Callable[..., Any]
) -> None:
    server = http_server(PreviewHub(), password_file=_users(tmp_path, "kiosk", "coach"))
    kiosk = _basic("kiosk", "kiosk-pw")
    assert _status(server.url + "/api/events", kiosk)[0] == 200
    assert _status(server.url + "/api/events")[0] == 401  # no header: a browser's first try, not counted
    for _ in range(FAILED_LOGIN_LIMIT):
        assert _status(server.url + "/api/events", _basic("coach", "guess"))[0] == 401
    status, headers = _status(server.url + "/api/events", _basic("coach", "coach-pw"))
    assert status == 429 and int(headers["Retry-After"]) > 0  # even the right password must wait
    assert _status(server.url + "/api/events", kiosk)[0] == 200  # already verified: not locked out
    assert _status(server.url + "/healthz")[0] == 503  # open path, no frame yet


def test_hashing_runs_off_the_event_loop(
    tmp_path: Path, http_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http_server(PreviewHub(), password_file=_users(tmp_path, "coach"))
    entered, release = threading.Event(), threading.Event()
    threads: list[str] = []
    real = PasswordHash.matches

    def slow(self: PasswordHash, password: str) -> bool:
        threads.append(threading.current_thread().name)
        entered.set()
        release.wait(10)
        return real(self, password)

    monkeypatch.setattr(PasswordHash, "matches", slow)
    result: list[int] = []
    login = threading.Thread(
        target=lambda: result.append(_status(server.url + "/", _basic("coach", "coach-pw"))[0])
    )
    login.start()
    try:
        assert entered.wait(10)
        # The hash is still running: the server must answer others meanwhile.
        assert get(server.url + "/healthz", timeout_s=5)[0] == 503
    finally:
        release.set()
        login.join(10)
    assert result == [200]
    assert threads and all(name.startswith("edgepose-http-auth") for name in threads), threads


def _raw_get(port: int, path: str, extra: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode() + extra + b"\r\n")
        return sock.recv(4096)


def test_oversized_header_is_a_client_error_not_a_server_error(
    http_server: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    server = http_server(PreviewHub())
    caplog.set_level(logging.DEBUG)
    answer = _raw_get(server.port, "/healthz", b"X-Big: " + b"a" * 20000 + b"\r\n")
    assert answer.split(b"\r\n")[0] in (
        b"HTTP/1.0 400 Bad Request",
        b"HTTP/1.1 431 Request Header Fields Too Large",
    )
    wait_until(lambda: any("malformed request" in r.getMessage() for r in caplog.records))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    [line] = [r for r in caplog.records if "malformed request" in r.getMessage()]
    assert line.levelno == logging.DEBUG and "127.0.0.1" in line.getMessage()
    assert get(server.url + "/healthz")[0] == 503  # still serving


def test_stream_viewers_are_capped(
    zidane_clip: list[ClipFrame], http_server: Callable[..., Any], feeder: Callable[..., ClipFeeder]
) -> None:
    hub = PreviewHub()
    server = http_server(hub, max_stream_viewers=2, stream_max_fps=30)
    play = feeder(hub, zidane_clip, fps=20)
    play.start()
    first = urllib.request.urlopen(server.url + "/stream.mjpg", timeout=10)
    second = urllib.request.urlopen(server.url + "/stream.mjpg", timeout=10)
    try:
        status, headers, body = get(server.url + "/stream.mjpg")
        assert status == 503 and "max_stream_viewers" in body.decode()
        assert headers["Retry-After"] == "5"
        live = urllib.request.urlopen(server.url + "/api/live", timeout=10)  # counted apart from streams
        live.close()
        first.close()
        wait_until(lambda: hub.viewers == 1)
        third = urllib.request.urlopen(server.url + "/stream.mjpg", timeout=10)  # a place came free
        assert third.status == 200
        third.close()
    finally:
        first.close()
        second.close()
