"""Advantages and lambda-returns of a rollout: the on-policy side's value estimators.

Pure functions of a rollout's rewards ``[T, N]`` (T steps of N envs), its values, where its
episodes ended, and the value after its last step.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def gae(rewards: Tensor, values: Tensor, ends: Tensor, last_value: Tensor, gamma: float, lam: float) -> Tensor:
    """GAE(lambda) advantages ``[T, N]`` (Schulman et al. 2016): no bootstrap across an episode's end.

    The backward recursion runs in NumPy on the CPU: thousands of sequential steps on rows of
    ``N`` numbers, where each torch operation would cost more than its arithmetic."""
    r, v, e = (x.detach().cpu().double().numpy() for x in (rewards, values, ends))
    advantages = np.zeros_like(r)
    running = np.zeros_like(r[0])
    next_value = last_value.detach().cpu().double().numpy()
    for t in range(r.shape[0] - 1, -1, -1):
        carry = 1.0 - e[t]
        running = r[t] + gamma * next_value * carry - v[t] + gamma * lam * carry * running
        advantages[t] = running
        next_value = v[t]
    return torch.as_tensor(advantages, dtype=rewards.dtype, device=rewards.device)


def lambda_returns(
    rewards: Tensor, values: Tensor, ends: Tensor, last_value: Tensor, gamma: float, lam: float
) -> Tensor:
    """TD(lambda) returns ``[T, N]``: GAE(lambda) advantages plus the values, the value
    function's regression target."""
    return gae(rewards, values, ends, last_value, gamma, lam) + values
