"""Running a sweep's trials with Ray Tune: one trial is one ordinary run directory trained
by ``run_training``; Ray only schedules them."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlasinference.core.errors import UserError
from rlasinference.experiments.peers import PEERS, run_peer
from rlasinference.experiments.sweep.keep import keep_run
from rlasinference.experiments.sweep.plan import Planned, trial_step
from rlasinference.training.config import resolve
from rlasinference.training.run_dir import CONFIG
from rlasinference.training.runner import run_training

MISSING_RAY = "rlai sweep needs Ray: pip install 'rlasinference[sweep]'"


def run_trial(
    sweep_dir: str, name: str, config: dict[str, Any], report: Callable[[int, float], None], keep: str | None = None
) -> None:
    """Train (or finish) one trial in ``sweep_dir/name``; once it is finished, copy it to
    ``keep/name`` (see :func:`keep_run`)."""
    run_dir = Path(sweep_dir) / name
    command = f"rlai sweep (trial {name} of {sweep_dir})"
    if config["algo"] in PEERS:
        run_peer(config, run_dir, report, command)
    else:
        cfg = resolve(config)
        step = trial_step(run_dir, config["algo"], cfg.run.steps)
        if step is None or step < cfg.run.steps:
            # a directory with a config but no checkpoint (stopped before its first one) starts over
            new = not (run_dir / CONFIG).exists()
            run_training(cfg, run_dir, new=new, quiet=True, on_eval=report, command=command)
    step = trial_step(run_dir, config["algo"], config["steps"])
    if keep is not None and step is not None and step >= config["steps"]:
        keep_run(run_dir, Path(keep) / name)


def _tune_trainable(config: dict[str, Any]) -> None:
    """Ray Tune's function trainable (runs in a Ray worker); ``config["trial"]`` is one trial."""
    from ray import tune

    params = config["trial"]

    def report(step: int, eval_return: float) -> None:
        tune.report({"step": step, "eval_return": eval_return})

    run_trial(params["sweep_dir"], params["name"], params["config"], report, params.get("keep"))


def check_address(address: str, timeout: float = 10.0) -> None:
    """A ``host:port`` Ray address must answer within ``timeout`` seconds (Ray itself retries for
    minutes); ``auto`` and the like are left to Ray."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise UserError(f"no Ray cluster answers at {address!r} ({exc.strerror or exc}) within {timeout:g} s") from None


def execute(
    planned: list[Planned],
    sweep_dir: Path,
    cpus_per_trial: float,
    gpus_per_trial: float,
    max_concurrent: int | None,
    address: str | None,
    keep: Path | None = None,
) -> list[str]:
    """Run the trials that are not done with Ray Tune; returns one line per failed trial."""
    try:
        import ray
        from ray import tune
    except ImportError:
        raise UserError(MISSING_RAY) from None
    todo = [p for p in planned if p.action != "done"]
    if not todo:
        return []
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the classic live table (CLIReporter)
    if address is None:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
    else:
        check_address(address)
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    try:
        params = [
            {
                "name": p.trial.name,
                "sweep_dir": str(sweep_dir.resolve()),
                "config": p.config,
                "status": p.action,
                "keep": None if keep is None else str(keep.resolve()),
            }
            for p in todo
        ]
        reporter = tune.CLIReporter(
            parameter_columns={"trial/name": "run", "trial/status": "start"},
            metric_columns={"step": "step", "eval_return": "last eval return"},
            max_report_frequency=15,
            max_progress_rows=50,
            sort_by_metric=False,
        )
        resources = {"cpu": cpus_per_trial, "gpu": gpus_per_trial}
        tuner = tune.Tuner(
            tune.with_resources(_tune_trainable, resources),
            param_space={"trial": tune.grid_search(params)},
            tune_config=tune.TuneConfig(
                max_concurrent_trials=max_concurrent,
                reuse_actors=False,
                trial_name_creator=lambda t: t.config["trial"]["name"],
                trial_dirname_creator=lambda t: t.config["trial"]["name"],
            ),
            run_config=tune.RunConfig(
                name="ray",
                storage_path=str(sweep_dir.resolve()),
                progress_reporter=reporter,
                verbose=1,  # the live table; 2 adds a line with the whole config per evaluation
                failure_config=tune.FailureConfig(max_failures=0),
            ),
        )
        results = tuner.fit()
        outcomes = [results[i] for i in range(len(results))]
        return [f"{(r.config or {})['trial']['name']}: {_last_line(r.error)}" for r in outcomes if r.error]
    finally:
        ray.shutdown()


def _last_line(error: BaseException | None) -> str:
    """The last line of a trial's error: Ray wraps the trial's own message in a traceback whose
    last line is that message."""
    text = str(error).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
