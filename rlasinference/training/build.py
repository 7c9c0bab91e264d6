"""What a run is made of before it trains, and what ``rlai eval`` and ``rlasinference.load``
need too: the device, the seeds, the agent and its env, a checkpoint restored into it, the
sampler compiled or not, and the notes printed about them."""

from __future__ import annotations

import os
import random
import shutil
from typing import Any

import numpy as np
import torch
from rich.console import Console

from rlasinference.algorithms import PRESETS
from rlasinference.algorithms.base import Agent
from rlasinference.core.errors import UserError, first_line
from rlasinference.envs import EnvSpec, make_env
from rlasinference.samplers import SAMPLERS, get_sampler_class
from rlasinference.samplers.contract import check_user_sampler
from rlasinference.training.config import COMPILE_MIN_UPDATES, Config

LAST, BEST = "last.pt", "best.pt"


def print_note(text: str) -> None:
    """Print a one-line note on stderr (the default of ``Trainer``'s ``note``)."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(text, markup=False)


def busy_note(threads: int) -> str | None:
    """A note for a run that takes every core (``threads`` 0) on a machine already busy: two such
    runs side by side slow each other down many times over (docs/performance.md)."""
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # no load average on this platform
        return None
    if threads < 2 or load < 1.0:
        return None
    return (
        f"note: this machine is busy (load average {load:.1f}) and this run uses all {threads} torch threads; "
        "runs side by side that each use every core slow each other down many times over (about 20x measured "
        "on 2 cores): give each --set threads=1, as rlai sweep does"
    )


def resolve_device(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"invalid device {name!r}; use cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):  # mps, meta, xpu, ...: not supported here
        raise UserError(f"device {name!r} is not supported; use cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} requested but this torch build has no usable CUDA device")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"device {name!r} requested but there are {torch.cuda.device_count()} CUDA devices")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def compile_sampler(agent: Agent, setting: str, updates: int) -> bool:
    """``torch.compile`` the agent's sampler's ``sample`` (the ``compile`` run option); whether it did.
    ``auto``: on the CPU, for samplers that declare it pays (``Sampler.compile_sample``), in runs
    of at least ``COMPILE_MIN_UPDATES`` updates, where a C++ compiler is installed."""
    sampler = getattr(agent, "sampler", None)
    if sampler is None or setting == "never":
        return False
    if setting == "auto" and not (sampler.compile_sample and updates >= COMPILE_MIN_UPDATES):
        return False
    if setting == "auto" and next(sampler.parameters()).device.type != "cpu":
        return False  # measured on the CPU only
    if setting == "auto" and not any(shutil.which(cc) for cc in ("c++", "g++", "clang++", "cl")):
        return False  # inductor builds C++ kernels on the CPU: without a compiler, stay eager
    sampler.sample = torch.compile(sampler.sample)
    return True


def build_agent(config: Config, device: torch.device) -> tuple[Agent, Any, EnvSpec]:
    """The agent of ``config`` on ``device``, a training env (built first: its sizes size the
    agent) and the sizes it used."""
    env, spec = make_env(config.run.env, train=True)
    check_space(config, spec, env)
    if ":" in config.algo.sampler:  # a user's module:Class: its contract is checked before it trains
        sampler_cls = get_sampler_class(config.algo.sampler)
        check_user_sampler(config.algo.sampler, sampler_cls, spec.obs_dim, spec.action_dim, config.sampler_options)
    sampler_options, critic_options = with_image(config.sampler_options, spec), with_image(config.critic_options, spec)
    try:
        agent = config.preset.build(config.algo, sampler_options, spec.obs_dim, spec.action_dim, critic_options)
    except ValueError as exc:  # an option out of its range, caught by a constructor
        raise UserError(f"cannot build {config.run.algo!r}: {exc}") from None
    return agent.to(device), env, spec


def with_image(options: dict[str, Any], spec: EnvSpec) -> dict[str, Any]:
    """A sampler's or critic's options with its ``image`` option (empty in the config: "from the
    env") set to the env's image shape, where it has one and the observations are images."""
    if spec.image and "image" in options and not options["image"]:
        return {**options, "image": list(spec.image)}
    return options


def check_space(config: Config, spec: EnvSpec, env: Any) -> None:
    """One line when the run's sampler draws actions of another kind than the env takes (closing
    the env): a continuous sampler on a Discrete env, or a discrete one on a Box env."""
    sampler_cls = get_sampler_class(config.algo.sampler)
    if sampler_cls.space == spec.space:
        return
    env.close()
    kind = f"{spec.action_dim} discrete actions" if spec.discrete else "continuous (Box) actions"
    own = config.preset.config_cls().sampler
    if get_sampler_class(own).space == spec.space:  # the preset fits: the --sampler given does not
        fits = [n for n, cls in SAMPLERS if cls.space == spec.space]
        raise UserError(
            f"env {config.run.env!r} has {kind}, but sampler {config.algo.sampler!r} draws {sampler_cls.space} "
            f"actions; samplers for this env: {', '.join(fits)} (--algo {config.run.algo}'s own: {own})"
        )
    fits = [n for n, p in PRESETS if get_sampler_class(p.config_cls().sampler).space == spec.space]
    raise UserError(
        f"env {config.run.env!r} has {kind}, but --algo {config.run.algo} with sampler {config.algo.sampler!r} "
        f"draws {sampler_cls.space} actions; presets for this env: {', '.join(fits)}"
    )


def restore_agent(agent: Agent, state: Any, where: str, with_optimizers: bool = True) -> None:
    """Load a checkpoint's ``agent`` entry into ``agent`` (the trainer's resume and ``rlai
    eval``); a checkpoint of another config is one line naming the first tensor that differs."""
    try:
        agent.load_checkpoint_state(state, with_optimizers)
    except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as exc:
        raise UserError(f"{where} does not match this run's config: {state_mismatch(agent, state, exc)}") from None


def state_mismatch(agent: torch.nn.Module, state: Any, exc: BaseException) -> str:
    """One line on where a checkpoint's agent state differs from ``agent``: the first missing,
    unexpected or differently shaped tensor, else the error's first line."""
    modules = state.get("modules") if isinstance(state, dict) else None
    if isinstance(modules, dict):
        own = agent.state_dict()
        for key in sorted(set(own) | set(modules)):
            if key not in modules:
                return f"{key!r} is missing from the checkpoint"
            if key not in own:
                return f"the checkpoint has {key!r}, which this config does not"
            theirs = modules[key]
            if isinstance(theirs, torch.Tensor) and theirs.shape != own[key].shape:
                return f"{key!r} has shape {list(theirs.shape)} there, {list(own[key].shape)} here"
    return first_line(exc)
