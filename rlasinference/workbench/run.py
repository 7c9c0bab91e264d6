"""``rlai sample``: build, fit, measure and plot, into an output directory."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import torch
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rlasinference.core.checks import AT_LEAST_ONE, POSITIVE, RUN_SEEDS, STEP_SIZE, Range
from rlasinference.core.errors import UserError, allocating
from rlasinference.core.files import atomic_path
from rlasinference.core.settings import check_sampler_options, parse_set, set_sampler_options
from rlasinference.objectives import OBJECTIVES
from rlasinference.samplers import get_sampler_class, sampler_options
from rlasinference.workbench.fit import auto_anneal_from, fit_objective, fit_sampler
from rlasinference.workbench.metrics import evaluate_fit
from rlasinference.workbench.plot import plot_fit
from rlasinference.workbench.targets import get_target


def check_fit_settings(objective: str | None = None, **settings: float | None) -> None:
    """One line for a fit setting out of its range or an unknown objective (``rlai sample``
    flags, grid spec keys)."""
    if objective is not None:
        OBJECTIVES.get(objective)
    valid = {
        "tau": POSITIVE, "steps": AT_LEAST_ONE, "batch": Range(2), "lr": STEP_SIZE,
        "anneal": Range(0, 1, high_open=True), "anneal_from": Range(1),
    }  # fmt: skip
    for name, value in settings.items():
        if value is None:  # the sampler's or the target's own (run_workbench)
            continue
        flag = "--" + name.replace("_", "-")
        if name in ("steps", "batch") and (isinstance(value, bool) or not isinstance(value, int)):
            raise UserError(f"{flag} must be a whole number, got {value!r}")
        valid[name].check(flag, value)


OUTPUTS = ("samples.png", "metrics.json")


def claim_output(out: Path) -> None:
    """Make ``out`` for a fit's outputs; a folder holding anything else (the user's own files) is
    refused in one line, never written into."""
    try:
        if out.exists() and not out.is_dir():
            raise UserError(f"--out {str(out)!r} exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        other = sorted(p.name for p in out.iterdir() if p.name not in OUTPUTS)
    except OSError as exc:
        raise UserError(f"cannot create output directory {str(out)!r}: {exc.strerror}") from None
    if other:
        raise UserError(f"{str(out)!r} holds files that are not a fit's outputs ({other[0]}): choose another --out")


def run_workbench(
    sampler_name: str,
    target_name: str,
    tau: float,
    steps: int | None,
    seed: int,
    batch: int,
    lr: float,
    set_items: list[str],
    out: Path | None,
    quiet: bool,
    anneal: float | None = None,
    anneal_from: float | None = None,
    objective: str | None = None,
) -> dict[str, Any]:
    """One fit. ``steps`` ``None`` is the sampler's own ``fit_steps``, ``anneal`` ``None`` its
    ``fit_anneal``; ``anneal_from`` ``None`` the target's own start temperature
    (``auto_anneal_from``); ``objective`` ``None`` the sampler's own ``fit_objective``."""
    check_fit_settings(objective, tau=tau, steps=steps, batch=batch, lr=lr, anneal=anneal, anneal_from=anneal_from)
    RUN_SEEDS.check("--seed", seed)
    target = get_target(target_name)
    cls = get_sampler_class(sampler_name)
    options = set_sampler_options(sampler_options(cls), parse_set(set_items))
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
    claim_output(out)
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
