"""The stacked Q ensemble equals vmap over one member; Polyak averaging golden values."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from rlasinference.critics import QEnsemble, polyak_update


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
