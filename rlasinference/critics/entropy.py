"""The entropy critic of TECRL (Zhan et al., "Mind Your Entropy: From Maximum Entropy to
Trajectory Entropy-Constrained RL", 2025): a Q-function of the policy's entropy alone, learned
beside any reward critic.

With ``entropy_critic`` on, the reward critic's target carries no entropy (it is formed at
tau = 0: ``y_r = r + gamma (1 - d) Qbar_r(s', a')``), and the entropy critic learns the expected
discounted entropy that the policy will still collect after (s, a):

    Q_e(s, a) = E[ sum_{t >= 1} gamma^t (-log pi(a_t | s_t)) ],
    y_e = gamma (1 - d) (-log pi(a'|s') + min_k Qbar_e,k(s', a')),   a' ~ pi(.|s').

The soft Q of maximum-entropy RL is then Q_r + tau Q_e, which is what the actor reads: its
targets do not move when tau does (TECRL's first point). ``V_e(s') = -log pi(a'|s') +
Qbar_e(s', a')``, the entropy the policy collects from s' on, is also the estimate the
trajectory temperature rule constrains (``objectives.temperature.trajectory_temperature_loss``).
``log pi`` is the sampler's: exact, or its path bound for a diffusion chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from rlasinference.core.batch import Batch
from rlasinference.critics.ensemble import QEnsemble, update_target
from rlasinference.critics.twin import squared_td_loss


def entropy_target(log_pi_next: Tensor, q_e_next: Tensor, terminated: Tensor, gamma: float) -> Tensor:
    """``y_e = gamma (1 - d) (-log pi(a'|s') + min_k Qbar_e,k(s', a'))`` for ``log_pi_next [B]``
    and ``q_e_next [E, B]``."""
    return gamma * (1.0 - terminated) * (q_e_next.min(dim=0).values - log_pi_next)


class EntropyCritic(nn.Module):
    """``E`` Q-networks of the entropy to come, a Polyak-averaged target copy, squared TD loss.

    :param members: its ensemble size (the clipped min over members forms the target and what
        the actor reads, as the reward critic's twin does).
    """

    def __init__(self, obs_dim: int, action_dim: int, hidden: Sequence[int], members: int = 2) -> None:
        super().__init__()
        self.q = QEnsemble(obs_dim, action_dim, hidden, members)
        self.target = QEnsemble(obs_dim, action_dim, hidden, members)
        self.target.load_state_dict(self.q.state_dict())
        self.target.requires_grad_(False)

    def loss(self, batch: Batch, sample_next: Callable[[], tuple[Tensor, Tensor]], gamma: float) -> dict[str, Tensor]:
        """``loss_entropy_critic`` (differentiable), ``entropy_q_mean`` (the mean of Q_e at the
        batch's pairs) and ``entropy_to_go`` ``[B]`` (V_e(s') on the target network, 0 where s'
        is terminal; detached)."""
        with torch.no_grad():
            next_actions, log_pi = sample_next()
            q_next = self.target(batch.next_obs, next_actions)  # [E, B]
            y = entropy_target(log_pi, q_next, batch.terminated, gamma)
            # a terminal s' has no entropy to come: a trajectory that ends early collects less
            to_go = (1.0 - batch.terminated) * (q_next.min(dim=0).values - log_pi)
        q = self.q(batch.obs, batch.actions)
        return {
            "loss_entropy_critic": squared_td_loss(q, y),
            "entropy_q_mean": q.detach().mean(),
            "entropy_to_go": to_go,
        }

    def actor_q(self, obs: Tensor, actions: Tensor) -> Tensor:
        """``min_k Q_e,k(s, a)`` ``[1, B]``, gradients to ``actions`` only."""
        return self.q.frozen(obs, actions).min(dim=0, keepdim=True).values

    def after_update(self, updates: int, polyak: float, target_update_every: int) -> None:
        update_target(self.target, self.q, updates, polyak, target_update_every)
