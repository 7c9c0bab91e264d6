"""Tanh-squashed diagonal Gaussian (the SAC policy, Haarnoja et al. 2018, appendix C)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from rlasinference.core.checks import FINITE, NON_NEGATIVE, Range
from rlasinference.core.nets import ACTIVATIONS, mlp
from rlasinference.core.nets import orthogonal_init as init_orthogonal
from rlasinference.samplers.base import (
    LOG_SQRT_2PI,
    DensityKind,
    Sampler,
    Samples,
    atanh_clipped,
    tanh_log_abs_det,
)


class TanhGaussian(Sampler):
    """``a = tanh(mu(c) + sigma(c) * eps)``, ``eps ~ N(0, I)``; exact log-density.

    :param hidden: hidden layer sizes of the MLP ``c -> (mu, log sigma)``.
    :param log_std_min: lower clamp of ``log sigma`` (reference SAC: -20).
    :param log_std_max: upper clamp of ``log sigma`` (reference SAC: 2).
    :param activation: of the hidden layers, ``relu``, ``tanh`` or ``gelu``.
    :param state_std: sigma is an output of the MLP (SAC); else a free parameter per action
        dimension, independent of the context (the PPO references).
    :param log_std_init: initial ``log sigma`` of the free parameter (``state_std`` false).
    :param orthogonal_init: orthogonal weights, gain sqrt(2), and 0.01 on the mean's layer (the
        PPO references); else torch's default.
    :param batch_renorm: batch renormalisation in front of every linear layer (CrossQ's actor):
        batch statistics in training mode, which an actor-critic agent sets only while it forms
        the policy loss, and running statistics when acting and in the critic's target.
    :param renorm_momentum: rate of its running statistics (CrossQ: 0.01, a decay of 0.99).
    :param renorm_warmup: training passes of plain batch norm before renormalisation (CrossQ: 100,000).
    :param natural_gradient: the log-density of given points (``log_prob``, ``log_prob_pre_tanh``:
        WPO's score, PPO's ratio) passes its gradients to the mean scaled by sigma^2 and to sigma
        (so to log sigma) by sigma^2 / 2, the inverse Fisher of the Gaussian in (mu, sigma): Acme's
        WPO's natural-gradient adaptor. Values are unchanged, and so is ``sample``.
    """

    density: ClassVar[DensityKind] = "exact"
    mode_rule: ClassVar[str] = "tanh of the Gaussian mean"
    option_ranges: ClassVar[dict[str, Range]] = {
        "hidden": Range(1), "log_std_min": FINITE, "log_std_max": FINITE,
        "renorm_momentum": Range(0, 1, low_open=True), "renorm_warmup": NON_NEGATIVE,
    }  # fmt: skip
    ordered_options: ClassVar[tuple[tuple[str, str], ...]] = (("log_std_min", "log_std_max"),)

    def __init__(
        self,
        context_dim: int,
        action_dim: int,
        hidden: Sequence[int] = (256, 256),
        log_std_min: float = -20.0,
        log_std_max: float = 2.0,
        activation: str = "relu",
        state_std: bool = True,
        log_std_init: float = 0.0,
        orthogonal_init: bool = False,
        batch_renorm: bool = False,
        renorm_momentum: float = 0.01,
        renorm_warmup: int = 100_000,
        natural_gradient: bool = False,
    ) -> None:
        super().__init__(context_dim, action_dim)
        if activation not in ACTIVATIONS:
            raise ValueError(f"sampler.activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        renorm = {"momentum": renorm_momentum, "warmup": renorm_warmup} if batch_renorm else None
        self.net = mlp(context_dim, hidden, (2 if state_std else 1) * action_dim, ACTIVATIONS[activation], renorm)
        if orthogonal_init:
            init_orthogonal(self.net, 0.01)
        self.log_std = None if state_std else nn.Parameter(torch.full((action_dim,), float(log_std_init)))
        self.log_std_min = log_std_min
        self.log_std_max = log_std_max
        self.natural_gradient = natural_gradient

    def _mean_log_std(self, context: Tensor) -> tuple[Tensor, Tensor]:
        if self.log_std is None:
            mean, log_std = self.net(context).chunk(2, dim=-1)
        else:
            mean = self.net(context)
            log_std = self.log_std.expand_as(mean)
        return mean, log_std.clamp(self.log_std_min, self.log_std_max)

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        mean, log_std = self._mean_log_std(context)  # [B, A]
        eps = torch.randn(mean.shape[0], n, mean.shape[1], device=mean.device, dtype=mean.dtype)
        log_std = log_std.unsqueeze(1)
        x = mean.unsqueeze(1) + log_std.exp() * eps  # [B, n, A]
        return Samples(actions=torch.tanh(x), log_density=gaussian_tanh_log_density(eps, log_std, x), pre_tanh=x)

    def draw(self, context: Tensor) -> Tensor:
        mean, log_std = self._mean_log_std(context)
        eps = torch.randn(mean.shape[0], 1, mean.shape[1], device=mean.device, dtype=mean.dtype)
        return torch.tanh(mean + log_std.exp() * eps[:, 0])

    def log_prob(self, context: Tensor, actions: Tensor) -> Tensor:
        return self.log_prob_pre_tanh(context, atanh_clipped(actions))

    def log_prob_pre_tanh(self, context: Tensor, x: Tensor) -> Tensor:
        mean, log_std = self._mean_log_std(context)
        if self.natural_gradient:
            variance = (2 * log_std).exp().detach()
            mean, log_std = scale_grad(mean, variance), scale_grad(log_std, variance / 2)
        log_std = log_std.unsqueeze(1)
        z = (x - mean.unsqueeze(1)) * torch.exp(-log_std)
        return gaussian_tanh_log_density(z, log_std, x)

    def mode(self, context: Tensor) -> Tensor:
        return torch.tanh(self._mean_log_std(context)[0])


def scale_grad(x: Tensor, scale: Tensor) -> Tensor:
    """``x`` with its gradient multiplied by ``scale`` (the value is exactly ``x``)."""
    return x.detach() + (x - x.detach()) * scale


def gaussian_tanh_log_density(z: Tensor, log_std: Tensor, x: Tensor) -> Tensor:
    """Gaussian log-density of a standardised base draw ``z`` (scale ``exp(log_std)``) minus the
    tanh log-Jacobian at the pre-tanh value ``x``, summed over the action axis ``[..., A] -> [...]``.

    Written as ``-sum(z^2/2 + log sigma) - sum(log|tanh'(x)|) - A log sqrt(2 pi)`` so that the
    constant terms are added once per sample rather than once per action dimension.
    """
    return -(0.5 * z.square() + log_std + tanh_log_abs_det(x)).sum(-1) - x.shape[-1] * LOG_SQRT_2PI
