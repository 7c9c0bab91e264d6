"""Soft actor-critic with any sampler, policy objective, value estimator and critic.

The shared recipe of the off-policy presets (docs/concepts.md); one update:
  1. critic:  its own soft Bellman loss (critic registry), V(s') from the value estimator
  2. policy:  minimise the policy objective (reverse KL / ELBO to exp(Q/tau)) against what the
              critic gives the actor (min or mean over members), every ``policy_delay`` updates
  3. tau:     dual descent towards the target entropy (if learned), with the policy: SAC's
              one-step rule, or TECRL's trajectory rule on the entropy critic's entropy to go
  4. targets: the critic's own (Polyak averaging, or none).
With ``entropy_critic`` (TECRL) the critic's target is formed at tau = 0 (reward only) and an
entropy critic learns the entropy to come; the actor reads Q + tau Q_e (critics/entropy.py).
With ``critic_first`` the critic takes its step before the policy's loss is formed (DIME,
CrossQ); otherwise all gradients are taken at the same parameters and applied in one step
(SAC's reference). One Adam over per-part parameter groups (learning rate, beta1, gradient
clipping per part).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from rlasinference.algorithms.base import Batch, ReplayAgent
from rlasinference.core.checks import AT_LEAST_ONE, LAYERS, NON_NEGATIVE, POSITIVE, STEP_SIZE, UNIT, Range, ranged
from rlasinference.core.errors import UserError, allocating
from rlasinference.critics import CRITICS, Critic, TargetInputs, get_critic_class
from rlasinference.critics.entropy import EntropyCritic
from rlasinference.objectives import OBJECTIVES, Temperature, temperature_loss, trajectory_temperature_loss
from rlasinference.policies import Policy
from rlasinference.samplers import SAMPLERS, Sampler, get_sampler_class
from rlasinference.values import VALUE_ESTIMATORS

ACTOR_Q = ("min", "mean")
TEMPERATURE_RULES = ("step", "trajectory")


@dataclass
class ActorCriticConfig:
    """Fields of every actor-critic preset; each preset changes the defaults it needs.

    :param sampler: registry name or ``module:Class`` of the policy's sampler.
    :param objective: policy objective (``rlai list`` shows them).
    :param value_estimator: estimator of V(s') in the critic target.
    :param critic: the critic (``rlai list`` shows them; options as ``critic.<name>``).
    :param actor_q: what the policy objective reads from the critic's members: ``min`` or ``mean``.
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
    :param warmup_policy: draw those warm-up actions from the untrained policy instead (DSAC-v2's
        collector does).
    :param updates_per_step: gradient updates per env step.
    :param update_every: env steps between those updates (DQN's train frequency; 1: every step).
    :param learn_temperature: learn tau by dual descent (else fixed at ``temperature``).
    :param temperature: tau: its initial value when learned, else its fixed value.
    :param target_entropy: target entropy H_bar; ``None`` means -dim(A).
    :param value_samples: action samples per next state in the value estimator; ``None`` means
        the estimator's own default (1 for ``sampled``, 16 for ``importance``).
    :param reward_scale: rewards are multiplied by this in the critic target. Scaling rewards by
        c at temperature tau gives the same policy as temperature tau / c (Q scaled by c).
    :param stein_particles: particles per state of the ``stein`` objective.
    :param stein_fixed: of those, the fixed ones (score and repulsion); the rest are moved.
    :param stein_cover: the weight of the ``stein`` objective's mass-aware term, a weighted MMD
        to uniform draws on the action box (0: off, soft Q-learning's update; ``box_mmd``).
    :param cover_samples: draws per state of the ``covering-kl`` objective's forward term (and
        of ``stein_cover``'s term).
    :param cover_weight: the weight of that forward-KL term beside the reverse KL.
    :param cover_uniform: the share of those draws taken uniformly on the action box (a
        defensive mixture that reaches modes the sampler has emptied; worth it in few action
        dimensions, where uniform draws land on the target's modes).
    :param policy_delay: policy and tau updates once every this many critic updates.
    :param critic_first: the critic steps before the policy loss is formed (else one joint step).
    :param adam_beta1: Adam's first-moment rate of the critic and the policy (tau keeps 0.9).
    :param adam_eps: Adam's epsilon, every part.
    :param grad_clip_critic: maximum gradient norm of the critic's parameters (0: none).
    :param grad_clip_policy: maximum gradient norm of the sampler's parameters (0: none).
    :param entropy_critic: learn the reward and the entropy in two Q-functions (TECRL): the
        critic's target carries no entropy, an entropy critic (same hidden sizes, twin, Polyak)
        learns the discounted entropy to come, and the actor reads Q + tau Q_e.
    :param temperature_rule: how a learned tau moves: ``step`` (SAC: the policy's entropy at the
        batch's states towards ``target_entropy``) or ``trajectory`` (TECRL: the discounted
        average entropy along the trajectory, (1 - gamma) V_e(s'), towards ``target_entropy``;
        needs ``entropy_critic``).
    """

    sampler: str = "gaussian"
    objective: str = "reverse-kl"
    value_estimator: str = "sampled"
    critic: str = "twin"
    actor_q: str = "min"
    ensemble_size: int = ranged(2, AT_LEAST_ONE)
    critic_hidden: list[int] = ranged([256, 256], LAYERS)
    gamma: float = ranged(0.99, UNIT)
    polyak: float = ranged(0.005, Range(0, 1, low_open=True))
    target_update_every: int = ranged(1, AT_LEAST_ONE)
    lr_policy: float = ranged(3e-4, STEP_SIZE)
    lr_critic: float = ranged(3e-4, STEP_SIZE)
    lr_temperature: float = ranged(3e-4, STEP_SIZE)
    batch_size: int = ranged(256, AT_LEAST_ONE)
    buffer_size: int = ranged(1_000_000, AT_LEAST_ONE)
    learning_starts: int = ranged(5000, NON_NEGATIVE)
    warmup_policy: bool = False
    updates_per_step: int = ranged(1, AT_LEAST_ONE)
    update_every: int = ranged(1, AT_LEAST_ONE)
    learn_temperature: bool = True
    temperature: float = ranged(1.0, POSITIVE)
    target_entropy: float | None = ranged(None, Range(optional=True))
    value_samples: int | None = ranged(None, Range(1, optional=True))
    reward_scale: float = ranged(1.0, POSITIVE)
    stein_particles: int = ranged(16, Range(2))
    stein_fixed: int = ranged(8, AT_LEAST_ONE)
    stein_cover: float = ranged(0.0, NON_NEGATIVE)
    cover_samples: int = ranged(16, Range(2))
    cover_weight: float = ranged(1.0, POSITIVE)
    cover_uniform: float = ranged(0.0, Range(0, 1, high_open=True))
    policy_delay: int = ranged(1, AT_LEAST_ONE)
    critic_first: bool = False
    adam_beta1: float = ranged(0.9, Range(0, 1, high_open=True))
    adam_eps: float = ranged(1e-8, POSITIVE)
    grad_clip_critic: float = ranged(0.0, NON_NEGATIVE)
    grad_clip_policy: float = ranged(0.0, NON_NEGATIVE)
    entropy_critic: bool = False
    temperature_rule: str = "step"

    ORDERED: ClassVar[tuple[tuple[str, str], ...]] = (("stein_fixed", "stein_particles"),)

    def default_target_entropy(self, sampler: Sampler, action_dim: int) -> float:
        """The target entropy when ``target_entropy`` is ``None``: SAC's -dim(A)."""
        return -float(action_dim)


def check_parts(config: ActorCriticConfig, sampler_cls: type[Sampler]) -> None:
    """One line naming what is wrong, and the valid choices, when the sampler, objective, value
    estimator and critic of ``config`` do not go together (constructor, ``rlai list``, sweeps)."""
    objective = OBJECTIVES.get(config.objective)
    value_estimator = VALUE_ESTIMATORS.get(config.value_estimator)
    critic_cls = get_critic_class(config.critic)
    for role, comp in (("policy objective", objective), ("value estimator", value_estimator)):
        valid = [n for n, c in SAMPLERS if comp.fits(c)]
        comp.check(role, config.sampler, sampler_cls, valid)
    if critic_cls.space != sampler_cls.space:
        valid = [n for n, c in CRITICS if c.space == sampler_cls.space]
        raise UserError(
            f"critic {config.critic!r} reads {critic_cls.space} actions, but sampler {config.sampler!r} draws "
            f"{sampler_cls.space} actions; valid critics: {', '.join(valid)}"
        )
    estimators = critic_cls.value_estimators
    if estimators is not None and config.value_estimator not in estimators:
        raise UserError(
            f"critic {config.critic!r} cannot use value estimator {config.value_estimator!r}; "
            f"valid: {', '.join(estimators)}"
        )
    if not critic_cls.accepts_sampler(sampler_cls):
        valid = [n for n, c in SAMPLERS if critic_cls.accepts_sampler(c)]
        raise UserError(
            f"critic {config.critic!r} cannot be used with sampler {config.sampler!r}; valid: {', '.join(valid)}"
        )
    if critic_cls.is_sampler != (config.objective == "none"):
        valid = [n for n, c in CRITICS if c.is_sampler] if config.objective == "none" else ["any objective but none"]
        raise UserError(
            f"objective {config.objective!r} and critic {config.critic!r} do not go together: objective none "
            f"trains the sampler through a critic that is the sampler (valid: {', '.join(valid)}), and such a critic "
            "takes no other objective"
        )
    if config.actor_q not in ACTOR_Q:
        raise UserError(f"actor_q must be one of {', '.join(ACTOR_Q)}, got {config.actor_q!r}")
    if config.temperature_rule not in TEMPERATURE_RULES:
        raise UserError(
            f"temperature_rule must be one of {', '.join(TEMPERATURE_RULES)}, got {config.temperature_rule!r}"
        )
    if config.temperature_rule == "trajectory" and not (config.entropy_critic and config.learn_temperature):
        raise UserError(
            "temperature_rule=trajectory constrains the entropy critic's entropy to go: it needs "
            "--set entropy_critic=true and learn_temperature=true"
        )
    if config.entropy_critic:
        if sampler_cls.space != "box" or critic_cls.is_sampler or sampler_cls.density == "none":
            raise UserError(
                f"entropy_critic needs a box sampler with a log-density and a critic apart from it, not sampler "
                f"{config.sampler!r} with critic {config.critic!r}"
            )
        if config.value_estimator != "sampled":
            raise UserError(
                f"entropy_critic forms the critic's target at tau = 0, which value estimator "
                f"{config.value_estimator!r} cannot; valid: sampled"
            )
    if config.learn_temperature and not (sampler_cls.density != "none" and objective.log_density):
        raise UserError(
            f"tau cannot be learned with sampler {config.sampler!r} and objective {config.objective!r} "
            "(no estimate of log pi); use --set learn_temperature=false"
        )


class ActorQ:
    """What the policy objective reads from the critic: ``critic.actor_q``, or the mean over its
    members (``actor_q`` mean), with ``all_actions`` (``[E, B, K]`` in one pass) where the critic
    has one output per discrete action. With an entropy critic, ``tau * min_k Q_e,k`` is added to
    every member (``tau``: a callable giving the current temperature)."""

    def __init__(self, critic: Critic, mean: bool, entropy: EntropyCritic | None = None, tau: Any = None) -> None:
        self.critic, self.mean, self.entropy, self.tau = critic, mean, entropy, tau
        if critic.space == "discrete":  # a bound method, not a lambda: a deep copy then reads its own critic
            self.all_actions = self._all_actions

    def _all_actions(self, obs: Tensor) -> Tensor:
        return self._reduce(self.critic.actor_q_all(obs))

    def _reduce(self, q: Tensor) -> Tensor:
        return q.mean(0, keepdim=True) if self.mean else q

    def __call__(self, obs: Tensor, actions: Tensor) -> Tensor:
        q = self._reduce(self.critic.actor_q(obs, actions))
        if self.entropy is not None:
            q = q + self.tau() * self.entropy.actor_q(obs, actions)
        return q


class ActorCritic(ReplayAgent):
    """The actor-critic agent; see the module docstring for the update."""

    def __init__(
        self,
        config: ActorCriticConfig,
        sampler_options: dict[str, Any],
        critic_options: dict[str, Any],
        obs_dim: int,
        action_dim: int,
    ):
        super().__init__()
        sampler_cls = get_sampler_class(config.sampler)
        check_parts(config, sampler_cls)
        objective = OBJECTIVES.get(config.objective)
        self.config = config
        self.objective = objective.bind(config)
        self.value_estimator = VALUE_ESTIMATORS.get(config.value_estimator).bind(config)
        if config.value_samples is not None:
            self.value_estimator = functools.partial(self.value_estimator, n=config.value_samples)
        self.batch_size = config.batch_size
        self.learning_starts = config.learning_starts
        self.warmup_policy = config.warmup_policy
        self.updates_per_step = config.updates_per_step
        self.update_every = config.update_every

        with allocating("the sampler (sampler.hidden and its other options)"):
            self.sampler = sampler_cls(obs_dim, action_dim, **sampler_options)
        # evaluation mode except while the policy loss is formed: a batch-renormalised actor
        # (CrossQ's) acts and samples the critic's next actions with its running statistics
        self.sampler.eval()
        critic_cls = get_critic_class(config.critic)
        try:
            with allocating("the critic (critic_hidden, ensemble_size, critic.<option>)"):
                self.critic = critic_cls(
                    obs_dim, action_dim, config.critic_hidden, config.ensemble_size, self.sampler, **critic_options
                )
        except ValueError as exc:
            raise UserError(f"cannot build critic {config.critic!r}: {exc}") from None
        self.temperature = Temperature(config.temperature, config.learn_temperature)
        self.target_entropy = float(
            config.default_target_entropy(self.sampler, action_dim)
            if config.target_entropy is None
            else config.target_entropy
        )
        self.entropy_critic = None
        if config.entropy_critic:
            with allocating("the entropy critic (critic_hidden)"):
                self.entropy_critic = EntropyCritic(obs_dim, action_dim, config.critic_hidden)
        self.actor_q = ActorQ(self.critic, config.actor_q == "mean", self.entropy_critic, self.temperature)
        self.policy = Policy(self.sampler, self.actor_q)
        self.critic.set_temperature(self.temperature())

        # One Adam over per-part parameter groups. Parameters the critic shares with the sampler
        # (a critic that is the sampler) are the sampler's group.
        own = {id(p) for p in self.sampler.parameters()}
        critic_params = [p for p in self.critic.parameters() if p.requires_grad and id(p) not in own]
        betas = (config.adam_beta1, 0.999)
        groups: list[dict[str, Any]] = []
        if critic_params:
            groups.append({"params": critic_params, "lr": config.lr_critic, "betas": betas, "part": "critic"})
        if self.entropy_critic is not None:
            params = list(self.entropy_critic.q.parameters())
            groups.append({"params": params, "lr": config.lr_critic, "betas": betas, "part": "entropy_critic"})
        groups.append(
            {"params": list(self.sampler.parameters()), "lr": config.lr_policy, "betas": betas, "part": "policy"}
        )
        if config.learn_temperature:
            groups.append({"params": [self.temperature.log_tau], "lr": config.lr_temperature, "part": "temperature"})
        self.optimizers = {"adam": torch.optim.Adam(groups, eps=config.adam_eps, fused=True)}
        self.clips = {"critic": config.grad_clip_critic, "policy": config.grad_clip_policy}
        self.clips["entropy_critic"] = config.grad_clip_critic

        trains_policy = config.objective != "none"
        self.metric_names = ("loss_critic",) + ("loss_policy",) * trains_policy + ("tau", "q_mean")
        self.metric_names += self.critic.metrics + ("loss_temperature",) * config.learn_temperature
        self.metric_names += ("loss_entropy_critic", "entropy_q_mean", "entropy_to_go") * config.entropy_critic
        self.metric_names += ("entropy",) * objective.log_density + objective.metrics
        parts = {g["part"] for g in groups}
        self.metric_names += tuple(
            f"grad_norm_{part}" for part, clip in self.clips.items() if clip > 0 and part in parts
        )

    def _step(self, loss: Tensor, metrics: dict[str, Tensor]) -> None:
        """One backward pass and Adam step; the parts whose parameters got gradients move, each
        clipped to its own maximum norm first."""
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for group in opt.param_groups:
            clip = self.clips.get(group["part"], 0.0)
            params = [p for p in group["params"] if p.grad is not None]
            if clip > 0 and params:
                metrics[f"grad_norm_{group['part']}"] = torch.nn.utils.clip_grad_norm_(params, clip).detach()
        opt.step()

    def update(self, batch: Batch) -> dict[str, Tensor]:
        cfg = self.config
        tau = self.temperature()
        actor_step = (self.updates + 1) % cfg.policy_delay == 0
        self.updates += 1

        # with an entropy critic the critic's target is the reward's alone
        tau_critic = tau * 0.0 if self.entropy_critic is not None else tau

        def value(q: Any) -> Tensor:
            return self.value_estimator(batch.next_obs, self.sampler, q, tau_critic)

        @torch.no_grad()
        def sample_next() -> tuple[Tensor, Tensor]:
            nxt = self.sampler.sample(batch.next_obs, 1)
            assert nxt.log_density is not None, "this critic needs a sampler with a log-density"
            return nxt.actions[:, 0], nxt.log_density[:, 0]

        inputs = TargetInputs(value, sample_next, tau_critic, cfg.gamma, cfg.reward_scale)
        # 1. critic: its soft Bellman loss (and the entropy critic's TD loss)
        critic_out = self.critic.loss(batch, inputs)
        metrics = {k: v.detach() for k, v in critic_out.items()} | {"tau": tau}
        critic_loss = critic_out["loss_critic"]
        entropy_to_go = None
        if self.entropy_critic is not None:
            entropy_out = self.entropy_critic.loss(batch, sample_next, cfg.gamma)
            entropy_to_go = entropy_out.pop("entropy_to_go")
            metrics |= {k: v.detach() for k, v in entropy_out.items()} | {"entropy_to_go": entropy_to_go.mean()}
            critic_loss = critic_loss + entropy_out["loss_entropy_critic"]
        loss: Tensor | None = critic_loss
        if cfg.critic_first or not actor_step:
            self._step(critic_loss, metrics)
            loss = None
        if actor_step:
            # 2. policy: the objective differentiates through the critic into the sampler only,
            # the sampler in training mode (batch statistics, as CrossQ's actor update)
            self.sampler.train()
            try:
                out = self.objective(batch.obs, self.sampler, self.actor_q, tau)
            finally:
                self.sampler.eval()
            actor_loss = out["loss_policy"]
            metrics["loss_policy"] = actor_loss.detach()
            # 3. temperature: dual descent on log tau from the same samples' entropy estimate
            if cfg.learn_temperature:
                if cfg.temperature_rule == "trajectory":
                    assert entropy_to_go is not None
                    loss_temperature = trajectory_temperature_loss(
                        self.temperature.log_tau, entropy_to_go, self.target_entropy, cfg.gamma
                    )
                else:
                    loss_temperature = temperature_loss(
                        self.temperature.log_tau, out["log_density"], self.target_entropy
                    )
                actor_loss = actor_loss + loss_temperature
                metrics["loss_temperature"] = loss_temperature.detach()
            if out.get("log_density") is not None:
                metrics["entropy"] = -out["log_density"].mean()
            metrics |= {name: out[name].detach() for name in self.metric_names if name in out and name != "loss_policy"}
            # All gradients are taken at the same parameters before any is applied, as in SAC's
            # reference implementation, unless the critic stepped first.
            total = actor_loss if loss is None else loss + actor_loss
            if total.requires_grad:  # (objective none after the critic's own step: nothing left to train)
                self._step(total, metrics)
            if cfg.learn_temperature:
                self.critic.set_temperature(self.temperature())
        # 4. the critic's target
        self.critic.after_update(self.updates, cfg.polyak, cfg.target_update_every)
        if self.entropy_critic is not None:
            self.entropy_critic.after_update(self.updates, cfg.polyak, cfg.target_update_every)
        return {k: v for k, v in metrics.items() if k in self.metric_names}
