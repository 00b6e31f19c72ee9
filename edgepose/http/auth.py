"""HTTP basic auth against a password file of salted PBKDF2 hashes.

The file has one `user:pbkdf2_sha256$ITERATIONS$SALT$HASH` line per user (salt and hash in
base64); blank lines and lines starting with `#` are skipped. Make a line with
`python -m edgepose.http.auth USER` (asks for the password twice). Plain-text passwords are
refused, so a leaked file does not leak passwords.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import hmac
import secrets
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from edgepose.errors import ConfigError

SCHEME = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 200_000
_MAX_CACHE = 64


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """One parsed hash: iterations, salt and derived key."""

    iterations: int
    salt: bytes
    key: bytes

    def matches(self, password: str) -> bool:
        """Whether the password derives to the same key (constant-time compare)."""
        derived = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, self.iterations, len(self.key))
        return hmac.compare_digest(derived, self.key)

    def encode(self) -> str:
        """The `pbkdf2_sha256$...` text form."""
        salt = base64.b64encode(self.salt).decode()
        key = base64.b64encode(self.key).decode()
        return f"{SCHEME}${self.iterations}${salt}${key}"


def hash_password(password: str, iterations: int = DEFAULT_ITERATIONS) -> PasswordHash:
    """A new salted hash of a password."""
    salt = secrets.token_bytes(16)
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, 32)
    return PasswordHash(iterations, salt, key)


def parse_hash(text: str) -> PasswordHash:
    """Parse `pbkdf2_sha256$ITERATIONS$SALT$HASH`; ValueError if it is anything else."""
    parts = text.split("$")
    if len(parts) != 4 or parts[0] != SCHEME:
        raise ValueError(f"not a {SCHEME} hash (make one with `python -m edgepose.http.auth USER`)")
    try:
        iterations = int(parts[1])
        salt = base64.b64decode(parts[2], validate=True)
        key = base64.b64decode(parts[3], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"malformed {SCHEME} hash") from exc
    if iterations < 1 or not salt or not key:
        raise ValueError(f"malformed {SCHEME} hash")
    return PasswordHash(iterations, salt, key)


def load_password_file(path: Path) -> dict[str, PasswordHash]:
    """Users and their hashes; ConfigError (with file:line) for anything unreadable or malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read password file: {exc.strerror or exc}") from exc
    users: dict[str, PasswordHash] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user:
            raise ConfigError(f"{path}:{number}: expected 'user:{SCHEME}$...'")
        try:
            users[user] = parse_hash(hashed)
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: {exc}") from exc
    if not users:
        raise ConfigError(f"{path}: password file has no users")
    return users


class BasicAuth:
    """Checks `Authorization: Basic` headers; remembers headers that passed, since PBKDF2 is slow."""

    def __init__(self, users: dict[str, PasswordHash]) -> None:
        self._users = users
        self._good: set[bytes] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path) -> BasicAuth:
        """Load the users of a password file."""
        return cls(load_password_file(path))

    def check(self, header: str | None) -> bool:
        """Whether an Authorization header value carries a known user and the right password."""
        if not header or not header.startswith("Basic "):
            return False
        digest = hashlib.sha256(header.encode()).digest()
        with self._lock:
            if digest in self._good:
                return True
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        known = self._users.get(user)
        if not sep or known is None or not known.matches(password):
            return False
        with self._lock:
            if len(self._good) >= _MAX_CACHE:
                self._good.clear()
            self._good.add(digest)
        return True


def main(argv: list[str] | None = None) -> int:
    """`python -m edgepose.http.auth USER`: ask for a password, write the password-file line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or ":" in args[0] or not args[0]:
        sys.stderr.write("usage: python -m edgepose.http.auth USER  (appends nothing; prints one line)\n")
        return 64
    first = getpass.getpass("password: ")
    if not first or first != getpass.getpass("again: "):
        sys.stderr.write("passwords empty or different\n")
        return 64
    sys.stdout.write(f"{args[0]}:{hash_password(first).encode()}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
