"""The soft Bellman backup (docs/concepts.md, "Policy evaluation")."""

from __future__ import annotations

from torch import Tensor


def soft_bellman_target(reward: Tensor, terminated: Tensor, next_value: Tensor, gamma: float) -> Tensor:
    """``r + gamma * (1 - terminated) * V(s')``, all ``[B]``.

    Only ``terminated`` (a true end of the MDP) cuts the bootstrap; a time-limit truncation
    must be passed as ``terminated = 0`` so that the target still bootstraps through it.
    """
    return reward + gamma * (1.0 - terminated) * next_value
