"""The `spool` and `broker` lines of `edgepose check` (the broker ones against a real Mosquitto)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edgepose.checks import CheckContext, Verdict, registered_checks, run_check
from edgepose.checks.broker import check_broker
from edgepose.checks.spool import check_spool
from edgepose.config import load_config_text
from edgepose.publish.spool import SPOOL_FILENAME, EventSpool
from tests.plugins.broker import AUTH_PASSWORD, AUTH_USER, Broker


def context(state_dir: Path, limit: int = 10) -> CheckContext:
    text = f'[service]\nstate_directory = "{state_dir}"\n[mqtt]\nspool_max_events = {limit}\n'
    return CheckContext(config=load_config_text(text), config_path=None)


def test_spool_check(tmp_path: Path) -> None:
    assert "spool" in [name for name, _ in registered_checks()]
    missing = check_spool(context(tmp_path / "state"))
    assert missing.verdict is Verdict.OK and "no spool yet" in missing.detail
    assert not (tmp_path / "state" / SPOOL_FILENAME).exists()  # the check creates nothing

    with EventSpool(tmp_path / "state" / SPOOL_FILENAME, max_events=100) as spool:
        spool.append([(f"e{i}", "{}") for i in range(12)])
    some = check_spool(context(tmp_path / "state", limit=100))
    assert some.verdict is Verdict.OK and some.detail.startswith("12 undelivered events of at most 100")
    nearly = check_spool(context(tmp_path / "state", limit=14))
    assert nearly.verdict is Verdict.WARN and "nearly full" in nearly.detail

    (tmp_path / "state" / SPOOL_FILENAME).write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (tmp_path / "state" / f"{SPOOL_FILENAME}{suffix}").unlink(missing_ok=True)
    broken = check_spool(context(tmp_path / "state"))
    assert broken.verdict is Verdict.WARN and "moves it aside" in broken.detail


def test_spool_check_sees_a_damaged_page_and_set_aside_rows(tmp_path: Path) -> None:
    path = tmp_path / "state" / SPOOL_FILENAME
    with EventSpool(path, max_events=100) as spool:
        spool.append([(f"e{i}", "{}") for i in range(5)])
    db = sqlite3.connect(path)
    db.execute("INSERT INTO events (event_id, payload) VALUES ('bad', CAST(x'ff' AS TEXT))")
    db.commit()
    db.close()
    with EventSpool(path, max_events=100) as spool:
        spool.after(0, 100)  # sets the bad row aside
    result = check_spool(context(tmp_path / "state", limit=100))
    assert result.verdict is Verdict.OK
    assert result.detail.endswith("; 1 undecodable events set aside (table quarantine)")
    # A damaged page that reading the event count alone does not touch.
    db = sqlite3.connect(path)
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with path.open("r+b") as handle:
        handle.seek((root - 1) * size)
        handle.write(b"\x0d\xff\xff" + b"\x5a" * 100)
    damaged = check_spool(context(tmp_path / "state", limit=100))
    assert damaged.verdict is Verdict.WARN and "is damaged" in damaged.detail


def broker_context(broker: Broker, extra: str) -> CheckContext:
    text = f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\ndevice_id = "check"\n{extra}'
    return CheckContext(config=load_config_text(text), config_path=None)


def test_broker_check_uses_the_publishers_credentials(auth_broker: Broker, tmp_path: Path) -> None:
    right, wrong = tmp_path / "right", tmp_path / "wrong"
    right.write_text(AUTH_PASSWORD + "\n")
    wrong.write_text("not-the-password\n")
    ok = check_broker(broker_context(auth_broker, f'username = "{AUTH_USER}"\npassword_file = "{right}"\n'))
    assert ok.verdict is Verdict.OK and ok.detail.endswith(f" as {AUTH_USER}")
    refused = check_broker(
        broker_context(auth_broker, f'username = "{AUTH_USER}"\npassword_file = "{wrong}"\n')
    )
    assert refused.verdict is Verdict.FAIL and "refused the connection" in refused.detail
    anonymous = check_broker(broker_context(auth_broker, ""))
    assert anonymous.verdict is Verdict.FAIL and "refused the connection" in anonymous.detail


def test_broker_check_uses_the_publishers_tls(tls_broker: Broker) -> None:
    tls = tls_broker.tls
    assert tls is not None
    client = f'cert_file = "{tls.client_cert}"\nkey_file = "{tls.client_key}"\n'
    ok = check_broker(broker_context(tls_broker, f'ca_file = "{tls.ca_cert}"\n{client}'))
    assert ok.verdict is Verdict.OK and ok.detail.endswith(", TLS")
    untrusted = check_broker(broker_context(tls_broker, f'ca_file = "{tls.other_ca_cert}"\n{client}'))
    assert untrusted.verdict is Verdict.FAIL
    # The config checks the files when it loads; one replaced afterwards is the check's to report.
    ca = tls_broker.workdir / "replaced-ca.pem"
    ca.write_bytes(tls.ca_cert.read_bytes())
    context = broker_context(tls_broker, f'ca_file = "{ca}"\n{client}')
    ca.write_text("not a certificate\n")
    unreadable = run_check(check_broker, context)  # as `edgepose check` runs every check
    assert unreadable.verdict is Verdict.FAIL and unreadable.detail.startswith("mqtt TLS files:")
