"""The config refuses rather than coerces: types, inf/nan, zone shapes, the broker host; each at its line."""

from __future__ import annotations

import enum
import typing
from typing import Any

import pytest
from pydantic import BaseModel, Strict

from edgepose.config import Config, load_config_text
from edgepose.config.base import IntOnly
from edgepose.config.zone_shape import shape_problem
from edgepose.errors import ConfigError

# (id, toml text, line the message must name, fragments it must contain)
REFUSED: list[tuple[str, str, int, tuple[str, ...]]] = [
    # A string is never a number, a number never a boolean, a float never an integer.
    ("port-string", '[mqtt]\nport = "1883"\n', 2, ("[mqtt] port", "valid integer", "(got '1883')")),
    ("port-float", "[mqtt]\nport = 1883.0\n", 2, ("[mqtt] port", "valid integer")),
    ("port-bool", "[mqtt]\nport = true\n", 2, ("[mqtt] port", "valid integer")),
    ("tls-string", '[mqtt]\ntls = "yes"\n', 2, ("[mqtt] tls", "valid boolean", "(got 'yes')")),
    ("loop-int", "[source]\nloop = 1\n", 2, ("[source] loop", "valid boolean", "(got 1)")),
    ("num-poses-bool", "[model]\nnum_poses = true\n", 2, ("[model] num_poses", "valid integer")),
    ("fps-string", '[source]\nfps = "30"\n', 2, ("[source] fps", "valid number")),
    ("fps-bool", "[source]\nfps = true\n", 2, ("[source] fps", "valid number")),
    ("qos-bool", "[mqtt]\nqos_events = true\n", 2, ("[mqtt] qos_events", "whole number")),
    ("qos-float", "[mqtt]\nqos_events = 1.0\n", 2, ("[mqtt] qos_events", "whole number")),
    ("rotation-float", "[source]\nrotation = 90.0\n", 2, ("[source] rotation", "whole number")),
    ("device-id-int", "[mqtt]\ndevice_id = 12\n", 2, ("[mqtt] device_id", "valid string")),
    ("enabled-string", '[http]\nenabled = "true"\n', 2, ("[http] enabled", "valid boolean")),
    ("xnnpack-int", "[model.cpu]\nxnnpack = 0\n", 2, ("[model] cpu.xnnpack", "valid boolean")),
    ("threshold-string", '[activity.posture]\nhold_ms = "400"\n', 2, ("[activity] posture.hold_ms",)),
    ("path-int", "[activity.classifier]\npath = 5\n", 2, ("[activity] classifier.path",)),
    ("path-empty", '[mqtt]\nusername = "u"\npassword_file = ""\n', 3, ("[mqtt] password_file", "empty path")),
    ("datetime-for-string", "[mqtt]\ndevice_name = 1979-05-27\n", 2, ("[mqtt] device_name", "valid string")),
    # inf and nan, everywhere.
    ("stats-inf", "[mqtt]\nstats_interval_s = inf\n", 2, ("[mqtt] stats_interval_s", "finite number")),
    ("stale-inf", "[http]\nstale_after_s = inf\n", 2, ("[http] stale_after_s", "finite number")),
    ("tilt-nan", "[activity.posture]\ncamera_tilt_deg = nan\n", 2, ("camera_tilt_deg", "finite number")),
    ("upright-neg-inf", "[activity.posture]\nupright_max_deg = -inf\n", 2, ("upright_max_deg", "finite")),
    ("threshold-nan", "[activity.classifier]\nenter_threshold = nan\n", 2, ("enter_threshold", "finite")),
    ("confidence-nan", "[model]\nmin_tracking_confidence = nan\n", 2, ("min_tracking_confidence", "finite")),
    (
        "zone-corner-inf",
        '[[activity.zones]]\nname = "z"\npolygon = [[0, 0], [inf, 0], [1, 1]]\n',
        3,
        ("finite",),
    ),
    # The broker host: paho would refuse these only when the daemon connects.
    ("host-empty", '[mqtt]\nhost = ""\n', 2, ("[mqtt] host", "host is empty")),
    ("host-space", '[mqtt]\nhost = "my broker"\n', 2, ("[mqtt] host", "host name or an IP address")),
    ("host-scheme", '[mqtt]\nhost = "mqtt://broker.lan"\n', 2, ("[mqtt] host", "without a scheme")),
    ("host-port", '[mqtt]\nhost = "broker.lan:1883"\n', 2, ("[mqtt] host", "the port goes in `port`")),
    # MoveNet without its model file fails at load, not when the models are built.
    ("movenet-no-path", '[model]\nfamily = "movenet"\n', 1, ("[model]", "model_path")),
]

