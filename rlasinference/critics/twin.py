"""``twin``: E soft-Q networks with a target network and the clipped min (SAC, SQL, DiffSAC)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from rlasinference.core.batch import Batch
from rlasinference.critics.base import Critic, QFunction, TargetInputs
from rlasinference.critics.bellman import soft_bellman_target
from rlasinference.critics.ensemble import QEnsemble, update_target
from rlasinference.samplers.base import Sampler


def squared_td_loss(q: Tensor, target: Tensor) -> Tensor:
    """``1/2 sum_k mean_B (Q_k - y)^2`` for ``q [E, B]`` and a target ``y [B]``."""
    return 0.5 * (q - target).square().mean(dim=1).sum()


def huber_td_loss(q: Tensor, target: Tensor, delta: float) -> Tensor:
    """``sum_k mean_B huber_delta(Q_k - y)``: ``squared_td_loss`` within ``delta`` of the target,
    linear beyond (DQN's clipped error gradient)."""
    return torch.nn.functional.huber_loss(q, target.expand_as(q), delta=delta, reduction="none").mean(dim=1).sum()


def soft_bellman_regression(
    online: QFunction,
    target: QFunction,
    batch: Batch,
    inputs: TargetInputs,
    bonus: Tensor | None = None,
    huber_delta: float = 0.0,
) -> dict[str, Tensor]:
    """The soft Bellman regression of the critics with a target network: ``y = r + gamma (1 - d)
    V(s')`` with V from the value estimator on ``target`` (no gradient), then ``squared_td_loss`` of
    ``online``'s ``Q [E, B]`` at the batch's pairs (``huber_td_loss`` with a ``huber_delta``);
    ``loss_critic`` and ``q_mean``. ``bonus [B]`` (no gradient) is added to the scaled reward:
    Munchausen's term."""
    with torch.no_grad():
        v_next = inputs.value(target)
        reward = inputs.reward_scale * batch.rewards
        y = soft_bellman_target(reward if bonus is None else reward + bonus, batch.terminated, v_next, inputs.gamma)
    q = online(batch.obs, batch.actions)  # [E, B]
    loss = huber_td_loss(q, y, huber_delta) if huber_delta else squared_td_loss(q, y)
    return {"loss_critic": loss, "q_mean": q.detach().mean()}


class TwinCritic(Critic):
    """``E`` soft-Q networks and a target copy, averaged in by Polyak's rule (or copied every
    ``target_update_every`` updates with ``polyak`` 1); the value estimator reads the target."""

    summary: ClassVar[str] = "E soft-Q nets + target net (Polyak or hard copy); the value estimator's min over members"
    value_estimators: ClassVar[tuple[str, ...] | None] = ("sampled", "importance")

    def __init__(self, obs_dim: int, action_dim: int, hidden: Sequence[int], members: int, sampler: Sampler) -> None:
        super().__init__()
        self.q = QEnsemble(obs_dim, action_dim, hidden, members)
        self.target = QEnsemble(obs_dim, action_dim, hidden, members)
        self.target.load_state_dict(self.q.state_dict())
        self.target.requires_grad_(False)

    def loss(self, batch: Batch, inputs: TargetInputs) -> dict[str, Tensor]:
        return soft_bellman_regression(self.q, self.target, batch, inputs)

    def actor_q(self, obs: Tensor, actions: Tensor) -> Tensor:
        return self.q.frozen(obs, actions)

    def after_update(self, updates: int, polyak: float, target_update_every: int) -> None:
        update_target(self.target, self.q, updates, polyak, target_update_every)
