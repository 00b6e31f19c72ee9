"""The errors that reach a user, each with the exit code the CLI turns it into."""

from __future__ import annotations

import os

# An unexpected error in any thread, or a source that ended without a single frame: not a
# clean end, so systemd restarts the daemon (Restart=on-failure).
EXIT_SOFTWARE = os.EX_SOFTWARE  # 70


class EdgeposeError(Exception):
    """Base of every error meant for a user: one clear line, a defined exit code."""

    exit_code: int = 1


class UsageError(EdgeposeError):
    """Bad command-line input (missing file, not an image, unknown value)."""

    exit_code = os.EX_USAGE  # 64


class InputError(EdgeposeError):
    """An input file that cannot be read or decoded."""

    exit_code = os.EX_NOINPUT  # 66


class ConfigError(EdgeposeError):
    """An invalid configuration; systemd treats 78 as 'do not restart'."""

    exit_code = os.EX_CONFIG  # 78


class ModelError(EdgeposeError):
    """A model file that is missing, corrupt or of the wrong shape."""

    exit_code = os.EX_UNAVAILABLE  # 69


class OutputError(EdgeposeError):
    """An output file or folder that cannot be created or written (`--annotate DIR`)."""

    exit_code = os.EX_CANTCREAT  # 73
