"""``energy-flow``: the policy's energy-based flow is the critic (MEow, Chao et al. 2024).

With temperature tau, Q_k(s, a) = tau log p~_k(a|s) (the flow's unnormalised density, one per
head k of its state-only shift) and V_k(s) = tau log Z_k(s) in closed form, so the soft Bellman
regression trains the sampler itself and policy improvement is implicit. The target is a
Polyak-averaged copy of the flow.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from rlasinference.core.batch import Batch
from rlasinference.core.errors import UserError
from rlasinference.critics.base import Critic, TargetInputs
from rlasinference.critics.ensemble import update_target
from rlasinference.critics.twin import soft_bellman_regression
from rlasinference.samplers.base import Sampler
from rlasinference.samplers.energy_flow import EnergyFlow


class FlowQ:
    """A flow read as a critic: ``Q = tau log p~_k(a|s)`` ``[2, B]``, and its ``log_normalizer``
    for the closed-form value."""

    def __init__(self, flow: EnergyFlow, tau: Tensor) -> None:
        self.flow, self.tau = flow, tau

    def __call__(self, obs: Tensor, actions: Tensor) -> Tensor:
        return self.tau * self.flow.log_unnormalized(obs, actions)

    def log_normalizer(self, obs: Tensor) -> Tensor:
        return self.flow.log_normalizer(obs)


class EnergyFlowCritic(Critic):
    """The sampler as critic; its parameters are the sampler's (trained by this critic's loss)."""

    is_sampler: ClassVar[bool] = True
    summary: ClassVar[str] = "the energy-flow sampler itself: Q = tau log p~_k(a|s), V = tau log Z_k(s) (MEow)"
    value_estimators: ClassVar[tuple[str, ...] | None] = ("closed-form", "sampled", "importance")

    @classmethod
    def accepts_sampler(cls, sampler_cls: type) -> bool:
        return issubclass(sampler_cls, EnergyFlow)

    def __init__(self, obs_dim: int, action_dim: int, hidden: Sequence[int], members: int, sampler: Sampler) -> None:
        super().__init__()
        if not isinstance(sampler, EnergyFlow):
            raise UserError(f"critic 'energy-flow' needs an energy-flow sampler, got {type(sampler).__name__}")
        if members != 2:
            raise UserError(f"critic 'energy-flow' has the flow's two heads: ensemble_size must be 2, got {members}")
        self._flow: tuple[EnergyFlow] = (sampler,)  # a tuple: the agent owns the sampler, the critic only reads it
        self.target = copy.deepcopy(sampler).requires_grad_(False)
        self.tau = torch.ones(())  # the temperature of the last loss, for actor_q

    @property
    def flow(self) -> EnergyFlow:
        return self._flow[0]

    def loss(self, batch: Batch, inputs: TargetInputs) -> dict[str, Tensor]:
        self.tau = inputs.tau
        return soft_bellman_regression(FlowQ(self.flow, inputs.tau), FlowQ(self.target, inputs.tau), batch, inputs)

    def actor_q(self, obs: Tensor, actions: Tensor) -> Tensor:
        return self.tau * self.flow.log_unnormalized(obs, actions)

    def after_update(self, updates: int, polyak: float, target_update_every: int) -> None:
        update_target(self.target, self.flow, updates, polyak, target_update_every)
