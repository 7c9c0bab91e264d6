"""The run controller of every regime: builds the agent, then lets its recipe's collector
(``replay.py``, ``rollout.py``) step the envs and feed the agent, while it keeps the run:
periodic deterministic evaluation, log rows, checkpoints that resume exactly, Ctrl-C and
SIGTERM that save, callbacks, and a stop on non-finite losses."""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import numpy as np
import torch

from rlasinference.core.errors import NonFiniteLossError, UserError
from rlasinference.core.precision import flushed_subnormals, resolve_precision, set_precision
from rlasinference.envs import EnvSpec, make_env
from rlasinference.training.build import (
    BEST,
    LAST,
    build_agent,
    busy_note,
    compile_sampler,
    print_note,
    resolve_device,
    restore_agent,
    seed_everything,
)
from rlasinference.training.checkpoint import load_checkpoint, owned, save_checkpoint
from rlasinference.training.config import Config
from rlasinference.training.evaluation import env_metric_names, env_report, run_episodes
from rlasinference.training.loggers import make_loggers
from rlasinference.training.metrics import MetricsWriter
from rlasinference.training.plot import plot_learning_curve
from rlasinference.training.progress import Clock, progress_bar
from rlasinference.training.replay import ReplayCollector
from rlasinference.training.rollout import RolloutCollector
from rlasinference.training.state import LogWindow

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C; what Slurm, docker, systemd and Ray send
PROGRESS_EVERY = 100  # env steps between updates of the progress bar


class Collector(Protocol):
    """How a regime gathers experience and feeds its agent (a recipe names one in ``COLLECTORS``).
    Built as ``Collector(trainer, spec)`` once the agent and ``trainer.env`` exist; it counts
    the env steps it takes with ``trainer.count_steps`` and adds the agent's update metrics to
    ``trainer.window``."""

    def __init__(self, trainer: Trainer, spec: EnvSpec) -> None: ...

    @staticmethod
    def planned_updates(config: Config) -> int:
        """Gradient updates the whole run makes (whether compiling pays off)."""
        ...

    @staticmethod
    def planned_steps(config: Config) -> int:
        """Env steps the whole run takes: ``steps``, or more where it collects in whole units."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Its state in ``last.pt``'s ``trainer`` entry (episodes in progress, scales)."""
        ...

    def data_state(self) -> dict[str, Any]:
        """Entries of ``last.pt`` of its own (the replay buffer)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from the whole of ``last.pt``."""
        ...

    def start(self) -> None:
        """Put the envs where the run is (fresh, or mid-episode after a resume)."""
        ...

    def advance(self) -> None:
        """Collect one unit (an env step, a rollout) and let the agent learn from what is due."""
        ...

    def close(self) -> None: ...


COLLECTORS: dict[str, type[Collector]] = {"replay": ReplayCollector, "rollout": RolloutCollector}


