"""The stacked Q ensemble equals vmap over one member; Polyak averaging golden values; the C51
projection, batch renormalisation and the categorical critic."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from rlasinference.core.nets import BatchRenorm, Frames, image_torso
from rlasinference.critics import CategoricalCritic, QEnsemble, polyak_update, project_onto_support


def test_ensemble_equals_vmap_over_a_member() -> None:
    torch.manual_seed(0)
    critic = QEnsemble(5, 2, hidden=(16, 16), members=3)
    # the same parameters as three nn.Sequential members, evaluated with torch.func.vmap
    members = []
    for k in range(3):
        net = nn.Sequential(nn.Linear(7, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
        linears = [m for m in net if isinstance(m, nn.Linear)]
        for lin, w, b in zip(linears, critic.net.weights, critic.net.biases):
            lin.weight.data.copy_(w[k].T)
            lin.bias.data.copy_(b[k, 0])
        members.append(net)
    params, buffers = stack_module_state(members)  # type: ignore[arg-type]
    base = copy.deepcopy(members[0]).to("meta")
    obs, act = torch.randn(9, 5), torch.rand(9, 2) * 2 - 1
    x = torch.cat([obs, act], -1)
    expected = vmap(lambda p, b: functional_call(base, (p, b), (x,)))(params, buffers).squeeze(-1)
    torch.testing.assert_close(critic(obs, act), expected)


def test_the_nature_torso_reads_frames_channels_last_and_computes_what_channels_first_does() -> None:
    """From 36 pixels a side the torso keeps frames and convolution weights channels last (faster
    convolutions); its features are those of the same weights channels first, to float32 rounding,
    with frames that carry a gradient too, and from bytes. MinAtar's torso is unchanged."""
    torch.manual_seed(0)
    torso, width = image_torso([4, 40, 40])
    convs = [m for m in torso.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 3 and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    first = copy.deepcopy(torso).to(memory_format=torch.contiguous_format)
    for module in first.modules():
        if isinstance(module, Frames):
            module.memory_format = torch.contiguous_format
    frames = torch.randint(0, 256, (5, 4 * 40 * 40)).float()
    for x in (frames, frames.clone().requires_grad_()):
        out = torso(x)
        assert out.shape[-1] == width
        torch.testing.assert_close(out, first(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torso(frames.to(torch.uint8)), torso(frames))  # frames as the buffer stores them
    grad = torch.autograd.grad(torso(frames.clone().requires_grad_()).sum(), convs[0].weight)[0]
    assert grad.is_contiguous(memory_format=torch.channels_last)
    small, _ = image_torso([4, 10, 10])
    assert not any(isinstance(m, Frames) for m in small.modules())


def test_members_are_initialised_independently() -> None:
    torch.manual_seed(0)
    critic = QEnsemble(3, 1, members=2)
    w = critic.net.weights[0]
    assert not torch.equal(w[0], w[1])


def test_polyak_update_golden() -> None:
    source, target = nn.Linear(2, 1), nn.Linear(2, 1)
    with torch.no_grad():
        source.weight.fill_(1.0)
        source.bias.fill_(2.0)
        target.weight.fill_(0.0)
        target.bias.fill_(0.0)
    polyak_update(target, source, 0.1)
    torch.testing.assert_close(target.weight, torch.full((1, 2), 0.1))
    torch.testing.assert_close(target.bias, torch.full((1,), 0.2))


def test_c51_projection_keeps_mass_and_mean() -> None:
    torch.manual_seed(0)
    support = torch.linspace(-10, 10, 21)
    probs = torch.softmax(torch.randn(5, 21), dim=1)
    targets = 0.8 * support + torch.rand(5, 1) * 2 - 1  # shifted, shrunk, inside [-10, 10]
    out = project_onto_support(probs, targets, support)
    torch.testing.assert_close(out.sum(1), torch.ones(5))
    torch.testing.assert_close(out @ support, (probs * targets).sum(1))
    # a point mass on an atom stays there; mass beyond the range lands on the end atoms
    one = project_onto_support(torch.tensor([[1.0] + [0.0] * 20]), torch.full((1, 21), 3.0), support)
    assert one[0, 13] == 1.0 and one.sum() == 1.0
    clipped = project_onto_support(torch.full((1, 21), 1 / 21), torch.full((1, 21), 50.0), support)
    assert clipped[0, -1] == pytest.approx(1.0)


def test_batch_renorm_is_batch_norm_in_warmup_and_uses_running_stats_in_eval() -> None:
    torch.manual_seed(1)
    norm = BatchRenorm(3, members=2, momentum=0.1, warmup=2)
    x = torch.randn(2, 64, 3) * 4 + 1
    out = norm(x)
    for k in range(2):  # plain batch norm per member (biased variance, eps 1e-3)
        ref = torch.nn.functional.batch_norm(x[k], None, None, training=True, eps=1e-3)
        torch.testing.assert_close(out[k], ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(norm.running_mean, 0.1 * x.mean(1, keepdim=True))
    norm.eval()
    expected = (x - norm.running_mean) / torch.sqrt(norm.running_var + 1e-3)
    torch.testing.assert_close(norm(x), expected)
    norm.train()
    norm(x)
    after = norm(x)  # third call: past warmup, corrected towards the running statistics
    assert not torch.allclose(after, out, atol=1e-3)
    assert norm.calls.item() == 3


def _renormalising(var_b: float, r: float, d: float, members: int | None) -> BatchRenorm:
    """A layer past its warm-up whose running statistics give ``r`` and ``d`` on a batch with
    mean 0 and variance ``var_b`` (eps 1e-3)."""
    norm = BatchRenorm(1, members=members, warmup=0)
    running_std = math.sqrt(var_b + 1e-3) / r
    norm.running_var.fill_(running_std**2 - 1e-3)
    norm.running_mean.fill_(-d * running_std)
    return norm


@pytest.mark.parametrize("members", [None, 1])
def test_batch_renorm_adds_eps_where_the_reference_code_does(members: int | None) -> None:
    # var_B 4e-3, r 1.58, d 1.12; inputs at -1 / +1 batch std (a batch of two), then at
    # -sqrt(1.5) / 0 / +sqrt(1.5) (a batch of three with the same variance). Hand-computed from
    # the reference's (x - mu_B + d sigma_B / r) / sqrt(var_B / r^2 + eps); Ioffe's
    # (x - mu_B) / sqrt(var_B + eps) * r + d would give [-0.293, 2.533] and [-0.611, 1.120, 2.851].
    sigma = math.sqrt(4e-3)
    for points, expected in (
        ([-1.0, 1.0], [-0.3610, 2.1186]),
        ([-math.sqrt(1.5), 0.0, math.sqrt(1.5)], [-0.6396, 0.8788, 2.3973]),
    ):
        norm = _renormalising(4e-3, 1.58, 1.12, members)
        x = torch.tensor(points) * sigma
        out = norm(x.view(-1, 1) if members is None else x.view(1, -1, 1)).flatten()
        torch.testing.assert_close(out, torch.tensor(expected), atol=2e-4, rtol=0)


def test_batch_renorm_of_a_constant_feature_has_finite_gradients() -> None:
    # a ReLU unit dead over the batch: var_B = 0, where sqrt's gradient is infinite
    norm = _renormalising(4e-3, 1.58, 1.12, None)
    x = torch.zeros(8, 1, requires_grad=True)
    (norm(x) * torch.arange(8.0).view(8, 1)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and torch.isfinite(norm.weight.grad).all()


def test_categorical_critic_q_is_the_expected_return() -> None:
    torch.manual_seed(2)
    critic = CategoricalCritic(
        3, 2, [16], 2, None, atoms=11, v_min=-5, v_max=5, batch_renorm=True, target_network=False
    )  # type: ignore[arg-type]
    obs, act = torch.randn(8, 3), torch.rand(8, 2)
    critic.eval()
    probs = torch.softmax(critic.logits(obs, act), dim=-1)
    act.requires_grad_(True)
    q = critic.actor_q(obs, act)
    torch.testing.assert_close(q, probs @ torch.linspace(-5, 5, 11))
    q.sum().backward()
    assert act.grad is not None and all(p.grad is None for p in critic.parameters())
    assert critic.training  # actor_q reads the running statistics, then hands the critic back in training mode
