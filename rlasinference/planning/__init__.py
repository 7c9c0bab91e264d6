"""Planning with a known model: exact soft Q-iteration and soft policy iteration on tabular
MDPs (``rlai solve``), the oracle that discrete soft Q-learning is tested against."""

from rlasinference.planning.soft_iteration import (
    SoftSolution,
    TabularMDP,
    soft_max,
    soft_policy,
    soft_policy_iteration,
    soft_q_iteration,
)
from rlasinference.planning.tables import mdp_of_env

__all__ = [
    "SoftSolution",
    "TabularMDP",
    "mdp_of_env",
    "soft_max",
    "soft_policy",
    "soft_policy_iteration",
    "soft_q_iteration",
]
