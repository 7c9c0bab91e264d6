"""Planning from Python: ``solve`` (``rlai solve``) and ``planner`` (``rlai plan``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rlasinference.core.errors import UserError

METHODS = ("q-iteration", "policy-iteration")


def solve(env: Any, tau: float = 0.1, gamma: float = 0.99, method: str = "q-iteration", tol: float = 1e-10) -> Any:
    """The soft-optimal ``SoftSolution`` (``q`` [S, A], ``v`` [S], ``policy`` [S, A],
    ``iterations``, ``residual``) of an env with a transition table (toy-text's
    ``env.unwrapped.P``), an env id or a made env; ``tau = 0`` is value iteration.

    :param method: ``q-iteration`` (to within ``tol`` of Q*) or ``policy-iteration`` (exact).
    """
    from rlasinference.envs.make import make_gym_env
    from rlasinference.planning import mdp_of_env, soft_policy_iteration, soft_q_iteration

    if method not in METHODS:
        raise UserError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if not tol > 0:
        raise UserError(f"--tol must be positive, got {tol}")
    name = env if isinstance(env, str) else str(getattr(env.spec, "id", "env"))
    mdp = mdp_of_env(make_gym_env(env) if isinstance(env, str) else env, name)
    if method == "q-iteration":
        return soft_q_iteration(mdp, gamma, tau, tol)
    return soft_policy_iteration(mdp, gamma, tau)


def planner(
    env: Any,
    planner: str = "ments",
    simulations: int = 500,
    tau: float = 0.1,
    eps: float = 0.1,
    c: float = 1.0,
    gamma: float = 1.0,
    rollout_depth: int = 50,
    seed: int = 0,
    value: Any = None,
) -> Any:
    """A ``TreeSearch`` (MENTS or UCT) for ``env`` (an id or a made env with Discrete actions):
    ``search.plan(env)`` plans from the env's current state and returns the recommended action
    and the root node (``visits``, ``q``: soft values for MENTS, mean returns for UCT); with
    ``value``, ``search.plan(env, obs=observation)`` starts the root's values at the run's Q too.

    :param value: a trained discrete run (its directory, or a loaded ``Policy``) whose Q(s, .)
        evaluates each new node instead of a random rollout (DQN-initialised MENTS: a new node's
        soft values start at Q, its value is F_tau(Q); UCT: max_a Q)."""
    import gymnasium as gym

    from rlasinference.envs.make import make_gym_env
    from rlasinference.planning.tree_search import PlanSettings, TreeSearch

    made = make_gym_env(env) if isinstance(env, str) else env
    name = env if isinstance(env, str) else str(getattr(env.spec, "id", "env"))
    if not isinstance(made.action_space, gym.spaces.Discrete):
        raise UserError(f"env {name!r} has a {made.action_space} action space; planning needs Discrete actions")
    settings = PlanSettings(planner, simulations, tau, eps, c, gamma, rollout_depth)
    leaf = None
    if value is not None:
        from rlasinference.api.policy import Policy, load

        policy = value if isinstance(value, Policy) else load(value)
        policy.value(policy.observation_space.sample())  # a run of another kind (no discrete Q): one line, now
        if policy.action_space != made.action_space or policy.observation_space != made.observation_space:
            raise UserError(
                f"--value run was trained on {policy.config.run.env!r} (observations {policy.observation_space}, "
                f"actions {policy.action_space}), env {name!r} has {made.observation_space} and "
                f"{made.action_space}: the run must be of the env planned in"
            )
        every = int(made.action_space.start) + np.arange(int(made.action_space.n))
        leaf = lambda obs: policy.q(obs, every)  # noqa: E731
    return TreeSearch(settings, int(made.action_space.n), np.random.default_rng(seed), leaf)
