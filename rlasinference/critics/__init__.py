"""Soft critics: Q ensembles with stacked parameters and Polyak target networks."""

from rlasinference.critics.ensemble import QEnsemble, polyak_update

__all__ = ["QEnsemble", "polyak_update"]
