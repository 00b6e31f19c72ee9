"""`edgepose check`: a registry of named checks, each giving one verdict line (ok / warn / FAIL).

Built in: config, runtime, accelerator, models, source, broker, state. Other areas add theirs
(or replace one by name) with `@register_check("name", order=...)` in a module listed in
`PLUGIN_MODULES`; modules that do not exist yet are skipped.
"""

from __future__ import annotations

import enum
import importlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgepose.config import Config, state_directory
from edgepose.errors import EdgeposeError

log = logging.getLogger(__name__)

PLUGIN_MODULES: tuple[str, ...] = (
    "edgepose.publish.checks",
    "edgepose.inference.accelerators.checks",
    "edgepose.activity.checks",
    "edgepose.http.checks",
)


class Verdict(enum.StrEnum):
    """How a check went; FAIL is upper case so it stands out in a column of `ok`."""

    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One verdict and the short reason shown next to it."""

    verdict: Verdict
    detail: str


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What every check may look at: the validated config and where it came from."""

    config: Config
    config_path: Path | None


CheckFunction = Callable[[CheckContext], CheckResult]

_CHECKS: dict[str, tuple[int, CheckFunction]] = {}
_PLUGINS_LOADED: list[str] = []  # the plugin modules imported so far (once each)


def register_check(name: str, order: int = 50) -> Callable[[CheckFunction], CheckFunction]:
    """Decorator: run `fn(ctx) -> CheckResult` as check `name` (lower `order` runs first)."""

    def add(fn: CheckFunction) -> CheckFunction:
        _CHECKS[name] = (order, fn)
        return fn

    return add


def registered_checks() -> list[tuple[str, CheckFunction]]:
    """The checks in run order, plugin modules loaded on first use."""
    for module in PLUGIN_MODULES:
        if module in _PLUGINS_LOADED:
            continue
        _PLUGINS_LOADED.append(module)
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return [(name, fn) for name, (_, fn) in sorted(_CHECKS.items(), key=lambda item: (item[1][0], item[0]))]


def run_check(fn: CheckFunction, ctx: CheckContext) -> CheckResult:
    """One check; an exception becomes a FAIL with its message rather than a traceback."""
    try:
        return fn(ctx)
    except EdgeposeError as exc:
        return CheckResult(Verdict.FAIL, str(exc))
    except Exception as exc:
        log.debug("check crashed", exc_info=True)
        return CheckResult(Verdict.FAIL, f"{type(exc).__name__}: {exc}")


# ---- built-in checks --------------------------------------------------------------------------


@register_check("runtime", order=10)
def check_runtime(ctx: CheckContext) -> CheckResult:
    """The TFLite interpreter package and version, and whether it suits this machine."""
    from edgepose.inference.runtime_check import gather_facts, runtime_verdict

    verdict = runtime_verdict(gather_facts())
    return CheckResult(Verdict(verdict.level), verdict.detail)


def _open_accelerator(ctx: CheckContext) -> Any:
    from edgepose.inference.accelerators import AcceleratorSettings, open_accelerator

    model = ctx.config.model
    settings = AcceleratorSettings(cpu=model.cpu, edgetpu=model.edgetpu, threads=model.threads)
    return open_accelerator(model.accelerator, settings)


@register_check("accelerator", order=20)
def check_accelerator(ctx: CheckContext) -> CheckResult:
    """The configured accelerator opens (a fallback to the CPU is a warning)."""
    accelerator = _open_accelerator(ctx)
    try:
        in_use = str(accelerator.accelerator_in_use)
        wanted = ctx.config.model.accelerator
        verdict = Verdict.OK if in_use == wanted else Verdict.WARN
        detail = accelerator.describe()
        if verdict is Verdict.WARN:
            detail = f"{wanted} not available, running on {in_use}: {detail}"
        return CheckResult(verdict, detail)
    finally:
        accelerator.close()


@register_check("models", order=30)
def check_models(ctx: CheckContext) -> CheckResult:
    """Both model files exist and load into an interpreter."""
    from edgepose.config.movenet import ModelFamily
    from edgepose.inference.models import ModelRole

    model = ctx.config.model
    accelerator = _open_accelerator(ctx)
    try:
        if model.family is ModelFamily.MOVENET:
            if model.movenet.model_path is None:
                return CheckResult(
                    Verdict.FAIL, '[model.movenet] model_path is required for family = "movenet"'
                )
            paths = [model.movenet.model_path]
        else:
            paths = [
                accelerator.model_path(role, model.variant, model.precision)
                for role in (ModelRole.DETECTOR, ModelRole.LANDMARK)
            ]
        loaded = []
        for path in paths:
            accelerator.make_interpreter(path)
            loaded.append(f"{path.name} ({path.stat().st_size // 1024} KiB)")
        return CheckResult(Verdict.OK, ", ".join(loaded))
    finally:
        accelerator.close()


