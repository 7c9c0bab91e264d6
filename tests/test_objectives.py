"""Golden values of the soft Bellman target, the reverse-KL and Stein objectives, the sampled
and importance-sampled soft values and the temperature's dual update."""

from __future__ import annotations

import functools
import math
from typing import ClassVar

import pytest
import torch
from torch import Tensor

from rlasinference.core.qfunction import QFunction
from rlasinference.critics import soft_bellman_target
from rlasinference.objectives import Temperature, covering_kl, reverse_kl, stein, temperature_loss
from rlasinference.objectives.box_mmd import box_mmd
from rlasinference.objectives.stein import rbf_kernel, stein_direction, target_score
from rlasinference.samplers import SVGDSampler
from rlasinference.samplers.base import DensityKind, Sampler, Samples
from rlasinference.values import importance_soft_value, sampled_soft_value


class FixedSampler(Sampler):
    """Returns given actions and log-densities whatever the context."""

    density: ClassVar[DensityKind] = "exact"

    def __init__(self, actions: Tensor, log_density: Tensor) -> None:
        super().__init__(1, actions.shape[-1])
        self.actions, self.log_density = actions, log_density

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        assert n == self.actions.shape[1]
        return Samples(actions=self.actions, log_density=self.log_density)


def twin_critic(obs: Tensor, actions: Tensor) -> Tensor:
    """Q_1 = sum(a) + obs, Q_2 = 2 sum(a): ``[B, 1], [B, A] -> [2, B]``."""
    s = actions.sum(-1)
    return torch.stack([s + obs[:, 0], 2 * s])


def test_soft_bellman_target_terminated_vs_truncated() -> None:
    reward = torch.tensor([1.0, 1.0, -2.0])
    next_value = torch.tensor([10.0, 10.0, 4.0])
    # a truncated transition is stored with terminated = 0 and still bootstraps
    terminated = torch.tensor([0.0, 1.0, 0.0])
    got = soft_bellman_target(reward, terminated, next_value, gamma=0.9)
    torch.testing.assert_close(got, torch.tensor([1.0 + 0.9 * 10.0, 1.0, -2.0 + 0.9 * 4.0]))


def test_reverse_kl_golden() -> None:
    actions = torch.tensor([[[0.5, -0.25]], [[0.1, 0.2]]])  # [B=2, n=1, A=2]
    log_density = torch.tensor([[-1.0], [0.5]])
    obs = torch.tensor([[1.0], [-1.0]])
    out = reverse_kl(obs, FixedSampler(actions, log_density), twin_critic, torch.tensor(0.2))
    # min Q: row 0: min(0.25 + 1, 0.5) = 0.5; row 1: min(0.3 - 1, 0.6) = -0.7
    expected = ((0.2 * -1.0 - 0.5) + (0.2 * 0.5 + 0.7)) / 2
    assert out["loss_policy"].item() == pytest.approx(expected)
    torch.testing.assert_close(out["log_density"], torch.tensor([-1.0, 0.5]))


class TableSampler(Sampler):
    """Exact sampler over fixed draws whose log-densities are parameters: ``sample`` returns the
    first ``n`` draws, ``log_prob`` looks actions up among them."""

    density: ClassVar[DensityKind] = "exact"

    def __init__(self, actions: Tensor, log_density: Tensor) -> None:
        super().__init__(1, actions.shape[-1])
        self.table, self.logits = actions, torch.nn.Parameter(log_density.clone())

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        rows = context.shape[0]
        return Samples(self.table[:n].expand(rows, n, -1), self.logits[:n].expand(rows, n))

    def log_prob(self, context: Tensor, actions: Tensor) -> Tensor:
        index = (actions.unsqueeze(2) == self.table).all(-1).float().argmax(-1)  # [B, n]
        return self.logits[index]


