#!/usr/bin/env python3
"""Run one .tflite model once on a fixed pseudo-random input with whichever TFLite runtime is
installed, and print the machine, the runtime and the sum of every output tensor.

Runs on any Python with numpy and ai-edge-litert or tflite-runtime (no edgepose needed), so it can
be run inside an emulated aarch64 or armv7l Python to compare a runtime's arithmetic with x86's:
the sums agree to about six significant digits when the runtime works.

    probe_runtime.py MODEL.tflite [--runtime ai_edge_litert|tflite_runtime] [--threads N] [--no-xnnpack]
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import importlib.metadata
import platform
import sys
import time

import numpy as np

_DISTRIBUTIONS = {"ai_edge_litert": "ai-edge-litert", "tflite_runtime": "tflite-runtime"}


def main(argv: list[str] | None = None) -> int:
    """Load, allocate, invoke, print; a crash prints a Python traceback (faulthandler)."""
    faulthandler.enable()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--runtime", choices=sorted(_DISTRIBUTIONS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-xnnpack", action="store_true")
    args = parser.parse_args(argv)
    names = [args.runtime] if args.runtime else list(_DISTRIBUTIONS)
    module = None
    name = ""
    for name in names:
        try:
            module = importlib.import_module(name + ".interpreter")
            break
        except ImportError:
            continue
    if module is None:
        print("probe_runtime: no TFLite runtime importable", file=sys.stderr)
        return 69
    version = importlib.metadata.version(_DISTRIBUTIONS[name])
    print(f"{platform.machine()} Python {platform.python_version()} numpy {np.__version__} {name} {version}")
    kwargs = {}
    if args.no_xnnpack:
        kwargs["experimental_op_resolver_type"] = module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = module.Interpreter(model_path=args.model, num_threads=args.threads, **kwargs)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    data = np.random.default_rng(0).random(detail["shape"], dtype=np.float32)
    if detail["dtype"] != np.float32:
        data = (data * 255 - 128).astype(detail["dtype"])
    interpreter.set_tensor(detail["index"], data)
    start = time.perf_counter()
    interpreter.invoke()
    invoke_ms = (time.perf_counter() - start) * 1000
    sums = [
        float(interpreter.get_tensor(o["index"]).astype(np.float64).sum())
        for o in interpreter.get_output_details()
    ]
    print(f"invoke {invoke_ms:.1f} ms; output sums " + " ".join(f"{s:.4f}" for s in sums))
    return 0


if __name__ == "__main__":
    sys.exit(main())
