"""Checks of the model side: the accelerator opens, and both model files load into an interpreter."""

from __future__ import annotations

from typing import Any

from edgepose.checks.base import CheckContext, CheckResult, Verdict
from edgepose.sources import parse_source_uri

_REPLAY = CheckResult(Verdict.OK, "not used: the replay source carries recorded poses")


def _replay(ctx: CheckContext) -> bool:
    """A `replay:` source: the daemon loads no model and opens no accelerator."""
    return not parse_source_uri(ctx.config.source.uri).kind.needs_models


def _open_accelerator(ctx: CheckContext) -> Any:
    from edgepose.inference.accelerators.base import AcceleratorSettings
    from edgepose.inference.accelerators.registry import open_accelerator

    model = ctx.config.model
    settings = AcceleratorSettings(cpu=model.cpu, edgetpu=model.edgetpu, threads=model.threads)
    return open_accelerator(model.accelerator, settings)


def check_accelerator(ctx: CheckContext) -> CheckResult:
    """The configured accelerator opens (a fallback to the CPU is a warning)."""
    if _replay(ctx):
        return _REPLAY
    accelerator = _open_accelerator(ctx)
    try:
        in_use = str(accelerator.accelerator_in_use)
        wanted = ctx.config.model.accelerator
        verdict = Verdict.OK if in_use == wanted else Verdict.WARN
        detail = accelerator.describe()
        if verdict is Verdict.WARN:
            detail = f"{wanted} not available, running on {in_use}: {detail}"
        return CheckResult(verdict, detail)
    finally:
        accelerator.close()


def check_models(ctx: CheckContext) -> CheckResult:
    """Both model files exist and load into an interpreter."""
    if _replay(ctx):
        return _REPLAY
    from edgepose.config.movenet import ModelFamily
    from edgepose.inference.models import ModelRole

    model = ctx.config.model
    accelerator = _open_accelerator(ctx)
    try:
        if model.family is ModelFamily.MOVENET:
            if model.movenet.model_path is None:
                return CheckResult(
                    Verdict.FAIL, '[model.movenet] model_path is required for family = "movenet"'
                )
            paths = [model.movenet.model_path]
        else:
            paths = [
                accelerator.model_path(role, model.variant, model.precision)
                for role in (ModelRole.DETECTOR, ModelRole.LANDMARK)
            ]
        loaded = []
        for path in paths:
            accelerator.make_interpreter(path)
            loaded.append(f"{path.name} ({path.stat().st_size // 1024} KiB)")
        return CheckResult(Verdict.OK, ", ".join(loaded))
    finally:
        accelerator.close()
