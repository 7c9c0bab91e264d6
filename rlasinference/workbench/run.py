"""``rlai sample``: build, fit, measure and plot, into an output directory."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rlasinference.core.checks import POSITIVE, RUN_SEEDS, STEP_SIZE, Range, field_range, ranged
from rlasinference.core.errors import UserError, allocating
from rlasinference.core.files import atomic_path, claim_output_dir
from rlasinference.core.precision import flushed_subnormals
from rlasinference.core.settings import check_sampler_options, parse_set, set_sampler_options
from rlasinference.objectives import OBJECTIVES
from rlasinference.samplers import get_sampler_class, sampler_options
from rlasinference.workbench.fit import auto_anneal_from, fit_objective, fit_sampler
from rlasinference.workbench.metrics import evaluate_fit
from rlasinference.workbench.plot import plot_fit
from rlasinference.workbench.targets import get_target


@dataclass(frozen=True)
class FitSettings:
    """How a sampler is fitted: ``rlai sample``'s flags, a grid spec's keys, ``fit_sampler``'s
    arguments. ``None`` is the sampler's or the target's own choice.

    :param tau: temperature of the target exp(Q/tau).
    :param steps: gradient steps (``None``: the sampler's ``fit_steps``).
    :param batch: samples per gradient step.
    :param lr: Adam step size.
    :param anneal: fraction of the steps over which the temperature falls from ``anneal_from`` x
        tau (``None``: the sampler's ``fit_anneal``).
    :param anneal_from: the starting temperature in multiples of tau (``None``: the target's own).
    :param objective: the policy objective (``None``: the sampler's ``fit_objective``).
    """

    tau: float = ranged(1.0, POSITIVE)
    steps: int | None = ranged(None, Range(1, optional=True))
    batch: int = ranged(256, Range(2))
    lr: float = ranged(1e-3, STEP_SIZE)
    anneal: float | None = ranged(None, Range(0, 1, high_open=True, optional=True))
    anneal_from: float | None = ranged(None, Range(1, optional=True))
    objective: str | None = None

    def check(self) -> None:
        """One line for a setting out of its range (named as its flag) or an unknown objective."""
        if self.objective is not None:
            OBJECTIVES.get(self.objective)
        for f in dataclasses.fields(self):
            value, flag = getattr(self, f.name), "--" + f.name.replace("_", "-")
            if (
                f.name in ("steps", "batch")
                and value is not None
                and (isinstance(value, bool) or not isinstance(value, int))
            ):
                raise UserError(f"{flag} must be a whole number, got {value!r}")
            valid = field_range(FitSettings, f.name)
            if valid is not None:
                valid.check(flag, value)

    def updated(self, values: dict[str, Any]) -> FitSettings:
        """These settings with ``values`` (a grid spec's keys; other keys are ignored)."""
        names = {f.name for f in dataclasses.fields(self)}
        return dataclasses.replace(self, **{k: v for k, v in values.items() if k in names})


OUTPUTS = ("samples.png", "metrics.json")


def run_workbench(
    sampler_name: str,
    target_name: str,
    fit: FitSettings,
    seed: int = 0,
    set_items: Sequence[str] = (),
    out: Path | None = None,
    quiet: bool = True,
    threads: int = 1,
) -> dict[str, Any]:
    """One fit of ``sampler_name`` (``set_items``: its ``sampler.<option>=value`` settings) to
    ``target_name``, written to ``out``; returns its metrics and ``out``. ``threads``: torch's CPU
    threads for the fit (0: leave torch's own, every core), set back to the caller's afterwards;
    one by default, as a run's and a grid's fits, since the thread count changes the last bits of
    the sums and so the fit."""
    fit.check()
    RUN_SEEDS.check("--seed", seed)
    if threads < 0:
        raise UserError(f"--threads must be 0 (every core) or more, got {threads}")
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        with flushed_subnormals():
            return _fit(sampler_name, target_name, fit, seed, set_items, out, quiet)
    finally:  # the caller's thread count, as it was (a Python session goes on)
        torch.set_num_threads(before)


def _fit(
    sampler_name: str,
    target_name: str,
    fit: FitSettings,
    seed: int,
    set_items: Sequence[str],
    out: Path | None,
    quiet: bool,
) -> dict[str, Any]:
    tau, steps, batch, lr, anneal, anneal_from, objective = (getattr(fit, f.name) for f in dataclasses.fields(fit))
    target = get_target(target_name)
    cls = get_sampler_class(sampler_name)
    if cls.space != target.space:
        from rlasinference.samplers import SAMPLERS

        fits = ", ".join(n for n, c in SAMPLERS if c.space == target.space)
        kind = f"{target.dim} discrete points" if target.space == "discrete" else "a continuous box"
        raise UserError(
            f"target {target.name!r} lives on {kind}, but sampler {sampler_name!r} draws {cls.space} actions; "
            f"valid samplers: {fits}"
        )
    options = set_sampler_options(sampler_options(cls), parse_set(list(set_items)))
    check_sampler_options(cls, options)
    anneal = cls.fit_anneal if anneal is None else anneal
    steps = cls.fit_steps if steps is None else steps
    if anneal_from is None:
        anneal_from = auto_anneal_from(target, tau) if anneal > 0 else 1.0
    torch.manual_seed(seed)
    try:
        with allocating(f"sampler {sampler_name!r} (sampler.hidden and its other options)"):
            sampler = cls(0, target.dim, **options)
    except ValueError as exc:  # an option out of its range, caught by the constructor
        raise UserError(f"cannot build sampler {sampler_name!r}: {exc}") from None
    objective = fit_objective(sampler, objective).name
    if out is None:  # created only once the sampler exists: bad options leave no directory behind
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{sampler_name}-{target_name}")
        out = Path("runs") / f"sample-{safe}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    claim_output_dir(out, OUTPUTS, "a fit's outputs")
    start = time.perf_counter()
    progress = Progress(
        TextColumn(f"[bold blue]fit {escape(f'{sampler_name} to {target.name}')}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeRemainingColumn(),
        disable=quiet,
    )
    with progress:
        task = progress.add_task("fit", total=steps, loss="-")

        def on_step(step: int, loss: float) -> None:
            if step % 25 == 0 or step == steps:
                progress.update(task, completed=step, loss=f"{loss:.4f}")

        with allocating(f"the fit of sampler {sampler_name!r} (sampler.hidden and its other options, --batch)"):
            losses = fit_sampler(sampler, target, tau, steps, batch, lr, on_step, anneal, anneal_from, objective)
    seconds = time.perf_counter() - start
    result = evaluate_fit(sampler, target, tau, seed=seed)
    exact, actions = result.pop("_exact"), result.pop("_actions")
    result.update(
        {
            "sampler": sampler_name,
            "density": cls.density,
            "steps": steps,
            "seed": seed,
            "batch": batch,
            "lr": lr,
            "anneal": anneal,
            "anneal_from": anneal_from,
            "objective": objective,
            "threads": torch.get_num_threads(),
        }
    )
    result.update({"sampler_options": options, "final_loss": losses[-1], "seconds": seconds})
    try:
        # a fit with metrics.json is complete: an earlier fit's goes first, this one's last, so a
        # failure between them (a full disk) leaves no metrics.json beside another fit's picture
        (out / "metrics.json").unlink(missing_ok=True)
        plot_fit(out / "samples.png", target, tau, actions, exact, f"{sampler_name} on {target.name}, τ = {tau:g}")
        with atomic_path(out / "metrics.json") as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
    except OSError as exc:
        where = exc.filename if exc.filename is not None else out
        raise UserError(f"file system error on {str(where)!r}: {exc.strerror or exc}") from None
    return {**result, "out": str(out)}
