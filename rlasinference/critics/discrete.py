"""Critics of K discrete actions: one network output per action, so that Q(s, .) over every
action is one pass, and the exact soft value tau log sum_a exp(Q(s, a)/tau) and the policy's
exact expectation over actions need no sampling.

``discrete``: E Q-networks ``s -> R^K`` and a target copy (discrete SAC's twin Q, DQN's single
Q with ``ensemble_size`` 1). ``softmax-q``: the ``softmax`` sampler's own network is the soft Q
function and the policy is softmax(Q/tau) (soft DQN): no actor, as MEow's flow is its critic.
An action is a one-hot K-vector (any K-vector names the action of its largest entry).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from rlasinference.core.batch import Batch
from rlasinference.core.checks import NON_NEGATIVE, UNIT, Range
from rlasinference.core.errors import UserError
from rlasinference.core.nets import INITS, EnsembleMLP, image_mlp, initialise
from rlasinference.critics.base import Critic, TargetInputs
from rlasinference.critics.ensemble import update_target
from rlasinference.critics.twin import soft_bellman_regression
from rlasinference.samplers.base import Sampler, Space
from rlasinference.samplers.softmax import Softmax, action_index


def gather_actions(q_all: Tensor, actions: Tensor) -> Tensor:
    """``Q [E, B, K]`` and actions ``[B, K]`` (one-hot, or any vector naming its largest entry)
    -> ``Q(s, a) [E, B]``."""
    index = action_index(actions).view(1, -1, 1).expand(q_all.shape[0], -1, 1)
    return q_all.gather(2, index).squeeze(2)


class DiscreteQ(nn.Module):
    """``E`` Q-networks with one output per action: ``all_actions(obs [B, S]) -> [E, B, K]``,
    and the ``QFunction`` ``(obs, actions [B, K]) -> [E, B]`` of the actions they name. With an
    ``image`` observation ``[C, H, W]`` each member has its own convolutional torso."""

    def __init__(
        self, obs_dim: int, actions: int, hidden: Sequence[int], members: int, image: Sequence[int] = ()
    ) -> None:
        super().__init__()
        self.net: nn.Module = (
            nn.ModuleList(image_mlp(image, obs_dim, hidden, actions) for _ in range(members))
            if image
            else EnsembleMLP(obs_dim, hidden, actions, members)
        )

    def all_actions(self, obs: Tensor) -> Tensor:
        if isinstance(self.net, nn.ModuleList):
            return torch.stack([member(obs) for member in self.net])
        return self.net(obs)

    def forward(self, obs: Tensor, actions: Tensor) -> Tensor:
        return gather_actions(self.all_actions(obs), actions)


class DiscreteCritic(Critic):
    """``E`` Q-networks ``s -> R^K`` and a target copy, averaged in by Polyak's rule or copied
    every ``target_update_every`` updates (``polyak`` 1); V(s') from the value estimator on the
    target.

    :param image: the observation is an image ``[C, H, W]`` (flattened), read by a convolutional
        torso per member; empty, a vector. RL runs set it from the env's observations.
    :param init: the Q-networks' initialisation: ``torch`` (PyTorch's) or ``kaiming``
        (``core.nets.initialise``: N(0, 2 / fan_in) weights, zero biases).
    """

    summary: ClassVar[str] = "E Q-nets with one output per action + target net (discrete actions; conv torso on images)"
    space: ClassVar[Space] = "discrete"
    value_estimators: ClassVar[tuple[str, ...] | None] = ("exact", "expected", "sampled")

    @classmethod
    def accepts_sampler(cls, sampler_cls: type) -> bool:
        return getattr(sampler_cls, "space", "box") == "discrete"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden: Sequence[int],
        members: int,
        sampler: Sampler,
        image: Sequence[int] = (),
        init: str = "torch",
    ) -> None:
        super().__init__()
        if init not in INITS:
            raise ValueError(f"critic.init must be one of {', '.join(INITS)}, got {init!r}")
        self.q = initialise(DiscreteQ(obs_dim, action_dim, hidden, members, image), init)
        self.target = copy.deepcopy(self.q).requires_grad_(False)

    def loss(self, batch: Batch, inputs: TargetInputs) -> dict[str, Tensor]:
        return soft_bellman_regression(self.q, self.target, batch, inputs)

    def actor_q(self, obs: Tensor, actions: Tensor) -> Tensor:
        with torch.no_grad():  # no gradient reaches a one-hot action: the actor reads values only
            return self.q(obs, actions)

    def actor_q_all(self, obs: Tensor) -> Tensor:
        """``Q [E, B, K]`` of every action, without gradient: what an exact objective reads."""
        with torch.no_grad():
            return self.q.all_actions(obs)

    def after_update(self, updates: int, polyak: float, target_update_every: int) -> None:
        update_target(self.target, self.q, updates, polyak, target_update_every)


class SamplerQ:
    """A ``softmax`` sampler read as a one-member discrete Q function: ``Q(s, .) = f(s)``."""

    def __init__(self, sampler: Softmax) -> None:
        self.sampler = sampler

    def all_actions(self, obs: Tensor) -> Tensor:
        return self.sampler.energies(obs).unsqueeze(0)

    def __call__(self, obs: Tensor, actions: Tensor) -> Tensor:
        return gather_actions(self.all_actions(obs), actions)


class SoftmaxQCritic(Critic):
    """The ``softmax`` sampler as critic: its network is Q(s, .), its temperature is kept at tau,
    so the policy is softmax(Q/tau) and the soft Bellman regression is the only loss (soft DQN).
    The target is a copy of the sampler (Polyak or hard copy).

    :param munchausen: Munchausen's alpha (Vieillard et al. 2020): the reward gains
        ``alpha * clip(tau log pi_bar(a|s), munchausen_clip, 0)``, pi_bar = softmax(Qbar(s, .)/tau)
        of the target copy (M-DQN); 0, soft DQN.
    :param munchausen_clip: the lowest value of ``tau log pi_bar(a|s)`` in that term (l0).
    :param huber_delta: regress with the Huber loss of this threshold (DQN's); 0, the squared error.
    """

    is_sampler: ClassVar[bool] = True
    summary: ClassVar[str] = (
        "the softmax sampler itself: Q(s, .) = its logits times tau, pi = softmax(Q/tau) (soft DQN)"
    )
    space: ClassVar[Space] = "discrete"
    value_estimators: ClassVar[tuple[str, ...] | None] = ("exact", "expected", "sampled")
    option_ranges: ClassVar[dict[str, Range]] = {
        "munchausen": UNIT, "munchausen_clip": Range(high=0), "huber_delta": NON_NEGATIVE,
    }  # fmt: skip

    @classmethod
    def accepts_sampler(cls, sampler_cls: type) -> bool:
        return issubclass(sampler_cls, Softmax)

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden: Sequence[int],
        members: int,
        sampler: Sampler,
        munchausen: float = 0.0,
        munchausen_clip: float = -1.0,
        huber_delta: float = 0.0,
    ) -> None:
        super().__init__()
        self.munchausen, self.munchausen_clip, self.huber_delta = munchausen, munchausen_clip, huber_delta
        if not isinstance(sampler, Softmax):
            raise UserError(f"critic 'softmax-q' needs a softmax sampler, got {type(sampler).__name__}")
        if members != 1:
            raise UserError(f"critic 'softmax-q' is the sampler's one network: ensemble_size must be 1, got {members}")
        self._sampler: tuple[Softmax] = (sampler,)  # a tuple: the agent owns the sampler, the critic only reads it
        self.target = copy.deepcopy(sampler).requires_grad_(False)

    @property
    def sampler(self) -> Softmax:
        return self._sampler[0]

    def set_temperature(self, tau: Tensor) -> None:
        for sampler in (self.sampler, self.target):
            sampler.temperature.copy_(tau)

    def loss(self, batch: Batch, inputs: TargetInputs) -> dict[str, Tensor]:
        bonus = None
        if self.munchausen:  # alpha clip(tau log pi_bar(a|s), l0, 0), pi_bar = softmax(Qbar(s, .)/tau)
            with torch.no_grad():
                q = SamplerQ(self.target).all_actions(batch.obs)  # [1, B, K]
                tau_log_pi = gather_actions(inputs.tau * torch.log_softmax(q / inputs.tau, dim=-1), batch.actions)[0]
                bonus = self.munchausen * tau_log_pi.clamp(self.munchausen_clip, 0.0)
        return soft_bellman_regression(
            SamplerQ(self.sampler), SamplerQ(self.target), batch, inputs, bonus, self.huber_delta
        )

    def actor_q(self, obs: Tensor, actions: Tensor) -> Tensor:
        with torch.no_grad():
            return SamplerQ(self.sampler)(obs, actions)

    def actor_q_all(self, obs: Tensor) -> Tensor:
        with torch.no_grad():
            return SamplerQ(self.sampler).all_actions(obs)

    def after_update(self, updates: int, polyak: float, target_update_every: int) -> None:
        update_target(self.target, self.sampler, updates, polyak, target_update_every)
