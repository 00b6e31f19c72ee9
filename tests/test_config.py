"""Config loading: the shipped default, 30+ malformed files each naming file, line and key, exit 78."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from edgepose.config import Config, load_config, load_config_text, state_directory
from edgepose.config.model import ModelConfig
from edgepose.config.service import ServiceConfig
from edgepose.config.source import SourceConfig
from edgepose.config.toml_lines import key_lines, parse_key
from edgepose.errors import ConfigError
from tests.plugins.daemon import run_edgepose

ZONES_OK = 'name = "a"\npolygon = [[0, 0], [1, 0], [1, 1]]\n'

# (id, toml text, line the message must name, fragments it must contain)
MALFORMED: list[tuple[str, str, int, tuple[str, ...]]] = [
    ("port-too-big", "[mqtt]\nhost = 'b'\nport = 70000\n", 3, ("[mqtt] port", "65535", "(got 70000)")),
    ("unknown-key", "[mqtt]\nprot = 1883\n", 2, ("[mqtt] prot", "unknown key", "allowed:", "port")),
    ("unknown-section", "[source]\nfps = 10.0\n\n[mqttt]\nport = 1\n", 4, ("[mqttt]", "unknown section")),
    ("top-level-key", "debug = true\n", 1, ("debug", "unknown key")),
    ("bad-uri", '[source]\nuri = "usb0"\n', 2, ("[source] uri", "unknown source", "v4l2:")),
    ("bad-camera-number", '[source]\nuri = "picamera2:x"\n', 2, ("[source] uri", "camera number")),
    ("v4l2-without-dev", '[source]\nuri = "v4l2:video0"\n', 2, ("[source] uri", "/dev/video0")),
    ("width-too-small", "[source]\nwidth = 10\n", 2, ("[source] width", "greater than or equal to 64")),
    ("fps-zero", "[source]\nfps = 0\n", 2, ("[source] fps", "greater than 0")),
    ("rotation-45", "[source]\nrotation = 45\n", 2, ("[source] rotation", "(got 45)")),
    ("loop-not-bool", '[source]\nloop = "yes please"\n', 2, ("[source] loop", "boolean")),
    (
        "backoff-order",
        "[source]\nreopen_initial_s = 10.0\nreopen_max_s = 5.0\n",
        1,
        ("[source]", "reopen_max_s must be at least reopen_initial_s"),
    ),
    (
        "variant",
        '[model]\nvariant = "huge"\n',
        2,
        ("[model] variant", "'lite', 'full', 'heavy' or 'upper_body'"),
    ),
    ("precision", '[model]\nprecision = "int4"\n', 2, ("[model] precision", "int8")),
    ("accelerator", '[model]\naccelerator = "gpu"\n', 2, ("[model] accelerator", "'cpu' or 'edgetpu'")),
    ("threads-negative", "[model]\nthreads = -1\n", 2, ("[model] threads", "(got -1)")),
    ("num-poses-zero", "[model]\nnum_poses = 0\n", 2, ("[model] num_poses",)),
    (
        "confidence",
        "[model]\nmin_pose_detection_confidence = 1.5\n",
        2,
        ("min_pose_detection_confidence", "1"),
    ),
    ("edgetpu-device", '[model.edgetpu]\ndevice = "usb:x"\n', 2, ("[model] edgetpu.device", "usb:N")),
    ("publish", '[service]\npublish = "kafka"\n', 2, ("[service] publish", "'mqtt' or 'stdout'")),
    ("log-level", '[service]\nlog_level = "verbose"\n', 2, ("[service] log_level",)),
    ("stall-zero", "[service]\nstall_warning_s = 0\n", 2, ("[service] stall_warning_s",)),
    (
        "missing-password-file",
        '[mqtt]\nusername = "pi"\npassword_file = "/nonexistent/edgepose-pw"\n',
        3,
        ("[mqtt] password_file", "/nonexistent/edgepose-pw"),
    ),
    ("topic-prefix", '[mqtt]\ntopic_prefix = "home/#"\n', 2, ("[mqtt] topic_prefix", "'#'")),
    ("qos-zero", "[mqtt]\nqos_events = 0\n", 2, ("[mqtt] qos_events",)),
    ("syntax", "[source]\nuri = picamera2\n", 2, ("invalid TOML",)),
    ("duplicate-key", '[source]\nuri = "picamera2"\nuri = "picamera2:1"\n', 3, ("invalid TOML",)),
    ("unclosed-table", "[source\nuri = 1\n", 1, ("invalid TOML",)),
    ("dotted-top-level", "source.width = 1\n", 1, ("[source] width",)),
    (
        "comments-and-indent",
        "# a comment with width = 5000\n[source]   # camera\n  # width = 1\n  width = 1   # too small\n",
        4,
        ("[source] width",),
    ),
    ("inline-table", 'model = { variant = "x" }\n', 1, ("[model] variant",)),
    ("section-not-table", 'source = "picamera2"\n', 1, ("[source]", "dictionary")),
    (
        "zones-array-of-tables",
        "[[activity.zones]]\n" + ZONES_OK + '\n[[activity.zones]]\nname = "b"\npolygon = [[0, 0]]\n',
        7,
        ("[activity] zones[1].polygon", "three corners"),
    ),
    (
        "after-multiline-array",
        '[[activity.zones]]\nname = "door"\npolygon = [\n  [0.0, 0.0],\n  [1.0, 0.0],\n  [1.0, 1.0],\n]\n'
        '[mqtt]\nport = "x"\n',
        9,
        ("[mqtt] port", "integer"),
    ),
    (
        "after-multiline-string",
        '[mqtt]\nusername = """\nport = 1\n"""\nport = 0\n',
        5,
        ("[mqtt] port", "greater than or equal to 1"),
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "fragments"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_config_names_file_line_and_key(text: str, line: int, fragments: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "edgepose.toml")
    message = str(info.value)
    assert info.value.exit_code == 78
    assert message.startswith(f"edgepose.toml:{line}: "), message
    for fragment in fragments:
        assert fragment in message, message


def test_there_are_at_least_twenty_malformed_cases() -> None:
    assert len(MALFORMED) >= 20


def test_several_errors_are_all_reported() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text('[model]\nvariant = "big"\nthreads = 99\n', "x.toml")
    first, *rest = str(info.value).splitlines()
    assert first.startswith("x.toml:2: [model] variant")
    assert any(line.startswith("x.toml:3: [model] threads") for line in rest)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found") as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.exit_code == 78


def test_unreadable_password_file_names_key_and_line(tmp_path: Path) -> None:
    # A directory is unreadable as a file even for root (who can read any file regardless of mode).
    folder = tmp_path / "secret"
    folder.mkdir()
    path = tmp_path / "edgepose.toml"
    path.write_text(f'[mqtt]\nhost = "broker"\nusername = "pi"\npassword_file = "{folder}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:4: [mqtt] password_file")


def test_readable_password_file_loads(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    config = load_config_text(f'[mqtt]\nusername = "pi"\npassword_file = "{secret}"\n')
    assert config.mqtt.read_password() == "hunter2"


def test_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[source]\nuri = "file:/tmp/caf\xe9.mp4"\n')
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(path)


@pytest.mark.parametrize(
    ("command", "stream"),
    [("check", "stdout"), ("run", "stderr")],
)
@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("[mqtt]\nport = 70000\n", 2, "[mqtt] port: Input should be less than or equal to 65535 (got 70000)"),
        ('[source]\nuri = "camera"\n', 2, "[source] uri: unknown source"),
    ],
)
def test_cli_exits_78_naming_line_and_key(
    tmp_path: Path, command: str, stream: str, text: str, line: int, fragment: str
) -> None:
    path = tmp_path / "edgepose.toml"
    path.write_text(text)
    proc = run_edgepose(command, "--config", str(path), timeout_s=60)
    assert proc.returncode == 78, proc.stderr
    output = proc.stdout if stream == "stdout" else proc.stderr
    assert f"{path}:{line}: {fragment}" in output
    assert "Traceback" not in proc.stderr
    if command == "run":
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"edgepose run: {path}:{line}: {fragment}")


def test_cli_missing_config_file_exits_78(tmp_path: Path) -> None:
    proc = run_edgepose("run", "--config", str(tmp_path / "absent.toml"), timeout_s=60)
    assert proc.returncode == 78
    assert proc.stderr.strip() == f"edgepose run: {tmp_path / 'absent.toml'}: config file not found"


def test_shipped_default_config_is_the_defaults(repo_root: Path) -> None:
    config = load_config(repo_root / "config" / "edgepose.toml")
    assert config.source == SourceConfig()
    assert config.model == ModelConfig()
    assert config.service == ServiceConfig()


@pytest.mark.parametrize("model", [SourceConfig, ModelConfig, ServiceConfig])
def test_every_key_is_documented(repo_root: Path, model: type[BaseModel]) -> None:
    text = (repo_root / "config" / "edgepose.toml").read_text()
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        if isinstance(field.default, BaseModel) or field.default_factory is not None:
            continue  # nested blocks ([model.cpu], ...) are documented by their owners
        assert f"\n{name} = " in text or f"\n# {name} = " in text, f"{name} missing from config/edgepose.toml"


def test_state_directory_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EDGEPOSE_STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path}/systemd:{tmp_path}/other")
    assert state_directory(Config()) == tmp_path / "systemd"
    monkeypatch.setenv("EDGEPOSE_STATE_DIRECTORY", str(tmp_path / "env"))
    assert state_directory(Config()) == tmp_path / "env"
    explicit = load_config_text(f'[service]\nstate_directory = "{tmp_path}/cfg"\n')
    assert state_directory(explicit) == tmp_path / "cfg"


def test_key_lines_scanner() -> None:
    text = (
        "# top\n"
        "[a]\n"
        "x = 1 # c = 3\n"
        '"quoted.key" = 2\n'
        "b.c = 3\n"
        "[[t]]\n"
        "n = 1\n"
        "[[t]]\n"
        "n = 2\n"
        "[t.sub]\n"
        "k = 'v=w'\n"
    )
    lines = key_lines(text)
    assert lines[("a",)] == 2
    assert lines[("a", "x")] == 3
    assert lines[("a", "quoted.key")] == 4
    assert lines[("a", "b", "c")] == 5
    assert lines[("t", 0, "n")] == 7
    assert lines[("t", 1, "n")] == 9
    assert lines[("t", 1, "sub", "k")] == 11
    assert ("a", "c") not in lines


def test_key_lines_scanner_reads_escaped_quotes_and_multiline_arrays() -> None:
    # An escaped quote must not end the string: the `=`, `[` and `#` after it are still inside.
    text = (
        "[a]\n"
        'x = "say \\"=[#\\" here" # [\n'
        "y = [\n"
        '  "]", # ]\n'
        "  2,\n"
        "]\n"
        "z = 'c:\\' # literal strings have no escapes\n"
        "w = 4\n"
    )
    lines = key_lines(text)
    assert lines[("a", "x")] == 2
    assert lines[("a", "y")] == 3
    assert lines[("a", "z")] == 7
    assert lines[("a", "w")] == 8
    assert len(lines) == 5


def test_parse_key() -> None:
    assert parse_key('a. "b.c" .d') == ("a", "b.c", "d")
    assert parse_key("a b") is None
    assert parse_key("") is None


def test_config_is_frozen_and_strict() -> None:
    config = Config()
    with pytest.raises(ValueError):
        config.source.width = 1  # type: ignore[misc]
