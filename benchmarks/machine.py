"""What a benchmark prints about the machine it ran on: CPU model, the matrix instructions the
CPU has (AMX, AVX-512 with or without BF16), core count, and how busy the machine was."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from rlasinference.core.precision import cpu_flags, resolve_precision


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> str:
    """One line: model, cores, and the bf16-capable matrix units (the basis of precision=auto)."""
    flags = cpu_flags()
    units = [name for name, flag in (("AMX-BF16", "amx_bf16"), ("AVX512-BF16", "avx512_bf16")) if flag in flags]
    units += ["AVX-512"] if "avx512f" in flags else []
    auto = resolve_precision("auto", torch.device("cpu"))
    units_text = ", ".join(units) or "no AVX-512 / AMX"
    return f"{cpu_model()}, {os.cpu_count()} logical CPUs, {units_text}; precision auto = {auto} here"


def load() -> str:
    """The 1-minute load average: near 0 on a quiet machine; each busy core adds about 1."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"
