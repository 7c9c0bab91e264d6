"""``rlasinference.train``: a run from Python, the same run directory, checks and errors as
``rlai train``."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlasinference.api.policy import Policy, load
from rlasinference.api.values import check_env_id
from rlasinference.core.errors import UserError


@dataclass
class Run:
    """A run directory and what its training returned.

    :param dir: the run directory (``config.yaml``, ``metrics.csv``, ``checkpoints/``, ...).
    :param summary: ``step``, ``interrupted`` (stopped by a callback or a signal before its
        steps: continue it with ``rlasinference.resume(run.dir)``), ``final_eval_return`` and
        ``best_eval_return``.
    """

    dir: Path
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        """The resolved config, flat keys (what ``config.yaml`` holds)."""
        from rlasinference.training.run_dir import read_config

        return read_config(self.dir).flat()

    @property
    def metrics(self) -> list[dict[str, float]]:
        """The rows of ``metrics.csv`` with their numbers as floats (a training row leaves the
        evaluation columns out, and the reverse)."""
        with open(self.dir / "metrics.csv", newline="") as f:
            return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]

    def policy(self, checkpoint: str = "best", device: str = "cpu") -> Policy:
        """The trained policy (``rlasinference.load(run.dir, checkpoint)``)."""
        return load(self.dir, checkpoint, device)


def settings_of(sampler: str | dict[str, Any] | None, critic: str | dict[str, Any] | None, **settings: Any) -> dict:
    """``train``'s keyword arguments as config keys: ``sampler__hidden`` is ``sampler.hidden``,
    and ``sampler={"name": "flow", "hidden": [64]}`` is ``sampler="flow"`` with that option
    (the same for ``critic``)."""
    out: dict[str, Any] = {}
    for kind, value in (("sampler", sampler), ("critic", critic)):
        if isinstance(value, dict):
            options = dict(value)
            if "name" in options:
                out[kind] = options.pop("name")
            out.update({f"{kind}.{k}": v for k, v in options.items()})
        elif value is not None:
            out[kind] = value
    for key, value in settings.items():
        out[key.replace("__", ".", 1) if key.startswith(("sampler__", "critic__")) else key] = value
    return out


def train(
    algo: str = "sac",
    env: str = "Pendulum-v1",
    *,
    steps: int | None = None,
    seed: int = 0,
    sampler: str | dict[str, Any] | None = None,
    critic: str | dict[str, Any] | None = None,
    out: str | Path | None = None,
    callbacks: Sequence[Any] = (),
    quiet: bool = True,
    **settings: Any,
) -> Run:
    """Train ``algo`` on ``env`` into a run directory, as ``rlai train`` does.

    :param algo: a preset (``rlai list``) or ``module:Preset``.
    :param env: a gymnasium env id, or ``module:EnvId``; keyword arguments for ``gymnasium.make``
        written after it as a call: ``"FrozenLake-v1(is_slippery=False)"``.
    :param steps: total env steps (the preset's default: 15,000).
    :param seed: seed of torch, numpy and the envs.
    :param sampler: a sampler name (or ``module:Class``), or a dict ``{"name": ..., option: value}``.
    :param critic: the same for the critic (off-policy presets).
    :param out: the run directory (new, empty, or an unfinished run of this project); default
        ``runs/<algo>-<sampler>-<env>-s<seed>-<time>``.
    :param callbacks: objects with ``on_step``, ``on_eval``, ``on_checkpoint``, ``on_log``, ...
        (``rlasinference.api.callbacks``); the loggers come from the ``log`` setting.
    :param quiet: no progress bar.
    :param settings: any config key of ``--set`` (``lr_critic=1e-3``, ``eval_every=1000``);
        ``sampler__x`` and ``critic__x`` are ``sampler.x`` and ``critic.x``.
    :returns: the ``Run``. A bad input raises ``UserError`` with the one line ``rlai`` prints.
    """
    from rlasinference.training.config import resolve
    from rlasinference.training.run_dir import default_run_dir
    from rlasinference.training.runner import run_training

    check_env_id(env)
    overrides = {"algo": algo, "env": env, "seed": seed, **settings_of(sampler, critic, **settings)}
    if steps is not None:
        overrides["steps"] = steps
    cfg = resolve(overrides)
    if out is not None and str(out) == "":
        raise UserError("out must name a directory, got an empty path")
    run_dir = Path(out) if out is not None else default_run_dir(cfg)
    summary = run_training(cfg, run_dir, new=True, quiet=quiet, command="rlasinference.train", callbacks=callbacks)
    return Run(run_dir, summary)


def resume(run_dir: str | Path, *, steps: int | None = None, callbacks: Sequence[Any] = (), quiet: bool = True) -> Run:
    """Continue a run from its last checkpoint, exactly where it stopped (``rlai resume``)."""
    from rlasinference.training.run_dir import read_config
    from rlasinference.training.runner import run_training

    path = Path(run_dir)
    cfg = read_config(path, {"steps": steps} if steps is not None else None)
    summary = run_training(cfg, path, new=False, quiet=quiet, command="rlasinference.resume", callbacks=callbacks)
    return Run(path, summary)
