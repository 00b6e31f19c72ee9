"""Fixtures of the daemon tests: the fake picamera2, an sd_notify socket, configs and `edgepose` runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parent.parent / "fakes"
REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def fake_picamera2(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Put the fake picamera2/libcamera first on sys.path (and PYTHONPATH for subprocesses)."""
    for name in ("picamera2", "libcamera"):
        sys.modules.pop(name, None)
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(FAKES), os.environ.get("PYTHONPATH")]))
    )
    yield FAKES
    for name in ("picamera2", "libcamera"):
        sys.modules.pop(name, None)


@dataclass
class NotifySocket:
    """An AF_UNIX datagram socket standing in for systemd's $NOTIFY_SOCKET, recording what arrives."""

    path: Path
    messages: list[tuple[float, str]] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def keys(self) -> list[str]:
        """Every KEY=VALUE line received, in order."""
        with self._cond:
            return [line for _, msg in self.messages for line in msg.splitlines()]

    def times_of(self, line: str) -> list[float]:
        """When each message containing exactly this line arrived (monotonic seconds)."""
        with self._cond:
            return [t for t, msg in self.messages if line in msg.splitlines()]

    def wait_for(self, line: str, timeout_s: float, after: float = 0.0) -> float:
        """Wait for a message with this line (arriving after `after`); its arrival time."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for t, msg in self.messages:
                    if t > after and line in msg.splitlines():
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {line!r} within {timeout_s} s; got {self.keys()}")
                self._cond.wait(left)

    def _record(self, text: str) -> None:
        with self._cond:
            self.messages.append((time.monotonic(), text))
            self._cond.notify_all()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    """A bound notify socket and a thread recording messages until the test ends."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.1)
    recorder = NotifySocket(path)
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            recorder._record(data.decode("utf-8", "replace"))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    yield recorder
    stop.set()
    thread.join(2)
    sock.close()


def toml_value(value: object) -> str:
    """A Python value as TOML (str, bool, int, float, list of those)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def write_config(path: Path, sections: dict[str, dict[str, object]]) -> Path:
    """Write a TOML config of `{section: {key: value}}` (dotted section names allowed)."""
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {toml_value(v)}" for key, v in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def fast_model() -> dict[str, object]:
    """The quickest real models: float lite on two threads."""
    return {"variant": "lite", "precision": "float", "threads": 2}


@pytest.fixture
def daemon_config(tmp_path: Path, media: Path) -> Callable[..., Path]:
    """Make a config file: stdout publishing, float lite models, pan_zidane.avi played once, fast.

    Keyword arguments replace whole sections, e.g. `source={"uri": "picamera2"}`.
    """

    def make(name: str = "edgepose.toml", **sections: dict[str, object]) -> Path:
        base: dict[str, dict[str, object]] = {
            "source": {"uri": f"file:{media / 'pan_zidane.avi'}", "loop": False, "realtime": False},
            "model": fast_model(),
            "service": {"publish": "stdout", "state_directory": str(tmp_path / "state")},
            "mqtt": {"device_id": "testpi", "discovery": False},
        }
        base.update(sections)
        return write_config(tmp_path / name, base)

    return make


def edgepose_cmd(*args: str) -> list[str]:
    """The real CLI, run with this interpreter."""
    return [sys.executable, "-m", "edgepose", *args]


def run_edgepose(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run `edgepose ARGS` to completion and capture its output."""
    full_env = dict(os.environ)
    full_env.pop("NOTIFY_SOCKET", None)
    full_env.update(env or {})
    return subprocess.run(
        edgepose_cmd(*args),
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
