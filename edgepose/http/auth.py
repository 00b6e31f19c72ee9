"""HTTP basic auth against a password file of salted PBKDF2 hashes.

The file has one `user:pbkdf2_sha256$ITERATIONS$SALT$HASH` line per user (salt and hash in
base64); blank lines and lines starting with `#` are skipped. Make a line with
`python -m edgepose.http.auth USER` (asks for the password twice). Plain-text passwords are
refused, so a leaked file does not leak passwords. PBKDF2 is slow on purpose; the server runs it
in a worker thread (`check`), never on its event loop.
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
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgepose.errors import ConfigError

SCHEME = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 200_000
_MAX_CACHE = 64
REMEMBER_S = 300.0  # a header that passed is trusted this long without hashing again
FAILED_LOGIN_LIMIT = 10  # wrong credentials from one client within the window before it must wait
FAILED_LOGIN_WINDOW_S = 60.0


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
    """Checks `Authorization: Basic` headers against the users' PBKDF2 hashes.

    An unknown user costs the same PBKDF2 as a known one (a dummy hash), so the answer time does
    not tell which user names exist. Headers that passed are remembered for `remember_s` as a
    keyed digest (never the password), so a kiosk page polling every second pays for one hash.
    """

    def __init__(
        self,
        users: dict[str, PasswordHash],
        *,
        remember_s: float = REMEMBER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = users
        iterations = max((h.iterations for h in users.values()), default=DEFAULT_ITERATIONS)
        key_bytes = max((len(h.key) for h in users.values()), default=32)
        dummy_salt = secrets.token_bytes(16)
        self._dummy = PasswordHash(iterations, dummy_salt, secrets.token_bytes(key_bytes))
        self._digest_key = secrets.token_bytes(32)  # per process: a digest is useless anywhere else
        self._remember_s = remember_s
        self._clock = clock
        self._good: dict[bytes, float] = {}  # keyed digest of a header -> when it stops counting
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path) -> BasicAuth:
        """Load the users of a password file."""
        return cls(load_password_file(path))

    def _digest(self, header: str) -> bytes:
        return hmac.new(self._digest_key, header.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()

    def remembered(self, header: str | None) -> bool:
        """Whether this header passed `check` within the last `remember_s` (cheap: no PBKDF2)."""
        if not header:
            return False
        digest = self._digest(header)
        with self._lock:
            until = self._good.get(digest)
            if until is None:
                return False
            if until > self._clock():
                return True
            del self._good[digest]
            return False

    def check(self, header: str | None) -> bool:
        """Whether an Authorization header carries a known user and the right password (runs PBKDF2)."""
        if self.remembered(header):
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        known = self._users.get(user)
        # The same work whether or not the user exists (and whether or not the colon was there).
        matches = (known or self._dummy).matches(password)
        if not sep or known is None or not matches:
            return False
        with self._lock:
            if len(self._good) >= _MAX_CACHE:
                now = self._clock()
                self._good = {d: t for d, t in self._good.items() if t > now}
                if len(self._good) >= _MAX_CACHE:
                    self._good.clear()
            self._good[self._digest(header)] = self._clock() + self._remember_s
        return True


class FailedLogins:
    """Counts wrong credentials per client; past `limit` within `window_s`, the client waits.

    Bounded: the least recently failing clients are forgotten first, so a flood of addresses
    cannot grow it without end.
    """

    def __init__(
        self,
        limit: int = FAILED_LOGIN_LIMIT,
        window_s: float = FAILED_LOGIN_WINDOW_S,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 1024,
    ) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after_s(self, client: str) -> float:
        """0 when the client may try; else the seconds until its oldest counted failure expires."""
        with self._lock:
            times = self._failures.get(client)
            if times is None:
                return 0.0
            now = self._clock()
            while times and now - times[0] >= self._window_s:
                times.popleft()
            if not times:
                del self._failures[client]
                return 0.0
            return self._window_s - (now - times[0]) if len(times) >= self._limit else 0.0

    def failed(self, client: str) -> bool:
        """Count a failure; True when this one reached the limit (worth one log line)."""
        with self._lock:
            times = self._failures.pop(client, None) or deque()
            times.append(self._clock())
            self._failures[client] = times  # most recent last
            while len(self._failures) > self._max_clients:
                self._failures.popitem(last=False)
            return len(times) == self._limit


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
