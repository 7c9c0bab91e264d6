"""The generic sampler properties, run on every registered sampler, and the tanh-Gaussian's
density against ground truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from normflows.utils import splines

from rlasinference.samplers import (
    SAMPLERS,
    EnergyFlow,
    Sampler,
    Samples,
    Softmax,
    TanhGaussian,
    check_sampler,
    get_sampler_class,
    tanh_log_abs_det,
)
from rlasinference.samplers.contract import ContractError
from rlasinference.samplers.diffusion import DiffusionChain
from rlasinference.samplers.flow import SplineCoupling, _linear_tail_spline

SAMPLER_NAMES = SAMPLERS.names()


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_registered_samplers_keep_the_contract(name: str) -> None:
    torch.manual_seed(0)
    check_sampler(get_sampler_class(name))


BOX = [n for n in SAMPLER_NAMES if get_sampler_class(n).space == "box"]


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_every_parameter_is_reached_by_the_actions(name: str) -> None:
    # all of them but the energy flow's shifts b_k(c), which change its energy, not its samples;
    # a sampler that follows a guide is given one (its gains scale the guide's score); a discrete
    # sampler's one-hot actions carry no gradient: its log-density does
    torch.manual_seed(0)
    sampler = get_sampler_class(name)(5, 3)
    if sampler.follows_guide:
        sampler.guide = lambda context, actions: -actions
    out = sampler.sample(torch.randn(4, 5), 7)
    (out.log_density.sum() if sampler.space == "discrete" else out.actions.square().sum()).backward()
    assert all(p.grad is not None for n, p in sampler.named_parameters() if not n.startswith("shifts."))


class _Unsquashed(TanhGaussian):
    def sample(self, context: torch.Tensor, n: int = 1) -> Samples:
        out = super().sample(context, n)
        return Samples(actions=3 * out.actions, log_density=out.log_density)


class _WrongLogProb(TanhGaussian):
    def log_prob(self, context: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return super().log_prob(context, actions) + 1.0


class _NotOneHot(Softmax):
    def sample(self, context: torch.Tensor, n: int = 1) -> Samples:
        out = super().sample(context, n)
        return Samples(actions=out.actions * 0.5, log_density=out.log_density)


@pytest.mark.parametrize(
    ("cls", "message"),
    [(_Unsquashed, "actions outside"), (_WrongLogProb, "log_prob differs"), (_NotOneHot, "not one-hot")],
)
def test_contract_check_names_what_is_broken(cls: type[Sampler], message: str) -> None:
    with pytest.raises(ContractError, match=message):
        check_sampler(cls, hidden=(8,))


@pytest.mark.parametrize("name", [n for n in BOX if get_sampler_class(n).density == "exact"])
@pytest.mark.parametrize("dim", [1, 2])
def test_exact_density_normalises_on_a_grid(name: str, dim: int) -> None:
    torch.manual_seed(2)
    sampler = get_sampler_class(name)(0, dim).double()
    # a non-uniform grid on (-1, 1)^dim, dense near the ends where squashed densities pile up
    a = torch.tanh(torch.linspace(-7, 7, 2001 if dim == 1 else 601, dtype=torch.float64))
    grid = torch.cartesian_prod(*([a] * dim)).reshape(1, -1, dim)
    with torch.no_grad():
        density = sampler.log_prob(torch.zeros(1, 0, dtype=torch.float64), grid).exp()[0]
    if dim == 2:
        density = torch.trapezoid(density.reshape(len(a), len(a)), a, dim=1)
    assert torch.trapezoid(density, a).item() == pytest.approx(1.0, abs=2e-3)


def _gaussian_1d(mean: float, log_std: float) -> TanhGaussian:
    sampler = TanhGaussian(0, 1, hidden=(8,)).double()
    last = sampler.net[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([mean, log_std]))
    return sampler


@pytest.mark.parametrize(("mean", "log_std"), [(0.0, 0.0), (0.7, -1.0), (-1.5, 0.3)])
def test_tanh_gaussian_density_integrates_to_one(mean: float, log_std: float) -> None:
    sampler = _gaussian_1d(mean, log_std)
    # a non-uniform grid on (-1, 1), dense near the ends where the squashed density piles up
    a = torch.tanh(torch.linspace(-12, 12, 400_001, dtype=torch.float64))
    density = sampler.log_prob(torch.zeros(1, 0, dtype=torch.float64), a.reshape(1, -1, 1)).exp()[0]
    assert torch.trapezoid(density, a).item() == pytest.approx(1.0, abs=1e-4)


def test_tanh_gaussian_matches_finite_difference_change_of_variables() -> None:
    mean, log_std = 0.4, -0.6
    sampler = _gaussian_1d(mean, log_std)
    x = torch.linspace(-3, 3, 61, dtype=torch.float64)
    h = 1e-6
    jac = (torch.tanh(x + h) - torch.tanh(x - h)) / (2 * h)  # d tanh / dx by central differences
    std = math.exp(log_std)
    base = -0.5 * ((x - mean) / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)
    expected = base - torch.log(jac)
    got = sampler.log_prob(torch.zeros(1, 0, dtype=torch.float64), torch.tanh(x).reshape(1, -1, 1))[0]
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-6)


def test_tanh_log_abs_det_is_stable() -> None:
    x = torch.tensor([-30.0, -10.0, -1.0, 0.0, 1.0, 10.0, 30.0])
    got = tanh_log_abs_det(x)
    assert torch.isfinite(got).all()
    exact = torch.log1p(-(torch.tanh(x.double()[2:5]) ** 2))
    torch.testing.assert_close(got[2:5].double(), exact, atol=1e-6, rtol=1e-6)
    # far in the tails log(1 - tanh^2 x) -> log 4 - 2|x|
    torch.testing.assert_close(got[[0, -1]], math.log(4) - 2 * x[[0, -1]].abs(), atol=1e-5, rtol=1e-6)


def test_log_std_is_clamped() -> None:
    sampler = TanhGaussian(0, 1, hidden=(8,), log_std_min=-5.0, log_std_max=2.0)
    with torch.no_grad():
        sampler.net[-1].bias.copy_(torch.tensor([0.0, 50.0]))
    _, log_std = sampler._mean_log_std(torch.zeros(2, 0))
    assert torch.equal(log_std, torch.full_like(log_std, 2.0))


@pytest.mark.parametrize("inverse", [False, True])
def test_spline_coupling_equals_normflows_masked_linear_tails(inverse: bool) -> None:
    torch.manual_seed(3)
    layer = SplineCoupling(features=2, context_dim=0, hidden=8, blocks=1, bins=5, tail_bound=2.0, odd=False).double()
    inputs = torch.linspace(-4, 4, 41, dtype=torch.float64).unsqueeze(-1).requires_grad_(True)  # inside and outside
    params = torch.randn(41, 1, 3 * 5 - 1, dtype=torch.float64) * 3
    out, log_det = layer._piecewise_cdf(inputs, params, inverse=inverse)
    scale = 8**0.5
    ref, ref_log_det = splines.unconstrained_rational_quadratic_spline(
        inputs.detach(), params[..., :5] / scale, params[..., 5:10] / scale, params[..., 10:],
        inverse=inverse, tails="linear", tail_bound=2.0,
    )  # fmt: skip
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(log_det, ref_log_det)
    assert torch.equal(out[inputs.abs() > 2], inputs[inputs.abs() > 2])
    (out.sum() + log_det.sum()).backward()
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all()


def test_spline_inverse_survives_a_steep_fitted_spline() -> None:
    """A spline a flow reached fitting edges3 (seed 1, float32), at the input where the inverse's
    quadratic had a discriminant rounded below 0 and normflows' assertion stopped the fit: ours
    inverts it, and the forward pass maps the result back to the input."""
    widths = [0.456337571, 0.459210724, 0.268457234, 2.895003796, 3.289166927, -2.187879324, -2.005873442, -1.846264601]
    heights = [0.358438253, 0.209499702, 0.494039029, 0.172081381, 0.133035466, 0.550885439, 0.142336339, 0.178371102]
    inner = [1.803478718, 1.791749239, 18.107698441, -49.010948181, 2.644794226, 1.675535798, 1.547708392]
    params = torch.tensor([widths + heights + inner])  # [1, 23], float32 as in the fit
    y = torch.tensor([0.07374238967895508])
    x, log_det = _linear_tail_spline(y, params, 8, 3.0, 1.0, inverse=True)
    back, forward_log_det = _linear_tail_spline(x, params, 8, 3.0, 1.0, inverse=False)
    assert x.dtype == torch.float32 and torch.isfinite(x).all() and torch.isfinite(log_det).all()
    torch.testing.assert_close(back, y, atol=1e-5, rtol=0)
    torch.testing.assert_close(log_det, -forward_log_det, atol=1e-4, rtol=0)


@pytest.mark.parametrize("context", [None, 4])
def test_one_dimensional_spline_layer_equals_normflows(context: int | None) -> None:
    # the flow's layer for one action dimension: normflows' autoregressive spline, its state-dict
    # keys, and its values in both directions, without the boolean indexing
    import normflows as nf

    from rlasinference.samplers.flow import SplineAutoregressiveFlow

    torch.manual_seed(0)
    theirs = nf.flows.AutoregressiveRationalQuadraticSpline(
        1, 1, 16, num_context_channels=context, num_bins=8, tail_bound=3.0, permute_mask=False
    ).double()
    with torch.no_grad():  # away from the identity it starts at
        for p in theirs.parameters():
            p.add_(0.3 * torch.randn_like(p))
    ours = SplineAutoregressiveFlow(1, 1, 16, context, 8, 3.0).double()
    ours.load_state_dict(theirs.state_dict())  # the same keys: checkpoints carry over
    z = torch.linspace(-5, 5, 201, dtype=torch.float64).unsqueeze(-1)  # inside and outside the tails
    c = torch.randn(201, context, dtype=torch.float64) if context else None
    for direction in ("forward", "inverse"):
        for a, b in zip(getattr(ours, direction)(z, context=c), getattr(theirs, direction)(z, context=c), strict=True):
            torch.testing.assert_close(a, b)


def test_energy_flow_q_minus_v_is_tau_log_pi() -> None:
    """EBFlow's closed form: log p~_k(a|c) - log Z_k(c) = log pi(a|c) for both shifts, exactly."""
    torch.manual_seed(0)
    flow = EnergyFlow(4, 3).double()
    with torch.no_grad():  # non-trivial shifts and scales
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    context = torch.randn(6, 4, dtype=torch.float64)
    out = flow.sample(context, 1)
    actions = out.actions[:, 0]
    tau = 0.25
    q = tau * flow.log_unnormalized(context, actions)  # [2, B]
    v = tau * flow.log_normalizer(context)
    assert not torch.allclose(q[0], q[1])  # the two shifts differ
    assert out.log_density is not None
    torch.testing.assert_close(q - v, tau * out.log_density[:, 0].expand(2, -1), atol=1e-10, rtol=1e-10)


