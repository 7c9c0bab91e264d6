"""Soft critics: Q ensembles with stacked parameters and Polyak target networks, and the
distributional (categorical) critic with optional batch renormalisation."""

from rlasinference.critics.categorical import CategoricalQEnsemble, project_onto_support
from rlasinference.critics.ensemble import QEnsemble, polyak_update

__all__ = ["CategoricalQEnsemble", "QEnsemble", "polyak_update", "project_onto_support"]
