"""``rlai``: train, resume, evaluate and list maximum-entropy RL presets and samplers."""

from __future__ import annotations

import inspect
import json
import math
import re
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from rlasinference.cli import experiments, listing, planning
from rlasinference.cli.output import EXIT_BAD_INPUT, EXIT_INTERRUPTED, out_path
from rlasinference.cli.output import fail as _fail
from rlasinference.cli.output import say as _say
from rlasinference.core.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Maximum-entropy RL as inference: every policy is a sampler of exp(Q/tau).",
)


def _version(value: bool) -> None:
    if value:
        from rlasinference import __version__

        _say(f"rlai (rlasinference) {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Maximum-entropy RL as inference: every policy is a sampler of exp(Q/tau)."""


@app.command()
def train(
    algo: Annotated[
        str | None, typer.Option(help="Preset, e.g. sac, sql, dime (`rlai list` shows all). \\[default: sac]")
    ] = None,
    sampler: Annotated[
        str | None, typer.Option(help="Replace the preset's sampler (registry name or module:Class).")
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(help="Gymnasium env id, module:EnvId, or 'EnvId(key=value, ...)'. \\[default: Pendulum-v1]"),
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Total env steps. \\[default: 15000]")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of torch, numpy and the envs. \\[default: 0]")] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda or cuda:N. \\[default: cpu]")] = None,
    eval_every: Annotated[int | None, typer.Option(help="Env steps between evaluations. \\[default: 5000]")] = None,
    eval_episodes: Annotated[int | None, typer.Option(help="Episodes per evaluation. \\[default: 10]")] = None,
    out: Annotated[
        str | None, typer.Option(help="Run directory (exactly this path). \\[default: runs/<algo>-...-<time>]")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Any config key, repeatable: --set lr_critic=1e-3.")
    ] = None,
    log: Annotated[
        str | None,
        typer.Option(
            help="Loggers beside metrics.csv: tensorboard, wandb (both: comma-separated), none. "
            "\\[default: tensorboard]"
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="YAML file of config keys (a run's config.yaml works).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Train a preset on a gymnasium env; everything lands in a run directory."""
    from rlasinference.core.settings import load_yaml_config, parse_set
    from rlasinference.training.config import RUN_KEYS, for_algo, resolve
    from rlasinference.training.run_dir import default_run_dir

    try:
        overrides: dict[str, Any] = load_yaml_config(config) if config else {}
        if config and algo is not None:
            overrides, dropped = for_algo(overrides, algo)
            if dropped:
                changed = sorted(set(overrides) - RUN_KEYS - {"algo"})
                _say(
                    f"note: {config} is a config of --algo {overrides['algo']}: for {algo} it gives its run keys"
                    f"{' and ' + ', '.join(changed) if changed else ''}, not its {len(dropped)} keys that are "
                    f"{overrides['algo']}'s defaults",
                    err=True,
                )
        flags = {
            "algo": algo,
            "sampler": sampler,
            "env": env,
            "steps": steps,
            "seed": seed,
            "device": device,
            "eval_every": eval_every,
            "eval_episodes": eval_episodes,
            "log": log,
        }
        overrides.update({k: v for k, v in flags.items() if v is not None})
        overrides.update(parse_set(set_ or []))
        cfg = resolve(overrides)
        run_dir = out_path(out) or default_run_dir(cfg)
        _train(cfg, run_dir, quiet, new=True)
    except UserError as exc:
        raise _fail(str(exc)) from None


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="A run directory made by `rlai train`.")],
    steps: Annotated[int | None, typer.Option(help="New total env steps (to extend a finished run).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Continue a run from its last checkpoint, exactly where it stopped."""
    from rlasinference.training.run_dir import read_config

    try:
        cfg = read_config(run_dir, {"steps": steps} if steps is not None else None)
        _train(cfg, run_dir, quiet, new=False)
    except UserError as exc:
        raise _fail(str(exc)) from None


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float, at any depth of lists and dicts, as ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _train(cfg: Any, run_dir: Path, quiet: bool, new: bool) -> None:
    from rlasinference.training.runner import run_training

    summary = run_training(cfg, run_dir, new=new, quiet=quiet)
    if summary["interrupted"]:
        _say(f"interrupted at step {summary['step']}; checkpoint saved. Continue with: rlai resume {run_dir}", err=True)
        # 128 + the signal's number, as a shell reports a process its signal ended (130: Ctrl-C)
        raise typer.Exit(128 + summary["signal"] if summary["signal"] else EXIT_INTERRUPTED)
    _say(
        f"done: {summary['step']} steps, final eval return {summary['final_eval_return']:.2f} "
        f"(best {summary['best_eval_return']:.2f}); run directory: {run_dir}"
    )


@app.command("eval")
def eval_(
    run_dir: Annotated[Path, typer.Argument(help="A run directory made by `rlai train`.")],
    episodes: Annotated[int, typer.Option(help="Episodes to run.")] = 10,
    stochastic: Annotated[bool, typer.Option("--stochastic", help="Sample actions instead of the mode.")] = False,
    checkpoint: Annotated[str, typer.Option(help="last or best.")] = "last",
    seed: Annotated[int | None, typer.Option(help="Episode seeds. \\[default: the run's seed]")] = None,
    env: Annotated[
        str | None,
        typer.Option(help="Another env of the same sizes, e.g. 'Pendulum-v1(g=12.0)'. \\[default: the run's env]"),
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
    threads: Annotated[int, typer.Option(help="Torch CPU threads (0: every core).")] = 1,
    video: Annotated[
        Path | None,
        typer.Option(help="Record every episode as an MP4 in this folder (pip install 'rlasinference\\[video]')."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Evaluate a run's checkpoint for some episodes (deterministic by default).

    Envs with their own evaluation metrics report them too, and draw the episodes into the run
    directory (MultiGoal: goals_reached, goal_entropy, eval-trajectories-<mode>.png)."""
    import torch

    from rlasinference.api import evaluate, load
    from rlasinference.core.checks import RUN_SEEDS
    from rlasinference.training.run_dir import os_error_line

    mode = "stochastic" if stochastic else "deterministic"
    plot = run_dir / f"eval-trajectories-{mode}.png"
    try:
        if checkpoint not in ("last", "best"):
            raise UserError(f"--checkpoint must be last or best, got {checkpoint!r}")
        if env is not None and not env.strip():
            raise UserError("--env must name an env, got an empty string")
        if episodes <= 0:
            raise UserError(f"--episodes must be positive, got {episodes}")
        if seed is not None:
            RUN_SEEDS.check("--seed", seed)
        if threads < 0:
            raise UserError(f"--threads must be 0 (every core) or more, got {threads}")
        if threads > 0:
            torch.set_num_threads(threads)
        policy = load(run_dir, checkpoint, device)
        result = evaluate(
            policy, env, episodes=episodes, seed=seed, deterministic=not stochastic, plot=plot, video=video
        )
    except OSError as exc:  # (a full disk while the env draws its episodes)
        raise _fail(os_error_line(exc, run_dir)) from None
    except UserError as exc:
        raise _fail(str(exc)) from None
    summary = {
        "run_dir": str(run_dir),
        "env": env or policy.config.run.env,
        "checkpoint": checkpoint,
        "step": policy.step,
        "deterministic": not stochastic,
        "episodes": episodes,
        **result,
    }
    if json_:
        # strict JSON: a non-finite number (an env's infinite reward) is null, not Infinity
        sys.stdout.write(json.dumps(_finite(summary), allow_nan=False) + "\n")
        return
    env_metrics = {k: v for k, v in result.items() if k not in ("mean_return", "std_return", "mean_length", "returns")}
    extra = "".join(f", {k} {v:g}" for k, v in env_metrics.items())
    _say(
        f"{episodes} {mode} episodes of {run_dir} ({checkpoint}, step {policy.step})"
        f"{'' if env is None else f' on {env}'}: "
        f"return {result['mean_return']:.2f} ± {result['std_return']:.2f}, length {result['mean_length']:.1f}{extra}"
    )
    if plot.exists():
        _say(f"trajectories: {plot}")
    if video is not None:
        _say(f"videos: {video}")


@app.command()
def sample(
    sampler: Annotated[
        list[str] | None, typer.Option(help="Sampler (name or module:Class); repeat for a grid. \\[default: gaussian]")
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(help="Target (docs/workbench.md) or module:attr; repeat for a grid. \\[default: banana]"),
    ] = None,
    tau: Annotated[float, typer.Option(help="Temperature of the target exp(Q/tau).")] = 1.0,
    steps: Annotated[
        int | None,
        typer.Option(help="Gradient steps. \\[default: the sampler's own fit_steps (the config reference lists them)]"),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of torch (one fit).")] = 0,
    seeds: Annotated[int | None, typer.Option(help="Seeds 0..N-1 of every sampler and target: a grid.")] = None,
    batch: Annotated[int, typer.Option(help="Samples per gradient step.")] = 256,
    lr: Annotated[float, typer.Option(help="Adam step size.")] = 1e-3,
    anneal: Annotated[
        float | None,
        typer.Option(
            help="Fraction of the steps over which the temperature falls from --anneal-from x tau. "
            "\\[default: the sampler's own fit_anneal]"
        ),
    ] = None,
    anneal_from: Annotated[
        float | None,
        typer.Option(
            help="Starting temperature, in multiples of --tau. \\[default: 3 standard deviations of Q/tau over the box]"
        ),
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option(
            help="Policy objective of the fit (rlai list objectives). \\[default: the sampler's own fit_objective]"
        ),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Sampler options, repeatable: --set sampler.layers=4.")
    ] = None,
    out: Annotated[str | None, typer.Option(help="Output directory. \\[default: runs/sample-...]")] = None,
    spec: Annotated[
        Path | None, typer.Option(help="YAML grid spec (samplers, targets, seeds, tau, steps, batch, lr, set).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Fits at a time in a grid (one torch thread each).")] = 2,
    threads: Annotated[
        int, typer.Option(help="Torch CPU threads of one fit (0: every core; a grid's fits take one each).")
    ] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Fit a sampler to a Boltzmann target exp(Q(a)/tau) on (-1, 1)^d, no RL: metrics.json and a plot.

    Several --sampler / --target values, --seeds N or --spec FILE make a grid: every fit in its own directory (finished ones are skipped when the command is run again), then table.md with per-target medians and bootstrap intervals, and grid.png."""  # noqa: E501 (one paragraph in --help)
    from rlasinference.workbench.run import FitSettings, run_workbench

    samplers, targets = sampler or ["gaussian"], target or ["banana"]
    fit = FitSettings(tau, steps, batch, lr, anneal, anneal_from, objective)
    try:
        out_dir = out_path(out)
        if spec is not None:
            from rlasinference.workbench.grid import load_spec

            if sampler or target:
                raise UserError("give the samplers and targets either in --spec or by --sampler/--target, not both")
            grid_spec = load_spec(spec)
            samplers, targets, seeds = grid_spec["samplers"], grid_spec["targets"], seeds or grid_spec.get("seeds", 1)
            fit = fit.updated(grid_spec)  # the spec's settings over the flags' defaults
            set_ = [f"{k}={v}" for k, v in (grid_spec.get("set") or {}).items()] + (set_ or [])
            out_dir = out_dir or Path("runs") / f"sample-grid-{grid_spec['name']}"
        if len(samplers) * len(targets) > 1 or seeds is not None:
            _sample_grid(samplers, targets, seeds or 1, out_dir, workers, fit, set_ or [])
            return
        summary = run_workbench(samplers[0], targets[0], fit, seed, set_ or [], out_dir, quiet, threads)
    except UserError as exc:
        raise _fail(str(exc)) from None
    names = ("kl", "kl_bound", "kl_forward", "tv", "log_z_grid", "log_z_is", "mmd", "mode_coverage")
    shown = {k: summary.get(k) for k in names}
    text = ", ".join(f"{k} {v:.4g}" for k, v in shown.items() if v is not None)
    _say(f"{samplers[0]} on {targets[0]} (tau {tau:g}): {text}; {summary['seconds']:.1f} s; output: {summary['out']}")


def _sample_grid(
    samplers: list[str],
    targets: list[str],
    seeds: int,
    out: Path | None,
    workers: int,
    fit: Any,
    set_items: list[str],
) -> None:
    from rlasinference.core.checks import AT_LEAST_ONE
    from rlasinference.samplers import get_sampler_class
    from rlasinference.workbench import grid
    from rlasinference.workbench.targets import get_target

    AT_LEAST_ONE.check("--workers", workers)
    fit.check()
    for name in samplers:  # bad names fail here, before any worker starts
        get_sampler_class(name)
    for name in targets:
        get_target(name)
    fits = grid.plan(samplers, targets, seeds)
    root = out if out is not None else grid.default_root(samplers, targets)
    root.mkdir(parents=True, exist_ok=True)
    failures = grid.run_grid(fits, root, fit, set_items, workers, _say)
    _say(grid.write_table(grid.summarise(fits, root), root))
    image = grid.plot_grid(fits, root, fit.tau)
    for line in failures:
        _say(line, err=True, label="failed:")
    _say(f"wrote table.md, table.csv{', grid.png' if image else ''} to {root}")
    if failures:
        raise typer.Exit(1)


app.command("list")(listing.list_)
app.command()(experiments.sweep)
app.command()(experiments.compare)
app.command()(planning.solve)
app.command()(planning.plan)


def _reflowed(doc: str) -> str:
    """A docstring's paragraphs each on one line (Typer's help keeps a docstring's line breaks,
    which would break its sentences at the source's width, not the terminal's), its square
    brackets shown as written (not read as Rich markup: ``P[s][a]``)."""
    from rich.markup import escape

    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(escape(" ".join(paragraph.split())) for paragraph in paragraphs)


for _command in app.registered_commands:
    if _command.help is None and _command.callback is not None and _command.callback.__doc__:
        _command.help = _reflowed(_command.callback.__doc__)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # gymnasium colours its own warnings for a terminal


def _one_line_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> str:
    text = _ANSI.sub("", str(message)).removeprefix("WARN: ")
    return f"warning: {text}\n"  # what is wrong, not the library line that noticed it


def _click_error() -> type[Exception]:
    """The base class of the usage errors the app raises: typer's own (it carries click's code
    since 0.29) or click's (before it)."""
    own = getattr(typer, "TyperException", None)
    if own is not None:
        return own
    import click

    return click.ClickException


def main() -> None:
    """``rlai``: the app, with its usage errors (an unknown option, a value of the wrong type, a
    missing argument) as one ``error:`` line and exit code 2, as every other bad input."""
    warnings.formatwarning = _one_line_warning
    try:
        code = app(standalone_mode=False)
    except typer.Abort:  # Ctrl-C outside a run's own handling
        _say("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except _click_error() as exc:
        failed: Any = exc
        if type(exc).__name__ == "NoArgsIsHelpError":  # `rlai` alone: its help
            failed.show()
        else:
            ctx = getattr(failed, "ctx", None)
            hint = f" (see {ctx.command_path} -h)" if ctx is not None and failed.exit_code == EXIT_BAD_INPUT else ""
            _say(f"{failed.format_message()}{hint}", err=True, label="error:")
        sys.exit(failed.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
