"""PPO's losses (Schulman et al. 2017): the clipped surrogate of the policy and the clipped
squared error of the value function, pure functions of a minibatch's tensors ``[B]``."""

from __future__ import annotations

import torch
from torch import Tensor


def clipped_surrogate(ratio: Tensor, advantages: Tensor, clip: float) -> Tensor:
    """``mean(max(-A r, -A clip(r, 1 - eps, 1 + eps)))``: the clipped surrogate objective,
    negated (a loss to minimise)."""
    return torch.max(-advantages * ratio, -advantages * ratio.clamp(1.0 - clip, 1.0 + clip)).mean()


def clipped_value_loss(value: Tensor, old_value: Tensor, returns: Tensor, clip: float, clip_value: bool) -> Tensor:
    """``0.5 mean((V - R)^2)``; with ``clip_value``, of the larger of that error and the error of
    V moved at most ``clip`` from the old value (the PPO reference implementations)."""
    error = (value - returns).square()
    if clip_value:
        clipped = old_value + (value - old_value).clamp(-clip, clip)
        error = torch.max(error, (clipped - returns).square())
    return 0.5 * error.mean()
