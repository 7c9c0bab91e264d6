"""On-policy MaxEnt actor-critic: PPO's clipped surrogate with any sampler that has a density.

The shared recipe of the on-policy presets; one update takes a rollout of ``num_steps`` steps
of ``num_envs`` envs and, for ``epochs`` passes over it in ``minibatches`` shuffled minibatches:
  1. policy:  the clipped surrogate -min(r A, clip(r, 1 - eps, 1 + eps) A) with the ratio
              r = pi(a|s) / pi_old(a|s) of the density the sampler gives the action it took
              (``exact``: log pi; a sampler with a ``path_log_prob``: the joint density of the
              stored denoising path, exact for a chain of Gaussian steps)
  2. entropy: tau H from fresh reparameterised samples (``bonus``; exact log pi or the
              sampler's bound), or -tau log pi_old added to every reward (``reward``, the
              soft return); tau fixed, or learned by dual descent towards a target entropy
  3. value:   squared error to the GAE(lambda) returns, clipped around the old value
and one Adam step on their sum, the gradient clipped to a global norm. Advantages are GAE over
rewards in which a time-limit truncation adds gamma V(final obs) (the episode did not end).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from rlasinference.algorithms.base import Agent
from rlasinference.core.checks import AT_LEAST_ONE, LAYERS, NON_NEGATIVE, POSITIVE, STEP_SIZE, UNIT, Range, ranged
from rlasinference.core.errors import UserError, allocating
from rlasinference.core.nets import ACTIVATIONS, mlp, orthogonal_init
from rlasinference.core.normalize import RunningMeanStd
from rlasinference.objectives import Temperature, clipped_surrogate, clipped_value_loss, temperature_loss
from rlasinference.policies import Policy
from rlasinference.samplers import SAMPLERS, Sampler, get_sampler_class
from rlasinference.samplers.base import PathDensity
from rlasinference.values.gae import gae

ENTROPY_MODES = ("bonus", "reward")
VECTOR_MODES = ("sync", "async")


@dataclass
class OnPolicyConfig:
    """Fields of every on-policy preset; defaults are PPO's continuous-control ones (CleanRL's
    ``ppo_continuous_action.py``, openai/baselines ppo2 with its MuJoCo settings).

    :param sampler: registry name or ``module:Class`` of the policy's sampler.
    :param value_hidden: hidden sizes of the value network.
    :param value_activation: its activation, ``tanh`` or ``relu``.
    :param num_envs: envs stepped together.
    :param vector_env: ``sync`` (in this process, one after the other) or ``async`` (one
        subprocess per env, stepping in parallel); both give the same run.
    :param num_steps: steps per env in a rollout.
    :param epochs: passes over a rollout.
    :param minibatches: minibatches per pass.
    :param gamma: discount.
    :param gae_lambda: GAE's lambda.
    :param clip: the ratio's clip range epsilon.
    :param clip_value: clip the value around its rollout value by the same epsilon.
    :param value_coef: weight of the value loss.
    :param lr: Adam step size (policy and value).
    :param anneal_lr: lower the step size linearly to 0 over the run.
    :param max_grad_norm: global gradient norm clip (0: none).
    :param norm_adv: standardise the advantages per minibatch.
    :param norm_obs: normalise observations by running statistics (saved with the agent).
    :param clip_obs: clip normalised observations to this magnitude.
    :param norm_reward: divide rewards by the running std of the discounted return.
    :param clip_reward: clip scaled rewards to this magnitude.
    :param target_kl: stop the epochs of an update after an epoch whose mean approximate KL passes
        this (None: never; CleanRL tests the epoch's last minibatch, SB3 every minibatch).
    :param temperature: tau, the weight of the entropy (0: plain PPO); the initial value when learned.
    :param learn_temperature: learn tau by dual descent towards ``target_entropy``.
    :param target_entropy: H_bar; ``None`` means -dim(A).
    :param lr_temperature: Adam step size of log tau.
    :param entropy: ``bonus`` (tau H in the loss) or ``reward`` (-tau log pi in every reward).
    """

    sampler: str = "gaussian"
    value_hidden: list[int] = ranged([64, 64], LAYERS)
    value_activation: str = "tanh"
    num_envs: int = ranged(1, AT_LEAST_ONE)
    vector_env: str = "sync"
    num_steps: int = ranged(2048, AT_LEAST_ONE)
    epochs: int = ranged(10, AT_LEAST_ONE)
    minibatches: int = ranged(32, AT_LEAST_ONE)
    gamma: float = ranged(0.99, UNIT)
    gae_lambda: float = ranged(0.95, UNIT)
    clip: float = ranged(0.2, POSITIVE)
    clip_value: bool = True
    value_coef: float = ranged(0.5, NON_NEGATIVE)
    lr: float = ranged(3e-4, STEP_SIZE)
    anneal_lr: bool = True
    max_grad_norm: float = ranged(0.5, NON_NEGATIVE)
    norm_adv: bool = True
    norm_obs: bool = True
    clip_obs: float = ranged(10.0, POSITIVE)
    norm_reward: bool = True
    clip_reward: float = ranged(10.0, POSITIVE)
    target_kl: float | None = ranged(None, Range(0, low_open=True, optional=True))
    temperature: float = ranged(0.0, NON_NEGATIVE)
    learn_temperature: bool = False
    target_entropy: float | None = ranged(None, Range(optional=True))
    lr_temperature: float = ranged(3e-4, STEP_SIZE)
    entropy: str = "bonus"

    #: what the off-policy trainer reads; an on-policy agent learns from its rollouts only
    on_policy: ClassVar[bool] = True


def check_on_policy_parts(config: OnPolicyConfig, sampler_cls: type[Sampler]) -> None:
    """One line naming what is wrong when the config's choices do not go together."""
    if sampler_cls.space != "box":
        valid = [n for n, c in SAMPLERS if c.space == "box"]
        raise UserError(
            f"the on-policy recipe takes continuous (box) actions; sampler {config.sampler!r} draws "
            f"{sampler_cls.space} actions; valid: {', '.join(valid)}"
        )
    if not has_action_density(sampler_cls):
        valid = [n for n, c in SAMPLERS if has_action_density(c)]
        raise UserError(
            f"on-policy training needs the density of the actions taken (density exact, or a sampler with "
            f"path_log_prob); sampler {config.sampler!r} has density {sampler_cls.density!r}; valid: {', '.join(valid)}"
        )
    choices: tuple[tuple[str, str, tuple[str, ...]], ...] = (
        ("entropy", config.entropy, ENTROPY_MODES),
        ("vector_env", config.vector_env, VECTOR_MODES),
        ("value_activation", config.value_activation, tuple(ACTIVATIONS)),
    )
    for name, value, allowed in choices:
        if value not in allowed:
            raise UserError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    if config.learn_temperature and config.temperature <= 0:
        raise UserError("a learned temperature needs an initial temperature > 0, e.g. --set temperature=0.1")
    if config.minibatches > config.num_steps * config.num_envs:
        raise UserError(
            f"minibatches ({config.minibatches}) cannot exceed the rollout's num_steps x num_envs "
            f"({config.num_steps * config.num_envs})"
        )


def has_action_density(sampler_cls: type[Sampler]) -> bool:
    """Whether a PPO ratio can be formed: an exact log-density, or a path density."""
    return sampler_cls.density == "exact" or issubclass(sampler_cls, PathDensity)


class Rollout(NamedTuple):
    """One rollout, ``[T, N, ...]`` (T steps of N envs), on the agent's device.

    ``obs`` are normalised as the policy saw them; ``taken`` is what the density of the action
    is re-evaluated from (the action, or the sampler's path); ``rewards`` are scaled, with the
    truncation bootstrap added; ``ends`` is 1.0 where the episode ended after the step (either
    way); ``values`` and ``log_density`` (of ``taken``, the ratio's) are the old ones;
    ``last_value [N]`` is V of the obs after the last step; ``log_pi`` is the old policy's
    estimate of log pi(a|s) (exact, or the path bound), for the entropy.
    """

    obs: Tensor
    taken: Tensor
    rewards: Tensor
    ends: Tensor
    values: Tensor
    log_density: Tensor
    last_value: Tensor
    log_pi: Tensor


class OnPolicyAgent(Agent):
    """The on-policy agent; see the module docstring for the update."""

    def __init__(
        self,
        config: OnPolicyConfig,
        sampler_options: dict[str, Any],
        critic_options: dict[str, Any],
        obs_dim: int,
        action_dim: int,
    ) -> None:
        super().__init__()
        if critic_options:
            raise UserError("on-policy presets learn a state value, not a Q critic: they take no critic options")
        sampler_cls = get_sampler_class(config.sampler)
        check_on_policy_parts(config, sampler_cls)
        if sampler_options.get("batch_renorm"):
            # acting and the rollout's log-densities would use batch statistics of whatever batch
            # comes: the actor-critic recipe alone switches the modes (training for the loss only)
            raise UserError("sampler.batch_renorm needs an off-policy preset (sac, crossq, ...), not an on-policy one")
        self.config = config
        with allocating("the sampler (sampler.hidden and its other options)"):
            self.sampler = sampler_cls(obs_dim, action_dim, **sampler_options)
        with allocating("the value network (value_hidden)"):
            self.value = mlp(obs_dim, config.value_hidden, 1, ACTIVATIONS[config.value_activation])
        orthogonal_init(self.value, 1.0)
        self.obs_rms = RunningMeanStd(obs_dim) if config.norm_obs else None
        self.temperature = Temperature(config.temperature, config.learn_temperature) if config.temperature > 0 else None
        self.target_entropy = -float(action_dim) if config.target_entropy is None else float(config.target_entropy)
        self.policy = Policy(self.sampler)
        groups: list[dict[str, Any]] = [
            {"params": [*self.sampler.parameters(), *self.value.parameters()], "lr": config.lr, "part": "model"}
        ]
        if config.learn_temperature and self.temperature is not None:
            groups.append({"params": [self.temperature.log_tau], "lr": config.lr_temperature, "part": "temperature"})
        self.optimizers = {"adam": torch.optim.Adam(groups, eps=1e-5, fused=True)}  # eps of the PPO references
        self.metric_names = ("loss_policy", "loss_value", "entropy", "approx_kl", "clip_fraction", "lr")
        self.metric_names += ("explained_variance", "grad_norm") + ("tau",) * (self.temperature is not None)
        self.metric_names += ("loss_temperature",) * config.learn_temperature

    # -- acting --------------------------------------------------------------------------------
    def normalize_obs(self, obs: Tensor) -> Tensor:
        """Observations as the networks see them (the statistics are not updated)."""
        if self.obs_rms is None:
            return obs
        normalized = self.obs_rms.normalize(obs.cpu().numpy(), self.config.clip_obs)
        return torch.as_tensor(normalized, device=obs.device)

    def act(self, obs: Tensor, deterministic: bool) -> Tensor:
        return self.policy.act(self.normalize_obs(obs), deterministic)

    @torch.inference_mode()
    def explore(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """For a rollout step, with ``obs`` already normalised: ``(actions [N, A], taken [N, K])``,
        ``taken`` what the density of the action is evaluated from later (``taken_log_density``)."""
        if self.sampler.density == "exact":
            actions = self.sampler.draw(obs)
            return actions, actions
        samples = self.sampler.sample(obs, 1)
        return samples.actions[:, 0], samples.extras["path"].flatten(1)

    @torch.no_grad()
    def judge(self, obs: Tensor, taken: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The old policy's log-density of a rollout's actions (or paths), its log pi estimate
        and the old values, ``[B]`` each, in one batched call after the rollout (the policy does
        not change during it)."""
        log_density, log_pi = self.taken_log_density(obs, taken)
        return log_density, log_pi, self.value(obs)[:, 0]

    def taken_log_density(self, obs: Tensor, taken: Tensor) -> tuple[Tensor, Tensor]:
        """Under the current sampler, ``[B]`` each: the log-density the ratio is formed from
        (log pi of the action, or the exact joint log-density of a stored path) and the estimate
        of log pi(a|s) the entropy is taken from (the same, or the sampler's path bound).

        Also evaluated, not copied from the sample, for the old policy: the ratio of the first
        minibatch is then 1 up to float rounding, whatever the sample's own estimate was (a
        tanh-squashed action is re-evaluated from its clipped inverse, both times)."""
        if self.sampler.density == "exact":
            log_pi = self.sampler.log_prob(obs, taken.unsqueeze(1))[:, 0]
            return log_pi, log_pi
        assert isinstance(self.sampler, PathDensity)  # (checked at construction)
        log_joint, log_back = self.sampler.path_log_prob(obs, taken)
        return log_joint, log_joint - log_back

    def soft_rewards(
        self, rewards: Tensor, log_pi: Tensor, truncated: list[tuple[int, int]], final_obs: Tensor | None
    ) -> Tensor:
        """The rewards ``[T, N]`` GAE reads: the env's (scaled), with -tau log pi(a|s) added to
        each where the entropy is in the reward (the soft return), and gamma V(final obs) added
        where a time limit cut an episode at step ``t`` of env ``i`` (``truncated``, with the
        normalised ``final_obs`` in that order): the episode did not end, the value stands for
        what follows."""
        tau = self.tau()
        if tau > 0 and self.config.entropy == "reward":
            rewards = rewards - tau * log_pi
        if truncated:
            assert final_obs is not None
            for (t, i), v in zip(truncated, self.value_of(final_obs)):
                rewards[t, i] += self.config.gamma * v
        return rewards

    def tau(self) -> float:
        return 0.0 if self.temperature is None else float(self.temperature())

    def value_of(self, obs: Tensor) -> Tensor:
        with torch.no_grad():
            return self.value(obs)[:, 0]

    # -- learning ------------------------------------------------------------------------------
    def set_progress(self, fraction: float) -> float:
        """Anneal the step size for an update at ``fraction`` (0 at the start) of the run; returns it."""
        lr = self.config.lr * (1.0 - fraction) if self.config.anneal_lr else self.config.lr
        self.optimizers["adam"].param_groups[0]["lr"] = lr
        return lr

    def learn(self, rollout: Rollout) -> Iterator[dict[str, Tensor]]:
        """The update on one rollout; yields the metrics of every minibatch step."""
        cfg = self.config
        advantages = gae(rollout.rewards, rollout.values, rollout.ends, rollout.last_value, cfg.gamma, cfg.gae_lambda)
        returns = advantages + rollout.values
        flat = {
            "obs": rollout.obs.flatten(0, 1),
            "taken": rollout.taken.flatten(0, 1),
            "log_density": rollout.log_density.flatten(),
            "log_pi": rollout.log_pi.flatten(),
            "values": rollout.values.flatten(),
            "advantages": advantages.flatten(),
            "returns": returns.flatten(),
        }
        size, device = flat["returns"].shape[0], flat["returns"].device
        var = flat["returns"].var()
        # (returns without variance have no explained variance: the row leaves it out)
        explained = 1.0 - (flat["returns"] - flat["values"]).var() / var if var > 0 else None
        lr = torch.tensor(self.optimizers["adam"].param_groups[0]["lr"], device=device)
        bounds = torch.linspace(0, size, cfg.minibatches + 1).round().long().tolist()
        for _ in range(cfg.epochs):
            order = torch.randperm(size, device=device)
            kls = []
            for lo, hi in itertools.pairwise(bounds):
                metrics = self._minibatch({k: v[order[lo:hi]] for k, v in flat.items()})
                metrics["lr"] = lr
                kls.append(metrics["approx_kl"])
                yield metrics
            if cfg.target_kl is not None and float(torch.stack(kls).mean()) > cfg.target_kl:
                break
        self.updates += 1
        if explained is not None:
            yield {"explained_variance": explained.detach()}

    def _minibatch(self, mb: dict[str, Tensor]) -> dict[str, Tensor]:
        cfg = self.config
        log_density, log_pi = self.taken_log_density(mb["obs"], mb["taken"])
        log_ratio = log_density - mb["log_density"]
        ratio = log_ratio.exp()
        adv = mb["advantages"]
        if cfg.norm_adv and adv.numel() > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        loss_policy = clipped_surrogate(ratio, adv, cfg.clip)
        value = self.value(mb["obs"])[:, 0]
        loss_value = clipped_value_loss(value, mb["values"], mb["returns"], cfg.clip, cfg.clip_value)
        loss = loss_policy + cfg.value_coef * loss_value
        metrics: dict[str, Tensor] = {}
        if self.temperature is not None:
            tau = self.temperature()
            metrics["tau"] = tau
            if cfg.entropy == "bonus":
                fresh = self.sampler.sample(mb["obs"], 1).log_density
                assert fresh is not None
                loss = loss + tau * fresh.mean()  # - tau H, H = -E[log pi] (or the bound's)
                estimate = fresh
            else:
                estimate = mb["log_pi"]
                if self.sampler.density != "exact":
                    # The soft reward -tau bound_old is a constant in the surrogate. The gradient of
                    # E_path[-tau bound(path)] also has -tau E[grad bound] at a fixed path: that of
                    # log p(path) vanishes in expectation, that of the backward kernel B does not when
                    # B depends on the parameters (the chain's learned step size). Its estimate on the
                    # stored paths: bound - log p(path) = -log B - log|tanh'|, whose gradient is
                    # -grad log B (docs/algorithms/diffppo.md).
                    loss = loss + tau * (log_pi - log_density).mean()
            if cfg.learn_temperature:
                metrics["loss_temperature"] = temperature_loss(self.temperature.log_tau, estimate, self.target_entropy)
                loss = loss + metrics["loss_temperature"]
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        params = opt.param_groups[0]["params"]
        limit = cfg.max_grad_norm if cfg.max_grad_norm > 0 else math.inf
        metrics["grad_norm"] = torch.nn.utils.clip_grad_norm_(params, limit)
        opt.step()
        with torch.no_grad():
            metrics |= {
                "loss_policy": loss_policy,
                "loss_value": loss_value,
                "entropy": -mb["log_pi"].mean(),
                "approx_kl": ((ratio - 1.0) - log_ratio).mean(),
                "clip_fraction": ((ratio - 1.0).abs() > cfg.clip).float().mean(),
            }
        return {k: v.detach() for k, v in metrics.items()}