def test_energy_flow_couplings_are_volume_preserving_inverses() -> None:
    torch.manual_seed(0)
    flow = EnergyFlow(2, 4)
    context, z = torch.randn(5, 2), torch.randn(5, 4)
    torch.testing.assert_close(flow._pull(flow._push(z, context), context), z, atol=1e-5, rtol=1e-5)
    jac = torch.autograd.functional.jacobian(lambda v: flow._push(v.unsqueeze(0), context[:1])[0], z[0])
    assert torch.linalg.det(jac).item() == pytest.approx(1.0, abs=1e-5)


def test_energy_flow_log_std_is_bounded_and_never_loses_its_gradient() -> None:
    flow = EnergyFlow(0, 2, log_std_min=-5.0, log_std_max=-0.3)
    with torch.no_grad():
        flow.log_std_net[-1].bias.copy_(torch.tensor([8.0, -8.0]))  # type: ignore[union-attr]
    log_std = flow._log_std(torch.zeros(3, 0))
    assert (log_std > -5.0).all() and (log_std < -0.3).all()
    log_std.sum().backward()
    assert (flow.log_std_net[-1].bias.grad.abs() > 0).all()  # type: ignore[union-attr]


def _pull_to(centre: float, width: float):
    """A guide: the score of a Gaussian N(centre, width^2) in the action space."""
    return lambda context, actions: -(actions - centre) / width**2


