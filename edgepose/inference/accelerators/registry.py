"""The accelerator registry, keyed by the config value `[model] accelerator`, and `open_accelerator`.

The built-in plugins (cpu, edgetpu) are registered below when this module is imported;
`register_accelerator` adds one or replaces one. `open_accelerator` applies the fallback policy:
with `on_missing = "cpu"` a missing EdgeTPU gives one warning and a CPU accelerator whose
`accelerator_in_use` says "cpu", which the service publishes in its stats.
"""

from __future__ import annotations

import logging

from edgepose.config.accelerators import AcceleratorKind, OnMissing
from edgepose.errors import ConfigError
from edgepose.inference.accelerators.base import (
    Accelerator,
    AcceleratorFactory,
    AcceleratorSettings,
    AcceleratorUnavailableError,
)
from edgepose.inference.accelerators.cpu import CpuAccelerator
from edgepose.inference.edgetpu.accelerator import EdgeTpuAccelerator

log = logging.getLogger(__name__)

_REGISTRY: dict[AcceleratorKind, AcceleratorFactory] = {}


def register_accelerator(kind: AcceleratorKind, factory: AcceleratorFactory) -> None:
    """Add (or replace) the plugin for a config key."""
    _REGISTRY[kind] = factory


def registered_accelerators() -> dict[AcceleratorKind, AcceleratorFactory]:
    """The plugins by config key."""
    return dict(_REGISTRY)


def open_accelerator(kind: str | AcceleratorKind, settings: AcceleratorSettings | None = None) -> Accelerator:
    """The accelerator for a config key, falling back to the CPU when the policy says so."""
    settings = settings or AcceleratorSettings()
    try:
        key = AcceleratorKind(kind)
    except ValueError as exc:
        known = ", ".join(k.value for k in AcceleratorKind)
        raise ConfigError(f"[model] accelerator: unknown value {kind!r} (one of: {known})") from exc
    factory = _REGISTRY.get(key)
    if factory is None:
        raise ConfigError(f"[model] accelerator: no plugin registered for {key.value!r}")
    try:
        accelerator = factory(settings)
    except AcceleratorUnavailableError as exc:
        if settings.on_missing(key) is not OnMissing.CPU:
            raise
        log.warning('%s; [model.%s] on_missing = "cpu": running the CPU models instead', exc, key.value)
        accelerator = CpuAccelerator(settings.cpu, settings.threads, fallback_from=key)
    log.info("accelerator: %s", accelerator.describe())
    return accelerator


register_accelerator(AcceleratorKind.CPU, CpuAccelerator.from_settings)
register_accelerator(AcceleratorKind.EDGETPU, EdgeTpuAccelerator.from_settings)
