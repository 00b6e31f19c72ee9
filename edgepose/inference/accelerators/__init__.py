"""Accelerator plugins keyed by the config value `accelerator`: each makes interpreters."""
