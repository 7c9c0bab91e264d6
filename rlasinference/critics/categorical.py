"""``categorical``: a distributional soft critic over a fixed support of returns (C51, Bellemare
et al. 2017; HL-Gauss, Farebrother et al. 2024), with or without batch renormalisation and a
target network (DIME's critic: renormalised, no target network, an entropy bonus).

Target: one next action a' ~ pi(.|s') per next state; each atom z_j of member k's predicted
distribution at (s', a') moves to r + gamma (1 - terminated) (z_j - tau log pi(a'|s')) (log pi
exact or the sampler's bound), the result is projected back onto the support (C51's linear
split between neighbouring atoms, or HL-Gauss's Gaussian of width ``hl_sigma`` bins) and
averaged over the members. Loss: each member's cross-entropy to that target, minus
``entropy_coef`` times the entropy of its prediction. Q is the expected return.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from rlasinference.core.batch import Batch
from rlasinference.core.checks import FINITE, NON_NEGATIVE, POSITIVE, Range
from rlasinference.core.errors import UserError
from rlasinference.core.nets import EnsembleMLP
from rlasinference.critics.base import Critic, TargetInputs
from rlasinference.critics.ensemble import update_target
from rlasinference.samplers.base import Sampler

PROJECTIONS = ("c51", "hl-gauss")


def project_onto_support(probs: Tensor, target_values: Tensor, support: Tensor) -> Tensor:
    """C51 projection: the distribution putting mass ``probs [B, K]`` on ``target_values [B, K]``
    (clipped to the support's range), spread onto the fixed ``support [K]`` by linear
    interpolation between the two nearest atoms. Returns ``[B, K]``, rows summing to 1."""
    v_min, v_max, atoms = support[0], support[-1], support.shape[0]
    delta = (v_max - v_min) / (atoms - 1)
    b = (target_values.clamp(v_min, v_max) - v_min) / delta
    lower = b.floor().clamp(0, atoms - 1)
    upper = (lower + 1).clamp(max=atoms - 1)
    weight_upper = b - lower  # 0 when b sits on an atom (then all the mass goes to `lower`)
    out = torch.zeros_like(probs)
    out.scatter_add_(1, lower.long(), probs * (1 - weight_upper))
    out.scatter_add_(1, upper.long(), probs * weight_upper)
    return out


def hl_gauss_projection(probs: Tensor, target_values: Tensor, support: Tensor, sigma: float) -> Tensor:
    """HL-Gauss: each target value y (mass ``probs``) becomes N(y, sigma^2) integrated over the
    support's bins (atom +- half a bin) and renormalised over them; ``[B, K]``.

    As Farebrother et al. (2024), y is not clamped to the support: a target beyond the outermost
    atom keeps the part of its Gaussian that falls on the support. Each bin's mass is formed in
    log space, from the Gaussian tail on the side away from y, so that a target many sigmas
    beyond the support still gives its (nearly one-hot) mass instead of 0 / 0.
    """
    delta = (support[-1] - support[0]) / (support.shape[0] - 1)
    edges = torch.cat([support - delta / 2, support[-1:] + delta / 2])  # [K + 1]
    u = (edges - target_values.unsqueeze(-1)) / sigma  # [B, K(source), K + 1]
    lo, hi = u[..., :-1], u[..., 1:]
    # Phi(hi) - Phi(lo) = Phi(-lo) - Phi(-hi): take the form whose arguments lie on the lower tail
    flip = lo + hi > 0
    a, b = torch.where(flip, -hi, lo), torch.where(flip, -lo, hi)
    log_b = torch.special.log_ndtr(b)
    log_mass = log_b + torch.log1p(-torch.exp(torch.special.log_ndtr(a) - log_b))
    mass = torch.softmax(log_mass, dim=-1)  # [B, K(source), K(bin)]
    return (probs.unsqueeze(-1) * mass).sum(1)


class CategoricalCritic(Critic):
    """:param atoms: support size.
    :param v_min: lowest return of the support (about -1600 on MuJoCo for DIME).
    :param v_max: highest return of the support.
    :param projection: ``c51`` or ``hl-gauss``.
    :param hl_sigma: HL-Gauss's standard deviation in bins (Farebrother et al.: 0.75).
    :param batch_renorm: CrossQ's batch renormalisation in front of every linear layer.
    :param target_network: read the target from a Polyak-averaged copy; without it, the current
        and next pairs go through the critic in one training-mode pass (CrossQ's way).
    :param entropy_coef: weight of the bonus on the entropy of each member's prediction.
    :param renorm_momentum: rate of batch renormalisation's running statistics.
    :param renorm_warmup: training passes of plain batch norm before renormalisation.
    """

    summary: ClassVar[str] = "distributional soft-Q nets over a fixed support (C51 or HL-Gauss), Q = the mean"
    value_estimators: ClassVar[tuple[str, ...] | None] = ("sampled",)
    option_ranges: ClassVar[dict[str, Range]] = {
        "atoms": Range(2), "v_min": FINITE, "v_max": FINITE, "hl_sigma": POSITIVE, "entropy_coef": NON_NEGATIVE,
        "renorm_momentum": Range(0, 1, low_open=True), "renorm_warmup": NON_NEGATIVE,
    }  # fmt: skip
    ordered_options: ClassVar[tuple[tuple[str, str], ...]] = (("v_min", "v_max"),)

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden: Sequence[int],
        members: int,
        sampler: Sampler,
        atoms: int = 101,
        v_min: float = -1600.0,
        v_max: float = 1600.0,
        projection: str = "c51",
        hl_sigma: float = 0.75,
        batch_renorm: bool = False,
        target_network: bool = True,
        entropy_coef: float = 0.0,
        renorm_momentum: float = 0.01,
        renorm_warmup: int = 100_000,
    ) -> None:
        super().__init__()
        if projection not in PROJECTIONS:
            raise UserError(f"critic.projection must be one of {', '.join(PROJECTIONS)}, got {projection!r}")
        if batch_renorm and target_network:  # a Polyak copy would not carry the running statistics
            raise UserError("critic.batch_renorm needs critic.target_network=false (CrossQ's joint pass)")
        try:
            support = torch.linspace(v_min, v_max, atoms)  # float32, as the critic computes
        except RuntimeError:  # (a bound beyond float32's range)
            support = torch.full((2,), math.inf)
        if not (torch.isfinite(support).all() and (support.diff() > 0).all()):
            raise UserError(
                f"critic.v_min={v_min:g} and critic.v_max={v_max:g} give {atoms} atoms that float32 cannot hold "
                "apart (or at all): choose a support of ordinary size, e.g. -1600 and 1600"
            )
        self.bin_width = (v_max - v_min) / (atoms - 1)
        self.projection, self.hl_sigma, self.entropy_coef = projection, hl_sigma, entropy_coef

        def make() -> EnsembleMLP:
            return EnsembleMLP(
                obs_dim + action_dim, hidden, atoms, members, batch_renorm, renorm_momentum, renorm_warmup
            )

        self.net = make()
        self.target: nn.Module | None = None
        if target_network:
            self.target = make()
            self.target.load_state_dict(self.net.state_dict())
            self.target.requires_grad_(False)
        self.support: Tensor
        self.register_buffer("support", torch.linspace(v_min, v_max, atoms))

    def logits(self, obs: Tensor, actions: Tensor, detach_params: bool = False) -> Tensor:
        """``[E, B, atoms]``."""
        return self.net(torch.cat([obs, actions], dim=-1), detach_params)

    def project(self, probs: Tensor, values: Tensor) -> Tensor:
        if self.projection == "c51":
            return project_onto_support(probs, values, self.support)
        return hl_gauss_projection(probs, values, self.support, self.hl_sigma * self.bin_width)

    def loss(self, batch: Batch, inputs: TargetInputs) -> dict[str, Tensor]:
        n = batch.obs.shape[0]
        with torch.no_grad():
            next_actions, next_log_pi = inputs.sample_next()
        self.train()
        if self.target is None:  # one pass over the current and next pairs
            logits = self.logits(torch.cat([batch.obs, batch.next_obs]), torch.cat([batch.actions, next_actions]))
            current, following = logits[:, :n], logits[:, n:].detach()
        else:
            current = self.logits(batch.obs, batch.actions)
            with torch.no_grad():
                following = self.target(torch.cat([batch.next_obs, next_actions], dim=-1))
        with torch.no_grad():
            keep = inputs.gamma * (1.0 - batch.terminated)[:, None]
            rewards = inputs.reward_scale * batch.rewards[:, None]
            values = rewards + keep * (self.support[None, :] - inputs.tau * next_log_pi[:, None])
            probs = torch.softmax(following, dim=-1)
            target = torch.stack([self.project(p, values) for p in probs]).mean(0)  # [B, atoms]
        log_pred = torch.log_softmax(current, dim=-1)
        cross_entropy = -(target * log_pred).sum(-1).mean(-1).sum()
        loss = cross_entropy
        if self.entropy_coef > 0:
            loss = loss - self.entropy_coef * -(log_pred.exp() * log_pred).sum(-1).mean(-1).sum()
        q_mean = (torch.softmax(current.detach(), -1) @ self.support).mean()
        return {"loss_critic": loss, "q_mean": q_mean}

    def actor_q(self, obs: Tensor, actions: Tensor) -> Tensor:
        self.eval()  # batch renormalisation's running statistics, when it has them
        try:
            return torch.softmax(self.logits(obs, actions, detach_params=True), dim=-1) @ self.support
        finally:
            self.train()

    def after_update(self, updates: int, polyak: float, target_update_every: int) -> None:
        if self.target is not None:
            update_target(self.target, self.net, updates, polyak, target_update_every)
