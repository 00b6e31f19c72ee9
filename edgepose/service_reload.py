"""Config reload (SIGHUP): re-read the file, re-apply command-line overrides, keep the old config on error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from edgepose.config import Config, load_config
from edgepose.errors import ConfigError, EdgeposeError, UsageError
from edgepose.notify import Notifier
from edgepose.sources import parse_source_uri

log = logging.getLogger("edgepose.service")


def apply_overrides(config: Config, source_uri: str | None = None, publish: str | None = None) -> Config:
    """The config with command-line overrides (`--source`, `--publish`) applied and validated."""
    if source_uri is not None:
        try:
            parse_source_uri(source_uri)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        config = config.model_copy(update={"source": config.source.model_copy(update={"uri": source_uri})})
    if publish is not None:
        if publish not in ("mqtt", "stdout"):
            raise UsageError(f"unknown publisher {publish!r} (mqtt or stdout)")
        config = config.model_copy(update={"service": config.service.model_copy(update={"publish": publish})})
    return config


def publisher_changed(old: Config, new: Config) -> bool:
    """Whether a reload needs a new publisher besides `[mqtt]` changes: another publisher, or a
    pose model with another skeleton (Home Assistant discovery names it)."""
    from edgepose.pose.families import model_skeleton

    if new.service.publish != old.service.publish:
        return True
    return model_skeleton(new.model) != model_skeleton(old.model)


def changed_sections(old: Config, new: Config) -> list[str]:
    """The names of the top-level config sections that differ between `old` and `new`."""
    return [name for name in type(new).model_fields if getattr(new, name) != getattr(old, name)]


def reload_config(
    config_path: Path | None,
    apply: Callable[[Config], list[str]],
    *,
    source_override: str | None,
    publish_override: str | None,
    notifier: Notifier,
    status: Callable[[], str],
) -> None:
    """Re-read and validate the config, hand it to `apply`; log and keep the old config on any error."""
    if config_path is None:
        log.info("reload requested, but no config file was given: nothing to re-read")
        return
    notifier.reloading()
    try:
        new = apply_overrides(load_config(config_path), source_override, publish_override)
        changed = apply(new)
    except ConfigError as exc:
        log.error(
            "config reload failed, keeping the running config: %s",
            str(exc).splitlines()[0],
            extra={"EDGEPOSE_CONFIG": str(config_path)},
        )
    except EdgeposeError as exc:
        log.error("config reload failed, keeping the running config: %s", exc)
    else:
        log.info("config reloaded (%s)", ", ".join(changed) if changed else "no changes")
    notifier.ready(status())