def _pre_tanh_score(guide, x: torch.Tensor) -> torch.Tensor:
    """The guided step's score written out: d/dx [log p(tanh x) + log(1 - tanh^2 x)], clipped."""
    a = torch.tanh(x)
    return ((1 - a**2) * guide(None, a) - 2 * a).clamp(-100, 100)


def _chain_density_1d(chain: DiffusionChain, grid: torch.Tensor) -> torch.Tensor:
    """Exact density of x_N of a context-free 1-D chain on ``grid`` (dense 1-D quadrature per step)."""
    sigma, h = chain.prior_std, chain.step_sizes().double()
    density = torch.exp(-0.5 * (grid / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    for k in range(chain.steps):
        with torch.no_grad():
            pre = chain.in_x(grid.float().unsqueeze(1)) + chain.in_t(chain.time_features)[k]
            out = chain.body(torch.relu(pre)).double()
        drift = out[:, 0] - grid
        mean = grid + h[k] * drift  # [G] means of x_{k+1} given x_k = grid
        if chain.guide is not None and chain.score_gain is not None:
            gain = chain.score_gain[k].detach().double()
            mean = mean + h[k] * sigma**2 * gain * _pre_tanh_score(chain.guide, grid)
        var = 2 * sigma**2 * h[k]
        if chain.learn_noise:
            var = var * torch.exp(2 * out[:, 1].clamp(-5.0, 1.0))
        var = torch.as_tensor(var, dtype=torch.float64).expand(len(grid))[:, None]
        kernel = torch.exp(-0.5 * (grid[None, :] - mean[:, None]) ** 2 / var) / torch.sqrt(2 * math.pi * var)
        density = torch.trapezoid(density[:, None] * kernel, grid, dim=0)
    return density


@pytest.mark.parametrize(
    "trained_drift, learn_noise, guided",
    [(False, False, False), (True, False, False), (True, True, False), (True, True, True)],
)
def test_diffusion_path_term_is_an_upper_bound_on_log_density(
    trained_drift: bool, learn_noise: bool, guided: bool
) -> None:
    """E[path term] >= E[log pi] = -H (the gap is E KL(F(path|x_N) || B(path|x_N)) >= 0), and the
    chain's marginal is what the sampler draws. Exact marginal by quadrature, 1-D, 3 steps; with
    learned noise, a state-dependent noise scale far from 1; guided, steps that also follow a
    target's score."""
    torch.manual_seed(4)
    chain = DiffusionChain(0, 1, steps=3, hidden=[8], prior_std=1.5, dt=0.3, learn_noise=learn_noise)
    if guided:
        chain.guide = _pull_to(0.6, 0.2)
    if trained_drift:  # a drift that is far from zero, so the chain is not near-reversible
        with torch.no_grad():
            chain.body[-1].weight.normal_(0, 0.7)  # type: ignore[union-attr]
            chain.body[-1].bias.fill_(1.0)  # type: ignore[union-attr]
            if learn_noise:  # noise scales of about e^-1.5 to e^-0.5, varying with the state
                chain.body[-1].weight[1].normal_(0, 0.02)  # type: ignore[union-attr, index]
                chain.body[-1].bias[1] = -1.0  # type: ignore[union-attr, index]
    grid = torch.linspace(-15, 15, 5001, dtype=torch.float64)
    density = _chain_density_1d(chain, grid).detach()
    assert torch.trapezoid(density, grid).item() == pytest.approx(1.0, abs=1e-4)  # the quadrature is accurate
    with torch.no_grad():
        out = chain.sample(torch.zeros(1, 0), 200_000)
    x = out.pre_tanh[0, :, 0].double()  # type: ignore[index]
    exact = torch.log(torch.from_numpy(np.interp(x.numpy(), grid.numpy(), density.numpy())))
    exact = exact - tanh_log_abs_det(x)
    bound = out.log_density[0].double()  # type: ignore[index]
    gap, se = (bound - exact).mean().item(), (bound - exact).std().item() / math.sqrt(len(x))
    assert gap > -3 * se, (gap, se)
    # the sampler's own draws follow the marginal: compare the mean and the std
    mean = torch.trapezoid(grid * density, grid)
    std = torch.sqrt(torch.trapezoid((grid - mean) ** 2 * density, grid))
    assert x.mean().item() == pytest.approx(mean.item(), abs=0.02)
    assert x.std().item() == pytest.approx(std.item(), rel=0.01)
    if not trained_drift:  # zero drift: the chain nearly leaves the prior invariant, a tight bound
        assert gap < 0.05


def test_diffusion_mode_is_the_noiseless_chain_and_steps_are_learned() -> None:
    torch.manual_seed(5)
    chain = DiffusionChain(2, 2, steps=4, hidden=[8])
    context = torch.randn(3, 2)
    torch.testing.assert_close(chain.mode(context), torch.zeros(3, 2))  # zero drift from x_0 = 0
    out = chain.sample(context, 4)
    out.log_density.sum().backward()  # type: ignore[union-attr]
    assert chain.raw_dt.grad is not None and chain.raw_dt.grad.abs() > 0
    assert len(chain.step_sizes()) == 4 and (chain.step_sizes() > 0).all()
    with pytest.raises(ValueError, match="steps >= 1"):
        DiffusionChain(2, 2, steps=0)


@pytest.mark.parametrize("learn_noise, guided", [(False, False), (True, False), (True, True)])
def test_diffusion_path_density_is_the_chain_of_gaussian_steps(learn_noise: bool, guided: bool) -> None:
    """``path_log_prob`` of a sampled path: the joint density is the product of the prior and
    each Euler-Maruyama step's Gaussian (written out with torch.distributions for a 2-step 1-D
    chain), and the bound is the one ``sample`` returned for the same path."""
    torch.manual_seed(6)
    chain = DiffusionChain(2, 1, steps=2, hidden=[8], prior_std=1.5, dt=0.3, learn_noise=learn_noise)
    if guided:
        chain.guide = _pull_to(-0.4, 0.3)
    with torch.no_grad():
        chain.body[-1].weight.normal_(0, 0.5)  # type: ignore[union-attr]
        chain.body[-1].bias.normal_(0, 0.5)  # type: ignore[union-attr]
        context = torch.randn(5, 2)
        out = chain.sample(context, 1)
        path = out.extras["path"][:, 0]  # [5, 3, 1]
        log_joint, log_back = chain.path_log_prob(context, path.flatten(1))
        torch.testing.assert_close(log_joint - log_back, out.log_density[:, 0], atol=1e-4, rtol=1e-5)  # type: ignore[index]
        h = chain.step_sizes()
        expected = torch.distributions.Normal(0.0, 1.5).log_prob(path[:, 0, 0])
        ctx = chain.in_c(context)  # type: ignore[misc]
        for k in range(2):
            x = path[:, k]
            pre = chain.in_x(x) + ctx + chain.in_t(chain.time_features[k])
            f = chain.body(pre.relu())
            scale = torch.ones_like(x)
            if learn_noise:
                f, log_scale = f.split(1, dim=-1)
                scale = log_scale.clamp(-5.0, 1.0).exp()
            mean = x + h[k] * (f - x)
            if guided:
                mean = mean + h[k] * 1.5**2 * chain.score_gain[k] * _pre_tanh_score(chain.guide, x)  # type: ignore[index]
            std = 1.5 * torch.sqrt(2 * h[k]) * scale
            expected = expected + torch.distributions.Normal(mean, std).log_prob(path[:, k + 1])[:, 0]
        torch.testing.assert_close(log_joint, expected, atol=1e-4, rtol=1e-5)
    # and it is differentiable in the chain's parameters (the ratio's gradient)
    chain.path_log_prob(context, path.flatten(1))[0].sum().backward()
    assert chain.raw_dt.grad is not None and chain.body[-1].weight.grad is not None  # type: ignore[union-attr]
    if guided:
        assert chain.score_gain is not None and chain.score_gain.grad is not None


def test_diffusion_follows_its_guide_and_learns_the_gain() -> None:
    """An untrained chain (zero learned drift) with a guide towards a = 0.6 moves its draws and its
    mode there, where without one it stays at the prior; the gains get gradients through the
    draws, the guide's score included (its graph is built). A preset's unguided chain has no gain,
    and ignores a guide."""
    torch.manual_seed(2)
    chain = DiffusionChain(0, 1, steps=8, hidden=[8], prior_std=0.5)
    with torch.no_grad():
        free = chain.sample(torch.zeros(1, 0), 2000).actions.mean().item()
    chain.guide = _pull_to(0.6, 0.1)
    out = chain.sample(torch.zeros(1, 0), 2000)
    assert abs(free) < 0.05 and out.actions.mean().item() > free + 0.2
    assert chain.mode(torch.zeros(1, 0)).item() > 0.2
    out.actions.sum().backward()
    assert chain.score_gain is not None and chain.score_gain.grad is not None
    assert (chain.score_gain.grad.abs() > 0).all()
    assert chain.follows_guide
    plain = DiffusionChain(0, 1, steps=8, hidden=[8], guided=False)
    plain.guide = _pull_to(0.6, 0.1)
    assert plain.score_gain is None and not plain.follows_guide
    torch.manual_seed(3)
    guided_off = plain.sample(torch.zeros(1, 0), 5)
    plain.guide = None
    torch.manual_seed(3)
    torch.testing.assert_close(plain.sample(torch.zeros(1, 0), 5).actions, guided_off.actions)


def test_diffusion_noise_path_runs_the_noising_kernel_back_from_the_action() -> None:
    """``noise_path``: chains that end at atanh(a) and step back with B(x_n | x_{n+1}) =
    N((1 - h_n) x_{n+1}, 2 sigma^2 h_n): the steps' residuals have that scale (4000 chains), and
    ``path_log_prob`` reads them like sampled chains (its log_back is log B plus the tanh
    log-Jacobian)."""
    torch.manual_seed(0)
    chain = DiffusionChain(0, 2, steps=3, hidden=[8], prior_std=0.8, dt=0.2)
    actions = torch.tensor([0.3, -0.9]).expand(1, 4000, 2)
    with torch.no_grad():
        path = chain.noise_path(torch.zeros(1, 0), actions)  # [1, 4000, 4, 2]
        h = chain.step_sizes()
        torch.testing.assert_close(path[0, :, -1], torch.atanh(actions[0]))
        residual = path[0, :, :-1] - (1.0 - h)[None, :, None] * path[0, :, 1:]  # [4000, 3, 2]
        scale = residual.std(dim=0) / (0.8 * torch.sqrt(2.0 * h))[:, None]
        assert torch.allclose(scale, torch.ones_like(scale), atol=0.05)
        _, log_back = chain.path_log_prob(torch.zeros(4000, 0), path[0].flatten(1))
        back = torch.distributions.Normal((1.0 - h)[None, :, None] * path[0, :, 1:], 0.8 * torch.sqrt(2.0 * h)[:, None])
        log_b = back.log_prob(path[0, :, :-1]).sum(dim=(1, 2))
        tanh_lad = torch.log(1.0 - actions[0].square()).sum(-1)
        torch.testing.assert_close(log_back, log_b + tanh_lad, atol=1e-3, rtol=1e-5)


def test_guided_chain_loads_a_checkpoint_without_gains_and_pickles_without_its_guide() -> None:
    """A state dict written before the chain had gains (an RL run's: no guide, the gains unused)
    loads with the gains' initial values; a pickled or copied sampler leaves its guide behind (a
    closure over its target may not pickle), and draws without one."""
    import copy
    import pickle

    torch.manual_seed(0)
    before = DiffusionChain(0, 2, steps=3, hidden=[8], guided=False).state_dict()
    chain = DiffusionChain(0, 2, steps=3, hidden=[8])
    chain.load_state_dict(before)
    assert chain.score_gain is not None
    torch.testing.assert_close(chain.score_gain.detach(), torch.tensor([1 / 3, 2 / 3, 1.0]))
    chain.guide = _pull_to(0.5, 0.1)
    for clone in (pickle.loads(pickle.dumps(chain)), copy.deepcopy(chain)):
        assert clone.guide is None and chain.guide is not None
        assert clone.sample(torch.zeros(1, 0), 3).actions.shape == (1, 3, 2)