def test_covering_kl_golden_weights_and_gradient() -> None:
    """Three draws with log pi (-1, -2, -3) and Q (0, 1, -1) at tau 0.5: the forward term's weights
    are softmax(Q / tau - log pi) = softmax(1, 4, 1), its gradient with respect to log pi of each
    draw is -cover_weight * tau * w_i, on top of reverse KL's tau / B on the one draw it sees."""
    actions = torch.tensor([[0.1, 0.0], [0.5, 0.5], [-0.5, 0.2]])
    sampler = TableSampler(actions, torch.tensor([-1.0, -2.0, -3.0]))
    q_of = {0.1: 0.0, 0.5: 1.0, -0.5: -1.0}

    def critic(context: Tensor, a: Tensor) -> Tensor:
        return torch.tensor([q_of[round(float(x), 1)] for x in a[:, 0]]).unsqueeze(0)

    tau = torch.tensor(0.5)
    out = covering_kl(torch.zeros(2, 0), sampler, critic, tau, cover_samples=3, cover_weight=2.0)
    w = torch.softmax(torch.tensor([1.0, 4.0, 1.0]), 0)
    forward = -(w * torch.tensor([-1.0, -2.0, -3.0])).sum()
    assert out["loss_policy"].item() == pytest.approx(0.5 * -1.0 - 0.0 + 2.0 * 0.5 * forward.item(), rel=1e-5)
    assert out["forward_ess"].item() == pytest.approx(1.0 / w.square().sum().item() / 3, rel=1e-5)
    out["loss_policy"].backward()
    expected = -2.0 * 0.5 * w + torch.tensor([0.5, 0.0, 0.0])  # the reverse term sees draw 0 on both rows
    torch.testing.assert_close(sampler.logits.grad, expected)


def test_covering_kl_raises_a_starved_modes_density() -> None:
    """Two draws, one per mode of an equal-weight target, the sampler putting 0.9 of its mass on
    the first. Reverse KL (the negative control), holding its one draw, only pushes that draw's
    log pi down: nothing asks for mass on the starved mode. The forward term's weights are
    (0.1, 0.9): a descent step raises the starved draw's log pi nine times as much."""
    actions = torch.tensor([[-0.5, 0.0], [0.5, 0.0]])

    def critic(context: Tensor, a: Tensor) -> Tensor:
        return torch.zeros(1, a.shape[0])

    grads = []
    for objective in (reverse_kl, functools.partial(covering_kl, cover_samples=2)):
        sampler = TableSampler(actions, torch.log(torch.tensor([0.9, 0.1])))
        objective(torch.zeros(1, 0), sampler, critic, torch.tensor(1.0))["loss_policy"].backward()
        grads.append(sampler.logits.grad)
    torch.testing.assert_close(grads[0], torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(grads[1], torch.tensor([1.0 - 0.1, -0.9]))


class TwoBinSampler(Sampler):
    """1-D: mass ``sigmoid(logit)`` uniform on [-1, 0), the rest uniform on [0, 1)."""

    density: ClassVar[DensityKind] = "exact"

    def __init__(self, logit: float) -> None:
        super().__init__(0, 1)
        self.logit = torch.nn.Parameter(torch.tensor(logit))

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        u = torch.rand(context.shape[0], n, 1)
        left = torch.rand(context.shape[0], n, 1) < torch.sigmoid(self.logit)
        actions = torch.where(left, u - 1.0, u)
        return Samples(actions=actions, log_density=self.log_prob(context, actions))

    def log_prob(self, context: Tensor, actions: Tensor) -> Tensor:
        p_left = torch.sigmoid(self.logit)
        return torch.where(actions[..., 0] < 0, p_left.log(), (1.0 - p_left).log())


def test_covering_kl_uniform_share_reaches_an_emptied_mode() -> None:
    """All the target's mass on [0, 1), the sampler's 1 - 1e-4 on [-1, 0): none of 64 own draws
    lands on the mode (at this seed), so the weights over them (the negative control) leave the
    reverse term alone, whose gradient on the logit is 1 - p_left = 1e-4, and the forward term
    cancels it. With half the draws uniform on the box, the ones on the mode carry the weight:
    the forward term is about -log(1 - p_left), a gradient of about p_left = 1 on the logit."""

    def critic(context: Tensor, a: Tensor) -> Tensor:
        return torch.where(a[..., 0] < 0, -50.0, 0.0).unsqueeze(0)

    grads = {}
    for share in (0.0, 0.5):
        torch.manual_seed(0)
        sampler = TwoBinSampler(math.log(1e4))
        out = covering_kl(torch.zeros(1, 0), sampler, critic, torch.tensor(1.0), cover_samples=64, cover_uniform=share)
        out["loss_policy"].backward()
        grads[share] = sampler.logit.grad.item()
    assert abs(grads[0.0]) < 1e-6 and grads[0.5] > 0.9
    with pytest.raises(ValueError, match="cover_uniform"):
        covering_kl(torch.zeros(1, 0), sampler, critic, torch.tensor(1.0), cover_uniform=1.0)


def test_covering_kl_uniform_share_trains_a_path_sampler() -> None:
    """A diffusion chain's uniform draws get chains from its noising kernel: the loss and every
    parameter's gradient are finite, the gains of its guided steps included."""
    from rlasinference.samplers import DiffusionChain

    torch.manual_seed(0)
    chain = DiffusionChain(0, 2, steps=4, hidden=[16])
    critic = lambda context, a: -(a - 0.5).square().sum(-1).unsqueeze(0) / 0.01  # noqa: E731
    chain.guide = lambda context, a: -2.0 * (a - 0.5) / 0.01
    out = covering_kl(torch.zeros(8, 0), chain, critic, torch.tensor(1.0), cover_samples=8, cover_uniform=0.5)
    out["loss_policy"].backward()
    assert torch.isfinite(out["loss_policy"]) and 0 < out["forward_ess"] <= 1
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in chain.parameters() if p.requires_grad)


