"""``rlasinference.fit_sampler``: fit a sampler to a toy Boltzmann target exp(Q/tau), no RL
(``rlai sample``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def fit_sampler(
    sampler: str = "gaussian",
    target: str = "banana",
    tau: float = 1.0,
    *,
    steps: int | None = None,
    seed: int = 0,
    batch: int = 256,
    lr: float = 1e-3,
    anneal: float | None = None,
    anneal_from: float | None = None,
    objective: str | None = None,
    out: str | Path | None = None,
    quiet: bool = True,
    threads: int = 1,
    **options: Any,
) -> dict[str, Any]:
    """Fit ``sampler`` to ``target`` at temperature ``tau``, as ``rlai sample`` does; returns its
    metrics (``kl``, ``kl_bound``, ``log_z_grid``, ``mmd``, ``mode_coverage``, ... and ``out``,
    the folder with ``samples.png`` and ``metrics.json``).

    :param sampler: a sampler name or ``module:Class``.
    :param target: a target name (``rlai list``) or ``module:attr``.
    :param steps: gradient steps (the sampler's own default).
    :param anneal: the fraction of the steps over which the target's temperature is annealed
        (the sampler's own default); ``anneal_from`` its start (the target's own).
    :param objective: the policy objective (the sampler's own).
    :param threads: torch's CPU threads for the fit (0: every core); one, as ``rlai sample``'s
        default, gives the same numbers on every machine.
    :param options: the sampler's options (``hidden=[64, 64]``, as ``--set sampler.hidden=...``).
    """
    from rlasinference.workbench.run import FitSettings, run_workbench

    fit = FitSettings(tau, steps, batch, lr, anneal, anneal_from, objective)
    items = [f"sampler.{k}={v!r}" if isinstance(v, str) else f"sampler.{k}={v}" for k, v in options.items()]
    return run_workbench(sampler, target, fit, seed, items, Path(out) if out is not None else None, quiet, threads)
