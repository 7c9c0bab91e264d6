"""Algorithms are presets: a config with the paper's defaults over a shared recipe, the
off-policy actor-critic or the on-policy one (docs/concepts.md, "Algorithms are presets")."""

from __future__ import annotations

from rlasinference.algorithms.actor_critic import ActorCritic, ActorCriticConfig
from rlasinference.algorithms.base import Agent, Batch
from rlasinference.algorithms.crossq import CROSSQ
from rlasinference.algorithms.diffppo import DIFFPPO
from rlasinference.algorithms.diffsac import DIFFSAC
from rlasinference.algorithms.dime import DIME_PRESET
from rlasinference.algorithms.meow import MEOW
from rlasinference.algorithms.on_policy import OnPolicyAgent, OnPolicyConfig
from rlasinference.algorithms.ppo import PPO
from rlasinference.algorithms.preset import Preset
from rlasinference.algorithms.sac import SAC
from rlasinference.algorithms.sql import SQL
from rlasinference.core.registry import Registry

PRESETS: Registry[Preset] = Registry("algorithm")
PRESETS.register("sac", SAC)
PRESETS.register("crossq", CROSSQ)
PRESETS.register("meow", MEOW)
PRESETS.register("sql", SQL)
PRESETS.register("diffsac", DIFFSAC)
PRESETS.register("dime", DIME_PRESET)
PRESETS.register("ppo", PPO)
PRESETS.register("diffppo", DIFFPPO)

__all__ = ["PRESETS", "ActorCritic", "ActorCriticConfig", "Agent", "Batch", "OnPolicyAgent", "OnPolicyConfig", "Preset"]
