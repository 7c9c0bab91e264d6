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

import contextlib
import functools
from collections.abc import Iterator
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


def flushing_subnormals() -> bool:
    """Whether this process's CPU arithmetic treats float32 subnormals (below 1.18e-38) as zero."""
    return (torch.tensor(2e-38) / 4).item() == 0.0  # 5e-39 is a subnormal: flushed, it is zero


@contextlib.contextmanager
def flushed_subnormals() -> Iterator[None]:
    """CPU arithmetic flushes float32 subnormals to zero inside the block, as it was afterwards.

    Adam's moment estimates of a weight whose gradient stays zero (a ReLU unit that no longer
    fires, an input cell that is always empty) shrink by beta each step down through the
    subnormal range, where x86 arithmetic is one to two orders of magnitude slower. On soft-dqn's
    MinAtar Breakout run at 175k steps a third of the Q-network's moment estimates were subnormal
    and an update took 1.74x as long as flushed (docs/performance.md). Such values move no weight
    (Adam divides by sqrt(v) + eps, eps 1e-8). CUDA keeps its own setting; a CPU without the
    setting (torch.set_flush_denormal returns False) computes as before."""
    before = flushing_subnormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)
