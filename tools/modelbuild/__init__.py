"""Model building for scripts/build_models.py: flatbuffer edits (fold, densify, signatures),
per-channel equalization of linear bottlenecks and GPTQ rounding of conv weights.

Build time only: nothing in `edgepose/` imports this package, so the daemon never loads it.
"""
