"""The publish side of `edgepose check`: the MQTT broker accepts us, and the state directory is writable."""

from __future__ import annotations

import os
import threading
from typing import Any

from edgepose.checks.base import CheckContext, CheckResult, Verdict
from edgepose.config import Config, state_directory


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

    from edgepose.publish.mqtt_client import secure

    m = config.mqtt
    where = f"{m.host}:{m.port}"
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{m.resolved_client_id()}-check")
    secure(client, m, m.read_password())
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


def check_state(ctx: CheckContext) -> CheckResult:
    """The state directory (event spool) is writable."""
    folder = state_directory(ctx.config)
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if os.access(probe, os.W_OK):
        return CheckResult(Verdict.OK, f"{folder} writable")
    return CheckResult(Verdict.WARN, f"{folder} is not writable: undelivered events cannot be kept")
