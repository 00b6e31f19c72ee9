"""Where edgepose finds its bundled models and keeps its download cache."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """The download cache: $EDGEPOSE_CACHE_DIR, else $XDG_CACHE_HOME/edgepose, else ~/.cache/edgepose."""
    explicit = os.environ.get("EDGEPOSE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "edgepose"


def bundled_models_dir() -> Path:
    """The models shipped with edgepose: the repo's models/ in a checkout, the wheel's copy otherwise."""
    explicit = os.environ.get("EDGEPOSE_MODEL_DIR")
    if explicit:
        return Path(explicit)
    in_checkout = _PACKAGE_DIR.parent / "models"
    if in_checkout.is_dir():
        return in_checkout
    return _PACKAGE_DIR / "_bundled_models"


def media_dir() -> Path:
    """Sample photos and video of people, fetched by scripts/fetch_media.py."""
    return cache_dir() / "media"
