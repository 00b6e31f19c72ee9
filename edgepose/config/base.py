"""The base of every config model and its strict value types.

Config values are never coerced: a string is never a number, a number never a boolean, and
`inf`/`nan` are refused everywhere. Every scalar field uses one of the types below (a test walks
the models to make sure); enums, string literals and nested sections are strict by nature.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict

Int = Annotated[int, Strict()]
"""An integer; `"5"`, `5.0` and `true` are refused."""

Float = Annotated[float, Strict()]
"""A finite number; a whole number such as `5` is fine, `"5"` and `true` are refused."""

Bool = Annotated[bool, Strict()]
"""`true` or `false`; `1` and `"yes"` are refused."""

Str = Annotated[str, Strict()]
"""A string; numbers and booleans are refused."""


def _int_only(value: object) -> object:
    """Refuses what a lax Literal of numbers would take for one of them (`true` for 1, `90.0` for 90)."""
    if type(value) is not int:
        raise ValueError(f"must be a whole number, not {type(value).__name__}")
    return value


IntOnly = BeforeValidator(_int_only)
"""Put on a `Literal[1, 2]`-style field: only a real integer is compared with the choices."""


def _path_from_text(value: object) -> object:
    """A TOML string becomes a Path; an empty one names no file and is refused."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("an empty path names no file (leave the key out instead)")
        return Path(value)
    return value


ConfigPath = Annotated[Path, BeforeValidator(_path_from_text), Strict()]
"""A file path, given as a non-empty string."""


class StrictModel(BaseModel):
    """A config section: extra keys are an error, instances are immutable, numbers are finite."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=False, allow_inf_nan=False
    )
