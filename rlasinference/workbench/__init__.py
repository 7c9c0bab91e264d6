"""The Boltzmann-target workbench: fit any sampler to exp(Q(a)/tau) on (-1, 1)^d, no RL.

Targets with a known answer (grid quadrature in 1-2 D, exact samples in higher D) make the
fit measurable: KL, log Z, MMD, mode coverage.
"""

from rlasinference.workbench.fit import fit_sampler
from rlasinference.workbench.metrics import evaluate_fit
from rlasinference.workbench.targets import TARGETS, Target, get_target

__all__ = ["TARGETS", "Target", "evaluate_fit", "fit_sampler", "get_target"]
