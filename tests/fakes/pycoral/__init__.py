"""Fake pycoral for tests (no Coral here): the parts of pycoral 2.0 that edgepose uses."""

__version__ = "2.0.0"
