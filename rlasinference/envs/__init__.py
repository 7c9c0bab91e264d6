"""Environments: gymnasium env construction with the checks and action scaling we rely on,
and the project's own envs, registered with gymnasium on import."""

import gymnasium as gym

from rlasinference.envs.make import LIFE_LOST, EnvSpec, make_env

if "rlasinference/MultiGoal-v0" not in gym.registry:
    gym.register(
        "rlasinference/MultiGoal-v0", entry_point="rlasinference.envs.multigoal:MultiGoalEnv", max_episode_steps=30
    )

if "rlasinference/SyntheticTree-v0" not in gym.registry:  # MENTS's synthetic trees (rlai plan)
    gym.register("rlasinference/SyntheticTree-v0", entry_point="rlasinference.planning.synthetic_tree:SyntheticTree")

__all__ = ["LIFE_LOST", "EnvSpec", "make_env"]
