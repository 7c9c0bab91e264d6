"""Critics: the fourth axis of an algorithm (docs/concepts.md), a registry like samplers.

Registry names are the ``--set critic=NAME`` values; ``module:Class`` loads a user critic.
"""

from __future__ import annotations

from typing import Any

from rlasinference.core.registry import Registry, constructor_options
from rlasinference.critics.base import Critic, QFunction, TargetInputs
from rlasinference.critics.bellman import soft_bellman_target
from rlasinference.critics.categorical import CategoricalCritic, hl_gauss_projection, project_onto_support
from rlasinference.critics.crossq import CrossQCritic
from rlasinference.critics.discrete import DiscreteCritic, DiscreteQ, SoftmaxQCritic
from rlasinference.critics.dsac import DSACCritic
from rlasinference.critics.energy_flow import EnergyFlowCritic
from rlasinference.critics.ensemble import QEnsemble, polyak_update, update_target
from rlasinference.critics.twin import TwinCritic

CRITICS: Registry[type[Critic]] = Registry("critic")
CRITICS.register("twin", TwinCritic)
CRITICS.register("crossq", CrossQCritic)
CRITICS.register("categorical", CategoricalCritic)
CRITICS.register("energy-flow", EnergyFlowCritic)
CRITICS.register("dsac", DSACCritic)
CRITICS.register("discrete", DiscreteCritic)
CRITICS.register("softmax-q", SoftmaxQCritic)

POSITIONAL = 5  # obs_dim, action_dim, hidden, members, sampler

__all__ = [
    "CRITICS",
    "CategoricalCritic",
    "Critic",
    "CrossQCritic",
    "DSACCritic",
    "DiscreteCritic",
    "DiscreteQ",
    "EnergyFlowCritic",
    "QEnsemble",
    "QFunction",
    "SoftmaxQCritic",
    "TargetInputs",
    "TwinCritic",
    "critic_options",
    "get_critic_class",
    "hl_gauss_projection",
    "polyak_update",
    "project_onto_support",
    "soft_bellman_target",
    "update_target",
]


def get_critic_class(name: str) -> type[Critic]:
    """The critic class registered as ``name`` (or imported from ``module:Class``)."""
    return CRITICS.get_subclass(name, Critic)


def critic_options(cls: type[Critic]) -> dict[str, Any]:
    """The critic's constructor options and their defaults (its ``critic.<name>`` config fields)."""
    return constructor_options(cls, POSITIONAL, "critic")
