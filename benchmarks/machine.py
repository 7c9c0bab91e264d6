"""What a benchmark prints about the machine it ran on: CPU model, the matrix instructions the
CPU has (AMX, AVX-512 with or without BF16), core count, and how busy the machine was."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return set(line.partition(":")[2].split())


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
    return f"{cpu_model()}, {os.cpu_count()} logical CPUs, {', '.join(units) or 'no AVX-512 / AMX'}"


def load() -> str:
    """The 1-minute load average: near 0 on a quiet machine; each busy core adds about 1."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"
