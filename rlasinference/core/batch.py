"""A minibatch of transitions, the unit every update and critic loss works on."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor


class Batch(NamedTuple):
    """A minibatch of transitions, all on the agent's device.

    ``obs [B, S]``, ``actions [B, A]`` in (-1, 1), ``rewards [B]``, ``next_obs [B, S]``,
    ``terminated [B]`` (1.0 only at a true MDP end, never at a time-limit truncation).
    """

    obs: Tensor
    actions: Tensor
    rewards: Tensor
    next_obs: Tensor
    terminated: Tensor
