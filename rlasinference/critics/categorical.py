"""Distributional soft critic: each ensemble member predicts a categorical distribution of the
return over a fixed support of ``atoms`` values in [v_min, v_max] (C51, Bellemare et al. 2017),
optionally with CrossQ's batch renormalisation and no target network (DIME's critic)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from rlasinference.core.nets import EnsembleMLP


class CategoricalQEnsemble(nn.Module):
    """``E`` categorical critics: ``logits(obs [B, S], actions [B, A]) -> [E, B, atoms]``.

    :param v_min: lowest return of the support; the reference needs about -1600 on MuJoCo.
    :param v_max: highest return of the support.
    :param atoms: support size.
    :param batch_renorm: CrossQ's batch renormalisation in front of every linear layer.
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden: Sequence[int] = (256, 256),
        members: int = 2,
        atoms: int = 101,
        v_min: float = -1600.0,
        v_max: float = 1600.0,
        batch_renorm: bool = False,
    ) -> None:
        super().__init__()
        if atoms < 2 or v_min >= v_max:
            raise ValueError(f"need atoms >= 2 and v_min < v_max, got {atoms}, {v_min}, {v_max}")
        self.net = EnsembleMLP(obs_dim + action_dim, hidden, atoms, members, batch_renorm=batch_renorm)
        self.support: Tensor
        self.register_buffer("support", torch.linspace(v_min, v_max, atoms))

    def logits(self, obs: Tensor, actions: Tensor, detach_params: bool = False) -> Tensor:
        return self.net(torch.cat([obs, actions], dim=-1), detach_params)

    def forward(self, obs: Tensor, actions: Tensor, detach_params: bool = False) -> Tensor:
        """Expected return ``[E, B]``, the Q value a policy objective uses."""
        return torch.softmax(self.logits(obs, actions, detach_params), dim=-1) @ self.support

    def frozen(self, obs: Tensor, actions: Tensor) -> Tensor:
        """Q with gradients to ``actions`` only."""
        return self.forward(obs, actions, detach_params=True)


def project_onto_support(probs: Tensor, target_values: Tensor, support: Tensor) -> Tensor:
    """C51 projection: the distribution putting mass ``probs [B, K]`` on ``target_values [B, K]``
    (clipped to the support's range), spread onto the fixed ``support [K]`` by linear
    interpolation between the two nearest atoms. Returns ``[B, K]``, rows summing to 1."""
    v_min, v_max, atoms = support[0], support[-1], support.shape[0]
    delta = (v_max - v_min) / (atoms - 1)
    b = (target_values.clamp(v_min, v_max) - v_min) / delta
    lower = b.floor().clamp(0, atoms - 1)
    upper = (lower + 1).clamp(max=atoms - 1)
    weight_upper = b - lower  # 0 when b sits on an atom (then all the mass goes to `lower`)
    out = torch.zeros_like(probs)
    out.scatter_add_(1, lower.long(), probs * (1 - weight_upper))
    out.scatter_add_(1, upper.long(), probs * weight_upper)
    return out
