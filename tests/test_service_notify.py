"""sd_notify (fallback socket writer and real systemd-python) and journald/stderr logging selection."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from edgepose.notify import Notifier, watchdog_interval_s
from tests.plugins.daemon import REPO, NotifySocket

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-systemd lives there


def test_fallback_writer_sends_each_message(notify_socket: NotifySocket) -> None:
    with Notifier(socket_path=str(notify_socket.path)) as notifier:
        assert notifier.enabled
        assert notifier.ready("1.0 fps")
        assert notifier.status("2.0 fps, 1 person, mqtt connected")
        assert notifier.watchdog()
        assert notifier.reloading()
        assert notifier.stopping()
    notify_socket.wait_for("STOPPING=1", timeout_s=2)
    assert [m for _, m in notify_socket.messages] == [
        "READY=1\nSTATUS=1.0 fps",
        "STATUS=2.0 fps, 1 person, mqtt connected",
        "WATCHDOG=1",
        "RELOADING=1",
        "STOPPING=1",
    ]


def test_fallback_writer_abstract_socket() -> None:
    name = f"edgepose-test-{os.getpid()}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind("\0" + name)
    server.settimeout(2)
    try:
        with Notifier(socket_path="@" + name) as notifier:
            assert notifier.watchdog()
        assert server.recv(100) == b"WATCHDOG=1"
    finally:
        server.close()


def test_without_notify_socket_everything_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled
    assert notifier.ready() is False
    notifier.close()


def test_a_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    with Notifier(socket_path=str(tmp_path / "gone.sock")) as notifier:
        assert notifier.watchdog() is False


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_interval_s() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval_s() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert watchdog_interval_s() is None
    monkeypatch.setenv("WATCHDOG_USEC", "0")
    assert watchdog_interval_s() is None


def system_python(
    code: str, env: dict[str, str], stderr: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run code on Debian's python3, which has python3-systemd, with this checkout importable."""
    if subprocess.run([SYSTEM_PYTHON, "-c", "import systemd.daemon"], check=False).returncode != 0:
        pytest.fail("python3-systemd missing: scripts/apt-packages.txt installs it")
    full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **env}
    with open(stderr or os.devnull, "w") as err:
        return subprocess.run(
            [SYSTEM_PYTHON, "-c", code],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            check=True,
        )


def test_systemd_python_is_used_when_importable(notify_socket: NotifySocket) -> None:
    code = (
        "from edgepose.notify import Notifier\n"
        "n = Notifier()\n"
        "assert n._fallback is None, 'systemd-python not used'\n"
        "assert n.ready('warming up') and n.watchdog() and n.stopping()\n"
    )
    system_python(code, {"NOTIFY_SOCKET": str(notify_socket.path)})
    notify_socket.wait_for("STOPPING=1", timeout_s=2)
    assert [m for _, m in notify_socket.messages] == [
        "READY=1\nSTATUS=warming up",
        "WATCHDOG=1",
        "STOPPING=1",
    ]


def journal_stream_of(path: Path) -> str:
    st = path.stat()
    return f"{st.st_dev}:{st.st_ino}"


def test_logs_go_to_the_journal_under_systemd(tmp_path: Path) -> None:
    err = tmp_path / "stderr.txt"
    err.touch()
    code = (
        "from edgepose.logging_setup import setup_logging\n"
        "import logging\n"
        "print(setup_logging('info'), type(logging.getLogger().handlers[0]).__name__)\n"
    )
    under_systemd = system_python(code, {"JOURNAL_STREAM": journal_stream_of(err)}, stderr=err)
    assert under_systemd.stdout.split() == ["journal", "JournalHandler"]
    other = tmp_path / "other.txt"
    other.touch()
    # JOURNAL_STREAM inherited from a parent but stderr redirected elsewhere: plain stderr.
    redirected = system_python(code, {"JOURNAL_STREAM": journal_stream_of(other)}, stderr=err)
    assert redirected.stdout.split() == ["stderr", "StreamHandler"]


def test_stderr_logging_without_systemd_python(tmp_path: Path) -> None:
    err = tmp_path / "stderr.txt"
    err.touch()
    code = (
        "import logging\n"
        "from edgepose.logging_setup import setup_logging\n"
        "print(setup_logging('warning'))\n"
        "logging.getLogger('edgepose.x').warning('camera %s lost', 'picamera2')\n"
        "logging.getLogger('edgepose.x').info('hidden')\n"
    )
    with err.open("w") as handle:
        # This venv has no systemd-python: under systemd it falls back to bare lines on stderr.
        env = {**os.environ, "JOURNAL_STREAM": journal_stream_of(err)}
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=handle,
            text=True,
            check=True,
        )
    assert proc.stdout.strip() == "stderr"
    assert err.read_text().splitlines() == ["camera picamera2 lost"]


def test_journal_records_carry_structured_fields(tmp_path: Path) -> None:
    err = tmp_path / "stderr.txt"
    err.touch()
    code = (
        "import json, logging\n"
        "from edgepose.logging_setup import setup_logging\n"
        "setup_logging('info')\n"
        "handler = logging.getLogger().handlers[0]\n"
        "sent = []\n"
        "handler.send = lambda MESSAGE, **fields: sent.append((MESSAGE, fields))\n"
        "logging.getLogger('edgepose.sources.feed').warning(\n"
        "    'source %s lost', 'picamera2', extra={'EDGEPOSE_SOURCE': 'picamera2', 'EDGEPOSE_FAILURES': 1})\n"
        "message, fields = sent[0]\n"
        "keep = ('PRIORITY', 'SYSLOG_IDENTIFIER', 'LOGGER', 'EDGEPOSE_SOURCE', 'EDGEPOSE_FAILURES')\n"
        "print(json.dumps([message, {k: str(fields[k]) for k in keep}]))\n"
    )
    proc = system_python(code, {"JOURNAL_STREAM": journal_stream_of(err)}, stderr=err)
    message, fields = json.loads(proc.stdout)
    assert message == "source picamera2 lost"
    assert fields == {
        "PRIORITY": "4",
        "SYSLOG_IDENTIFIER": "edgepose",
        "LOGGER": "edgepose.sources.feed",
        "EDGEPOSE_SOURCE": "picamera2",
        "EDGEPOSE_FAILURES": "1",
    }