def test_sampled_soft_value_golden() -> None:
    actions = torch.tensor([[[0.5], [-0.5]], [[0.2], [0.4]]])  # [B=2, n=2, A=1]
    log_density = torch.tensor([[-1.0, -2.0], [0.0, 1.0]])
    obs = torch.tensor([[3.0], [0.0]])
    v = sampled_soft_value(obs, FixedSampler(actions, log_density), twin_critic, torch.tensor(0.5), n=2)
    # row 0: min Q = (min(3.5, 1.0), min(2.5, -1.0)) = (1.0, -1.0); minus 0.5 * log pi
    # row 1: min Q = (min(0.2, 0.4), min(0.4, 0.8)) = (0.2, 0.4)
    expected = torch.tensor([((1.0 + 0.5) + (-1.0 + 1.0)) / 2, ((0.2 - 0.0) + (0.4 - 0.5)) / 2])
    torch.testing.assert_close(v, expected)


@pytest.mark.parametrize(("entropy", "direction"), [(-3.0, +1), (1.0, -1)])
def test_temperature_moves_towards_target_entropy(entropy: float, direction: int) -> None:
    temperature = Temperature(0.5, learned=True)
    opt = torch.optim.SGD(temperature.parameters(), lr=0.1)
    before = temperature().item()
    log_density = torch.full((8,), -entropy)
    loss = temperature_loss(temperature.log_tau, log_density, target_entropy=-1.0)
    loss.backward()
    opt.step()
    # entropy below the target (-3 < -1): tau rises; above it (1 > -1): tau falls
    assert (temperature().item() - before) * direction > 0


def test_fixed_temperature_has_no_parameters() -> None:
    temperature = Temperature(0.2, learned=False)
    assert list(temperature.parameters()) == []
    assert temperature().item() == pytest.approx(0.2)