ZONE = '[[activity.zones]]\nname = "door"\npolygon = {polygon}\n'
BAD_ZONES: list[tuple[str, str, str]] = [
    ("two-corners", "[[0.1, 0.1], [0.9, 0.9]]", "at least three corners"),
    ("collinear", "[[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]]", "on one line"),
    ("outside", "[[0.1, 0.1], [1.5, 0.1], [0.9, 0.9]]", "outside the image"),
    ("negative", "[[-0.1, 0.1], [0.5, 0.1], [0.5, 0.9]]", "outside the image"),
    ("bow-tie", "[[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]", "crosses itself"),
    ("repeated-corner", "[[0.1, 0.1], [0.9, 0.1], [0.9, 0.1], [0.1, 0.9]]", "same point"),
    ("fold-back", "[[0.1, 0.1], [0.9, 0.1], [0.5, 0.1], [0.5, 0.9]]", "fold back"),
    ("tiny", "[[0.5, 0.5], [0.5005, 0.5], [0.5, 0.5005]]", "no usable area"),
    ("touching-edge", "[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.5, 0.1], [0.1, 0.9]]", "crosses itself"),
    ("strings", '[["0.1", "0.1"], [0.9, 0.1], [0.9, 0.9]]', "valid number"),
    ("three-numbers", "[[0.1, 0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]", "at most 2 items"),
]


@pytest.mark.parametrize(("text", "line", "fragments"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_wrong_values_are_refused_at_their_line(text: str, line: int, fragments: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "edgepose.toml")
    message = str(info.value)
    assert info.value.exit_code == 78
    assert message.startswith(f"edgepose.toml:{line}: "), message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(("polygon", "reason"), [z[1:] for z in BAD_ZONES], ids=[z[0] for z in BAD_ZONES])
def test_bad_zone_shapes_are_refused_at_the_polygon_line(polygon: str, reason: str) -> None:
    # A good zone first, so the error must name the second one's polygon line (7).
    good = ZONE.format(polygon="[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0]]")
    text = good + "\n" + ZONE.format(polygon=polygon).replace('"door"', '"desk"')
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "edgepose.toml")
    message = str(info.value)
    assert message.startswith("edgepose.toml:7: [activity] zones[1].polygon"), message
    assert reason in message, message


def test_good_zones_and_values_still_load() -> None:
    text = (
        '[mqtt]\nhost = "192.168.1.10"\nport = 1883\nstats_interval_s = 10\ntls = false\n'
        "[source]\nfps = 25\nrotation = 90\nloop = true\n"
        '[[activity.zones]]\nname = "concave"\npolygon = [[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.5, 0.5], '
        "[0.2, 0.8]]\n"
        '[[activity.zones]]\nname = "whole"\npolygon = [[0, 0], [1, 0], [1, 1], [0, 1]]\n'
    )
    config = load_config_text(text)
    assert config.source.fps == 25.0 and isinstance(config.source.fps, float)
    assert config.mqtt.stats_interval_s == 10.0 and config.source.rotation == 90
    assert [z.name for z in config.activity.zones] == ["concave", "whole"]
    for host in ("broker.lan", "localhost", "::1", "mqtt-1.home.arpa.", "10.0.0.2"):
        assert load_config_text(f'[mqtt]\nhost = "{host}"\n').mqtt.host == host


def test_shape_problem_accepts_clockwise_and_counter_clockwise() -> None:
    square = [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)]
    assert shape_problem(square) is None
    assert shape_problem(list(reversed(square))) is None


def _leaves(annotation: Any) -> list[Any]:
    """The annotations at the bottom of a field type (through Optional, tuple, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return [annotation]
    if origin is not None and origin is not typing.Literal:
        return [leaf for arg in typing.get_args(annotation) if arg is not Ellipsis for leaf in _leaves(arg)]
    return [annotation]


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for field in model.model_fields.values():
        for leaf in _leaves(field.annotation):
            if isinstance(leaf, type) and issubclass(leaf, BaseModel):
                found += _models(leaf)
    return found


def _lax_reason(leaf: Any, field_metadata: list[Any]) -> str | None:
    """Why a leaf annotation would coerce a TOML value (None when it cannot)."""
    meta = list(field_metadata)
    if typing.get_origin(leaf) is typing.Annotated:
        leaf, *extra = typing.get_args(leaf)
        meta += extra
    if any(isinstance(m, Strict) for m in meta):
        return None
    if typing.get_origin(leaf) is typing.Literal:
        numbers = any(isinstance(v, int) for v in typing.get_args(leaf))
        return "a Literal of numbers takes true for 1" if numbers and IntOnly not in meta else None
    if leaf is type(None) or (isinstance(leaf, type) and issubclass(leaf, BaseModel | enum.Enum)):
        return None
    return f"{leaf!r} without Strict()"


def test_every_scalar_field_is_strict() -> None:
    """Held-out configs may try any key: no int, float, bool, str or Path field is left lax."""
    lax: list[str] = []
    for model in _models(Config):
        assert model.model_config.get("allow_inf_nan") is False, model.__name__
        for name, field in model.model_fields.items():
            for leaf in _leaves(field.annotation):
                reason = _lax_reason(leaf, field.metadata)
                if reason is not None:
                    lax.append(f"{model.__name__}.{name}: {reason}")
    assert not lax, lax
