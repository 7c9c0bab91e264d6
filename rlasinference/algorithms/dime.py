"""DIME (Celik et al. 2025, "DIME: Diffusion-Based Maximum Entropy Reinforcement Learning").

Recipe: diffusion-chain sampler + reverse KL on its path bound + a distributional (C51) twin
critic with CrossQ's batch renormalisation and no target network + learned temperature.

    critic: the current and next state-action pairs go through the critic in one batch (train
            mode); target atoms r + gamma (1 - terminated) (z - tau log pi^(a'|s')), projected onto
            the support, averaged over the two members; loss = cross-entropy of each member
            - entropy_coef * the entropy of its prediction
    actor (every `policy_delay` updates, critic in eval mode):
            mean_k E[tau log pi^(a|s) - Q_k(s, a)], gradient norm clipped at 1
    tau:    dual descent towards the target entropy, on the bound's entropy estimate

Defaults from the reference implementation: 2 updates per env step, actor every 3rd, Adam 3e-4
with beta1 = 0.5 for actor and critic, 1e-3 for tau, 101 atoms, entropy coefficient 0.005.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from rlasinference.algorithms.base import Agent, Batch, Preset, by_env_prefix
from rlasinference.core.checks import AT_LEAST_ONE, FINITE, LAYERS, NON_NEGATIVE, POSITIVE, UNIT, Range, ranged
from rlasinference.core.errors import UserError
from rlasinference.critics import CategoricalQEnsemble, project_onto_support
from rlasinference.objectives import Temperature, temperature_loss
from rlasinference.policies import Policy
from rlasinference.samplers import get_sampler_class


@dataclass
class DIMEConfig:
    """DIME's fields; those not listed mean what they mean for SAC (``ActorCriticConfig``).

    :param sampler: a sampler with density ``bound`` or ``exact`` (the diffusion chain).
    :param atoms: support size of the categorical critic.
    :param v_min: lowest return of the support (about -1600 on MuJoCo).
    :param v_max: highest return of the support.
    :param entropy_coef: weight of the critic's prediction-entropy bonus.
    :param batch_renorm: CrossQ's batch renormalisation in the critic (no target network either way).
    :param adam_beta1: Adam's first-moment rate for actor and critic.
    :param policy_delay: actor and tau updates once every this many critic updates.
    :param actor_grad_clip: maximum gradient norm of the actor (0: none).
    :param target_entropy: ``None`` means the reference code's effective target for the diffusion
        chain (``reference_target_entropy``), -dim(A) for other samplers; on the multi-goal
        env -dim(A) = -2 by default (``env_defaults``).
    """

    sampler: str = "diffusion"
    critic_hidden: list[int] = ranged([256, 256], LAYERS)
    atoms: int = ranged(101, Range(2))
    v_min: float = ranged(-1600.0, FINITE)
    v_max: float = ranged(1600.0, FINITE)
    entropy_coef: float = ranged(0.005, NON_NEGATIVE)
    batch_renorm: bool = True
    gamma: float = ranged(0.99, UNIT)
    lr_policy: float = ranged(3e-4, POSITIVE)
    lr_critic: float = ranged(3e-4, POSITIVE)
    lr_temperature: float = ranged(1e-3, POSITIVE)
    adam_beta1: float = ranged(0.5, Range(0, 1, high_open=True))
    actor_grad_clip: float = ranged(1.0, NON_NEGATIVE)
    policy_delay: int = ranged(3, AT_LEAST_ONE)
    temperature: float = ranged(1.0, POSITIVE)
    target_entropy: float | None = ranged(None, Range(optional=True))
    batch_size: int = ranged(256, AT_LEAST_ONE)
    buffer_size: int = ranged(1_000_000, AT_LEAST_ONE)
    learning_starts: int = ranged(5000, NON_NEGATIVE)
    updates_per_step: int = ranged(2, AT_LEAST_ONE)

    ORDERED: ClassVar[tuple[tuple[str, str], ...]] = (("v_min", "v_max"),)


def reference_target_entropy(action_dim: int, prior_std: float) -> float:
    """The target the reference code's temperature update effectively uses.

    The code compares ``log pi^ - log p_prior(x_0)`` (its "running costs", which leave out the
    prior term) with ``4 * dim(A)`` (its config says 6); in expectation over x_0 ~ N(0, sigma^2 I)
    that is the entropy target ``H_bar = -dim(A) * (4 - 1/2 - log(sigma sqrt(2 pi)))`` on the
    bound's entropy estimate: about -1.665 dim(A) for sigma = 2.5.
    """
    return -action_dim * (4.0 - 0.5 - math.log(prior_std * math.sqrt(2 * math.pi)))


def env_defaults(env_id: str) -> dict[str, Any]:
    """Ours, not the reference's (its envs are MuJoCo's): on the multi-goal env, SAC's target
    -dim(A) = -2. The reference's lower effective target (-3.33) holds tau near 0.4 there and the
    chain reaches only two of the four goals (docs/algorithms/dime.md)."""
    return {"target_entropy": -2.0} if by_env_prefix(env_id, {"MultiGoal": True}) else {}


class DIME(Agent):
    def __init__(self, config: DIMEConfig, sampler_options: dict[str, Any], obs_dim: int, action_dim: int):
        super().__init__()
        cls = get_sampler_class(config.sampler)
        if cls.density == "none":
            raise UserError(f"preset 'dime' needs a sampler with a log-density or bound; {config.sampler!r} has none")
        self.config = config
        self.batch_size, self.learning_starts = config.batch_size, config.learning_starts
        self.updates_per_step = config.updates_per_step
        self.sampler = cls(obs_dim, action_dim, **sampler_options)
        self.critic = CategoricalQEnsemble(
            obs_dim, action_dim, config.critic_hidden, 2, config.atoms, config.v_min, config.v_max, config.batch_renorm
        )
        self.temperature = Temperature(config.temperature, learned=True)
        prior_std = getattr(self.sampler, "prior_std", None)  # the diffusion chain's; others: SAC's -dim(A)
        if config.target_entropy is not None:
            self.target_entropy = config.target_entropy
        else:
            self.target_entropy = -action_dim if prior_std is None else reference_target_entropy(action_dim, prior_std)
        self.policy = Policy(self.sampler, self.critic)
        betas = (config.adam_beta1, 0.999)
        self.optimizers = {
            "critic": torch.optim.Adam(self.critic.parameters(), lr=config.lr_critic, betas=betas),
            "actor": torch.optim.Adam(self.sampler.parameters(), lr=config.lr_policy, betas=betas),
            "temperature": torch.optim.Adam([self.temperature.log_tau], lr=config.lr_temperature),
        }
        self.metric_names = ("loss_critic", "loss_policy", "loss_temperature", "tau", "entropy", "q_mean")
        self._actor_metrics: dict[str, Tensor] = {}

    def checkpoint_state(self) -> dict[str, Any]:
        # the last actor step's metrics stand in the rows until the next one: a resumed run needs
        # them (and, through them, knows that the first actor step was taken)
        return super().checkpoint_state() | {"actor_metrics": dict(self._actor_metrics)}

    def load_checkpoint_state(self, state: dict[str, Any], with_optimizers: bool = True) -> None:
        super().load_checkpoint_state(state, with_optimizers)
        device = self.temperature.log_tau.device
        self._actor_metrics = {k: v.to(device) for k, v in state.get("actor_metrics", {}).items()}

    def _step(self, name: str, loss: Tensor, clip: float = 0.0) -> None:
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], clip)
        opt.step()

    def update(self, batch: Batch) -> dict[str, Tensor]:
        cfg, n = self.config, batch.obs.shape[0]
        tau = self.temperature()
        self.updates += 1
        # critic: current and next pairs in one batch-renormalised pass, no target network
        with torch.no_grad():
            nxt = self.sampler.sample(batch.next_obs, 1)
            next_log_pi = nxt.log_density[:, 0]  # type: ignore[index]
        self.critic.train()
        logits = self.critic.logits(
            torch.cat([batch.obs, batch.next_obs]), torch.cat([batch.actions, nxt.actions[:, 0]])
        )
        current, following = logits[:, :n], logits[:, n:].detach()
        support = self.critic.support
        with torch.no_grad():
            keep = cfg.gamma * (1.0 - batch.terminated)[:, None]
            values = batch.rewards[:, None] + keep * (support[None, :] - tau * next_log_pi[:, None])
            probs = torch.softmax(following, dim=-1)
            target = torch.stack([project_onto_support(p, values, support) for p in probs]).mean(0)
        log_pred = torch.log_softmax(current, dim=-1)
        cross_entropy = -(target * log_pred).sum(-1).mean(-1).sum()
        prediction_entropy = -(log_pred.exp() * log_pred).sum(-1).mean(-1).sum()
        loss_critic = cross_entropy - cfg.entropy_coef * prediction_entropy
        self._step("critic", loss_critic)

        if self.updates % cfg.policy_delay == 0 or not self._actor_metrics:
            self.critic.eval()  # the actor sees the critic with its running statistics
            out = self.sampler.sample(batch.obs, 1)
            log_pi = out.log_density[:, 0]  # type: ignore[index]
            q = self.critic.frozen(batch.obs, out.actions[:, 0]).mean(0)
            loss_policy = (tau * log_pi - q).mean()
            self._step("actor", loss_policy, cfg.actor_grad_clip)
            loss_temperature = temperature_loss(self.temperature.log_tau, log_pi.detach(), self.target_entropy)
            self._step("temperature", loss_temperature)
            self.critic.train()
            self._actor_metrics = {
                "loss_policy": loss_policy.detach(),
                "loss_temperature": loss_temperature.detach(),
                "entropy": -log_pi.detach().mean(),
            }
        q_mean = (torch.softmax(current.detach(), -1) @ support).mean()
        return {"loss_critic": loss_critic.detach(), "tau": tau, "q_mean": q_mean, **self._actor_metrics}


DIME_PRESET = Preset(
    name="dime",
    config_cls=DIMEConfig,
    build=DIME,
    summary="DIME: diffusion-chain policy, distributional CrossQ critic, learned tau",
    critic="twin categorical (C51) + batch renorm, no target network",
    temperature="learned, the reference's effective target entropy (-dim(A) on MultiGoal)",
    objective="reverse-kl (bound), mean over critics",
    value_estimator="sampled (bound), inside the distributional target",
    densities=("exact", "bound"),
    env_defaults=env_defaults,
)
