"""A gymnasium env's transition table as a ``TabularMDP``: the convention of gymnasium's toy-text
envs (FrozenLake, CliffWalking, Taxi), ``env.unwrapped.P[s][a] = [(prob, next_state, reward,
terminated), ...]`` with ``Discrete`` observations and actions."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlasinference.core.errors import UserError
from rlasinference.planning.soft_iteration import TabularMDP

TABLE_FORM = "env.unwrapped.P[s][a] = [(prob, next_state, reward, terminated), ...]"


def mdp_of_env(env: gym.Env, name: str) -> TabularMDP:
    """The expected rewards and continuation probabilities of ``env``'s table."""
    table: Any = getattr(env.unwrapped, "P", None)
    obs, act = env.observation_space, env.action_space
    if not isinstance(table, dict) or not table:
        raise UserError(f"env {name!r} exposes no transition table to solve ({TABLE_FORM})")
    if not (isinstance(obs, gym.spaces.Discrete) and isinstance(act, gym.spaces.Discrete)):
        raise UserError(f"env {name!r} must have Discrete observations and actions to be solved, got {obs} and {act}")
    states, actions = int(obs.n), int(act.n)
    reward = np.zeros((states, actions))
    cont = np.zeros((states, actions, states))
    try:
        for s in range(states):
            for a in range(actions):
                total = 0.0
                for prob, nxt, r, terminated in table[s][a]:
                    total += prob
                    reward[s, a] += prob * r
                    if not terminated:
                        cont[s, a, int(nxt)] += prob
                if not np.isclose(total, 1.0, atol=1e-6):
                    raise ValueError(f"the probabilities of state {s}, action {a} sum to {total:g}, not 1")
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise UserError(f"env {name!r}'s transition table is not of the form {TABLE_FORM}: {exc}") from None
    return TabularMDP(reward, cont)


def grid_shape(env: gym.Env) -> tuple[int, int] | None:
    """Rows and columns of a grid world (FrozenLake's ``desc``, CliffWalking's ``shape``)."""
    unwrapped = env.unwrapped
    desc = getattr(unwrapped, "desc", None)
    if desc is not None and np.ndim(desc) == 2:
        return int(np.shape(desc)[0]), int(np.shape(desc)[1])
    shape = getattr(unwrapped, "shape", None)
    if isinstance(shape, tuple) and len(shape) == 2:
        return int(shape[0]), int(shape[1])
    return None
