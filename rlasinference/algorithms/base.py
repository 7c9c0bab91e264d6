"""What every agent provides to the training loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from rlasinference.core.batch import Batch
from rlasinference.policies import Policy


class Agent(nn.Module):
    """An algorithm instance: owns its networks and optimizers.

    Subclasses set ``policy``, ``metric_names`` (the keys of the metrics they return, which
    become ``metrics.csv`` columns) and ``optimizers``, and ``learn`` from what their recipe's
    collector gathers (``ReplayAgent``: a minibatch; ``OnPolicyAgent``: a rollout). ``updates`` counts
    gradient updates for schedules (target copies, delayed actors); it is checkpointed.
    """

    policy: Policy
    metric_names: tuple[str, ...] = ()
    optimizers: dict[str, torch.optim.Optimizer]
    updates: int = 0

    def act(self, obs: Tensor, deterministic: bool) -> Tensor:
        """``obs [B, S] -> actions [B, A]`` in (-1, 1)."""
        return self.policy.act(obs, deterministic)

    def learn(self, data: Any) -> Iterator[dict[str, Tensor]]:
        """Learn from what the recipe's collector gathered (a replay ``Batch``, a ``Rollout``):
        yields the detached scalar metrics of each gradient update, named as in ``metric_names``."""
        raise NotImplementedError

    def normalize_obs(self, obs: Tensor) -> Tensor:
        """Observations as the sampler reads them (an agent that normalises them overrides this)."""
        return obs

    def checkpoint_state(self) -> dict[str, Any]:
        optimizers = {k: o.state_dict() for k, o in self.optimizers.items()}
        return {"modules": self.state_dict(), "optimizers": optimizers, "updates": self.updates}

    def load_checkpoint_state(self, state: dict[str, Any], with_optimizers: bool = True) -> None:
        self.load_state_dict(state["modules"])
        self.updates = int(state.get("updates", 0))
        if with_optimizers:
            for name, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][name])


class ReplayAgent(Agent):
    """An agent that learns from minibatches of a replay buffer (the off-policy recipe): uniform
    random actions for ``learning_starts`` env steps (the policy's, with ``warmup_policy``), then
    ``updates_per_step`` updates on ``batch_size`` transitions after every ``update_every``-th env
    step."""

    batch_size: int
    learning_starts: int
    warmup_policy: bool = False
    updates_per_step: int
    update_every: int = 1

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One gradient update; returns detached scalar metrics named as in ``metric_names``."""
        raise NotImplementedError

    def learn(self, data: Batch) -> Iterator[dict[str, Tensor]]:
        yield self.update(data)


def by_env_prefix(env_id: str, table: dict[str, Any]) -> Any | None:
    """The entry of ``table`` whose key starts the env's name (``module:`` and ``namespace/``
    stripped), e.g. ``"Hopper"`` for ``Hopper-v5``; ``None`` if none does. For per-env defaults."""
    name = env_id.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return next((value for prefix, value in table.items() if name.startswith(prefix)), None)
