"""The critic contract (docs/concepts.md, "Algorithms are presets"): a soft critic owns how its Bellman target is formed
and what the actor reads from it.

Constructors take ``(obs_dim, action_dim, hidden, members, sampler, **options)``; the options
are the critic's config fields (``--set critic.<name>=...``), ranged like a sampler's in
``option_ranges`` / ``ordered_options``. ``sampler`` is the policy's sampler: only a critic that
*is* the sampler (MEow's energy flow) uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn

from rlasinference.core.batch import Batch
from rlasinference.core.checks import Range
from rlasinference.core.qfunction import QFunction
from rlasinference.samplers.base import Space


@dataclass
class TargetInputs:
    """What a critic needs to form its soft Bellman target.

    :param value: the value estimator bound to the batch's next states, the sampler and tau:
        ``value(q) -> V(s') [B]`` for a Q function ``q`` of the critic's choosing (its target
        network, or a joint pass with the current pairs).
    :param sample_next: ``() -> (a' [B, A], log pi(a'|s') [B])`` one next action per next state
        (for critics whose target is not a scalar V: the categorical one).
    """

    value: Callable[[QFunction], Tensor]
    sample_next: Callable[[], tuple[Tensor, Tensor]]
    tau: Tensor
    gamma: float
    reward_scale: float


class Critic(nn.Module):
    """Base class of every critic.

    Subclasses implement ``loss`` and ``actor_q`` and may override ``after_update``.
    ``value_estimators``: the value estimators whose V the critic can use (``None``: any).
    ``metrics``: what ``loss`` returns besides ``loss_critic`` and ``q_mean``.
    """

    summary: ClassVar[str] = ""
    #: the critic is the sampler (its loss trains the sampler; the policy objective must be none)
    is_sampler: ClassVar[bool] = False
    value_estimators: ClassVar[tuple[str, ...] | None] = None
    #: the action space it reads (``discrete``: one output per action, actions one-hot)
    space: ClassVar[Space] = "box"
    metrics: ClassVar[tuple[str, ...]] = ()
    option_ranges: ClassVar[dict[str, Range]] = {}
    ordered_options: ClassVar[tuple[tuple[str, str], ...]] = ()

    @classmethod
    def accepts_sampler(cls, sampler_cls: type) -> bool:
        """Whether the critic can be built with this sampler class."""
        return True

    def loss(self, batch: Batch, inputs: TargetInputs) -> dict[str, Tensor]:
        """The critic's loss on a batch: ``loss_critic`` (differentiable), ``q_mean`` (detached)
        and the ``metrics`` it declares."""
        raise NotImplementedError

    def actor_q(self, obs: Tensor, actions: Tensor) -> Tensor:
        """``Q [E, B]`` as the actor reads it: gradients reach ``actions``, never the critic."""
        raise NotImplementedError

    def actor_q_all(self, obs: Tensor) -> Tensor:
        """``Q [E, B, K]`` of each of the K actions, without gradient (discrete critics only): what
        an exact objective over the actions reads, in one pass."""
        raise NotImplementedError(f"{type(self).__name__} reads {self.space} actions: no Q over K actions")

    def after_update(self, updates: int, polyak: float, target_update_every: int) -> None:
        """Called after every gradient update (``updates`` counts them): target networks."""

    def set_temperature(self, tau: Tensor) -> None:
        """Called with tau when the agent is built and whenever tau moves: a critic that is the
        sampler and whose draws depend on tau (``softmax-q``) keeps the sampler's copy of it."""
