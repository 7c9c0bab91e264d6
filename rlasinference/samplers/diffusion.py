"""Diffusion chain: a learned time reversal of an Ornstein-Uhlenbeck noising process.

The noising process dY = -Y dt + sqrt(2) sigma dW leaves the prior N(0, sigma^2 I) invariant.
The sampler runs its reversal in N Euler-Maruyama steps of sizes h_n, with the prior score as
drift plus a learned correction f(x_n, c, n):

    x_0 ~ N(0, sigma^2 I)
    F(x_{n+1} | x_n) = N(x_n + h_n (sigma^2 grad log p_prior(x_n) + f(x_n, c, n)), 2 sigma^2 h_n I)
    B(x_n | x_{n+1}) = N((1 - h_n) x_{n+1}, 2 sigma^2 h_n I)          (the fixed noising kernel)
    a = tanh(x_N)

For any backward kernel, E_{path | x_N}[log p_prior(x_0) + sum_n log F - log B] = log pi(x_N)
+ KL(F(path | x_N) || B(path | x_N)) >= log pi(x_N), so the per-sample path term (minus the
tanh log-Jacobian) is an estimate of an upper bound on log pi(a|c): the sampler's density kind is
``bound``. F and B share their variance, so their normalisers cancel and each step contributes
``-|eps_n|^2 / 2 + |x_n - (1 - h_n) x_{n+1}|^2 / (4 sigma^2 h_n)``.

With ``learn_noise`` the network also outputs a log-scale per action dimension, and F's standard
deviation becomes c(x_n, c, n) sqrt(2 sigma^2 h_n) (log c clamped to [-5, 1], starting at 0):
each step's term gains ``-sum_d log c_d``. The bound holds for any forward kernel. With a fixed
variance it is tight only when each step is small next to the scale of the noised target; for a
target much thinner than the prior, the reversal's step variance falls below the noising
kernel's and the mismatch is paid at every step (docs/samplers/diffusion.md measures it).

With ``guided`` and a ``guide`` set (the target's score, which a standalone fit knows), each step's
mean also moves along the target's score in the pre-tanh space, scaled by a learned gain g_n per
step (starting at (n + 1) / N, so the late steps follow it most):

    mean_n = x_n + h_n (sigma^2 grad log p_prior(x_n) + f(x_n, c, n)) + h_n sigma^2 g_n s(x_n),
    s(x) = clip(grad_x [log p(tanh x | c) + log |tanh'(x)|], -100, 100)

the drift of a Langevin step towards the target, which the network no longer has to learn. Without
it the chain's own drift has to resolve every mode by itself, and narrow ones get too few draws
(grid16's inner modes hold 0.001 to 0.007 of the draws instead of 0.059; docs/workbench.md). The
path term uses the same mean, so it stays a bound. RL runs set no guide: there the chain is the
unguided one whatever ``guided`` says.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlasinference.core.checks import AT_LEAST_ONE, LAYERS, POSITIVE, Range
from rlasinference.core.nets import mlp
from rlasinference.core.precision import low_precision
from rlasinference.samplers.base import (
    LOG_SQRT_2PI,
    DensityKind,
    Sampler,
    Samples,
    atanh_clipped,
    repeat_rows,
    tanh_log_abs_det,
)

#: the clip on the guide's pre-tanh score: a target's score can be steep where Q is (a narrow mode
#: seen from afar), and one step along it must not throw the chain out of the box
GUIDE_CLIP = 100.0


def cosine_weights(steps: int) -> Tensor:
    """Relative step sizes, large at the noise end and small at the action end (mean 1)."""
    n = torch.arange(steps, dtype=torch.float64)
    w = 0.5 * (1.0 + torch.cos(math.pi * (n + 0.5) / steps)) + 0.05
    return (w / w.mean()).float()


def sinusoidal_embedding(steps: int, dim: int) -> Tensor:
    """``[steps, dim]`` sin/cos features of the step index n / steps."""
    t = torch.arange(steps, dtype=torch.float32).unsqueeze(1) / steps
    freqs = torch.exp(torch.linspace(0.0, math.log(1000.0), dim // 2)).unsqueeze(0)
    return torch.cat([torch.sin(t * freqs), torch.cos(t * freqs)], dim=1)


class DiffusionChain(Sampler):
    """The DIME / DiffSAC sampler (Celik et al. 2025; Sanokowski et al. 2025).

    :param steps: denoising steps N (16; 4 and 8 are cheaper).
    :param hidden: hidden sizes of the drift network f(x_n, c, n), shared by all steps.
    :param prior_std: sigma of the prior N(0, sigma^2 I) in the pre-tanh space (0.5: the bound
        is tight only with a prior near the target's scale, docs/samplers/diffusion.md; DIME's is
        2.5, pinned by its preset).
    :param dt: initial mean step size (learned through a softplus).
    :param learn_dt: learn the step size (else fixed at ``dt``).
    :param time_dim: size of the sinusoidal step embedding.
    :param learn_noise: learn a state-dependent scale of each step's noise (on; DIME and DiffSAC
        keep it off). With the noise fixed to the noising kernel's, the bound stays loose on
        thin targets however long it trains (docs/samplers/diffusion.md).
    :param guided: follow the target's score, scaled by a learned gain per step, where the sampler
        has a ``guide`` (on; a standalone fit sets one, RL runs do not; DIME and DiffSAC keep it
        off so their parameters are the reference's).
    """

    density: ClassVar[DensityKind] = "bound"
    mode_rule: ClassVar[str] = "the chain without noise from the prior mean x_0 = 0, then tanh"
    # fitted at tau from the start, the chain falls into the heaviest of separated modes; annealed
    # from a flattened target it keeps them (unequal3: 3 of 3 modes, median of 5 seeds, against
    # 1; docs/workbench.md)
    fit_anneal: ClassVar[float] = 0.5
    fit_objective: ClassVar[str] = "covering-kl"
    # guided, 2000 steps cost 3.04x the fit before the workbench's suite (benchmarks/fit_cost.py,
    # over the 3x bar); at 1500 the banana's kl_bound rose to 0.30-0.31 (0.27 at 2000)
    fit_steps: ClassVar[int] = 1800
    option_ranges: ClassVar[dict[str, Range]] = {
        "steps": AT_LEAST_ONE, "hidden": LAYERS, "prior_std": POSITIVE, "dt": POSITIVE, "time_dim": Range(2),
    }  # fmt: skip

    def __init__(
        self,
        context_dim: int,
        action_dim: int,
        steps: int = 16,
        hidden: Sequence[int] = (256, 256),
        prior_std: float = 0.5,
        dt: float = 0.1,
        learn_dt: bool = True,
        time_dim: int = 16,
        learn_noise: bool = True,
        guided: bool = True,
    ) -> None:
        super().__init__(context_dim, action_dim)
        if steps < 1 or prior_std <= 0 or dt <= 0 or not hidden:
            raise ValueError("diffusion needs steps >= 1, prior_std > 0, dt > 0 and at least one hidden layer")
        self.steps, self.prior_std, self.learn_noise = steps, prior_std, learn_noise
        raw_dt = torch.tensor(math.log(math.expm1(dt)))
        self.raw_dt = nn.Parameter(raw_dt) if learn_dt else nn.Buffer(raw_dt)
        self.weights: Tensor
        self.time_features: Tensor
        self.register_buffer("weights", cosine_weights(steps))
        self.register_buffer("time_features", sinusoidal_embedding(steps, time_dim))
        # f([x, c, e_n]) with its first layer split by input, so the context and step terms are
        # computed once per chain instead of once per step; the last layer starts at zero.
        self.in_x = nn.Linear(action_dim, hidden[0])
        self.in_c = nn.Linear(context_dim, hidden[0], bias=False) if context_dim else None
        self.in_t = nn.Linear(time_dim, hidden[0], bias=False)
        self.body = mlp(hidden[0], hidden[1:], 2 * action_dim if learn_noise else action_dim)
        last = self.body[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.score_gain = nn.Parameter((torch.arange(steps) + 1.0) / steps) if guided else None

    def _score(self, context: Tensor, x: Tensor) -> Tensor:
        """The guide's score in the pre-tanh space, clipped: ``grad_x [log p(tanh x | c) +
        log |tanh'(x)|]``, ``[R, A]`` for ``context [R, C]`` and ``x [R, A]`` (the guide runs in
        float32 whatever the precision option)."""
        assert self.guide is not None
        a = torch.tanh(x)
        with torch.autocast(x.device.type, enabled=False):
            score = self.guide(context, a)
        return ((1.0 - a.square()) * score - 2.0 * a).clamp(-GUIDE_CLIP, GUIDE_CLIP)

    @property
    def follows_guide(self) -> bool:
        return self.score_gain is not None

    @property
    def _active_gain(self) -> Tensor | None:
        """The per-step gains on the guide's score, where the chain has them and a guide is set."""
        return self.score_gain if self.guide is not None else None

    def _load_from_state_dict(self, state_dict: dict[str, Tensor], prefix: str, *args: Any, **kwargs: Any) -> None:
        # a checkpoint written before the chain had gains (an RL run, which sets no guide and so
        # never used them) loads with the gains' initial values
        key = prefix + "score_gain"
        if self.score_gain is not None and key not in state_dict and prefix + "raw_dt" in state_dict:
            state_dict[key] = self.score_gain.detach().clone()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def step_sizes(self) -> Tensor:
        """``h_n``, ``[steps]``."""
        return F.softplus(self.raw_dt) * self.weights

    def _run(self, context: Tensor, n: int, noise: bool) -> tuple[Tensor, Tensor, Tensor | None]:
        """``n`` chains per context row: ``(x_N [B * n, A], path [B * n], chain)`` with
        ``path = log p_prior(x_0) + sum_n [log F - log B]`` (zero without noise) and ``chain``
        the states ``x_0 .. x_N``, ``[steps + 1, B * n, A]`` (``None`` without noise)."""
        rows = context.shape[0] * n
        sigma, dim, steps = self.prior_std, self.action_dim, self.steps
        h = self.step_sizes()
        # the per-step and per-context terms of the first layer, computed once for the chain
        cond = self.in_t(self.time_features) + self.in_x.bias  # [steps, H]
        rows_context = repeat_rows(context, n)
        ctx = self.in_c(rows_context) if self.in_c is not None else None  # [rows, H]
        gain = self._active_gain
        guided = gain is not None
        gains = (gain * h * sigma**2).unbind(0) if gain is not None else ()
        weight_x = self.in_x.weight.t()
        if noise:
            eps = torch.randn(steps + 1, rows, dim, device=context.device, dtype=context.dtype)
            kicks = (torch.sqrt(2.0 * h) * sigma)[:, None, None] * eps[1:]  # [steps, rows, A]
            x = sigma * eps[0]
        else:
            x = context.new_zeros(rows, dim)
        # per-step tensors unbound once (indexing inside the loop would add a select and, in the
        # backward pass, a full-size zero-filled gradient per step)
        hs, conds = h.unbind(0), cond.unbind(0)
        steps_kicks = kicks.unbind(0) if noise else ()
        layers = list(self.body)
        xs, log_scales = [x], []
        # the network's matrix products follow the precision option; the chain itself is float32
        low = torch.autocast(x.device.type, dtype=torch.bfloat16) if low_precision() else contextlib.nullcontext()
        with low:
            for k in range(steps):
                pre = x @ weight_x + conds[k] if ctx is None else torch.addmm(ctx, x, weight_x).add_(conds[k])
                out = pre.relu_()
                for layer in layers:
                    out = layer.forward(out)  # (no module-call hooks: this runs 16 times per chain)
                out = out.float()
                if self.learn_noise:
                    out, log_scale = out.split(dim, dim=-1)
                    log_scale = log_scale.clamp(-5.0, 1.0)
                x_mean = torch.lerp(x, out, hs[k])  # x + h (sigma^2 grad log p_prior(x) + f), prior score -x
                x = x_mean + gains[k] * self._score(rows_context, x) if guided else x_mean
                if noise:
                    kick = steps_kicks[k]
                    if self.learn_noise:
                        kick = kick * log_scale.exp()
                        log_scales.append(log_scale.sum(-1))
                    x = x + kick
                xs.append(x)
        if not noise:
            return x, context.new_zeros(rows), None
        # log p_prior(x_0) + sum_n [log F(x_{n+1}|x_n) - log B(x_n|x_{n+1})], all steps at once
        path = -0.5 * eps.square().sum(dim=(0, 2)) - dim * (math.log(sigma) + LOG_SQRT_2PI)
        chain = torch.stack(xs)  # [steps + 1, rows, A]
        back = chain[:-1] - (1.0 - h)[:, None, None] * chain[1:]
        path = path + (back.square().sum(-1) / (4.0 * sigma**2 * h)[:, None]).sum(0)
        if log_scales:
            path = path - torch.stack(log_scales).sum(0)
        return x, path, chain

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        """Also ``extras["path"]``: the chain's states ``x_0 .. x_N``, ``[B, n, steps + 1, A]``."""
        batch, dim = context.shape[0], self.action_dim
        x, path, chain = self._run(context, n, noise=True)
        assert chain is not None
        bound = path - tanh_log_abs_det(x).sum(-1)
        return Samples(
            actions=torch.tanh(x).reshape(batch, n, dim),
            log_density=bound.reshape(batch, n),
            pre_tanh=x.reshape(batch, n, dim),
            extras={"path": chain.transpose(0, 1).reshape(batch, n, self.steps + 1, dim)},
        )

    def path_log_prob(self, context: Tensor, path: Tensor) -> tuple[Tensor, Tensor]:
        """Of stored chains, one per context row (``extras["path"]`` of one sample, flattened to
        ``[B, (steps + 1) A]``): ``(log_joint, log_back)``, ``[B]`` each. ``log_joint`` is the
        exact log-density of the whole path under the chain, log p_prior(x_0) + sum_n
        log F(x_{n+1} | x_n) (every step is Gaussian); ``log_back`` is sum_n log B(x_n | x_{n+1}) +
        log |tanh'(x_N)|, so that log_joint - log_back is the upper bound on log pi(a|c) of the
        action that ``sample`` returns. All steps' drifts are evaluated at once, at the stored
        states."""
        batch, dim, steps, sigma = context.shape[0], self.action_dim, self.steps, self.prior_std
        chain = path.reshape(batch, steps + 1, dim).transpose(0, 1)  # [steps + 1, B, A]
        h = self.step_sizes()[:, None, None]
        x = chain[:-1]
        pre = x @ self.in_x.weight.t() + (self.in_t(self.time_features) + self.in_x.bias)[:, None, :]
        if self.in_c is not None:
            pre = pre + self.in_c(context)
        out = self.body(pre.relu().flatten(0, 1)).unflatten(0, (steps, batch))
        log_scale = x.new_zeros(())
        if self.learn_noise:
            out, log_scale = out.split(dim, dim=-1)
            log_scale = log_scale.clamp(-5.0, 1.0)
        log_std = 0.5 * torch.log(2.0 * h) + math.log(sigma) + log_scale  # of F's step
        mean = torch.lerp(x, out, h)
        gain = self._active_gain
        if gain is not None:  # the stored states are fixed: the score needs no graph, only its gains
            score = self._score(context.repeat(steps, 1), x.reshape(steps * batch, dim)).reshape(steps, batch, dim)
            mean = mean + (gain * sigma**2)[:, None, None] * h * score
        z = (chain[1:] - mean) * torch.exp(-log_std)
        log_f = -(0.5 * z.square() + log_std).sum(dim=(0, 2)) - steps * dim * LOG_SQRT_2PI
        log_prior = -0.5 * (chain[0] / sigma).square().sum(-1) - dim * (math.log(sigma) + LOG_SQRT_2PI)
        log_joint = log_prior + log_f
        back_log_std = 0.5 * torch.log(2.0 * h) + math.log(sigma)  # of B's step
        back = (chain[:-1] - (1.0 - h) * chain[1:]) * torch.exp(-back_log_std)
        log_b = -(0.5 * back.square() + back_log_std).sum(dim=(0, 2)) - steps * dim * LOG_SQRT_2PI
        return log_joint, log_b + tanh_log_abs_det(chain[-1]).sum(-1)

    def noise_path(self, context: Tensor, actions: Tensor) -> Tensor:
        """Chains that end at ``actions`` ``[B, n, A]``, drawn from the noising kernel B backwards
        from x_N = atanh(a): ``[B, n, steps + 1, A]``, as ``extras["path"]``. For these chains
        ``path_log_prob``'s bound (log_joint - log_back) minus log pi(a) is
        log F(path) - log [pi(a) B(path | a)], so weights against the joint target p(a) B(path | a)
        need no density of a."""
        del context  # B does not depend on the state
        h = self.step_sizes().detach()
        x = atanh_clipped(actions)
        states = [x]
        for k in reversed(range(self.steps)):
            x = (1.0 - h[k]) * x + torch.sqrt(2.0 * h[k]) * self.prior_std * torch.randn_like(x)
            states.append(x)
        return torch.stack(states[::-1], dim=2)

    def mode(self, context: Tensor) -> Tensor:
        return torch.tanh(self._run(context, 1, noise=False)[0])
