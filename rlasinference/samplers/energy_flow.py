"""Energy-based normalizing flow (EBFlow; Chao et al. 2024, "Maximum Entropy RL via
Energy-Based Normalizing Flow", MEow).

    z_0 ~ N(0, diag sigma(c)^2),   x = g(z_0; c) (additive couplings),   a = tanh(x)

Additive couplings are volume preserving (log-det 0), so the only action-dependent Jacobian is
the tanh layer's, and the density splits into an unnormalised part and a context-only
normaliser with two learned shifts b_k(c):

    log p~_k(a|c) = -1/2 |z_0 / sigma(c)|^2 - log|tanh'(x)| + b_k(c)
    log Z_k(c)    = sum_i log sigma_i(c) + (A/2) log 2 pi + b_k(c)

and log pi(a|c) = log p~_k(a|c) - log Z_k(c) exactly, for either k. Read with a temperature tau,
tau * log p~_k is a soft Q function and tau * log Z_k its soft value: the policy is the critic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar, cast

import torch
from torch import Tensor, nn

from rlasinference.core.checks import AT_LEAST_ONE, FINITE, LAYERS, Range
from rlasinference.core.nets import EnsembleMLP, mlp
from rlasinference.samplers.base import (
    DensityKind,
    Sampler,
    Samples,
    atanh_clipped,
    on_samples,
    repeat_rows,
    tanh_log_abs_det,
)
from rlasinference.samplers.gaussian import gaussian_tanh_log_density


class AdditiveCoupling(nn.Module):
    """``x = z + (1 - m) * t(m * z, c)``: volume preserving, one network pass each way."""

    mask: Tensor

    def __init__(self, mask: Tensor, context_dim: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.register_buffer("mask", mask)
        dim = len(mask)
        layers: list[nn.Module] = []
        for d_in, d_out in zip([dim + context_dim, *hidden[:-1]], hidden):
            # LayerNorm in the coupling networks follows the reference implementation
            layers += [nn.Linear(d_in, d_out), nn.LayerNorm(d_out), nn.ReLU()]
        layers.append(nn.Linear(hidden[-1], dim))
        self.net = nn.Sequential(*layers)

    def shift(self, z: Tensor, context: Tensor) -> Tensor:
        return (1 - self.mask) * self.net(torch.cat([self.mask * z, context], dim=-1))

    def forward(self, z: Tensor, context: Tensor) -> Tensor:
        return z + self.shift(z, context)

    def inverse(self, x: Tensor, context: Tensor) -> Tensor:
        return x - self.shift(x, context)  # m * x == m * z, so the shift is the same


class EnergyFlow(Sampler):
    """The EBFlow sampler; see the module docstring.

    :param hidden: hidden sizes of the coupling networks and of the base log-sigma network.
    :param couplings: number of coupling pairs (each pair transforms both halves of the action).
    :param shift_hidden: hidden sizes of the two shift networks b_1(c), b_2(c).
    :param log_std_min: lower bound of log sigma(c) (reference: -5), reached through a tanh.
    :param log_std_max: upper bound of log sigma(c) (reference: -0.3), reached through a tanh.
    """

    density: ClassVar[DensityKind] = "exact"
    mode_rule: ClassVar[str] = "base mean (zero) pushed through the flow, then tanh"
    option_ranges: ClassVar[dict[str, Range]] = {
        "hidden": LAYERS, "couplings": AT_LEAST_ONE, "shift_hidden": LAYERS,
        "log_std_min": FINITE, "log_std_max": FINITE,
    }  # fmt: skip
    ordered_options: ClassVar[tuple[tuple[str, str], ...]] = (("log_std_min", "log_std_max"),)

    def __init__(
        self,
        context_dim: int,
        action_dim: int,
        hidden: Sequence[int] = (64, 64),
        couplings: int = 2,
        shift_hidden: Sequence[int] = (256, 256),
        log_std_min: float = -5.0,
        log_std_max: float = -0.3,
    ) -> None:
        super().__init__(context_dim, action_dim)
        self.log_std_net = mlp(context_dim, hidden, action_dim)
        nn.init.zeros_(self.log_std_net[-1].weight)  # type: ignore[arg-type]
        nn.init.zeros_(self.log_std_net[-1].bias)  # type: ignore[arg-type]
        mask = (torch.arange(action_dim) % 2 == 0).float()
        layers = []
        for _ in range(couplings):
            layers += [AdditiveCoupling(mask, context_dim, hidden), AdditiveCoupling(1 - mask, context_dim, hidden)]
        self.couplings = nn.ModuleList(layers)
        self.shifts = EnsembleMLP(context_dim, shift_hidden, 1, members=2) if context_dim else None
        if self.shifts is not None:
            with torch.no_grad():  # b_k(c) = 0 at initialisation, as in the reference
                self.shifts.weights[-1].zero_()
                self.shifts.biases[-1].zero_()
        self.log_std_min, self.log_std_max = log_std_min, log_std_max

    def _log_std(self, context: Tensor) -> Tensor:
        # The reference's smooth bound, min + (max - min) (tanh(raw) + 1) / 2: it never loses its
        # gradient (a saturated hard clamp would), and the zero-initialised network starts at
        # the midpoint of the bounds.
        lo, hi = self.log_std_min, self.log_std_max
        return lo + 0.5 * (hi - lo) * (torch.tanh(self.log_std_net(context)) + 1.0)

    def _push(self, z: Tensor, context: Tensor) -> Tensor:
        for layer in self.couplings:
            z = layer(z, context)
        return z

    def _pull(self, x: Tensor, context: Tensor) -> Tensor:
        for layer in reversed(self.couplings):
            x = cast(AdditiveCoupling, layer).inverse(x, context)
        return x

    def _shifts(self, context: Tensor) -> Tensor:
        """``b_k(c)``: ``[2, B]`` (zero for an empty context)."""
        if self.shifts is None:
            return context.new_zeros(2, context.shape[0])
        return self.shifts(context).squeeze(-1)

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        log_std = self._log_std(context)  # [B, A]
        batch, dim = log_std.shape
        eps = torch.randn(batch, n, dim, device=log_std.device, dtype=log_std.dtype)
        z0 = (log_std.exp().unsqueeze(1) * eps).reshape(batch * n, dim)
        flat = repeat_rows(context, n)
        x = self._push(z0, flat).reshape(batch, n, dim)
        log_density = gaussian_tanh_log_density(eps, log_std.unsqueeze(1), x)  # couplings: log-det 0
        return Samples(actions=torch.tanh(x), log_density=log_density, pre_tanh=x)

    def log_unnormalized(self, context: Tensor, actions: Tensor) -> Tensor:
        """``log p~_k(a|c)`` for both shifts: ``[B, C], [B, A] -> [2, B]``."""
        log_std = self._log_std(context)
        x = atanh_clipped(actions)
        z0 = self._pull(x, context)
        energy = -(0.5 * (z0 * torch.exp(-log_std)).square() + tanh_log_abs_det(x)).sum(-1)
        return energy.unsqueeze(0) + self._shifts(context)

    def log_normalizer(self, context: Tensor) -> Tensor:
        """``log Z_k(c)`` for both shifts: ``[B, C] -> [2, B]``, in closed form."""
        log_std = self._log_std(context)
        log_z = log_std.sum(-1) + 0.5 * self.action_dim * math.log(2 * math.pi)
        return log_z.unsqueeze(0) + self._shifts(context)

    def log_prob(self, context: Tensor, actions: Tensor) -> Tensor:
        log_pi = on_samples(lambda c, a: self.log_unnormalized(c, a) - self.log_normalizer(c), context, actions)
        return log_pi[0]  # the shifts cancel: either head gives log pi

    def mode(self, context: Tensor) -> Tensor:
        z0 = context.new_zeros(context.shape[0], self.action_dim)
        return torch.tanh(self._push(z0, context))
