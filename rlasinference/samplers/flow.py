"""Conditional normalizing flow: a state-dependent Gaussian base, rational-quadratic spline
layers from normflows conditioned on the context, and a tanh output layer.

    z_0 = mu(c) + sigma(c) * eps,   z_k = f_k(z_{k-1}; c),   a = tanh(z_K)
    log pi(a|c) = log N(z_0; mu, sigma) - sum_k log|det df_k/dz| - log|tanh'(z_K)|
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar, cast

import normflows as nf
import torch
import torch.nn.functional as F
from normflows.flows.neural_spline.autoregressive import MaskedPiecewiseRationalQuadraticAutoregressive
from normflows.flows.neural_spline.coupling import PiecewiseRationalQuadraticCoupling
from normflows.nets.resnet import ResidualNet
from normflows.utils import splines
from normflows.utils.masks import create_alternating_binary_mask
from torch import Tensor, nn

from rlasinference.core.checks import AT_LEAST_ONE, FINITE, NON_NEGATIVE, POSITIVE, Range
from rlasinference.core.nets import mlp
from rlasinference.samplers.base import DensityKind, Sampler, Samples, atanh_clipped, repeat_rows
from rlasinference.samplers.gaussian import gaussian_tanh_log_density

# Unnormalised boundary derivative that the spline maps to slope 1, so it meets the identity tails.
_UNIT_SLOPE = math.log(math.expm1(1 - splines.DEFAULT_MIN_DERIVATIVE))


class SplineCoupling(PiecewiseRationalQuadraticCoupling):
    """normflows' rational-quadratic coupling with linear tails, evaluated without masking.

    normflows evaluates linear tails by boolean-indexing the inputs inside the interval (a
    nonzero/index/index_put round per call); here the spline runs on inputs clamped to the
    interval and ``torch.where`` picks the identity outside it, which is the same function with
    a fixed op count. Sampling runs the cheap (forward) spline direction; the density of given
    actions the inverse one (a quadratic root per input).
    """

    def __init__(
        self, features: int, context_dim: int, hidden: int, blocks: int, bins: int, tail_bound: float, odd: bool
    ):
        def conditioner(n_in: int, n_out: int) -> nn.Module:
            return ResidualNet(n_in, n_out, hidden, context_features=context_dim or None, num_blocks=blocks)

        super().__init__(
            mask=create_alternating_binary_mask(features, even=odd), transform_net_create_fn=conditioner,
            num_bins=bins, tails="linear", tail_bound=tail_bound,
        )  # fmt: skip

    def _piecewise_cdf(self, inputs: Tensor, transform_params: Tensor, inverse: bool = False) -> tuple[Tensor, Tensor]:
        scale = math.sqrt(self.transform_net.hidden_features)  # normflows' initial softmax scaling
        return _linear_tail_spline(inputs, transform_params, self.num_bins, float(self.tail_bound), scale, inverse)


def _linear_tail_spline(
    inputs: Tensor, params: Tensor, bins: int, bound: float, scale: float, inverse: bool
) -> tuple[Tensor, Tensor]:
    """normflows' rational-quadratic spline with linear (identity) tails outside [-bound, bound],
    elementwise: the spline runs on the inputs clamped to the interval and ``torch.where`` keeps
    the identity outside it. normflows boolean-indexes the inputs inside the interval instead (a
    nonzero/index/index_put round per call, which also breaks ``torch.compile``'s graph); both
    compute the same value for every element."""
    widths, heights = params[..., :bins] / scale, params[..., bins : 2 * bins] / scale
    derivatives = F.pad(params[..., 2 * bins :], (1, 1), value=_UNIT_SLOPE)
    inside = inputs.abs() <= bound
    clamped = inputs.clamp(-bound, bound)
    if inverse:
        # The inverse solves a quadratic per input and asserts that its discriminant is >= 0. It
        # is in exact arithmetic, but in float32 a steep spline (a fitted narrow mode) rounds it
        # below 0 and the assertion stops the run; float64 keeps it positive (measured: a flow fitted
        # to edges3 failed in float32 at step ~1000 of 2000).
        dtype = inputs.dtype
        clamped, widths, heights, derivatives = (x.double() for x in (clamped, widths, heights, derivatives))
    out, log_det = splines.rational_quadratic_spline(
        clamped, widths, heights, derivatives, inverse=inverse, left=-bound, right=bound, bottom=-bound, top=bound,
    )  # fmt: skip
    if inverse:
        out, log_det = out.to(dtype), log_det.to(dtype)
    return torch.where(inside, out, inputs), torch.where(inside, log_det, torch.zeros_like(log_det))


class SplineAutoregressive(MaskedPiecewiseRationalQuadraticAutoregressive):
    """normflows' masked autoregressive rational-quadratic spline (the one-dimensional layer),
    with the spline evaluated as in ``SplineCoupling``."""

    def _elementwise(
        self, inputs: Tensor, autoregressive_params: Tensor, inverse: bool = False
    ) -> tuple[Tensor, Tensor]:
        params = autoregressive_params.view(inputs.shape[0], inputs.shape[1], self._output_dim_multiplier())
        hidden = getattr(self.autoregressive_net, "hidden_features", None)  # normflows scales only then
        scale = math.sqrt(hidden) if hidden else 1.0
        out, log_det = _linear_tail_spline(inputs, params, self.num_bins, float(self.tail_bound), scale, inverse)
        return out, log_det.sum(-1)


class SplineAutoregressiveFlow(nf.flows.Flow):
    """``nf.flows.AutoregressiveRationalQuadraticSpline`` (same parameters and state-dict keys)
    over ``SplineAutoregressive``."""

    def __init__(self, features: int, blocks: int, hidden: int, context: int | None, bins: int, tail_bound: float):
        super().__init__()
        self.mprqat = SplineAutoregressive(
            features=features, hidden_features=hidden, context_features=context, num_bins=bins, tails="linear",
            tail_bound=tail_bound, num_blocks=blocks, use_residual_blocks=True, random_mask=False,
            permute_mask=False, activation=nn.ReLU(), dropout_probability=0.0, use_batch_norm=False,
            init_identity=True,
        )  # fmt: skip

    def forward(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        z, log_det = self.mprqat.inverse(z, context=context)  # sampling runs the inverse, as normflows
        return z, log_det.view(-1)

    def inverse(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        z, log_det = self.mprqat(z, context=context)
        return z, log_det.view(-1)


class ConditionalFlow(Sampler):
    """Spline flow sampler (Durkan et al. 2019 neural spline flows, via normflows).

    Coupling layers (``SplineCoupling``, normflows' rational-quadratic coupling) transform
    half of the action dimensions given the other half and the context, so sampling and density
    evaluation are one network pass per layer each way. A 1-D action has no halves: there each layer is an
    elementwise spline whose parameters depend on the context alone
    (``AutoregressiveRationalQuadraticSpline`` with one feature, also a single pass).

    :param hidden: hidden sizes of the base network ``c -> (mu, log sigma)``.
    :param layers: number of spline layers (masks alternate between layers).
    :param spline_hidden: width of each layer's residual network.
    :param spline_blocks: residual blocks per layer's network.
    :param bins: spline bins.
    :param tail_bound: the splines act on [-tail_bound, tail_bound]; identity outside.
    :param log_std_min: lower clamp of the base log sigma.
    :param log_std_max: upper clamp of the base log sigma.
    """

    density: ClassVar[DensityKind] = "exact"
    mode_rule: ClassVar[str] = "base mean pushed through the flow, then tanh"
    option_ranges: ClassVar[dict[str, Range]] = {
        "hidden": Range(1), "layers": NON_NEGATIVE, "spline_hidden": AT_LEAST_ONE, "spline_blocks": AT_LEAST_ONE,
        "bins": AT_LEAST_ONE, "tail_bound": POSITIVE, "log_std_min": FINITE, "log_std_max": FINITE,
    }  # fmt: skip
    ordered_options: ClassVar[tuple[tuple[str, str], ...]] = (("log_std_min", "log_std_max"),)
    # fitted at tau from the start, the flow keeps a few of many narrow modes; annealed from a
    # flattened target it keeps them (grid16: 16 of 16 modes, median of 5 seeds, against 6;
    # docs/workbench.md)
    fit_anneal: ClassVar[float] = 0.5
    fit_objective: ClassVar[str] = "covering-kl"

    def __init__(
        self,
        context_dim: int,
        action_dim: int,
        hidden: Sequence[int] = (256, 256),
        layers: int = 2,
        spline_hidden: int = 64,
        spline_blocks: int = 1,
        bins: int = 8,
        tail_bound: float = 3.0,
        log_std_min: float = -20.0,
        log_std_max: float = 2.0,
    ) -> None:
        super().__init__(context_dim, action_dim)
        self.base = mlp(context_dim, hidden, 2 * action_dim)
        self.log_std_min, self.log_std_max = log_std_min, log_std_max
        # thousands of small spline operations per update: torch.compile makes them faster
        # (benchmarks/update_cost.py, docs/performance.md)
        self.compile_sample = True
        ctx = context_dim or None  # normflows: None means an unconditional layer
        flows: list[nf.flows.Flow] = []
        for k in range(layers):
            if action_dim == 1:
                flows.append(SplineAutoregressiveFlow(1, spline_blocks, spline_hidden, ctx, bins, tail_bound))
            else:
                flows.append(
                    SplineCoupling(action_dim, context_dim, spline_hidden, spline_blocks, bins, tail_bound, k % 2 == 1)
                )
        self.flows = nn.ModuleList(flows)

    def _base(self, context: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_std = self.base(context).chunk(2, dim=-1)
        return mean, log_std.clamp(self.log_std_min, self.log_std_max)

    def _push(self, z: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        """``z [N, A] -> (x [N, A], sum_k log|det df_k/dz| [N])``."""
        log_det = z.new_zeros(z.shape[0])
        for flow in self.flows:
            z, ld = flow(z, context=context)
            log_det = log_det + ld
        return z, log_det

    def _flat_context(self, context: Tensor, n: int) -> Tensor | None:
        if self.context_dim == 0:
            return None
        return repeat_rows(context, n)

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        mean, log_std = self._base(context)  # [B, A]
        batch, dim = mean.shape
        eps = torch.randn(batch, n, dim, device=mean.device, dtype=mean.dtype)
        log_std = log_std.unsqueeze(1)
        z0 = mean.unsqueeze(1) + log_std.exp() * eps  # [B, n, A]
        x, log_det = self._push(z0.reshape(batch * n, dim), self._flat_context(context, n))
        x = x.reshape(batch, n, dim)
        log_density = gaussian_tanh_log_density(eps, log_std, x) - log_det.reshape(batch, n)
        return Samples(actions=torch.tanh(x), log_density=log_density, pre_tanh=x)

    def log_prob(self, context: Tensor, actions: Tensor) -> Tensor:
        return self.log_prob_pre_tanh(context, atanh_clipped(actions))

    def log_prob_pre_tanh(self, context: Tensor, x: Tensor) -> Tensor:
        mean, log_std = self._base(context)
        batch, n, dim = x.shape
        z = x.reshape(batch * n, dim)
        flat_context = self._flat_context(context, n)
        log_det_inv = z.new_zeros(z.shape[0])
        for flow in reversed(self.flows):
            z, ld = cast(nf.flows.Flow, flow).inverse(z, context=flat_context)
            log_det_inv = log_det_inv + ld
        log_std = log_std.unsqueeze(1)
        eps = (z.reshape(batch, n, dim) - mean.unsqueeze(1)) * torch.exp(-log_std)
        return gaussian_tanh_log_density(eps, log_std, x) + log_det_inv.reshape(batch, n)

    def mode(self, context: Tensor) -> Tensor:
        mean, _ = self._base(context)
        return torch.tanh(self._push(mean, self._flat_context(context, 1))[0])
