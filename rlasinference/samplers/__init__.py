"""Samplers: conditional generative models over actions in (-1, 1)^A, with no RL knowledge.

Registry names are the ``--sampler`` values; ``module:Class`` loads a user sampler.
"""

from __future__ import annotations

from typing import Any

from rlasinference.core.errors import UserError
from rlasinference.core.registry import Registry, constructor_options
from rlasinference.samplers.base import DENSITY_KINDS, SPACES, DensityKind, Sampler, Samples, Space, tanh_log_abs_det
from rlasinference.samplers.contract import check_sampler
from rlasinference.samplers.diffusion import DiffusionChain
from rlasinference.samplers.energy_flow import EnergyFlow
from rlasinference.samplers.flow import ConditionalFlow
from rlasinference.samplers.gaussian import TanhGaussian
from rlasinference.samplers.softmax import Softmax, action_index, one_hot
from rlasinference.samplers.svgd import SVGDSampler

SAMPLERS: Registry[type[Sampler]] = Registry("sampler")
SAMPLERS.register("gaussian", TanhGaussian)
SAMPLERS.register("flow", ConditionalFlow)
SAMPLERS.register("energy-flow", EnergyFlow)
SAMPLERS.register("svgd", SVGDSampler)
SAMPLERS.register("diffusion", DiffusionChain)
SAMPLERS.register("softmax", Softmax)

__all__ = [
    "DENSITY_KINDS",
    "SAMPLERS",
    "SPACES",
    "ConditionalFlow",
    "DensityKind",
    "DiffusionChain",
    "EnergyFlow",
    "SVGDSampler",
    "Sampler",
    "Samples",
    "Softmax",
    "Space",
    "TanhGaussian",
    "action_index",
    "check_sampler",
    "get_sampler_class",
    "one_hot",
    "sampler_options",
    "tanh_log_abs_det",
]


def get_sampler_class(name: str) -> type[Sampler]:
    """The sampler class registered as ``name`` (or imported from ``module:Class``)."""
    cls = SAMPLERS.get_subclass(name, Sampler)
    if getattr(cls, "density", None) not in DENSITY_KINDS:
        raise UserError(f"sampler {name!r} must declare density as one of {', '.join(DENSITY_KINDS)}")
    if getattr(cls, "space", None) not in SPACES:
        raise UserError(f"sampler {name!r} must declare space as one of {', '.join(SPACES)}")
    return cls


def sampler_options(cls: type[Sampler]) -> dict[str, Any]:
    """The sampler's constructor options and their defaults (its config fields)."""
    return constructor_options(cls, 2, "sampler")
