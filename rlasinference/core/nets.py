"""Plain MLPs and ensembles of MLPs with parameters stacked along a leading member axis."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


class _Constant(nn.Module):
    """First layer for an empty context ([B, 0]): a learned vector broadcast over the batch."""

    def __init__(self, out_dim: int) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.zeros(out_dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.value.expand(*x.shape[:-1], -1).clone()  # a fresh tensor: in-place ReLU follows


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """ReLU MLP ``in_dim -> hidden... -> out_dim``; ``in_dim == 0`` (empty context) is allowed."""
    dims = [in_dim, *hidden, out_dim]
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
        layers.append(_Constant(d_out) if d_in == 0 else nn.Linear(d_in, d_out))
        if i < len(dims) - 2:
            layers.append(activation(inplace=True) if activation is nn.ReLU else activation())
    return nn.Sequential(*layers)


class EnsembleMLP(nn.Module):
    """``members`` independent ReLU MLPs whose parameters are stacked: weight ``[E, in, out]``.

    ``forward(x [B, in]) -> [E, B, out]``. The stacked layout is what ``torch.vmap`` over a
    single member computes; we evaluate it with one batched matmul per layer (``baddbmm``),
    which is the same arithmetic without vmap's dispatch overhead on small networks.
    Each member is initialised like ``nn.Linear`` (uniform in +-1/sqrt(fan_in)).
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, members: int) -> None:
        super().__init__()
        dims = [in_dim, *hidden, out_dim]
        self.members = members
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in itertools.pairwise(dims):
            bound = 1.0 / math.sqrt(d_in)
            self.weights.append(nn.Parameter(torch.empty(members, d_in, d_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(members, 1, d_out).uniform_(-bound, bound)))

    def forward(self, x: Tensor, detach_params: bool = False) -> Tensor:
        """``x [B, in] -> [E, B, out]``; ``detach_params`` lets gradients reach ``x`` but not the
        parameters (a policy loss differentiates through a critic it must not train)."""
        h = x.unsqueeze(0).expand(self.members, *x.shape)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if detach_params:
                w, b = w.detach(), b.detach()
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = h.relu_()  # in place: baddbmm's backward does not need its output
        return h
