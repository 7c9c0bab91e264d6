"""Policies: a sampler conditioned on the observation, with the rule for deterministic actions."""

from rlasinference.policies.policy import Policy

__all__ = ["Policy"]
