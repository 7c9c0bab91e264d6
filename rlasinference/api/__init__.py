"""The public Python API: ``train``, ``resume``, ``load``, ``evaluate``, ``fit_sampler``,
callbacks, and planning (``solve``, ``planner``) (docs/python-api.md). The ``rlai`` commands do
the same things from a shell."""

from rlasinference.api.callbacks import Callback, StopAtReturn
from rlasinference.api.planning import planner, solve
from rlasinference.api.policy import Policy, evaluate, load
from rlasinference.api.run import Run, resume, train
from rlasinference.api.sampler_fit import fit_sampler

__all__ = [
    "Callback", "Policy", "Run", "StopAtReturn", "evaluate", "fit_sampler", "load", "planner", "resume", "solve",
    "train",
]  # fmt: skip
