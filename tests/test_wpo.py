"""WPO's update direction against its closed form for a state-independent tanh-Gaussian
(float64, fixed samples): per sample, with g = d/dx [Q(tanh x) - tau log pi(tanh x)] and the
score d/dx log pi = -(x - mu) / sigma^2 (plus the squash's theta-free term),

    dL/dmu        = -mean_b g_b / sigma^2,
    dL/dlog sigma = -mean_b 2 (x_b - mu) g_b / sigma^2;

and, at tau = 0 on a Q linear in x, the mean's step is the deterministic policy gradient's."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rlasinference.algorithms import PRESETS
from rlasinference.objectives import wpo
from rlasinference.samplers.base import Sampler, Samples
from rlasinference.samplers.gaussian import gaussian_tanh_log_density


class FixedGaussian(Sampler):
    """A one-dimensional tanh-Gaussian with parameters mu and log sigma whatever the state, and
    given base draws (so that the test knows every sample)."""

    density = "exact"

    def __init__(self, mu: float, log_sigma: float, eps: Tensor) -> None:
        super().__init__(1, 1)
        self.mu = nn.Parameter(torch.tensor([mu], dtype=torch.float64))
        self.log_sigma = nn.Parameter(torch.tensor([log_sigma], dtype=torch.float64))
        self.eps = eps  # [B]

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        x = (self.mu + self.log_sigma.exp() * self.eps).reshape(-1, 1, 1)
        z = self.eps.reshape(-1, 1, 1)
        return Samples(torch.tanh(x), gaussian_tanh_log_density(z, self.log_sigma.expand_as(x), x), pre_tanh=x)

    def log_prob(self, context: Tensor, actions: Tensor) -> Tensor:
        x = torch.atanh(actions)
        z = (x - self.mu) / self.log_sigma.exp()
        return gaussian_tanh_log_density(z, self.log_sigma.expand_as(x), x)


def q_of_x(x: Tensor) -> Tensor:
    return -1.5 * (x - 0.4) ** 2 + 0.3 * x


def q_critic(obs: Tensor, actions: Tensor) -> Tensor:
    """Q as a function of the pre-tanh value, two identical members ``[2, B]``."""
    return q_of_x(torch.atanh(actions[:, 0])).expand(2, -1)


def test_wpo_gradient_is_the_closed_form_for_a_gaussian() -> None:
    eps = torch.tensor([-1.3, -0.2, 0.5, 1.1, 0.05], dtype=torch.float64)
    mu, log_sigma, tau = 0.2, math.log(0.6), 0.3
    sampler = FixedGaussian(mu, log_sigma, eps)
    obs = torch.zeros(5, 1, dtype=torch.float64)
    out = wpo(obs, sampler, q_critic, torch.tensor(tau, dtype=torch.float64))
    out["loss_policy"].backward()
    sigma = math.exp(log_sigma)
    x = mu + sigma * eps
    # g = dQ/dx - tau d/dx [log N(x; mu, sigma) - log(1 - tanh^2 x)] = dQ/dx + tau (x - mu)/sigma^2 - 2 tau tanh x
    g = -3.0 * (x - 0.4) + 0.3 + tau * (x - mu) / sigma**2 - 2 * tau * torch.tanh(x)
    assert sampler.mu.grad is not None and sampler.log_sigma.grad is not None
    torch.testing.assert_close(sampler.mu.grad[0], -(g / sigma**2).mean())
    torch.testing.assert_close(sampler.log_sigma.grad[0], -(2 * (x - mu) * g / sigma**2).mean())
    torch.testing.assert_close(out["flow_norm"], g.abs().mean())


def test_wpo_at_tau_zero_moves_the_mean_along_the_deterministic_policy_gradient() -> None:
    """On Q = c x (linear), g = c at every sample: the mean's gradient is -c / sigma^2 whatever
    the samples (WPO's zero-variance property for a locally linear Q), and sigma's is 0 on
    average (exactly 0 for draws symmetric about the mean)."""
    eps = torch.tensor([-0.9, -0.3, 0.3, 0.9], dtype=torch.float64)
    sampler = FixedGaussian(0.1, math.log(0.5), eps)
    obs = torch.zeros(4, 1, dtype=torch.float64)

    def linear(o: Tensor, a: Tensor) -> Tensor:
        return (2.0 * torch.atanh(a[:, 0])).expand(2, -1)

    wpo(obs, sampler, linear, torch.tensor(0.0, dtype=torch.float64))["loss_policy"].backward()
    assert sampler.mu.grad is not None and sampler.log_sigma.grad is not None
    torch.testing.assert_close(sampler.mu.grad[0], torch.tensor(-2.0 / 0.25, dtype=torch.float64))
    torch.testing.assert_close(sampler.log_sigma.grad[0], torch.tensor(0.0, dtype=torch.float64))


def test_wpo_preset_is_sac_with_the_wpo_objective() -> None:
    sac, w = PRESETS.get("sac").config_cls(), PRESETS.get("wpo").config_cls()
    assert w.objective == "wpo"
    from rlasinference.samplers import SAMPLERS

    # the chain on its paths, whichever name it is given by; SVGD (no density) is refused
    assert PRESETS.get("diffwpo").accepts(SAMPLERS.get("diffusion"))
    # DiffSAC's chain with its step sizes kept at their schedule (docs/algorithms/diffwpo.md)
    assert PRESETS.get("diffwpo").sampler_options == {**PRESETS.get("diffsac").sampler_options, "learn_dt": False}
    assert PRESETS.get("wpo").accepts(SAMPLERS.get("flow")) and not PRESETS.get("wpo").accepts(SAMPLERS.get("svgd"))
    # SAC's Gaussian with the reference's natural-gradient adaptor; another sampler gets its own defaults
    assert PRESETS.get("wpo").default_sampler_options("gaussian")["natural_gradient"] is True
    assert PRESETS.get("sac").default_sampler_options("gaussian")["natural_gradient"] is False
    assert "natural_gradient" not in PRESETS.get("wpo").default_sampler_options("flow")
    assert {k: v for k, v in vars(w).items() if k != "objective"} == {
        k: v for k, v in vars(sac).items() if k != "objective"
    }


def test_diffwpo_moves_a_one_step_chain_by_the_closed_form_of_its_path_score() -> None:
    """A one-step chain x_0 -> x_1 with F(x_1 | x_0) = N(m(x_0), 2 sigma^2 h I): the path's score
    is s_1 = -(x_1 - m)/(2 sigma^2 h) and s_0 = -x_0/sigma^2 + J_m^T (x_1 - m)/(2 sigma^2 h), and
    m moves with the drift's last bias b as h I. So, with g = grad_path (Q - tau bound),

        dL/db = -mean_b (g_1 - J_m g_0) / (2 sigma^2),

    J_m = dm/dx_0 taken by autograd at the stored x_0 (the chain's drift is a random network)."""
    from rlasinference.samplers import DiffusionChain

    torch.manual_seed(0)
    # (the chain runs in float32 whatever its inputs: this test does too)
    chain = DiffusionChain(2, 2, steps=1, hidden=[8], learn_noise=False, guided=False)
    with torch.no_grad():
        for p in chain.body.parameters():
            p.normal_(0.0, 0.5)
    obs = torch.randn(6, 2)
    tau = torch.tensor(0.2)

    def critic(o: Tensor, a: Tensor) -> Tensor:
        return (-(torch.atanh(a) - 0.3).square().sum(-1) + o[:, 0] * a[:, 1]).expand(2, -1)

    torch.manual_seed(1)
    out = wpo(obs, chain, critic, tau)
    out["loss_policy"].backward()
    torch.manual_seed(1)
    with torch.no_grad():
        path = chain.sample(obs, 1).extras["path"][:, 0]  # the same draws: [B, 2, A]
    sigma, h = chain.prior_std, chain.step_sizes().detach()[0]
    flat = path.reshape(6, -1).requires_grad_(True)
    log_joint, log_back = chain.path_log_prob(obs, flat)
    bound = log_joint - log_back
    q = critic(obs, torch.tanh(flat[:, 2:])).min(0).values
    (g,) = torch.autograd.grad((q - tau * bound).sum(), flat)
    g0, g1 = g[:, :2], g[:, 2:]
    x0 = path[:, 0].clone().requires_grad_(True)

    def mean_of(x: Tensor) -> Tensor:  # F's mean, read off the chain's log-density: m = x_1 + 2 sigma^2 h grad_x1 log F
        pair = torch.cat([x, path[:, 1]], dim=-1).requires_grad_(True)
        log_joint, _ = chain.path_log_prob(obs, pair)
        (score,) = torch.autograd.grad(log_joint.sum(), pair, create_graph=True)
        return path[:, 1] + 2 * sigma**2 * h * score[:, 2:]

    jac = torch.stack([torch.autograd.grad(mean_of(x0)[:, i].sum(), x0, retain_graph=True)[0] for i in range(2)], 1)
    want = -((g1 - torch.einsum("bij,bj->bi", jac, g0)) / (2 * sigma**2)).mean(0)
    last_bias = chain.body[-1].bias
    assert last_bias.grad is not None
    torch.testing.assert_close(last_bias.grad, want, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out["log_density"], bound.detach())


class OneStepPath(Sampler):
    """Paths x_0 ~ N(0, 1), x_1 = x_0 + N(0, 1) with no parameter in the forward chain, and a
    noising kernel B(x_0 | x_1) = N(c x_1, 1) whose parameter c enters the bound only (as the
    learned step sizes enter a diffusion chain's B)."""

    density = "bound"

    def __init__(self, path: Tensor) -> None:
        super().__init__(1, 1)
        self.c = nn.Parameter(torch.tensor(0.3, dtype=torch.float64))
        self.path = path  # [B, 2]

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        return Samples(torch.tanh(self.path[:, None, 1:]), extras={"path": self.path[:, None, :, None]})

    def path_log_prob(self, context: Tensor, flat: Tensor) -> tuple[Tensor, Tensor]:
        x0, x1 = flat[:, 0], flat[:, 1]
        log_joint = -0.5 * x0.square() - 0.5 * (x1 - x0).square() - 2 * math.log(math.sqrt(2 * math.pi))
        log_b = -0.5 * (x0 - self.c * x1).square() - math.log(math.sqrt(2 * math.pi))
        return log_joint, log_b + torch.log1p(-torch.tanh(x1).square())


def test_diffwpo_takes_the_gradient_of_the_bound_at_a_fixed_path() -> None:
    """A parameter of the noising kernel moves no sample (the score does not depend on it), yet the
    free energy E[tau bound - Q] depends on it: its gradient is -tau E[d_c log B] =
    -tau mean_b (x_0 - c x_1) x_1, whatever Q is."""
    torch.manual_seed(0)
    x0 = torch.randn(64, dtype=torch.float64)
    path = torch.stack([x0, x0 + torch.randn(64, dtype=torch.float64)], dim=-1)
    sampler, tau = OneStepPath(path), torch.tensor(0.7, dtype=torch.float64)

    def critic(obs: Tensor, actions: Tensor) -> Tensor:
        return -(actions[:, 0] - 0.2).square().expand(2, -1)

    wpo(torch.zeros(64, 1, dtype=torch.float64), sampler, critic, tau)["loss_policy"].backward()
    want = -tau * ((path[:, 0] - 0.3 * path[:, 1]) * path[:, 1]).mean()
    assert sampler.c.grad is not None
    torch.testing.assert_close(sampler.c.grad, want)


def test_wpo_pulls_back_a_saturated_gaussian() -> None:
    """Samples beyond |x| = 7.25 (where a clipped atanh of the action has no gradient) still move
    the policy: the score is taken at the value before the squash, not recovered from the action."""
    from rlasinference.samplers import TanhGaussian

    torch.manual_seed(0)
    sampler = TanhGaussian(3, 2, hidden=[8])
    with torch.no_grad():
        sampler.net[-1].bias[:2] = 12.0  # means far outside the box's inverse image
    obs = torch.randn(16, 3)

    def critic(o: Tensor, a: Tensor) -> Tensor:
        return -(a - 0.2).square().sum(-1).expand(2, -1)

    wpo(obs, sampler, critic, torch.tensor(0.1))["loss_policy"].backward()
    grad = sampler.net[-1].bias.grad
    assert grad is not None and grad[:2].abs().min() > 1e-3


def test_natural_gradient_scales_the_gaussians_gradients_by_its_inverse_fisher() -> None:
    """``sampler.natural_gradient`` (the ``wpo`` preset's): the same wpo loss, the gradient that
    reaches the mean multiplied by sigma^2 and the one that reaches log sigma by sigma^2 / 2,
    per state and dimension (Acme's adaptor); the loss's value is unchanged."""
    from rlasinference.samplers.gaussian import TanhGaussian

    def run(natural: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        torch.manual_seed(0)
        sampler = TanhGaussian(3, 2, hidden=(16,), natural_gradient=natural).double()
        outputs: list[Tensor] = []

        def keep(_module: nn.Module, _inputs: object, out: Tensor) -> None:
            if out.requires_grad:
                out.retain_grad()
                outputs.append(out)

        sampler.net.register_forward_hook(keep)
        obs = torch.randn(6, 3, dtype=torch.float64)

        def critic(o: Tensor, a: Tensor) -> Tensor:
            return (-((a - 0.3) ** 2).sum(-1) + o[:, 0] * a[:, 1]).expand(2, -1)

        torch.manual_seed(1)
        out = wpo(obs, sampler, critic, torch.tensor(0.2, dtype=torch.float64))
        out["loss_policy"].backward()
        (net_out,) = outputs
        log_std = net_out.detach().chunk(2, dim=-1)[1]
        grad_mean, grad_log_std = net_out.grad.chunk(2, dim=-1)
        return out["loss_policy"].detach(), log_std, grad_mean, grad_log_std

    loss, log_std, grad_mean, grad_log_std = run(False)
    loss_n, log_std_n, grad_mean_n, grad_log_std_n = run(True)
    variance = (2 * log_std).exp()
    assert torch.equal(loss, loss_n) and torch.equal(log_std, log_std_n)
    assert not torch.allclose(grad_mean, grad_mean_n)
    torch.testing.assert_close(grad_mean_n, variance * grad_mean)
    torch.testing.assert_close(grad_log_std_n, variance / 2 * grad_log_std)
