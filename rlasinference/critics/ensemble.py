"""Soft-Q ensemble (twin Q by default) and Polyak averaging of target networks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from rlasinference.core.nets import EnsembleMLP


class QEnsemble(nn.Module):
    """``E`` soft-Q networks ``Q_k(s, a)`` evaluated together: ``([B, S], [B, A]) -> [E, B]``.

    :param members: ensemble size (2 = the twin Q of TD3/SAC, used for the clipped min).
    :param hidden: hidden sizes of every member.
    """

    def __init__(self, obs_dim: int, action_dim: int, hidden: Sequence[int] = (256, 256), members: int = 2) -> None:
        super().__init__()
        self.net = EnsembleMLP(obs_dim + action_dim, hidden, 1, members)

    def forward(self, obs: Tensor, actions: Tensor, detach_params: bool = False) -> Tensor:
        return self.net(torch.cat([obs, actions], dim=-1), detach_params).squeeze(-1)

    def frozen(self, obs: Tensor, actions: Tensor) -> Tensor:
        """Q with gradients to ``actions`` only: what a policy objective differentiates."""
        return self.forward(obs, actions, detach_params=True)


@torch.no_grad()
def polyak_update(target: nn.Module, source: nn.Module, rate: float) -> None:
    """``theta_target <- (1 - rate) * theta_target + rate * theta_source`` for every parameter."""
    torch._foreach_lerp_(list(target.parameters()), list(source.parameters()), rate)


def update_target(target: nn.Module, source: nn.Module, updates: int, polyak: float, every: int) -> None:
    """The target-network schedule of every critic's ``after_update``: ``polyak_update`` on each
    ``every``-th gradient update (``updates`` counts them; ``polyak`` 1 makes it a hard copy)."""
    if updates % every == 0:
        polyak_update(target, source, polyak)
