"""What every algorithm (preset) provides to the training loop, and the preset registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from rlasinference.objectives import OBJECTIVES
from rlasinference.policies import Policy
from rlasinference.values import VALUE_ESTIMATORS


class Batch(NamedTuple):
    """A minibatch of transitions, all on the agent's device.

    ``obs [B, S]``, ``actions [B, A]`` in (-1, 1), ``rewards [B]``, ``next_obs [B, S]``,
    ``terminated [B]`` (1.0 only at a true MDP end, never at a time-limit truncation).
    """

    obs: Tensor
    actions: Tensor
    rewards: Tensor
    next_obs: Tensor
    terminated: Tensor


class Agent(nn.Module):
    """An algorithm instance: owns its networks and optimizers.

    Subclasses set ``policy``, ``metric_names`` (the keys ``update`` returns, which
    become ``metrics.csv`` columns) and ``optimizers``, and implement ``update``.
    ``updates`` counts gradient updates for schedules (target copies, delayed actors); it is
    checkpointed.
    """

    policy: Policy
    metric_names: tuple[str, ...] = ()
    optimizers: dict[str, torch.optim.Optimizer]
    batch_size: int
    learning_starts: int
    updates_per_step: int
    updates: int = 0

    def act(self, obs: Tensor, deterministic: bool) -> Tensor:
        """``obs [B, S] -> actions [B, A]`` in (-1, 1)."""
        return self.policy.act(obs, deterministic)

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One gradient update; returns detached scalar metrics named as in ``metric_names``."""
        raise NotImplementedError

    def checkpoint_state(self) -> dict[str, Any]:
        optimizers = {k: o.state_dict() for k, o in self.optimizers.items()}
        return {"modules": self.state_dict(), "optimizers": optimizers, "updates": self.updates}

    def load_checkpoint_state(self, state: dict[str, Any], with_optimizers: bool = True) -> None:
        self.load_state_dict(state["modules"])
        self.updates = int(state.get("updates", 0))
        if with_optimizers:
            for name, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][name])


def by_env_prefix(env_id: str, table: dict[str, Any]) -> Any | None:
    """The entry of ``table`` whose key starts the env's name (``module:`` and ``namespace/``
    stripped), e.g. ``"Hopper"`` for ``Hopper-v5``; ``None`` if none does. For per-env defaults."""
    name = env_id.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return next((value for prefix, value in table.items() if name.startswith(prefix)), None)


@dataclass(frozen=True)
class Preset:
    """A registered algorithm: a config dataclass with the paper's defaults and a builder.

    ``build(config, sampler_options, obs_dim, action_dim) -> Agent``. ``objective`` and
    ``value_estimator`` name the preset's fixed parts where its config does not choose them;
    ``requires`` is a sampler class the preset needs, ``densities`` the sampler density kinds it
    works with where its config names no objective; ``env_defaults(env_id)`` gives config
    values that depend on the env (the user's settings override them).
    """

    name: str
    config_cls: type
    build: Callable[..., Agent]
    summary: str
    critic: str
    temperature: str
    objective: str | None = None
    value_estimator: str | None = None
    requires: type | None = None
    densities: tuple[str, ...] | None = None
    env_defaults: Callable[[str], dict[str, Any]] | None = None

    def parts(self) -> tuple[str, str, str]:
        """Default (sampler, policy objective, value estimator), for listings."""
        c = self.config_cls()
        return c.sampler, self.objective or c.objective, self.value_estimator or c.value_estimator

    def accepts(self, sampler_cls: type) -> bool:
        """Whether the preset can be built with this sampler class (``--sampler``)."""
        if self.requires is not None:
            return issubclass(sampler_cls, self.requires)
        if self.densities is not None:
            return getattr(sampler_cls, "density", None) in self.densities
        c = self.config_cls()
        needs = ((OBJECTIVES, c.objective), (VALUE_ESTIMATORS, c.value_estimator))
        return all(getattr(sampler_cls, "density", None) in reg.get(name).accepts for reg, name in needs)
