"""The files a config names, checked when it loads: each exists, is readable and is well-formed.

`load_config` runs these after the values validated, so `edgepose check`, `edgepose run` and a
reload all refuse the same config, with the key's file:line, before a model loads or anything
is published. A password file or private key that everyone may read is allowed, with one
warning per file.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from edgepose.config.toml_lines import KeyPath
from edgepose.errors import ConfigError

if TYPE_CHECKING:
    from edgepose.config import Config

log = logging.getLogger(__name__)

_TFLITE_IDENTIFIER = b"TFL3"
_warned_readable: set[Path] = set()


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A named file that cannot be used: the key that names it and why."""

    key: KeyPath
    message: str


class _RefusedError(Exception):
    """One file's problem, raised inside a check and turned into a FileProblem."""


def file_problems(config: Config) -> list[FileProblem]:
    """Every problem with a file the config names (empty when all of them can be used)."""
    checks: list[tuple[KeyPath, Path | None, Callable[[Path], None]]] = [
        (("mqtt", "password_file"), config.mqtt.password_file, lambda p: _secret(p, read_password)),
        (("mqtt", "ca_file"), config.mqtt.ca_file, _ca_certificates),
        (("mqtt", "cert_file"), config.mqtt.cert_file, _ca_certificates),
        (("mqtt", "key_file"), config.mqtt.key_file, lambda p: _secret(p, _private_key(config))),
        (("http", "password_file"), config.http.password_file, lambda p: _secret(p, _http_users)),
        (("activity", "classifier", "path"), config.activity.classifier.path, _classifier),
        (("activity", "pose_model", "path"), config.activity.pose_model.path, _pose_model),
        (("model", "movenet", "model_path"), config.model.movenet.model_path, _tflite),
    ]
    problems: list[FileProblem] = []
    for key, path, check in checks:
        if path is None or (key[-1] == "key_file" and problems and problems[-1].key[-1] == "cert_file"):
            continue  # a key is checked against its certificate, which must be usable first
        try:
            _readable(path)
            check(path)
        except _RefusedError as exc:
            problems.append(FileProblem(key, f"{path}: {exc}"))
        except ConfigError as exc:  # from a loader that names the file (and line) itself
            text = str(exc)
            problems.append(FileProblem(key, text if text.startswith(str(path)) else f"{path}: {text}"))
    return problems


def read_password(path: Path) -> str:
    """The first line of a password file; ConfigError when unreadable, not UTF-8 or empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from exc
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise ConfigError(f"{path}: the first line (the password) is empty")
    return lines[0]


def _readable(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        _refuse("no such file")
    except OSError as exc:
        _refuse(exc.strerror or str(exc))
    if not stat.S_ISREG(info.st_mode):
        _refuse("not a regular file")
    if not os.access(path, os.R_OK):
        _refuse("not readable by this user")


def _refuse(reason: str) -> NoReturn:
    raise _RefusedError(reason)


def _secret(path: Path, check: Callable[[Path], object]) -> None:
    """A file holding a secret: well-formed, and a warning (once) when everyone may read it."""
    check(path)
    mode = path.stat().st_mode
    resolved = path.resolve()
    if mode & stat.S_IROTH and resolved not in _warned_readable:
        _warned_readable.add(resolved)
        log.warning("%s can be read by every user of this machine: chmod 600 (or 640) it", path)


def _http_users(path: Path) -> None:
    from edgepose.http.auth import load_password_file

    load_password_file(path)


def _ca_certificates(path: Path) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cafile=str(path))
    except (ssl.SSLError, ValueError) as exc:
        _refuse(f"not a PEM certificate ({exc})")


def _no_passphrase() -> NoReturn:
    raise ConfigError("the private key is encrypted; edgepose needs it unencrypted (and chmod 600)")


def _private_key(config: Config) -> Callable[[Path], None]:
    def check(path: Path) -> None:
        cert = config.mqtt.cert_file
        assert cert is not None  # the config pairs cert_file and key_file
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            context.load_cert_chain(str(cert), str(path), password=_no_passphrase)
        except ssl.SSLError as exc:
            _refuse(f"not the PEM private key of {cert} ({exc.reason or exc})")
        except OSError as exc:
            _refuse(exc.strerror or str(exc))

    return check


def _classifier(path: Path) -> None:
    from edgepose.activity.classifier import classifier_from_json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        _refuse("not UTF-8 text")
    except ValueError as exc:
        _refuse(f"not JSON ({exc})")
    if not isinstance(data, dict):
        _refuse("not a classifier file from `edgepose train` (a JSON object)")
    try:
        classifier_from_json(data)
    except (ValueError, KeyError, TypeError) as exc:
        _refuse(f"not a classifier file from `edgepose train` ({exc})")


def _pose_model(path: Path) -> None:
    from edgepose.activity.pose_model import load_pose_model

    load_pose_model(path)  # ConfigError naming the file when it is not a pose model


def _tflite(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(8)
    if len(head) < 8 or head[4:8] != _TFLITE_IDENTIFIER:
        _refuse("not a TFLite model (.tflite)")