class Trainer:
    """Trains ``config`` in ``run_dir`` with its recipe's collector; ``resume=True`` continues
    from ``checkpoints/last.pt``."""

    def __init__(
        self,
        config: Config,
        run_dir: Path,
        quiet: bool = False,
        resume: bool = False,
        on_eval: Callable[[int, float], None] | None = None,
        note: Callable[[str], None] = print_note,
        callbacks: Sequence[Any] = (),
    ) -> None:
        self.config, self.run_dir, self.quiet, self.on_eval, self.note = config, run_dir, quiet, on_eval, note
        self.callbacks = (*make_loggers(config.run.log), *callbacks)
        self.step_hooks = [cb.on_step for cb in self.callbacks if callable(getattr(cb, "on_step", None))]
        self.ckpt_dir = run_dir / "checkpoints"
        for stale in [*self.ckpt_dir.glob(".*.tmp.*"), *run_dir.glob(".*.tmp.*")]:  # writes cut by a kill
            stale.unlink(missing_ok=True)
        run = config.run
        self.device = resolve_device(run.device)
        if run.threads > 0:
            torch.set_num_threads(run.threads)
        elif not quiet and (busy := busy_note(torch.get_num_threads())) is not None:
            note(busy)
        # mapped, not read: the replay buffer is copied from the file's pages into the run's own
        # buffer, with no second copy in the process's memory (Atari's buffer is 5.6 GB); the rest
        # is copied out of the mapping, which the run then lets go
        state = load_checkpoint(self.ckpt_dir / LAST, mmap=True) if resume else None
        if state is not None:
            state = {key: value if key == "buffer" else owned(value) for key, value in state.items()}
        # what ``auto`` chose when the run started holds for its whole life: a resumed run on
        # another machine, or extended past the compile threshold, computes as it began
        chosen = state["trainer"] if state is not None and isinstance(state.get("trainer"), dict) else {}
        precision = chosen.get("precision", run.precision) if run.precision == "auto" else run.precision
        self.precision = resolve_precision(precision, self.device)
        set_precision(self.precision)
        seed_everything(run.seed)
        self.agent, self.env, spec = build_agent(config, self.device)
        collector_cls = COLLECTORS[config.preset.recipe.collector]
        compile_setting = run.compile
        if run.compile == "auto" and "compiled" in chosen:
            compile_setting = "always" if chosen["compiled"] else "never"
        self.compiled = compile_sampler(self.agent, compile_setting, collector_cls.planned_updates(config))
        self.eval_env, _ = make_env(run.env)
        self.step = 0
        self.collector = collector_cls(self, spec)
        self.window = LogWindow(self.agent.metric_names, self.device)
        self.best_eval = -math.inf
        self.last_eval: float | None = None
        self.last_env_report: dict[str, float] = {}
        self.last_checkpoint_step: int | None = None
        self.stop_requested = False
        self.stop_signal: int | None = None  # the signal that asked for the stop
        self.elapsed_before = 0.0  # training seconds spent before this process (resumed runs)
        self.started = time.perf_counter()
        self.log_time, self.log_step = self.started, 0  # when and where the last training row was (reset by the loop)
        if state is not None:
            self._restore(state)
        self.metrics = MetricsWriter(
            run_dir, self.agent.metric_names, resume_step=self.step, env_eval_columns=env_metric_names(self.eval_env)
        )
        if self.metrics.repaired:
            note(self.metrics.repaired)
        self.notify("on_start", run_dir, self.step)
        warmup = getattr(self.agent, "learning_starts", 0)
        if warmup >= run.steps and self.step < run.steps:
            acts = "the untrained policy's" if getattr(self.agent, "warmup_policy", False) else "uniformly random"
            note(
                f"note: learning_starts ({warmup}) >= steps ({run.steps}): this run takes {acts} actions "
                "throughout and makes no gradient update; lower it with --set learning_starts=N"
            )
        capacity, batch = getattr(config.algo, "buffer_size", None), getattr(self.agent, "batch_size", 0)
        if capacity is not None and capacity < batch and warmup < run.steps and self.step < run.steps:
            note(
                f"note: buffer_size ({capacity}) < batch_size ({batch}): every batch draws its transitions "
                f"again from the last {capacity}; raise it with --set buffer_size=N"
            )
        self.planned_steps = planned = collector_cls.planned_steps(config)
        if planned > run.steps and self.step < run.steps:
            algo = config.algo
            note(
                f"note: {run.algo} collects whole rollouts of {getattr(algo, 'num_envs', 1)} env(s) x "
                f"{getattr(algo, 'num_steps', planned)} steps: this run takes {planned} steps, not {run.steps}"
            )

    # -- checkpoints ---------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        trainer = {
            **self.collector.state_dict(),
            **self.window.state_dict(),
            "best_eval": self.best_eval,
            "last_eval": self.last_eval,
            "elapsed": self.elapsed(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "precision": self.precision,
            "compiled": self.compiled,
        }
        return {
            "step": self.step,
            "agent": self.agent.checkpoint_state(),
            "trainer": trainer,
            **self.collector.data_state(),
        }

    def _restore(self, state: dict[str, Any]) -> None:
        where = f"checkpoint in {str(self.ckpt_dir)!r}"
        restore_agent(self.agent, state["agent"], where)
        try:
            t = state["trainer"]
            self.step = state["step"]
            self.collector.load_state_dict(state)
            self.window.load_state_dict(t)
            self.best_eval, self.last_eval = t["best_eval"], t["last_eval"]
            self.elapsed_before = t["elapsed"]
            torch.set_rng_state(t["torch_rng"])
            if t["cuda_rng"] and self.device.type == "cuda":
                torch.cuda.set_rng_state_all(t["cuda_rng"])
        except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as exc:
            raise UserError(f"{where} does not match this run's trainer state: {exc}") from None
        self.last_checkpoint_step = self.step

    def elapsed(self) -> float:
        """Seconds of training so far, summed over the processes that ran this run."""
        return self.elapsed_before + time.perf_counter() - self.started

    def save(self) -> None:
        """Write ``last.pt``, after checking that nothing non-finite would be saved."""
        self._check_finite()
        self.metrics.sync()  # the rows up to this checkpoint reach the disk before it does
        save_checkpoint(self._state(), self.ckpt_dir / LAST)
        self.last_checkpoint_step = self.step
        self.last_save_time = time.perf_counter()
        self.notify("on_checkpoint", self.ckpt_dir / LAST)

    def write_row(self, values: dict[str, Any]) -> None:
        """A row of ``metrics.csv`` at the current step, passed on to the loggers and callbacks."""
        self.metrics.write(self.step, values)
        self.notify("on_log", self.step, values)

    def count_steps(self, n: int) -> None:
        """The collector took ``n`` env steps (one per env): count them, tell the callbacks."""
        self.step += n
        for hook in self.step_hooks:
            if hook(self.step) is False:
                self.request_stop()

    def notify(self, hook: str, *args: Any) -> None:
        """Call ``hook`` on every callback that has it (``rlasinference.callbacks``); one that
        returns ``False`` asks the run to stop, as Ctrl-C does: it saves and can be resumed."""
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if callable(method) and method(*args) is False:
                self.request_stop()

    def _check_finite(self) -> None:
        self.window.check_finite(self.step)
        for name, p in self.agent.named_parameters():
            if not torch.isfinite(p).all():
                raise NonFiniteLossError(f"non-finite parameter {name} at step {self.step}")

    # -- the run -----------------------------------------------------------------------------
    def _log(self, sps: float) -> None:
        self._check_finite()
        row = {"time_s": round(self.elapsed(), 3), "sps": round(sps, 1), **self.window.row()}
        self.write_row(row)

    def evaluate(self) -> float:
        run = self.config.run
        result = run_episodes(
            self.agent, self.eval_env, run.eval_episodes, run.seed, deterministic=not run.eval_stochastic
        )
        bad = next((j for j, r in enumerate(result.returns) if not math.isfinite(r)), None)
        if bad is not None:
            value, where = result.returns[bad], f"episode {bad} of {run.env} at step {self.step}"
            raise NonFiniteLossError(f"non-finite evaluation return ({value}) in {where}")
        title = (
            f"step {self.step}: {run.eval_episodes} {'stochastic' if run.eval_stochastic else 'deterministic'} episodes"
        )
        self.last_env_report = env_report(self.eval_env, result, self.run_dir / "trajectories.png", title)
        self.write_row(  # time_s: a run shorter than log_every has it too, and the run's end is in it
            {"time_s": round(self.elapsed(), 3), "eval_return": result.mean, "eval_return_std": result.std}
            | {"eval_length": float(np.mean(result.lengths))}
            | {f"eval_{k}": v for k, v in self.last_env_report.items()},
        )
        self.last_eval = result.mean
        if result.mean > self.best_eval:
            self.best_eval = result.mean
            state = {"step": self.step, "eval_return": result.mean, "agent": {"modules": self.agent.state_dict()}}
            save_checkpoint(state, self.ckpt_dir / BEST)
        return result.mean

    def train(self) -> dict[str, Any]:
        """Run until ``config.run.steps``; returns a summary. Ctrl-C or SIGTERM saves and returns
        early (``interrupted``, ``signal``)."""
        # Ctrl-C and SIGTERM save and stop; only the main thread may handle signals (a sweep's
        # trials run in worker threads, and the sweep stops them itself)
        handle_signals = threading.current_thread() is threading.main_thread()
        previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS} if handle_signals else {}
        for sig in previous:
            signal.signal(sig, self._on_signal)
        progress = progress_bar(self.quiet)
        failed = True
        try:
            with progress, flushed_subnormals():
                self._loop(progress)
            failed = False
        except NonFiniteLossError as exc:
            where = (
                f"last good checkpoint: {self.ckpt_dir / LAST} (step {self.last_checkpoint_step})"
                if self.last_checkpoint_step is not None
                else "no checkpoint was written before it"
            )
            raise NonFiniteLossError(f"{exc}; training stopped, {where}") from None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._close(failed)
        return {
            "step": self.step,
            "interrupted": self.stop_requested and self.step < self.config.run.steps,
            "signal": self.stop_signal,
            "final_eval_return": self.last_eval,
            "best_eval_return": self.best_eval,
        }

    def _loop(self, progress: Any) -> None:
        run = self.config.run
        total = self.planned_steps  # whole rollouts may pass ``steps``
        clock = Clock(total, getattr(self.agent, "learning_starts", 0), run.eval_every)
        task = progress.add_task("train", total=total, completed=self.step, sps="-", last_eval="-", eta="-")
        self.collector.start()
        self.started = self.last_save_time = time.perf_counter()
        self.log_time, self.log_step = self.started, self.step
        while self.step < run.steps and not self.stop_requested:
            before, began = self.step, time.perf_counter()
            self.collector.advance()
            collected = time.perf_counter()
            clock.stepped(before, self.step, collected - began)
            if self._periodic(before, progress):
                clock.evaluated(time.perf_counter() - collected)
            if self.step // PROGRESS_EVERY > before // PROGRESS_EVERY or self.step >= run.steps:
                last = "-" if self.last_eval is None else f"{self.last_eval:.1f}"
                progress.update(
                    task,
                    completed=min(self.step, total),
                    sps=clock.speed(),
                    last_eval=last,
                    eta=clock.eta(self.step),
                )
        if self.stop_requested:
            self.save()

    def _periodic(self, before: int, progress: Any) -> bool:
        """What is due after the steps from ``before`` to ``self.step``: a training row at each
        multiple of ``log_every`` passed; an evaluation and a checkpoint at each multiple of
        ``eval_every`` passed and at the end of the run, else a checkpoint by wall time.
        Whether it evaluated."""
        run = self.config.run
        if self.step // run.log_every > before // run.log_every:
            now = time.perf_counter()
            self._log((self.step - self.log_step) / max(now - self.log_time, 1e-9))
            self.log_time, self.log_step = now, self.step
        if self.step // run.eval_every > before // run.eval_every or self.step >= run.steps:
            ret = self.evaluate()
            self.save()
            extra = "".join(f"  {k} {v:g}" for k, v in self.last_env_report.items())
            progress.console.print(f"step {self.step:>8d}  eval return {ret:10.2f}{extra}", markup=False)
            if self.on_eval is not None:
                self.on_eval(self.step, ret)
            self.notify("on_eval", self.step, {"eval_return": ret, **self.last_env_report})
            return True
        if run.checkpoint_every_s > 0 and time.perf_counter() - self.last_save_time >= run.checkpoint_every_s:
            self.save()  # a checkpoint by wall time; it changes nothing the run computes
        return False

    def _close(self, failed: bool) -> None:
        """Close the metrics and draw the learning curve. After a failure (a full disk, say) an
        error here would hide the first one, so it is dropped: the checkpoint is what counts."""
        run = self.config.run
        title = f"{run.algo} ({self.config.algo.sampler}) on {run.env}, seed {run.seed}"
        try:
            closers = [getattr(cb, "on_close", None) for cb in self.callbacks]
            for close in (
                self.metrics.close,
                *(c for c in closers if callable(c)),  # each logger closes, whatever another one raised
                lambda: plot_learning_curve(self.run_dir, title, getattr(self.agent, "learning_starts", 0)),
            ):
                try:
                    close()
                except (OSError, ValueError):
                    if not failed:
                        raise
        finally:
            self.collector.close()

    def request_stop(self) -> None:
        """Stop at the end of the current step, after saving a checkpoint."""
        self.stop_requested = True

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_requested:  # a second Ctrl-C: stop now, the last checkpoint stays as it was
            raise KeyboardInterrupt
        self.stop_signal = signum
        self.request_stop()