def _standard_normal_in_pre_tanh_space(tau: float):
    """A critic whose Boltzmann density exp(Q/tau) on (-1, 1)^A is tanh(N(0, I)): the pre-tanh
    target is exactly a standard normal."""

    def critic(context: Tensor, actions: Tensor) -> Tensor:
        u = torch.atanh(actions)
        log_p_u = -0.5 * u.square() - 0.5 * math.log(2 * math.pi)
        return (tau * (log_p_u - torch.log1p(-actions.square()))).sum(-1).unsqueeze(0)

    return critic


def test_stein_direction_vanishes_at_the_target_in_pre_tanh_space() -> None:
    """Stein's identity: particles drawn from the target see a zero direction. The same particles
    with the score and kernel taken in action space (the Jacobian term added but the gradient
    taken with respect to a) see a clearly non-zero one."""
    torch.manual_seed(0)
    tau = torch.tensor(0.5, dtype=torch.float64)
    critic = _standard_normal_in_pre_tanh_space(0.5)
    context = torch.zeros(1, 0, dtype=torch.float64)
    fixed = torch.randn(1, 40_000, 2, dtype=torch.float64)
    updated = torch.tensor([[[0.0, 0.0], [0.5, -1.0], [1.5, 1.0]]], dtype=torch.float64)
    direction = stein_direction(fixed, updated, target_score(context, fixed, critic, tau))
    assert direction.abs().max() < 0.02, direction

    a_fixed = torch.tanh(fixed).requires_grad_(True)
    log_p_a = critic(context, a_fixed[0]) / tau + torch.log1p(-a_fixed.square()).sum(-1)
    (score_a,) = torch.autograd.grad(log_p_a.sum(), a_fixed)
    wrong = stein_direction(a_fixed.detach(), torch.tanh(updated), score_a)
    assert wrong.abs().max() > 0.2, wrong


def test_stein_score_is_the_pre_tanh_log_density_gradient() -> None:
    torch.manual_seed(1)
    tau = torch.tensor(0.3, dtype=torch.float64)
    u = torch.randn(2, 3, 2, dtype=torch.float64)
    context = torch.randn(2, 1, dtype=torch.float64)

    def log_p(v: Tensor) -> Tensor:  # Q = obs * sum(a^2) - sum(a), plus the tanh log-Jacobian
        a = torch.tanh(v)
        return (context[:, :1] * a.square().sum(-1) - a.sum(-1)) / tau + torch.log1p(-a.square()).sum(-1)

    def critic(obs: Tensor, actions: Tensor) -> Tensor:
        q = obs[:, 0] * actions.square().sum(-1) - actions.sum(-1)
        return torch.stack([q, q + 1.0])  # the min picks the first member

    expected = torch.autograd.functional.jacobian(lambda v: log_p(v).sum(), u)
    torch.testing.assert_close(target_score(context, u, critic, tau), expected)


def test_stein_objective_moves_particles_along_the_direction() -> None:
    """One small SGD step on the surrogate moves every updated particle along Delta u."""
    torch.manual_seed(2)
    sampler = SVGDSampler(0, 2, hidden=[16])
    critic = _standard_normal_in_pre_tanh_space(1.0)
    context, tau = torch.zeros(64, 0), torch.tensor(1.0)
    out = stein(context, sampler, critic, tau, stein_particles=8, stein_fixed=4)
    assert out["log_density"] is None and out["stein_norm"] > 0
    out["loss_policy"].backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in sampler.parameters())
    torch.manual_seed(2)
    covered = stein(context, sampler, critic, tau, stein_particles=8, stein_fixed=4, stein_cover=10.0, cover_samples=16)
    torch.manual_seed(2)
    plain = stein(context, sampler, critic, tau, stein_particles=8, stein_fixed=4)
    assert covered["loss_policy"] is not None and plain["loss_policy"] is not None
    assert covered["loss_policy"].item() != plain["loss_policy"].item()
    covered["loss_policy"].backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in sampler.parameters())
    with pytest.raises(ValueError, match="stein_fixed"):
        stein(context, sampler, critic, tau, stein_particles=8, stein_fixed=8)


