"""``dsac``: a Gaussian return-distribution critic with DSAC-T's three refinements (Duan et al.,
"Distributional Soft Actor-Critic with Three Refinements", 2025; reference code
Jingliang-Duan/DSAC-v2, ``dsac_v2.py``).

Each of E members predicts a Gaussian N(Q_k(s, a), sigma_k(s, a)^2) of the soft return (its
network gives the mean and, through a softplus, sigma). With one next action a' ~ pi(.|s') and
the member j whose target mean at (s', a') is the smaller (twin value-distribution learning):

    y   = r + gamma (1 - d) (Qbar_j(s', a') - tau log pi(a'|s'))                  (the mean target)
    y_s = r + gamma (1 - d) (Qbar_j(s', a') + clip(z, -3, 3) sigmabar_j - tau log pi(a'|s'))

and, with b_k = 3 * sbar_k, sbar_k a moving average of member k's sigma over batches,
``y_b = Q_k + clip(y_s - Q_k, -b_k, b_k)`` (the clipped sample). The loss of member k is

    w_k [ huber(Q_k, y) + sigma_k (sigma_k'^2 - huber(Q_k', y_b)) / (sigma_k' + 0.1) ]

(primes: no gradient; Huber's delta 50): expected-value substituting (the mean is fitted to the
mean target y, not to a sample), and variance-based gradient adjustment
``w_k = clip(sbar_k^2 / (sigma_k'^2 + 0.1), 0.1, 10)``. The actor reads min_k Q_k.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlasinference.core.batch import Batch
from rlasinference.core.checks import Range
from rlasinference.core.nets import EnsembleMLP
from rlasinference.critics.base import Critic, TargetInputs
from rlasinference.critics.ensemble import update_target
from rlasinference.samplers.base import Sampler

HUBER_DELTA = 50.0  # the reference's
BIAS = 0.1  # the reference's floor in the variance terms
SAMPLE_CLIP = 3.0  # z of the sampled return, and the bound in sbar's


class GaussianQ(nn.Module):
    """E members ``(obs, actions) -> (mean [E, B], sigma [E, B])``, sigma through a softplus."""

    def __init__(self, obs_dim: int, action_dim: int, hidden: Sequence[int], members: int, gelu: bool) -> None:
        super().__init__()
        self.net = EnsembleMLP(obs_dim + action_dim, hidden, 2, members, gelu=gelu)

    def forward(self, obs: Tensor, actions: Tensor, detach_params: bool = False) -> tuple[Tensor, Tensor]:
        out = self.net(torch.cat([obs, actions], dim=-1), detach_params)
        return out[..., 0], F.softplus(out[..., 1])


def dsac_member_losses(q: Tensor, sigma: Tensor, target: Tensor, target_sample: Tensor, mean_sigma: Tensor) -> Tensor:
    """Each member's DSAC-T loss ``[E]`` from its mean ``q [E, B]`` and ``sigma [E, B]``, the mean
    target ``y [B]``, the sampled target ``y_s [B]`` and the moving average of sigma ``[E]``."""
    sbar = mean_sigma.unsqueeze(1)
    sigma_d, q_d = sigma.detach().clamp_min(0.0), q.detach()
    bound = SAMPLE_CLIP * sbar
    clipped = q_d + torch.maximum(torch.minimum(target_sample - q_d, bound), -bound)
    weight = (sbar.square() / (sigma_d.square() + BIAS)).clamp(0.1, 10.0)
    mean_term = F.huber_loss(q, target.expand_as(q), delta=HUBER_DELTA, reduction="none")
    spread = F.huber_loss(q_d, clipped, delta=HUBER_DELTA, reduction="none")
    sigma_term = sigma * (sigma_d.square() - spread) / (sigma_d + BIAS)
    return (weight * (mean_term + sigma_term)).mean(dim=1)


class DSACCritic(Critic):
    """Gaussian return distributions with DSAC-T's refinements; a Polyak-averaged target copy.

    :param gelu: GELU between the layers (the reference's), else ReLU.
    :param sigma_rate: the rate of the moving average of each member's sigma (the reference's
        ``tau_b``, its Polyak rate 0.005).
    """

    summary: ClassVar[str] = (
        "Gaussian return distributions with DSAC-T's refinements: expected-value substituting, "
        "twin distributions, variance-based gradient adjustment"
    )
    value_estimators: ClassVar[tuple[str, ...] | None] = ("sampled",)
    metrics: ClassVar[tuple[str, ...]] = ("q_sigma",)
    option_ranges: ClassVar[dict[str, Range]] = {"sigma_rate": Range(0, 1, low_open=True)}

    mean_sigma: Tensor

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden: Sequence[int],
        members: int,
        sampler: Sampler,
        gelu: bool = True,
        sigma_rate: float = 0.005,
    ) -> None:
        super().__init__()
        self.q = GaussianQ(obs_dim, action_dim, hidden, members, gelu)
        self.target = copy.deepcopy(self.q).requires_grad_(False)
        self.sigma_rate = sigma_rate
        self.register_buffer("mean_sigma", torch.full((members,), -1.0))  # -1: no batch seen yet

    def loss(self, batch: Batch, inputs: TargetInputs) -> dict[str, Tensor]:
        q, sigma = self.q(batch.obs, batch.actions)  # [E, B]
        with torch.no_grad():
            seen = sigma.mean(dim=1)
            self.mean_sigma.copy_(torch.where(self.mean_sigma < 0, seen, self.mean_sigma.lerp(seen, self.sigma_rate)))
            next_actions, log_pi = inputs.sample_next()
            q_next, sigma_next = self.target(batch.next_obs, next_actions)
            z = torch.randn_like(q_next).clamp(-SAMPLE_CLIP, SAMPLE_CLIP)
            j = q_next.argmin(dim=0, keepdim=True)  # the member with the smaller mean, per transition
            mean_next = q_next.gather(0, j)[0]
            sample_next = (q_next + z * sigma_next).gather(0, j)[0]
            keep = inputs.gamma * (1.0 - batch.terminated)
            reward = inputs.reward_scale * batch.rewards
            target = reward + keep * (mean_next - inputs.tau * log_pi)
            target_sample = reward + keep * (sample_next - inputs.tau * log_pi)
        losses = dsac_member_losses(q, sigma, target, target_sample, self.mean_sigma)
        return {"loss_critic": losses.sum(), "q_mean": q.detach().mean(), "q_sigma": sigma.detach().mean()}

    def actor_q(self, obs: Tensor, actions: Tensor) -> Tensor:
        return self.q(obs, actions, detach_params=True)[0]

    def after_update(self, updates: int, polyak: float, target_update_every: int) -> None:
        update_target(self.target, self.q, updates, polyak, target_update_every)
