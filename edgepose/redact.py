"""Secrets out of everything edgepose prints: the one function that hides credentials in URIs.

A network camera is often configured as `rtsp://admin:secret@192.168.1.20/stream`, or with the
password in the query (`?user=admin&password=secret`). `redact` replaces the password (and a
query secret) with `***` wherever such a URI appears in a text: log lines (`RedactingFilter` on
every handler), /healthz and /api/state, `edgepose check`, error messages. The user name stays:
it helps to tell cameras apart and is not a secret by itself.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

# scheme://user:password@ -> scheme://user:***@ (the password runs up to the last '@' of the
# authority, so a password containing '@' or ':' is hidden whole).
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/@:]*:)(?P<secret>[^\s/]*)@")
# password=..., passwd=..., pwd=..., token=..., key=... in a query string.
_QUERY = re.compile(
    r"(?P<head>[?&;](?:password|passwd|pass|pwd|token|secret|key|auth)=)(?P<secret>[^&;#\s\"']*)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with the credentials of every URI in it replaced by `***`."""
    if "@" not in text and "=" not in text:
        return text  # the common case: nothing that could hold a credential
    text = _USERINFO.sub(lambda m: m.group("head") + MASK + "@", text)
    return _QUERY.sub(lambda m: m.group("head") + MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, arguments and traceback through `redact` before it is emitted."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; always lets the record through."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None  # the handler must use the redacted text, not format it again
        for key, value in list(record.__dict__.items()):
            if key.startswith("EDGEPOSE_") and isinstance(value, str):
                setattr(record, key, redact(value))
        return True
