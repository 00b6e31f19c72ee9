"""sd_notify: tell systemd about readiness, status, watchdog liveness and shutdown.

Uses systemd-python's `systemd.daemon.notify` when it is importable, else writes the datagram
to `$NOTIFY_SOCKET` itself (the protocol is one `KEY=VALUE` per line on an AF_UNIX datagram
socket; a leading `@` means the abstract namespace). Without `$NOTIFY_SOCKET` (not under
systemd) every call is a cheap no-op.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
from collections.abc import Callable
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)

Sender = Callable[[str], bool]


def _systemd_sender() -> Sender | None:
    try:
        daemon = importlib.import_module("systemd.daemon")
    except ImportError:
        return None

    def send(message: str) -> bool:
        return bool(daemon.notify(message))

    return send


class _SocketSender:
    """The fallback: one AF_UNIX datagram per message to $NOTIFY_SOCKET."""

    def __init__(self, address: str) -> None:
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    def __call__(self, message: str) -> bool:
        try:
            self._sock.sendto(message.encode("utf-8"), self._address)
        except OSError as exc:
            log.debug("sd_notify %r failed: %s", message, exc)
            return False
        return True

    def close(self) -> None:
        self._sock.close()


class Notifier:
    """sd_notify messages for the service manager; a no-op when not run by systemd."""

    def __init__(self, socket_path: str | None = None, prefer_systemd_python: bool = True) -> None:
        address = socket_path if socket_path is not None else os.environ.get("NOTIFY_SOCKET", "")
        self._fallback: _SocketSender | None = None
        self._send: Sender | None = None
        if not address:
            return
        sender = _systemd_sender() if prefer_systemd_python and socket_path is None else None
        if sender is None:
            self._fallback = _SocketSender(address)
            sender = self._fallback
        self._send = sender

    @property
    def enabled(self) -> bool:
        """Whether a service manager is listening."""
        return self._send is not None

    def notify(self, message: str) -> bool:
        """Send raw `KEY=VALUE` lines; False when nobody listens or the send failed."""
        return self._send(message) if self._send is not None else False

    def ready(self, status: str | None = None) -> bool:
        """READY=1: the first frame went through the pipeline."""
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def reloading(self) -> bool:
        """RELOADING=1: a SIGHUP reload began (READY=1 ends it)."""
        return self.notify("RELOADING=1")

    def status(self, text: str) -> bool:
        """STATUS=...: the one line `systemctl status` shows."""
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        """WATCHDOG=1: the pipeline made progress."""
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        """STOPPING=1: shutdown began."""
        return self.notify("STOPPING=1")

    def close(self) -> None:
        """Release the fallback socket."""
        if self._fallback is not None:
            self._fallback.close()
            self._fallback = None
        self._send = None

    def __enter__(self) -> Self:
        """The notifier itself."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the notifier."""
        self.close()


def watchdog_interval_s() -> float | None:
    """systemd's watchdog timeout for this process ($WATCHDOG_USEC), None when it is off."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    return int(usec) / 1_000_000
