"""Soft actor-critic with any sampler, policy objective and value estimator.

The shared recipe of SAC, DiffSAC, SQL, ... (DESIGN.md section 5):
  1. critic:  Q_k(s, a) -> r + gamma (1 - terminated) V(s'),  V from the value estimator
  2. policy:  minimise the policy objective (reverse KL / ELBO to exp(Q/tau))
  3. tau:     dual descent towards the target entropy (if learned)
  4. targets: Polyak averaging of the critic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from rlasinference.algorithms.base import Agent, Batch
from rlasinference.core.checks import AT_LEAST_ONE, LAYERS, NON_NEGATIVE, POSITIVE, UNIT, Range, ranged
from rlasinference.core.errors import UserError
from rlasinference.critics import QEnsemble, polyak_update
from rlasinference.objectives import OBJECTIVES, Temperature, temperature_loss
from rlasinference.policies import Policy
from rlasinference.samplers import SAMPLERS, get_sampler_class
from rlasinference.values import VALUE_ESTIMATORS, soft_bellman_target


@dataclass
class ActorCriticConfig:
    """Fields of every actor-critic preset; each preset changes the defaults it needs.

    :param sampler: registry name or ``module:Class`` of the policy's sampler.
    :param objective: policy objective (``rlai list`` shows them).
    :param value_estimator: estimator of V(s') in the critic target.
    :param ensemble_size: number of Q networks (2 = twin Q with the clipped min).
    :param critic_hidden: hidden sizes of each Q network.
    :param gamma: discount.
    :param polyak: target-network averaging rate (1 with ``target_update_every`` N: a hard copy every N updates).
    :param target_update_every: update the target critic every this many gradient updates.
    :param lr_policy: Adam step size of the sampler.
    :param lr_critic: Adam step size of the critic.
    :param lr_temperature: Adam step size of log tau.
    :param batch_size: transitions per update.
    :param buffer_size: replay capacity (transitions).
    :param learning_starts: env steps with uniform-random actions before the first update.
    :param updates_per_step: gradient updates per env step.
    :param learn_temperature: learn tau by dual descent (else fixed at ``temperature``).
    :param temperature: tau: its initial value when learned, else its fixed value.
    :param target_entropy: target entropy H_bar; ``None`` means -dim(A).
    :param value_samples: action samples per next state in the value estimator; ``None`` means
        the estimator's own default (1 for ``sampled``, 16 for ``importance``).
    :param reward_scale: rewards are multiplied by this in the critic target. Scaling rewards by
        c at temperature tau gives the same policy as temperature tau / c (Q scaled by c).
    :param stein_particles: particles per state of the ``stein`` objective.
    :param stein_fixed: of those, the fixed ones (score and repulsion); the rest are moved.
    """

    sampler: str = "gaussian"
    objective: str = "reverse-kl"
    value_estimator: str = "sampled"
    ensemble_size: int = ranged(2, AT_LEAST_ONE)
    critic_hidden: list[int] = ranged([256, 256], LAYERS)
    gamma: float = ranged(0.99, UNIT)
    polyak: float = ranged(0.005, Range(0, 1, low_open=True))
    target_update_every: int = ranged(1, AT_LEAST_ONE)
    lr_policy: float = ranged(3e-4, POSITIVE)
    lr_critic: float = ranged(3e-4, POSITIVE)
    lr_temperature: float = ranged(3e-4, POSITIVE)
    batch_size: int = ranged(256, AT_LEAST_ONE)
    buffer_size: int = ranged(1_000_000, AT_LEAST_ONE)
    learning_starts: int = ranged(5000, NON_NEGATIVE)
    updates_per_step: int = ranged(1, AT_LEAST_ONE)
    learn_temperature: bool = True
    temperature: float = ranged(1.0, POSITIVE)
    target_entropy: float | None = ranged(None, Range(optional=True))
    value_samples: int | None = ranged(None, Range(1, optional=True))
    reward_scale: float = ranged(1.0, POSITIVE)
    stein_particles: int = ranged(16, Range(2))
    stein_fixed: int = ranged(8, AT_LEAST_ONE)

    ORDERED: ClassVar[tuple[tuple[str, str], ...]] = (("stein_fixed", "stein_particles"),)


class ActorCritic(Agent):
    """The actor-critic agent; see the module docstring for the update."""

    def __init__(self, config: ActorCriticConfig, sampler_options: dict[str, Any], obs_dim: int, action_dim: int):
        super().__init__()
        sampler_cls = get_sampler_class(config.sampler)
        objective = OBJECTIVES.get(config.objective)
        value_estimator = VALUE_ESTIMATORS.get(config.value_estimator)
        for role, comp in (("policy objective", objective), ("value estimator", value_estimator)):
            valid = [n for n, c in SAMPLERS if c.density in comp.accepts]
            comp.check(role, config.sampler, sampler_cls.density, valid)
        if config.learn_temperature and sampler_cls.density == "none":
            raise UserError(
                f"sampler {config.sampler!r} has no density, so tau cannot be learned; "
                "use --set learn_temperature=false"
            )
        self.config = config
        self.objective = objective.bind(config)
        self.value_estimator = value_estimator.bind(config)
        if config.value_samples is not None:
            self.value_estimator = functools.partial(self.value_estimator, n=config.value_samples)
        self.has_density = sampler_cls.density != "none"
        self.batch_size = config.batch_size
        self.learning_starts = config.learning_starts
        self.updates_per_step = config.updates_per_step
        self.target_entropy = float(-action_dim if config.target_entropy is None else config.target_entropy)

        self.sampler = sampler_cls(obs_dim, action_dim, **sampler_options)
        self.critic = QEnsemble(obs_dim, action_dim, config.critic_hidden, config.ensemble_size)
        self.critic_target = QEnsemble(obs_dim, action_dim, config.critic_hidden, config.ensemble_size)
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.requires_grad_(False)
        self.temperature = Temperature(config.temperature, config.learn_temperature)
        self.policy = Policy(self.sampler, self.critic)

        # One Adam over three parameter groups: the three losses reach disjoint parameters
        # (the policy loss sees the critic through detached parameters, the dual loss a
        # detached entropy), so a single backward pass and step give each part its own update.
        groups: list[dict[str, Any]] = [
            {"params": list(self.critic.parameters()), "lr": config.lr_critic},
            {"params": list(self.sampler.parameters()), "lr": config.lr_policy},
        ]
        if config.learn_temperature:
            groups.append({"params": [self.temperature.log_tau], "lr": config.lr_temperature})
        self.optimizers = {"adam": torch.optim.Adam(groups, fused=True)}
        self.metric_names = ("loss_critic", "loss_policy", "tau", "q_mean")
        self.metric_names += ("loss_temperature",) * config.learn_temperature
        self.metric_names += ("entropy",) * self.has_density + objective.metrics

    def update(self, batch: Batch) -> dict[str, Tensor]:
        cfg = self.config
        tau = self.temperature()

        # soft Bellman target from the target critic (clipped double-Q inside the value estimator)
        with torch.no_grad():
            v_next = self.value_estimator(batch.next_obs, self.sampler, self.critic_target, tau)
            q_target = soft_bellman_target(cfg.reward_scale * batch.rewards, batch.terminated, v_next, cfg.gamma)
        # 1. critic: soft Bellman regression
        q = self.critic(batch.obs, batch.actions)  # [E, B]
        loss_critic = 0.5 * (q - q_target).square().mean(dim=1).sum()
        # 2. policy: the objective differentiates through the critic into the sampler only
        out = self.objective(batch.obs, self.sampler, self.critic.frozen, tau)
        # 3. temperature: dual descent on log tau from the same samples' entropy estimate
        loss_temperature = torch.zeros((), device=q.device)
        if cfg.learn_temperature:  # (the constructor ensures the sampler has a density)
            loss_temperature = temperature_loss(self.temperature.log_tau, out["log_density"], self.target_entropy)

        # All gradients are taken at the same parameters before any is applied, as in the
        # reference implementation (softlearning runs the Q, policy and alpha ops together).
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        (loss_critic + out["loss_policy"] + loss_temperature).backward()
        opt.step()

        # 4. target critic
        self.updates += 1
        if self.updates % cfg.target_update_every == 0:
            polyak_update(self.critic_target, self.critic, cfg.polyak)
        metrics = {"loss_critic": loss_critic.detach(), "loss_policy": out["loss_policy"].detach()}
        metrics |= {"tau": tau, "q_mean": q.detach().mean()}
        if cfg.learn_temperature:
            metrics["loss_temperature"] = loss_temperature.detach()
        if self.has_density:
            metrics["entropy"] = -out["log_density"].mean()
        return metrics | {name: out[name].detach() for name in self.metric_names if name in out}
