from __future__ import annotations

import torch
from torch import Tensor

from rlasinference.algorithms import PRESETS
from rlasinference.policies import Policy
from tests.helpers import DensityFreeSampler


def test_best_of_n_under_the_critic_for_samplers_without_a_mode() -> None:
    torch.manual_seed(0)
    sampler = DensityFreeSampler(2, 1)
    assert sampler.mode(torch.zeros(1, 2)) is None

    def critic(obs: Tensor, actions: Tensor) -> Tensor:  # prefers actions near +0.3
        return -(actions[:, 0] - 0.3).square().unsqueeze(0)

    policy = Policy(sampler, critic, candidates=64)
    obs = torch.randn(5, 2)
    torch.manual_seed(1)
    chosen = policy.act(obs, deterministic=True)
    torch.manual_seed(1)
    candidates = sampler.sample(obs, 64).actions[..., 0]  # the same draws
    best = candidates.gather(1, (candidates - 0.3).abs().argmin(1, keepdim=True))
    torch.testing.assert_close(chosen, best)


def test_agent_saves_each_network_once() -> None:
    agent = PRESETS.get("sac").build(PRESETS.get("sac").config_cls(), {}, 3, 1)
    prefixes = {k.split(".")[0] for k in agent.state_dict()}
    assert prefixes == {"sampler", "critic", "temperature"}
    assert {k.split(".")[1] for k in agent.state_dict() if k.startswith("critic.")} == {"q", "target"}
