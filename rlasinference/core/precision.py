"""Precision of the networks' matrix products: the ``precision`` run option.

``bf16`` runs the matrix products of the project's MLPs and critic ensembles in bfloat16 under
``torch.autocast`` (CPU or CUDA), with float32 master weights; every network returns float32, so
losses, Bellman targets, log-densities, spline and chain arithmetic and the temperature stay in
float32. ``auto`` picks bf16 only where it pays: on a CPU with AMX-BF16 tiles. Elsewhere it is
float32: on a CPU with AVX512-BF16 but no AMX, a bfloat16 256x256 matrix product measured about
2x slower than float32 (docs/performance.md), and on CUDA small MLPs are launch-bound, not
arithmetic-bound (unmeasured here: choose ``bf16`` explicitly to try it).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from rlasinference.core.errors import UserError

PRECISIONS = ("auto", "fp32", "bf16")
_low: dict[str, torch.dtype | None] = {"dtype": None}


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())


def resolve_precision(name: str, device: torch.device) -> str:
    """``fp32`` or ``bf16`` for ``name`` on ``device`` (``auto``: see the module docstring)."""
    if name not in PRECISIONS:
        raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    if name != "auto":
        return name
    return "bf16" if device.type == "cpu" and "amx_bf16" in cpu_flags() else "fp32"


def set_precision(name: str) -> None:
    """Make the networks' matrix products ``fp32`` or ``bf16`` in this process."""
    _low["dtype"] = torch.bfloat16 if name == "bf16" else None


def low_precision() -> bool:
    """Whether the networks run their matrix products in bfloat16 in this process."""
    return _low["dtype"] is not None
