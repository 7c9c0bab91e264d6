"""Shared building blocks with no RL or sampler knowledge: errors, registries, networks."""
