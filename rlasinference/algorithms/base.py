"""What every algorithm (preset) provides to the training loop, and the preset registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from rlasinference.policies import Policy


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

    Subclasses set :attr:`policy`, :attr:`metric_names` (the keys :meth:`update` returns, which
    become ``metrics.csv`` columns) and :attr:`optimizers`, and implement :meth:`update`.
    """

    policy: Policy
    metric_names: tuple[str, ...] = ()
    optimizers: dict[str, torch.optim.Optimizer]
    batch_size: int
    learning_starts: int
    updates_per_step: int

    def act(self, obs: Tensor, deterministic: bool) -> Tensor:
        """``obs [B, S] -> actions [B, A]`` in (-1, 1)."""
        return self.policy.act(obs, deterministic)

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One gradient update; returns detached scalar metrics named as in :attr:`metric_names`."""
        raise NotImplementedError

    def checkpoint_state(self) -> dict[str, Any]:
        return {"modules": self.state_dict(), "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()}}

    def load_checkpoint_state(self, state: dict[str, Any], with_optimizers: bool = True) -> None:
        self.load_state_dict(state["modules"])
        if with_optimizers:
            for name, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][name])


@dataclass(frozen=True)
class Preset:
    """A registered algorithm: a config dataclass with the paper's defaults and a builder.

    ``build(config, sampler_options, obs_dim, action_dim, device) -> Agent``.
    """

    name: str
    config_cls: type
    build: Callable[..., Agent]
    summary: str
    critic: str
    temperature: str
