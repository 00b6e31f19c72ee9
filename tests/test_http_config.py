"""[http] config: safe defaults, explicit all-interfaces binding, errors with file:line."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edgepose.config.http import HttpConfig, is_loopback_bind


def test_defaults_are_off_and_local() -> None:
    config = HttpConfig()
    assert config.enabled is False
    assert config.bind == "127.0.0.1"
    assert is_loopback_bind(config.bind)
    assert config.password_file is None


def test_every_field_has_a_description() -> None:
    for name, field in HttpConfig.model_fields.items():
        assert field.description, name


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "192.0.2.10", "::1", "localhost"])
def test_explicit_addresses_are_accepted(bind: str) -> None:
    assert HttpConfig(bind=bind).bind == bind


@pytest.mark.parametrize("bind", ["", " ", "*", "all", "my-host.example"])
def test_implicit_or_unresolved_binds_are_refused(bind: str) -> None:
    # An empty host means "every interface" to most servers: it must never slip through.
    with pytest.raises(ValidationError, match="bind must be an IP address"):
        HttpConfig(bind=bind)


def test_loopback_detection() -> None:
    assert is_loopback_bind("127.0.0.5")
    assert is_loopback_bind("::1")
    assert not is_loopback_bind("0.0.0.0")
    assert not is_loopback_bind("::")


def test_unknown_keys_and_bad_values_are_config_errors_with_lines() -> None:
    from edgepose.config import load_config_text
    from edgepose.errors import ConfigError

    text = '[http]\nenabled = true\nbind = ""\n'
    with pytest.raises(ConfigError, match=r"edgepose.toml:3: \[http\] bind"):
        load_config_text(text)
    with pytest.raises(ConfigError, match=r"edgepose.toml:2: \[http\] prot: unknown key"):
        load_config_text("[http]\nprot = 8080\n")
    config = load_config_text('[http]\nenabled = true\nbind = "0.0.0.0"\nport = 8099\n')
    assert (config.http.enabled, config.http.bind, config.http.port) == (True, "0.0.0.0", 8099)
