"""The `edgetpu` check of `edgepose check`: devices, known problems, and how much of each model maps."""

from __future__ import annotations

from edgepose.checks.base import CheckContext, CheckResult, Verdict
from edgepose.config.accelerators import OnMissing


def _model_splits(ctx: CheckContext) -> list[str]:
    from edgepose.inference.edgetpu.opsplit import op_split
    from edgepose.inference.models import ModelRole, model_filename
    from edgepose.paths import bundled_models_dir
    from edgepose.types import Precision

    model = ctx.config.model
    lines = []
    for role in (ModelRole.DETECTOR, ModelRole.LANDMARK):
        path = bundled_models_dir() / model_filename(role, model.variant, Precision.INT8, edgetpu=True)
        lines.append(
            f"{path.name}: {op_split(path).describe()}" if path.is_file() else f"{path.name}: missing"
        )
    return lines


def check_edgetpu(ctx: CheckContext) -> CheckResult:
    """EdgeTPUs found and the first problem with its fix; a FAIL only when the EdgeTPU is required."""
    from edgepose.inference.edgetpu.accelerator import import_pycoral
    from edgepose.inference.edgetpu.diagnosis import Level, diagnose

    diagnosis = diagnose(pycoral_edgetpu=import_pycoral())
    found = ", ".join(d.device_spec for d in diagnosis.devices) or "none"
    model = ctx.config.model
    if model.accelerator != "edgetpu":
        return CheckResult(
            Verdict.OK, f"not used (accelerator = {model.accelerator}); EdgeTPUs found: {found}"
        )
    problems = [f for f in diagnosis.findings if f.level is not Level.OK]
    detail = f"EdgeTPUs found: {found}"
    if problems:
        first = problems[0]
        detail += f"; {first.message}" + (f" (fix: {first.fix})" if first.fix else "")
    detail += "; " + "; ".join(_model_splits(ctx))
    verdict = Verdict(diagnosis.worst.value)
    if verdict is Verdict.FAIL and model.edgetpu.on_missing is OnMissing.CPU:
        verdict = Verdict.WARN  # the service still runs, on the CPU
    return CheckResult(verdict, detail)
