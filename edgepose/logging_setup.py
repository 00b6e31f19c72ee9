"""Logging for the daemon: journald with structured fields under systemd, stderr otherwise.

Under systemd, stderr is connected to the journal and `$JOURNAL_STREAM` names that stream
(device:inode). When it matches our stderr and systemd-python is installed, records go straight
to journald through `systemd.journal.JournalHandler`, keeping their level as PRIORITY and
fields such as LOGGER, CODE_FILE and any `extra={"EDGEPOSE_...": ...}` a call passes.
"""

from __future__ import annotations

import logging
import os
import sys

from edgepose.redact import RedactingFilter

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JOURNAL_FORMAT = "%(message)s"  # journald stores time, level and logger name as fields

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def stderr_is_journal() -> bool:
    """Whether stderr is the journal stream systemd set up for this service."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    if ":" not in stream:
        return False
    dev_text, _, ino_text = stream.partition(":")
    try:
        st = os.fstat(sys.stderr.fileno())
        return st.st_dev == int(dev_text) and st.st_ino == int(ino_text)
    except (OSError, ValueError, AttributeError):
        return False


def _journal_handler() -> logging.Handler | None:
    try:
        from systemd.journal import JournalHandler
    except ImportError:
        return None
    handler: logging.Handler = JournalHandler(SYSLOG_IDENTIFIER="edgepose")
    return handler


def setup_logging(level: str | int = "info", *, use_journal: bool | None = None) -> str:
    """Route the root logger to journald or stderr; returns 'journal' or 'stderr'."""
    numeric = LEVELS.get(level, logging.INFO) if isinstance(level, str) else int(level)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    want_journal = stderr_is_journal() if use_journal is None else use_journal
    journal = _journal_handler() if want_journal else None
    if journal is not None:
        journal.setFormatter(logging.Formatter(_JOURNAL_FORMAT))
        root.addHandler(journal)
        target = "journal"
    else:
        stream = logging.StreamHandler(sys.stderr)
        # The journal adds its own timestamps to stderr lines; a terminal gets ours.
        stream.setFormatter(logging.Formatter(_JOURNAL_FORMAT if want_journal else _FORMAT))
        root.addHandler(stream)
        target = "stderr"
    # Credentials in source URIs never reach the journal or the terminal.
    root.handlers[-1].addFilter(RedactingFilter())
    root.setLevel(numeric)
    return target