@register_check("source", order=40)
def check_source(ctx: CheckContext) -> CheckResult:
    """The source opens and delivers one frame within its read timeout."""
    from edgepose.sources import create_source, parse_source_uri

    settings = ctx.config.source
    uri = parse_source_uri(settings.uri)
    source = create_source(uri, settings)
    outcome: list[Any] = []

    def grab() -> None:
        try:
            source.open()
            outcome.append(source.read())
        except BaseException as exc:
            outcome.append(exc)

    # A wedged driver must not hang `check`: read in a helper thread and give up after the timeout.
    worker = threading.Thread(target=grab, name="check source", daemon=True)
    worker.start()
    worker.join(settings.read_timeout_s + 10.0)
    if not outcome:
        return CheckResult(
            Verdict.FAIL, f"{uri.text}: no frame within {settings.read_timeout_s + 10.0:.0f} s"
        )
    try:
        source.close()
    except Exception as exc:
        log.debug("closing source: %s", exc)
    got = outcome[0]
    if isinstance(got, BaseException):
        if isinstance(got, EdgeposeError):
            return CheckResult(Verdict.FAIL, str(got))
        return CheckResult(Verdict.FAIL, f"{uri.text}: {type(got).__name__}: {got}")
    if got is None:
        return CheckResult(Verdict.FAIL, f"{uri.text}: opened but delivered no frame")
    kind = "live" if uri.live else "file"
    return CheckResult(Verdict.OK, f"{uri.text}: {got.width}x{got.height} ({kind})")


@register_check("broker", order=50)
def check_broker(ctx: CheckContext) -> CheckResult:
    """The MQTT broker accepts our connection and credentials (skipped with publish = stdout)."""
    config = ctx.config
    if config.service.publish != "mqtt":
        return CheckResult(Verdict.OK, f"not used (publish = {config.service.publish})")
    return mqtt_probe(config, timeout_s=5.0)


def mqtt_probe(config: Config, timeout_s: float) -> CheckResult:
    """Connect, wait for CONNACK, disconnect; the reason code when refused."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    m = config.mqtt
    where = f"{m.host}:{m.port}"
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{m.resolved_client_id()}-check")
    if m.username:
        client.username_pw_set(m.username, m.read_password())
    if m.use_tls:
        client.tls_set(
            ca_certs=str(m.ca_file) if m.ca_file else None,
            certfile=str(m.cert_file) if m.cert_file else None,
            keyfile=str(m.key_file) if m.key_file else None,
        )
        client.tls_insecure_set(m.tls_insecure)
    done = threading.Event()
    reason: list[str] = []

    def on_connect(_c: Any, _u: Any, _flags: Any, reason_code: Any, _props: Any) -> None:
        reason.append("" if not reason_code.is_failure else str(reason_code))
        done.set()

    client.on_connect = on_connect
    try:
        client.connect(m.host, m.port, keepalive=10)
    except OSError as exc:
        return CheckResult(Verdict.FAIL, f"cannot connect to {where}: {exc.strerror or exc}")
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            return CheckResult(Verdict.FAIL, f"{where}: no answer within {timeout_s:.0f} s")
        if reason[0]:
            return CheckResult(Verdict.FAIL, f"{where} refused the connection: {reason[0]}")
        tls = ", TLS" if m.use_tls else ""
        user = f" as {m.username}" if m.username else ""
        return CheckResult(Verdict.OK, f"connected to {where}{user}{tls}")
    finally:
        client.disconnect()
        client.loop_stop()


@register_check("state", order=60)
def check_state(ctx: CheckContext) -> CheckResult:
    """The state directory (event spool) is writable."""
    folder = state_directory(ctx.config)
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if os.access(probe, os.W_OK):
        return CheckResult(Verdict.OK, f"{folder} writable")
    return CheckResult(Verdict.WARN, f"{folder} is not writable: undelivered events cannot be kept")