class SplitSampler(Sampler):
    """1-D, no density: a share ``left`` of its draws at -0.5 (plus a learnable shift), the rest at +0.5."""

    density: ClassVar[DensityKind] = "none"

    def __init__(self, left: float) -> None:
        super().__init__(0, 1)
        self.left = left
        self.shift = torch.nn.Parameter(torch.zeros(1))

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        k = round(self.left * n)
        draws = torch.cat([torch.full((k, 1), -0.5) + self.shift, torch.full((n - k, 1), 0.5)])
        return Samples(actions=draws.expand(context.shape[0], n, 1))


def _two_modes(left: float) -> QFunction:
    """Q = log of the mixture left N(-0.5, 0.05^2) + (1 - left) N(0.5, 0.05^2) in 1-D."""
    centres, weights = torch.tensor([-0.5, 0.5]), torch.tensor([left, 1.0 - left])

    def critic(context: Tensor, a: Tensor) -> Tensor:
        z = (a - centres) / 0.05  # [N, 2]
        return torch.logsumexp(weights.log() - 0.5 * z.square(), dim=1).unsqueeze(0)

    return critic


def test_box_mmd_prefers_the_targets_split_between_separated_modes() -> None:
    """The score of separated modes does not depend on their weights (the negative control: it is
    zero at both mode centres, for the 0.7 / 0.3 target as for 0.3 / 0.7), so SVGD's update cannot
    tell one split of its particles from another. The weighted MMD can: it is lowest at the
    target's split (0.7 among 0.5, 0.7 and 0.9), and where a mode is starved its gradient moves
    draws there."""
    context, tau = torch.zeros(1, 0), torch.tensor(1.0)
    u = torch.atanh(torch.tensor([-0.5, 0.5])).reshape(1, 2, 1)
    for left in (0.7, 0.3):  # less the tanh Jacobian's part, the same for any target
        score = target_score(context, u, _two_modes(left), tau) + 2.0 * torch.tanh(u)
        assert score.abs().max() < 1e-3
    losses = {}
    for left in (0.5, 0.7, 0.9):
        torch.manual_seed(0)  # the same uniform draws for every split
        losses[left] = box_mmd(context, SplitSampler(left), _two_modes(0.7), tau, samples=4000).item()
    assert losses[0.7] < losses[0.5] and losses[0.7] < losses[0.9], losses
    starved = SplitSampler(1.0)  # every draw on the left mode, which should hold 0.3
    torch.manual_seed(0)
    box_mmd(context, starved, _two_modes(0.3), tau, samples=4000).backward()
    assert starved.shift.grad is not None and starved.shift.grad.item() < 0  # descent moves them right


def test_rbf_kernel_median_bandwidth_and_gradient() -> None:
    torch.manual_seed(3)
    x, y = torch.randn(2, 5, 3, dtype=torch.float64), torch.randn(2, 4, 3, dtype=torch.float64)
    k, grad_k = rbf_kernel(x, y)
    dist_sq = (x[0, :, None] - y[0, None]).square().sum(-1)
    h = dist_sq.flatten().median() / math.log(5)
    torch.testing.assert_close(k[0], torch.exp(-dist_sq / h))
    numeric = torch.autograd.functional.jacobian(lambda v: torch.exp(-(v - y[0, 1]).square().sum() / h), x[0, 2])
    torch.testing.assert_close(grad_k[0, 2, 1], numeric)


@pytest.mark.parametrize(("curvature", "centre", "tau"), [(2.0, 0.3, 0.5), (8.0, -0.8, 1.0)])
def test_importance_soft_value_matches_the_gaussian_integral(curvature: float, centre: float, tau: float) -> None:
    """For Q(a) = -c |a - m|^2 on [-1, 1]^2, tau log int exp(Q/tau) da is a product of erf terms."""
    torch.manual_seed(4)
    sampler = SVGDSampler(1, 2)
    critic = lambda obs, a: (-curvature * (a - centre).square().sum(-1)).unsqueeze(0)  # noqa: E731
    v = importance_soft_value(torch.zeros(4, 1, dtype=torch.float64), sampler, critic, torch.tensor(tau), 200_000)
    s = math.sqrt(curvature / tau)
    one_dim = math.sqrt(math.pi) / (2 * s) * (math.erf(s * (1 - centre)) - math.erf(s * (-1 - centre)))
    torch.testing.assert_close(v, torch.full((4,), 2 * tau * math.log(one_dim), dtype=torch.float64), atol=0.01, rtol=0)


