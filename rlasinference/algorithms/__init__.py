"""Algorithms are presets: a config with the paper's defaults over a shared recipe, the
off-policy actor-critic or the on-policy one (docs/concepts.md, "Algorithms are presets").

Every ``Preset`` defined in a module of this package is registered under its ``name``: a new
preset from existing parts is its module (and its docs page), nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from rlasinference.algorithms.actor_critic import ActorCritic, ActorCriticConfig
from rlasinference.algorithms.base import Agent, Batch
from rlasinference.algorithms.on_policy import OnPolicyAgent, OnPolicyConfig
from rlasinference.algorithms.preset import Preset
from rlasinference.core.registry import Registry

PRESETS: Registry[Preset] = Registry("algorithm")
# the paper presets first, in the order `rlai list` has always shown them; any other after them
_FIRST = ("sac", "crossq", "meow", "sql", "diffsac", "dime", "ppo", "diffppo")
_found: dict[str, Preset] = {}
for _module in pkgutil.iter_modules(__path__):
    for _value in vars(importlib.import_module(f"{__name__}.{_module.name}")).values():
        if isinstance(_value, Preset) and _found.setdefault(_value.name, _value) is not _value:
            raise ValueError(f"two presets are named {_value.name!r}")
for _name in sorted(_found, key=lambda n: (_FIRST.index(n) if n in _FIRST else len(_FIRST), n)):
    PRESETS.register(_name, _found[_name])

__all__ = ["PRESETS", "ActorCritic", "ActorCriticConfig", "Agent", "Batch", "OnPolicyAgent", "OnPolicyConfig", "Preset"]
