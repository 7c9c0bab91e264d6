"""Running mean and variance of a stream of vectors (observation and reward normalisation).

Written here rather than taken from gymnasium's ``NormalizeObservation`` / ``NormalizeReward``
wrappers: the statistics must live in the agent's checkpoint (an evaluation and a resumed run
normalise exactly as training did), and the wrappers keep them in the env, out of reach of
``state_dict``. The update is the same parallel (Chan et al.) rule in float64.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class RunningMeanStd(nn.Module):
    """Mean and variance of every vector passed to ``update``, as buffers (saved with the module).

    :param dim: vector size.
    :param eps: initial count (as gymnasium's), and the variance floor of ``normalize``.
    """

    def __init__(self, dim: int, eps: float = 1e-4) -> None:
        super().__init__()
        self.eps = eps
        self.mean: Tensor
        self.var: Tensor
        self.count: Tensor
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(eps, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: Tensor) -> None:
        """Fold a batch ``[B, dim]`` into the statistics."""
        x = x.to(torch.float64)
        batch_mean, batch_var, n = x.mean(0), x.var(0, unbiased=False), x.shape[0]
        delta, total = batch_mean - self.mean, self.count + n
        m2 = self.var * self.count + batch_var * n + delta.square() * self.count * n / total
        self.mean += delta * n / total
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def normalize(self, x: Tensor, clip: float) -> Tensor:
        """``(x - mean) / sqrt(var + eps)`` clipped to ``[-clip, clip]``, in ``x``'s dtype."""
        out = (x - self.mean.to(x.dtype)) / torch.sqrt(self.var + 1e-8).to(x.dtype)
        return out.clamp(-clip, clip)

    def scale(self, x: Tensor, clip: float) -> Tensor:
        """``x / sqrt(var + eps)`` clipped (reward scaling: the mean is not removed)."""
        return (x / torch.sqrt(self.var + 1e-8).to(x.dtype)).clamp(-clip, clip)
