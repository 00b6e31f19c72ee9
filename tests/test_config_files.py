"""Files the config names are checked when it loads: exists, readable, well-formed; file:line, exit 78.

`check`, `run` and a reload share that one validation, so `check` never says `ok config` for a
config `run` refuses, and `run` refuses before a model loads or anything reaches the broker.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from edgepose.activity.classifier import FORMAT
from edgepose.config import load_config
from edgepose.errors import ConfigError
from edgepose.http.auth import hash_password
from tests.plugins.broker import Broker, Recorder, TlsFiles, make_tls_files
from tests.plugins.daemon import run_edgepose


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """Real certificates and keys made by openssl (once for this module)."""
    return make_tls_files(tmp_path_factory.mktemp("pki"))


def _write(folder: Path, text: str) -> Path:
    path = folder / "edgepose.toml"
    path.write_text(text)
    return path


def _refused(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.exit_code == 78
    return str(info.value)


def _classifier_json() -> str:
    sample = {"label": "kick", "embedding": [[0.1, 0.2, 0.3]] * 23}
    return json.dumps({"format": FORMAT, "v": 1, "classes": ["kick"], "samples": [sample]})


# (id, file content (bytes) or None for a directory, config key lines before the path, key name shown)
BAD_FILES: list[tuple[str, bytes | None, str, str, str]] = [
    ("mqtt-password-missing", b"", '[mqtt]\nusername = "pi"\n', "password_file", "no such file"),
    ("mqtt-password-dir", None, '[mqtt]\nusername = "pi"\n', "password_file", "not a regular file"),
    ("mqtt-password-empty", b"\n", '[mqtt]\nusername = "pi"\n', "password_file", "is empty"),
    ("mqtt-password-binary", b"\xff\xfe\n", '[mqtt]\nusername = "pi"\n', "password_file", "not UTF-8"),
    ("ca-garbage", b"hello\n", "[mqtt]\n", "ca_file", "not a PEM certificate"),
    ("http-users-plain", b"admin:hunter2\n", "[http]\n", "password_file", "not a pbkdf2_sha256 hash"),
    ("http-users-empty", b"# nobody\n", "[http]\n", "password_file", "has no users"),
    ("classifier-not-json", b"{nope", "[activity.classifier]\n", "path", "not JSON"),
    (
        "classifier-wrong-kind",
        b'{"format": "x", "v": 1}',
        "[activity.classifier]\n",
        "path",
        "not a classifier",
    ),
    ("classifier-list", b"[1, 2]", "[activity.classifier]\n", "path", "not a classifier"),
    ("classifier-bad-rows", b"", "[activity.classifier]\n", "path", "not a classifier"),
    ("movenet-not-tflite", b"PK\x03\x04zipzip", "[model.movenet]\n", "model_path", "not a TFLite model"),
    ("movenet-empty", b"", "[model.movenet]\n", "model_path", "not a TFLite model"),
]


@pytest.mark.parametrize(
    ("content", "head", "key", "reason"), [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_a_bad_named_file_is_refused_at_its_line(
    tmp_path: Path, content: bytes | None, head: str, key: str, reason: str, request: pytest.FixtureRequest
) -> None:
    target = tmp_path / "named-file"
    case = request.node.callspec.id
    if content is None:
        target.mkdir()
    elif case == "classifier-bad-rows":
        target.write_text(
            json.dumps({"format": FORMAT, "v": 1, "samples": [{"label": "a", "embedding": [1]}]})
        )
    elif case != "mqtt-password-missing":
        target.write_bytes(content)
    line = head.count("\n") + 1
    path = _write(tmp_path, f'{head}{key} = "{target}"\n')
    message = _refused(path)
    section = head.splitlines()[0].strip("[]").split(".")
    shown = f"[{section[0]}] " + ".".join([*section[1:], key])
    assert message.startswith(f"{path}:{line}: {shown}: {target}"), message
    assert reason in message, message


def test_tls_files_are_checked_as_a_pair(tmp_path: Path, pki: TlsFiles) -> None:
    good = f'[mqtt]\nca_file = "{pki.ca_cert}"\ncert_file = "{pki.client_cert}"\nkey_file = "{{key}}"\n'
    key = tmp_path / "client.key"
    shutil.copy(pki.client_key, key)
    key.chmod(0o600)
    config = load_config(_write(tmp_path, good.format(key=key)))
    assert config.mqtt.use_tls and config.mqtt.key_file == key
    # The server's key is a real key, but not the client certificate's.
    message = _refused(_write(tmp_path, good.format(key=pki.server_key)))
    assert message.startswith(
        f"{tmp_path / 'edgepose.toml'}:4: [mqtt] key_file: {pki.server_key}: not the PEM"
    )
    # A certificate that is no certificate is named at its own line, and its key is not blamed.
    bad_cert = tmp_path / "client.crt"
    bad_cert.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    text = good.format(key=key).replace(str(pki.client_cert), str(bad_cert))
    message = _refused(_write(tmp_path, text))
    assert message.startswith(f"{tmp_path / 'edgepose.toml'}:3: [mqtt] cert_file: {bad_cert}"), message
    assert "key_file" not in message


def test_good_named_files_load(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text(f"admin:{hash_password('x', iterations=1000).encode()}\n")
    users.chmod(0o640)
    classifier = tmp_path / "classifier.json"
    classifier.write_text(_classifier_json())
    model = tmp_path / "movenet.tflite"
    model.write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(64))
    text = (
        f'[http]\npassword_file = "{users}"\n[activity.classifier]\npath = "{classifier}"\n'
        f'[model]\nfamily = "movenet"\n[model.movenet]\nmodel_path = "{model}"\n'
    )
    config = load_config(_write(tmp_path, text))
    assert config.activity.classifier.path == classifier


def test_every_bad_file_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        f'[mqtt]\nusername = "pi"\npassword_file = "{tmp_path / "a"}"\n'
        f'[activity.classifier]\npath = "{tmp_path / "b"}"\n'
    )
    first, *rest = _refused(_write(tmp_path, text)).splitlines()
    assert first.endswith(f":3: [mqtt] password_file: {tmp_path / 'a'}: no such file")
    assert rest[-1].endswith(f":5: [activity] classifier.path: {tmp_path / 'b'}: no such file")


def test_world_readable_password_file_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text("hunter2\n")
    secret.chmod(0o644)
    private = tmp_path / "private-password"
    private.write_text("hunter2\n")
    private.chmod(0o600)
    caplog.set_level(logging.WARNING, logger="edgepose.config.files")
    for _ in range(3):  # start, check, reloads: one warning per file for the life of the process
        load_config(_write(tmp_path, f'[mqtt]\nusername = "pi"\npassword_file = "{secret}"\n'))
        load_config(_write(tmp_path, f'[mqtt]\nusername = "pi"\npassword_file = "{private}"\n'))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"{secret} can be read by every user of this machine: chmod 600 (or 640) it"]


# Configs `check` once passed where `run` then failed; both must refuse them, at the same line.
SHARED: list[tuple[str, str, int, str]] = [
    ("host-empty", '[mqtt]\nhost = ""\n', 2, "[mqtt] host: host is empty"),
    (
        "classifier-missing",
        '[activity.classifier]\npath = "/nonexistent/c.json"\n',
        2,
        "[activity] classifier.path",
    ),
    ("movenet-without-file", '[model]\nfamily = "movenet"\n', 1, '[model]: family = "movenet" needs'),
    (
        "http-users-missing",
        '[http]\nenabled = true\npassword_file = "/nonexistent/u"\n',
        3,
        "[http] password_file",
    ),
]


@pytest.mark.parametrize(("text", "line", "fragment"), [s[1:] for s in SHARED], ids=[s[0] for s in SHARED])
def test_check_and_run_refuse_the_same_config(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = _write(tmp_path, text)
    check = run_edgepose("check", "--config", str(path), "--only", "state", timeout_s=60)
    run = run_edgepose("run", "--config", str(path), "--publish", "stdout", timeout_s=60)
    assert (check.returncode, run.returncode) == (78, 78), (check.stdout, run.stderr)
    assert f"FAIL  config       {path}:{line}: {fragment}" in check.stdout, check.stdout
    assert run.stderr.startswith(f"edgepose run: {path}:{line}: {fragment}"), run.stderr
    assert "Traceback" not in check.stderr + run.stderr


@pytest.mark.parametrize(
    ("section", "reason"),
    [
        # The HTTP users file was read only once `online` and discovery had gone out.
        ('[http]\nenabled = true\npassword_file = "{users}"\n', "{users}:1: not a pbkdf2_sha256 hash"),
        ('[activity.classifier]\npath = "{missing}"\n', "{missing}: no such file"),
    ],
    ids=["http-users", "classifier"],
)
def test_run_refuses_before_anything_is_published(
    tmp_path: Path, broker: Broker, media: Path, section: str, reason: str
) -> None:
    users = tmp_path / "users"
    users.write_text("admin:hunter2\n")  # a plain-text password: refused
    names = {"users": users, "missing": tmp_path / "missing.json"}
    recorder = Recorder(broker, ["#"]).start()
    try:
        path = _write(
            tmp_path,
            f'[source]\nuri = "file:{media / "vtest.avi"}"\n[mqtt]\nhost = "{broker.host}"\n'
            f'port = {broker.port}\ndevice_id = "early"\n'
            f'[service]\nstate_directory = "{tmp_path / "state"}"\n' + section.format(**names),
        )
        proc = run_edgepose("run", "--config", str(path), timeout_s=60)
        assert proc.returncode == 78, proc.stderr
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith(f"edgepose run: {path}:"), line
        assert reason.format(**names) in line, line
        recorder.client.publish("edgepose-test/after", b"x", qos=1)
        recorder.wait_for(lambda m: m.topic == "edgepose-test/after", timeout_s=10)
        assert not [m for m in recorder.messages if m.topic.startswith("edgepose/")]
        assert not (tmp_path / "state").exists()  # not even the spool was opened
    finally:
        recorder.close()
