"""MEow (Chao et al. 2024): maximum-entropy RL with an energy-based normalizing flow.

Recipe: the `energy-flow` sampler is both policy and critic. With a fixed temperature tau,
    Q_k(s, a) = tau * log p~_k(a|s),   V_k(s) = tau * log Z_k(s)   (closed form, no sampling)
and the only loss is the soft Bellman regression
    L = mean_k (Q_k(s, a) - [r + gamma (1 - terminated) min_k Vbar_k(s')])^2
with Vbar from a Polyak-averaged copy of the flow. Policy improvement is implicit: pi = exp((Q - V)/tau).
Defaults from the reference implementation: Adam 1e-3 on all flow parameters, gradient norm
clipped at 30, batch 256, 5000 random warm-up steps, tau and Polyak rate per environment.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rlasinference.algorithms.base import Agent, Batch, Preset, by_env_prefix
from rlasinference.core.checks import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, UNIT, Range, ranged
from rlasinference.core.errors import UserError
from rlasinference.critics import polyak_update
from rlasinference.policies import Policy
from rlasinference.samplers import EnergyFlow, get_sampler_class
from rlasinference.values import soft_bellman_target

# (tau, Polyak rate) of the reference implementation's tuned runs, by env name prefix
ENV_DEFAULTS = {
    "Hopper": (0.25, 5e-3),
    "HalfCheetah": (0.25, 3e-3),
    "Walker2d": (0.1, 5e-3),
    "Ant": (0.05, 1e-4),
    "Humanoid": (0.125, 5e-4),
}


@dataclass
class MEowConfig:
    """MEow's fields; those not listed mean what they mean for SAC (``ActorCriticConfig``).

    :param sampler: an energy-based flow (``energy-flow`` or a subclass of ``EnergyFlow``).
    :param temperature: fixed tau; default per env (``ENV_DEFAULTS``), 0.2 elsewhere.
    :param polyak: target-flow averaging rate; default per env, 5e-3 elsewhere.
    :param lr: Adam step size on all flow parameters.
    :param grad_clip: maximum gradient norm (0: no clipping).
    """

    sampler: str = "energy-flow"
    temperature: float = ranged(0.2, POSITIVE)
    polyak: float = ranged(5e-3, Range(0, 1, low_open=True))
    gamma: float = ranged(0.99, UNIT)
    lr: float = ranged(1e-3, POSITIVE)
    grad_clip: float = ranged(30.0, NON_NEGATIVE)
    batch_size: int = ranged(256, AT_LEAST_ONE)
    buffer_size: int = ranged(1_000_000, AT_LEAST_ONE)
    learning_starts: int = ranged(5000, NON_NEGATIVE)
    updates_per_step: int = ranged(1, AT_LEAST_ONE)


def env_defaults(env_id: str) -> dict[str, Any]:
    found = by_env_prefix(env_id, ENV_DEFAULTS)
    return {} if found is None else {"temperature": found[0], "polyak": found[1]}


def closed_form_value(flow: EnergyFlow, next_obs: Tensor, tau: float) -> Tensor:
    """``V(s') = tau * min_k log Z_k(s')``: the clipped double-V target, in closed form. ``[B]``."""
    return tau * flow.log_normalizer(next_obs).min(dim=0).values


class MEow(Agent):
    def __init__(self, config: MEowConfig, sampler_options: dict[str, Any], obs_dim: int, action_dim: int):
        super().__init__()
        cls = get_sampler_class(config.sampler)
        if not issubclass(cls, EnergyFlow):
            raise UserError(
                f"preset 'meow' needs an energy-based flow sampler, got {config.sampler!r}; valid: energy-flow"
            )
        self.config = config
        self.batch_size, self.learning_starts = config.batch_size, config.learning_starts
        self.updates_per_step = config.updates_per_step
        self.flow = cls(obs_dim, action_dim, **sampler_options)
        self.flow_target = copy.deepcopy(self.flow).requires_grad_(False)
        self.policy = Policy(self.flow)
        self.optimizers = {"adam": torch.optim.Adam(self.flow.parameters(), lr=config.lr)}
        self.metric_names = ("loss_critic", "q_mean", "v_next_mean", "grad_norm")

    def update(self, batch: Batch) -> dict[str, Tensor]:
        cfg = self.config
        with torch.no_grad():
            v_next = closed_form_value(self.flow_target, batch.next_obs, cfg.temperature)
            q_target = soft_bellman_target(batch.rewards, batch.terminated, v_next, cfg.gamma)
        q = cfg.temperature * self.flow.log_unnormalized(batch.obs, batch.actions)  # [2, B]
        loss_critic = (q - q_target).square().mean()
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        loss_critic.backward()
        max_norm = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(self.flow.parameters(), max_norm)
        opt.step()
        polyak_update(self.flow_target, self.flow, cfg.polyak)
        return {
            "loss_critic": loss_critic.detach(),
            "q_mean": q.detach().mean(),
            "v_next_mean": v_next.mean(),
            "grad_norm": grad_norm.detach(),
        }


MEOW = Preset(
    name="meow",
    config_cls=MEowConfig,
    build=MEow,
    summary="MEow: an energy-based flow is policy and critic; closed-form soft value",
    critic="the flow itself (twin shifts b_k) + Polyak target",
    temperature="fixed, per env",
    objective="none (critic = policy)",
    value_estimator="closed-form",
    requires=EnergyFlow,
    env_defaults=env_defaults,
)
