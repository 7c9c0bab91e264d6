"""A policy is a sampler whose context is the observation."""

from __future__ import annotations

import torch
from torch import Tensor

from rlasinference.core.qfunction import QFunction
from rlasinference.samplers.base import Sampler, on_samples


class Policy:
    """Acts with a sampler; deterministic actions use the sampler's own ``mode`` rule, or, for
    samplers without one, the best of ``candidates`` samples under the critic's ensemble mean.

    :param sampler: the sampler (its context is the observation).
    :param critic: ``(obs [B, S], actions [B, A]) -> Q [E, B]``, used only by the best-of-N rule.

    A plain object, not a module: it refers to networks the agent owns, so they are saved once.
    """

    def __init__(self, sampler: Sampler, critic: QFunction | None = None, candidates: int = 32):
        self.sampler = sampler
        self._critic = critic
        self.candidates = candidates

    @torch.no_grad()
    def act(self, obs: Tensor, deterministic: bool) -> Tensor:
        """``obs [B, S] -> actions [B, A]`` in (-1, 1)."""
        if not deterministic:
            return self.sampler.draw(obs)
        mode = self.sampler.mode(obs)
        if mode is not None:
            return mode
        if self._critic is None:
            raise ValueError(f"{type(self.sampler).__name__} has no mode rule and the policy has no critic")
        actions = self.sampler.sample(obs, self.candidates).actions  # [B, N, A]
        best = on_samples(self._critic, obs, actions).mean(0).argmax(dim=1)
        return actions[torch.arange(actions.shape[0]), best]
