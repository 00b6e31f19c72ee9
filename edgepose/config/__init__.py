"""Configuration: TOML validated by pydantic models, one module per section.

`load_config(path)` is the one place where a config file becomes a `Config` (for `run`, `check`
and a reload alike); every problem (missing file, TOML syntax, a wrong or unknown key, a value of
the wrong type, a named file that is missing or malformed) becomes a `ConfigError` whose message
names the file, the line and the key, e.g.
`edgepose.toml:12: [mqtt] port: Input should be less than or equal to 65535 (got 70000)`.
"""

from __future__ import annotations

import os
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from edgepose.config.activity import ActivityConfig
from edgepose.config.base import StrictModel
from edgepose.config.files import file_problems
from edgepose.config.http import HttpConfig
from edgepose.config.model import ModelConfig
from edgepose.config.mqtt import MqttConfig
from edgepose.config.service import ServiceConfig
from edgepose.config.source import SourceConfig
from edgepose.config.toml_lines import KeyPath, key_lines, line_of
from edgepose.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Config",
    "default_config_path",
    "load_config",
    "load_config_text",
    "state_directory",
]

DEFAULT_CONFIG_PATH = Path("/etc/edgepose/edgepose.toml")


class Config(StrictModel):
    """The whole configuration file: one table per section."""

    source: SourceConfig = Field(default_factory=SourceConfig, description="Where frames come from.")
    model: ModelConfig = Field(default_factory=ModelConfig, description="The pose models.")
    # model_validate({}) rather than the class: these sections pass defaults positionally to Field,
    # which mypy's dataclass_transform does not read as defaults.
    mqtt: MqttConfig = Field(
        default_factory=lambda: MqttConfig.model_validate({}), description="The MQTT broker and topics."
    )
    activity: ActivityConfig = Field(
        default_factory=lambda: ActivityConfig.model_validate({}), description="Activity rules."
    )
    http: HttpConfig = Field(default_factory=HttpConfig, description="The optional HTTP server.")
    service: ServiceConfig = Field(default_factory=ServiceConfig, description="The daemon itself.")


def default_config_path() -> Path | None:
    """$EDGEPOSE_CONFIG, else systemd's $CONFIGURATION_DIRECTORY/edgepose.toml, else /etc's, if present."""
    explicit = os.environ.get("EDGEPOSE_CONFIG")
    if explicit:
        return Path(explicit)
    conf_dir = os.environ.get("CONFIGURATION_DIRECTORY")
    candidates = [Path(conf_dir) / "edgepose.toml"] if conf_dir else []
    candidates.append(DEFAULT_CONFIG_PATH)
    return next((p for p in candidates if p.is_file()), None)


def load_config(path: Path | None) -> Config:
    """Read and validate a config file; None means the defaults. Raises ConfigError (exit 78)."""
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    return load_config_text(text, str(path))


def load_config_text(text: str, name: str = "edgepose.toml") -> Config:
    """Validate config text; `name` (the file) is used in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_syntax_message(name, text, str(exc))) from None
    lines = key_lines(text)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        _raise_all([_describe(err, name, lines) for err in exc.errors()])
    # Only once the values are right: the files they name (this is where a reload fails, too).
    _raise_all(
        [f"{_position(name, lines, p.key)}: {format_key(p.key)}: {p.message}" for p in file_problems(config)]
    )
    return config


def _raise_all(messages: list[str]) -> None:
    """One ConfigError with every message, the first on the first line (nothing when empty)."""
    if not messages:
        return
    more = f"\n{len(messages) - 1} more problem(s):\n" + "\n".join(messages[1:]) if len(messages) > 1 else ""
    raise ConfigError(messages[0] + more) from None


def state_directory(config: Config) -> Path:
    """Where state (the event spool) lives: the config key, $EDGEPOSE_STATE_DIRECTORY, systemd's, or cache."""
    if config.service.state_directory is not None:
        return config.service.state_directory
    for var in ("EDGEPOSE_STATE_DIRECTORY", "STATE_DIRECTORY"):
        value = os.environ.get(var)
        if value:
            # systemd passes a colon-separated list when several StateDirectory= are set.
            return Path(value.split(":")[0])
    from edgepose.paths import cache_dir

    return cache_dir() / "state"


def format_key(loc: Sequence[str | int]) -> str:
    """`("mqtt", "port")` -> `[mqtt] port`; list indices as `zones[0].name`."""
    if not loc:
        return "(top level)"
    head, rest = loc[0], loc[1:]
    tail = ""
    for part in rest:
        tail += f"[{part}]" if isinstance(part, int) else (f".{part}" if tail else str(part))
    if not rest:
        return f"[{head}]"
    return f"[{head}] {tail}"


def _position(name: str, lines: Mapping[KeyPath, int], loc: Sequence[str | int]) -> str:
    line = line_of(dict(lines), loc)
    return f"{name}:{line}" if line is not None else name


def _syntax_message(name: str, text: str, message: str) -> str:
    """`name:LINE: invalid TOML: ...` from tomllib's "(at line N, column M)" or "(at end of document)"."""
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if match:
        reason = message[: match.start()]
        return f"{name}:{match.group(1)}: invalid TOML: {reason} (column {match.group(2)})"
    if message.endswith("(at end of document)"):
        line = max(1, len(text.splitlines()))
        return f"{name}:{line}: invalid TOML: {message.removesuffix(' (at end of document)')} at end of file"
    return f"{name}: invalid TOML: {message}"


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(err: Mapping[str, Any], name: str, lines: Mapping[KeyPath, int]) -> str:
    loc: tuple[str | int, ...] = tuple(err["loc"])
    kind = err["type"]
    where = _position(name, lines, loc)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        if len(loc) == 1:
            is_table = isinstance(err.get("input"), dict)
            what = (
                f"[{loc[0]}]: unknown section"
                if is_table
                else f"{loc[0]}: unknown key (keys go in a [section])"
            )
            return f"{where}: {what}{hint}"
        return f"{where}: {format_key(loc)}: unknown key{hint}"
    if kind == "missing":
        return f"{where}: {format_key(loc)}: required key is missing"
    message = str(err["msg"]).removeprefix("Value error, ")
    got = f" (got {_short(err['input'])})" if "input" in err and not isinstance(err["input"], dict) else ""
    return f"{where}: {format_key(loc)}: {message}{got}"


def _allowed_keys(loc: Sequence[str | int]) -> list[str]:
    """The field names of the model at `loc` (best effort; empty when it cannot be followed)."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field is not None else None
    return sorted(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
