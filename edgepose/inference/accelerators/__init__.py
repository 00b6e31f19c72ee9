"""Accelerator plugins keyed by the config value `[model] accelerator`: each makes interpreters.

base: the plugin interface; cpu: the CPU plugin; registry: `open_accelerator` and
`register_accelerator` (cpu and edgetpu built in). The EdgeTPU plugin is edgepose.inference.edgetpu.
"""