def test_reward_scale_is_a_temperature_change() -> None:
    """Scaling Q by c at temperature tau gives c times the value at temperature tau / c."""
    sampler = SVGDSampler(1, 3)
    critic = lambda obs, a: torch.stack([a.sum(-1) + obs[:, 0], a.square().sum(-1)])  # noqa: E731
    scaled = lambda obs, a: 7.0 * critic(obs, a)  # noqa: E731
    obs = torch.randn(5, 1, dtype=torch.float64)
    torch.manual_seed(5)
    v_scaled = importance_soft_value(obs, sampler, scaled, torch.tensor(2.0))
    torch.manual_seed(5)
    v = importance_soft_value(obs, sampler, critic, torch.tensor(2.0 / 7.0))
    torch.testing.assert_close(v_scaled, 7.0 * v)


def test_clipped_surrogate_golden() -> None:
    """Hand-computed, eps = 0.2: r = (0.5, 1.0, 1.5, 1.1), A = (1, -2, 2, -1).
    -min(rA, clip(r)A) per sample: -min(0.5, 0.8) = -0.5; -min(-2, -2) = 2;
    -min(3, 2.4) = -2.4; -min(-1.1, -1.1) = 1.1; mean (-0.5 + 2 - 2.4 + 1.1) / 4 = 0.05."""
    from rlasinference.objectives.clipped_surrogate import clipped_surrogate

    ratio, adv = torch.tensor([0.5, 1.0, 1.5, 1.1]), torch.tensor([1.0, -2.0, 2.0, -1.0])
    torch.testing.assert_close(clipped_surrogate(ratio, adv, 0.2), torch.tensor(0.05))


def test_clipped_value_loss_golden() -> None:
    """V = (1, 3), V_old = (0, 2), R = (2, 0), clip 0.5. Unclipped errors (1, 9); the values moved
    at most 0.5: (0.5, 2.5), errors (2.25, 6.25); the larger of each (2.25, 9): 0.5 * mean = 2.8125.
    Without clipping: 0.5 * mean(1, 9) = 2.5."""
    from rlasinference.objectives.clipped_surrogate import clipped_value_loss

    value, old, returns = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0]), torch.tensor([2.0, 0.0])
    torch.testing.assert_close(clipped_value_loss(value, old, returns, 0.5, True), torch.tensor(2.8125))
    torch.testing.assert_close(clipped_value_loss(value, old, returns, 0.5, False), torch.tensor(2.5))


def test_lambda_returns_golden() -> None:
    """One env, 2 steps, gamma 0.5, lambda 1: rewards (1, 2), values (0, 0), no end, last value 4.
    Advantages: A_1 = 2 + 0.5 * 4 = 4, A_0 = 1 + 0.5 * 0 - 0 + 0.5 * 4 = 3; returns = A + V."""
    from rlasinference.values.gae import gae, lambda_returns

    rewards, values, ends = torch.tensor([[1.0], [2.0]]), torch.zeros(2, 1), torch.zeros(2, 1)
    torch.testing.assert_close(gae(rewards, values, ends, torch.tensor([4.0]), 0.5, 1.0), torch.tensor([[3.0], [4.0]]))
    values = torch.tensor([[1.0], [1.0]])  # returns do not depend on V with lambda 1: R_0 = 1 + .5 * 2 + .25 * 4
    torch.testing.assert_close(
        lambda_returns(rewards, values, ends, torch.tensor([4.0]), 0.5, 1.0)[0], torch.tensor([3.0])
    )
