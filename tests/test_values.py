"""The value-estimator code against the fixed point of tabular soft Q-iteration (DESIGN.md
section 6): on a small random MDP, soft policy iteration written with our soft Bellman target
and our sampled soft value converges to the unique fixed point of the soft Bellman operator."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
import torch
from torch import Tensor

from rlasinference.critics import soft_bellman_target
from rlasinference.samplers.base import DensityKind, Sampler, Samples
from rlasinference.values import sampled_soft_value

S, A, GAMMA, TAU = 6, 4, 0.9, 0.5


class BoltzmannTable(Sampler):
    """The policy softmax(Q(s, .)/tau) of a Q table; context = one-hot state, action = index."""

    density: ClassVar[DensityKind] = "exact"

    def __init__(self, q: Tensor, tau: float) -> None:
        super().__init__(S, 1)
        self.log_pi = torch.log_softmax(q / tau, dim=1)

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        states = context.argmax(1)
        idx = torch.multinomial(self.log_pi[states].exp(), n, replacement=True)  # [B, n]
        return Samples(actions=idx.unsqueeze(-1).double(), log_density=self.log_pi[states].gather(1, idx))


def table_critic(q: Tensor):
    return lambda obs, actions: q[obs.argmax(1), actions[:, 0].long()].unsqueeze(0)  # [1, B]


def soft_fixed_point(reward: np.ndarray, transition: np.ndarray, iters: int = 2000) -> np.ndarray:
    """Independent ground truth: value iteration with V = tau * logsumexp(Q / tau), float64."""
    q = np.zeros((S, A))
    for _ in range(iters):
        m = q.max(1, keepdims=True)
        v = (m + TAU * np.log(np.exp((q - m) / TAU).sum(1, keepdims=True)))[:, 0]
        q = reward + GAMMA * transition @ v
    return q


def test_soft_policy_iteration_reaches_the_soft_bellman_fixed_point() -> None:
    rng = np.random.default_rng(0)
    reward = rng.normal(size=(S, A))
    transition = rng.dirichlet(np.ones(S), size=(S, A))  # [S, A, S']
    q_star = soft_fixed_point(reward, transition)

    torch.manual_seed(0)
    states = torch.eye(S, dtype=torch.float64)
    q = torch.zeros(S, A, dtype=torch.float64)
    err0 = np.abs(q.numpy() - q_star).max()
    for k in range(1, 201):
        # V(s') from the sampled estimator with a' ~ softmax(Q/tau): for the Boltzmann policy
        # Q - tau log pi is the same for every a', so even 8 samples give V exactly
        v = sampled_soft_value(states, BoltzmannTable(q, TAU), table_critic(q), torch.tensor(TAU), n=8)
        expected_v = torch.as_tensor(transition) @ v  # E_{s'}[V(s')], [S, A]
        q = soft_bellman_target(torch.as_tensor(reward), torch.zeros(S, A, dtype=torch.float64), expected_v, GAMMA)
        err = np.abs(q.numpy() - q_star).max()
        assert err <= GAMMA**k * err0 + 1e-9  # a gamma-contraction
    assert err < 1e-7


def test_sampled_soft_value_is_unbiased_for_a_non_boltzmann_policy() -> None:
    torch.manual_seed(1)
    q = torch.randn(S, A, dtype=torch.float64)
    sampler = BoltzmannTable(torch.randn(S, A, dtype=torch.float64), 1.0)  # some other policy
    pi = sampler.log_pi.exp()
    exact = (pi * (q - TAU * sampler.log_pi)).sum(1)
    v = sampled_soft_value(torch.eye(S, dtype=torch.float64), sampler, table_critic(q), torch.tensor(TAU), n=200_000)
    torch.testing.assert_close(v, exact, atol=0.02, rtol=0)
    # and it is below the soft value tau*logsumexp(Q/tau) of the Boltzmann policy (the ELBO gap)
    assert (v <= TAU * torch.logsumexp(q / TAU, dim=1) + 0.02).all()


@pytest.mark.parametrize("terminated", [0.0, 1.0])
def test_bellman_target_shapes_broadcast(terminated: float) -> None:
    out = soft_bellman_target(torch.ones(5), torch.full((5,), terminated), torch.ones(5), 0.99)
    assert out.shape == (5,)
