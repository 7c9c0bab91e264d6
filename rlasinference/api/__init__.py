"""The public Python API: ``train``, ``resume``, ``load``, ``evaluate``, ``fit_sampler``,
callbacks, ``sweep`` and ``compare`` (many runs, and statistics over them), planning (``solve``,
``planner``) and ``components`` (the registries, ``rlai list``) (docs/tutorials/python-api.md).
The ``rlai`` commands do the same things from a shell."""

from rlasinference.api.callbacks import Callback, StopAtReturn
from rlasinference.api.catalog import components
from rlasinference.api.compare import Comparison, compare
from rlasinference.api.planning import planner, solve
from rlasinference.api.policy import Policy, evaluate, load
from rlasinference.api.run import Run, resume, train
from rlasinference.api.sampler_fit import fit_sampler
from rlasinference.api.sweep import SweepResult, SweepTrial, sweep

__all__ = [
    "Callback", "Comparison", "Policy", "Run", "StopAtReturn", "SweepResult", "SweepTrial", "compare", "components",
    "evaluate", "fit_sampler", "load", "planner", "resume", "solve", "sweep", "train",
]  # fmt: skip
