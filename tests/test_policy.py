from __future__ import annotations

import copy

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


def test_a_deep_copy_of_an_agent_trains_on_its_own() -> None:
    """A copy of an agent (``copy.deepcopy``) holds no reference into the original: trained
    after it, block by block, both end where training them update by update ends."""
    from rlasinference.algorithms.actor_critic import ActorCritic
    from rlasinference.core.batch import Batch
    from rlasinference.samplers import get_sampler_class

    for name, preset in PRESETS:
        config = preset.config_cls()
        if not issubclass(preset.recipe.agent_cls, ActorCritic):
            continue  # the on-policy agents learn from rollouts, not batches
        discrete = get_sampler_class(config.sampler).space == "discrete"
        torch.manual_seed(0)
        agent = preset.build(config, {}, 3, 3 if discrete else 2)
        twin = copy.deepcopy(agent)
        n = config.batch_size
        actions = torch.eye(3)[torch.randint(3, (n,))] if discrete else torch.rand(n, 2) * 1.8 - 0.9
        batch = Batch(torch.randn(n, 3), actions, torch.randn(n), torch.randn(n, 3), torch.zeros(n))
        for one in (agent, twin):  # one after the other, the same draws
            for step in range(3):
                torch.manual_seed(step)
                one.update(batch)
        for (key, mine), theirs in zip(agent.state_dict().items(), twin.state_dict().values(), strict=True):
            torch.testing.assert_close(mine, theirs, rtol=0, atol=0, msg=f"{name}: {key}")
