"""``crossq``: batch-renormalised soft-Q networks and no target network (Bhatt et al. 2024,
"CrossQ: Batch Normalization in Deep RL for Greater Sample Efficiency and Simplicity").

The current pairs (s, a) and the next pairs (s', a') go through the critic in one training-mode
pass, so that batch renormalisation sees both in one batch; the next part, without gradient,
is the target's Q. The actor reads the critic in evaluation mode (running statistics).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from rlasinference.core.batch import Batch
from rlasinference.core.checks import NON_NEGATIVE, Range
from rlasinference.core.nets import EnsembleMLP
from rlasinference.critics.base import Critic, TargetInputs
from rlasinference.critics.bellman import soft_bellman_target
from rlasinference.critics.twin import squared_td_loss
from rlasinference.samplers.base import Sampler


class CrossQCritic(Critic):
    """:param renorm_momentum: rate of the running statistics (CrossQ: 0.01, a decay of 0.99).
    :param renorm_warmup: training passes of plain batch norm before renormalisation (CrossQ: 100,000)."""

    summary: ClassVar[str] = "batch-renormalised soft-Q nets, no target: (s,a) and (s',a') in one training-mode pass"
    # sampled only: uniform proposals (importance) would enter the batch statistics of a critic
    # whose point is that current and next pairs share one distribution
    value_estimators: ClassVar[tuple[str, ...] | None] = ("sampled",)
    option_ranges: ClassVar[dict[str, Range]] = {
        "renorm_momentum": Range(0, 1, low_open=True),
        "renorm_warmup": NON_NEGATIVE,
    }

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden: Sequence[int],
        members: int,
        sampler: Sampler,
        renorm_momentum: float = 0.01,
        renorm_warmup: int = 100_000,
    ) -> None:
        super().__init__()
        self.net = EnsembleMLP(
            obs_dim + action_dim, hidden, 1, members, True, renorm_momentum=renorm_momentum, renorm_warmup=renorm_warmup
        )

    def _q(self, obs: Tensor, actions: Tensor, detach_params: bool = False) -> Tensor:
        return self.net(torch.cat([obs, actions], dim=-1), detach_params).squeeze(-1)

    def loss(self, batch: Batch, inputs: TargetInputs) -> dict[str, Tensor]:
        n, current = batch.obs.shape[0], list[Tensor]()

        def joint(next_obs: Tensor, next_actions: Tensor) -> Tensor:
            assert not current, "a value estimator may read the critic once per update"
            with torch.enable_grad():  # the current part is trained: it needs its graph
                self.train()
                q_all = self._q(torch.cat([batch.obs, next_obs]), torch.cat([batch.actions, next_actions]))
                current.append(q_all[:, :n])
            return q_all[:, n:].detach()

        with torch.no_grad():
            v_next = inputs.value(joint)
            y = soft_bellman_target(inputs.reward_scale * batch.rewards, batch.terminated, v_next, inputs.gamma)
        q = current[0]
        return {"loss_critic": squared_td_loss(q, y), "q_mean": q.detach().mean()}

    def actor_q(self, obs: Tensor, actions: Tensor) -> Tensor:
        self.eval()
        try:
            return self._q(obs, actions, detach_params=True)
        finally:
            self.train()
