"""Environments: gymnasium env construction with the checks and action scaling we rely on."""

from rlasinference.envs.make import EnvSpec, make_env

__all__ = ["EnvSpec", "make_env"]
