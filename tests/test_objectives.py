"""Golden values of the soft Bellman target, the reverse-KL objective, the sampled soft value
and the temperature's dual update."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch
from torch import Tensor

from rlasinference.objectives import Temperature, reverse_kl, temperature_loss
from rlasinference.samplers.base import DensityKind, Sampler, Samples
from rlasinference.values import sampled_soft_value, soft_bellman_target


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
