"""Critics: the fourth axis of an algorithm (DESIGN.md section 4), a registry like samplers.

Registry names are the ``--set critic=NAME`` values; ``module:Class`` loads a user critic.
"""

from __future__ import annotations

import inspect
from typing import Any

from rlasinference.core.errors import UserError
from rlasinference.core.registry import Registry
from rlasinference.critics.base import Critic, QFunction, TargetInputs
from rlasinference.critics.bellman import soft_bellman_target
from rlasinference.critics.categorical import CategoricalCritic, hl_gauss_projection, project_onto_support
from rlasinference.critics.crossq import CrossQCritic
from rlasinference.critics.energy_flow import EnergyFlowCritic
from rlasinference.critics.ensemble import QEnsemble, polyak_update
from rlasinference.critics.twin import TwinCritic

CRITICS: Registry[type[Critic]] = Registry("critic")
CRITICS.register("twin", TwinCritic)
CRITICS.register("crossq", CrossQCritic)
CRITICS.register("categorical", CategoricalCritic)
CRITICS.register("energy-flow", EnergyFlowCritic)

POSITIONAL = 5  # obs_dim, action_dim, hidden, members, sampler

__all__ = [
    "CRITICS",
    "CategoricalCritic",
    "Critic",
    "CrossQCritic",
    "EnergyFlowCritic",
    "QEnsemble",
    "QFunction",
    "TargetInputs",
    "TwinCritic",
    "critic_options",
    "get_critic_class",
    "hl_gauss_projection",
    "polyak_update",
    "project_onto_support",
    "soft_bellman_target",
]


def get_critic_class(name: str) -> type[Critic]:
    """The critic class registered as ``name`` (or imported from ``module:Class``)."""
    cls = CRITICS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, Critic)):
        raise UserError(f"{name!r} is not a Critic subclass (see rlasinference.critics.base.Critic)")
    return cls


def critic_options(cls: type[Critic]) -> dict[str, Any]:
    """The critic's constructor options and their defaults (its ``critic.<name>`` config fields)."""
    options: dict[str, Any] = {}
    for pname, param in list(inspect.signature(cls.__init__).parameters.items())[1 + POSITIONAL :]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is inspect.Parameter.empty:
            raise UserError(f"critic option {pname!r} of {cls.__name__} needs a default value")
        options[pname] = param.default
    return options
