"""Fake pycoral.utils."""
