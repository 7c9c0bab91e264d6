"""Monte-Carlo tree search with a copyable env as the model: MENTS (Xiao et al. 2019, maximum
entropy for tree search) and UCT (Kocsis and Szepesvari 2006) on one skeleton.

A simulation copies the root env, walks the tree by the tree policy, expands the first action
sequence not yet in it, evaluates it by a random rollout, and backs the values up along its path.
A node is an action sequence from the root (an open-loop tree): exact for deterministic envs,
an average over outcomes for stochastic ones.

  MENTS  tree policy E2W: pi(a|s) = (1 - lambda_s) f_tau(Q_soft(s))(a) + lambda_s / |A|,
         lambda_s = min(1, eps |A| / log(sum_a N(s, a) + 1));
         backup Q_soft(s, a) = r + gamma F_tau(Q_soft(s')), or r + gamma R at the edge that was
         expanded (R: the rollout's return), r alone where the episode ended;
         Q_soft of a new node starts at 0; it recommends argmax_a Q_soft(root, a).
  UCT    tree policy: an untried action first, then argmax_a Q(s, a) + c sqrt(log N(s) / N(s, a));
         Q(s, a) is the mean return of the simulations through the edge; it recommends
         argmax_a Q(root, a).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from rlasinference.core.errors import UserError, first_line
from rlasinference.planning.soft_iteration import soft_max, soft_policy

PLANNERS = ("ments", "uct")


@dataclass
class Node:
    q: np.ndarray  # [K]: soft values (MENTS) or mean returns (UCT) of the actions
    visits: np.ndarray  # [K]
    children: dict[int, Node] = field(default_factory=dict)

    @classmethod
    def fresh(cls, actions: int) -> Node:
        return cls(np.zeros(actions), np.zeros(actions, dtype=np.int64))


@dataclass
class PlanSettings:
    """:param planner: ``ments`` or ``uct``.
    :param simulations: simulations per decision.
    :param tau: MENTS's temperature.
    :param eps: MENTS's exploration (E2W's epsilon).
    :param c: UCT's exploration constant.
    :param gamma: discount.
    :param rollout_depth: steps of the random rollout that evaluates a new node (0: none).
    """

    planner: str = "ments"
    simulations: int = 500
    tau: float = 0.1
    eps: float = 0.1
    c: float = 1.0
    gamma: float = 1.0
    rollout_depth: int = 50

    def check(self) -> None:
        if self.planner not in PLANNERS:
            raise UserError(f"planner must be one of {', '.join(PLANNERS)}, got {self.planner!r}")
        if self.simulations < 1:
            raise UserError(f"simulations must be positive, got {self.simulations}")
        if not self.tau > 0:
            raise UserError(f"tau must be positive, got {self.tau}")
        if not self.eps > 0:
            raise UserError(f"eps must be positive, got {self.eps}")
        if self.c < 0:
            raise UserError(f"c must be 0 or positive, got {self.c}")
        if not 0 < self.gamma <= 1:
            raise UserError(f"gamma must be in (0, 1], got {self.gamma}")
        if self.rollout_depth < 0:
            raise UserError(f"rollout_depth must be 0 or positive, got {self.rollout_depth}")


def copier(env: gym.Env, name: str, rng: np.random.Generator) -> Any:
    """How to copy ``env``'s state: ``clone_state`` / ``restore_state`` on the unwrapped env
    where it has them (ALE's names), else ``copy.deepcopy`` of the whole env. A deep copy gets a
    random generator of its own from ``rng``: with the env's, every simulation would replay the
    very outcomes the real env is about to draw (a slippery lake's slips), and the planner would
    see the future instead of the model."""
    unwrapped: Any = env.unwrapped
    if callable(getattr(unwrapped, "clone_state", None)) and callable(getattr(unwrapped, "restore_state", None)):
        saved = unwrapped.clone_state()

        def restore() -> gym.Env:
            unwrapped.restore_state(saved)
            return env

        return restore
    try:
        frozen = copy.deepcopy(env)
    except Exception as exc:  # an env holding a handle, a lock, a subprocess: whatever it raises
        raise UserError(
            f"env {name!r} cannot be copied for planning (copy.deepcopy: {first_line(exc)}); "
            "give its unwrapped env clone_state() and restore_state(state)"
        ) from None

    def fresh() -> gym.Env:
        sim = copy.deepcopy(frozen)
        sim.unwrapped.np_random = np.random.default_rng(int(rng.integers(2**63)))
        return sim

    return fresh


class TreeSearch:
    """Plans from ``env``'s current state; ``rng`` draws the tree policy's and rollouts' actions."""

    def __init__(self, settings: PlanSettings, actions: int, rng: np.random.Generator) -> None:
        settings.check()
        self.s, self.actions, self.rng = settings, actions, rng

    def plan(self, env: gym.Env, name: str = "env") -> tuple[int, Node]:
        """Run the simulations; the recommended root action and the root node."""
        fresh = copier(env, name, self.rng)
        root = Node.fresh(self.actions)
        for _ in range(self.s.simulations):
            self._simulate(fresh(), root)
        return int(np.argmax(root.q)), root

    def _tree_action(self, node: Node) -> int:
        k = self.actions
        if self.s.planner == "ments":
            total = int(node.visits.sum())
            lam = 1.0 if total == 0 else min(1.0, self.s.eps * k / math.log(total + 1))
            probs = (1 - lam) * soft_policy(node.q, self.s.tau) + lam / k
            return int(self.rng.choice(k, p=probs / probs.sum()))
        untried = np.flatnonzero(node.visits == 0)
        if untried.size:
            return int(self.rng.choice(untried))
        bonus = self.s.c * np.sqrt(math.log(node.visits.sum()) / node.visits)
        return int(np.argmax(node.q + bonus))

    def _rollout(self, env: gym.Env) -> float:
        total, discount = 0.0, 1.0
        for _ in range(self.s.rollout_depth):
            _, reward, terminated, truncated, _ = env.step(int(self.rng.integers(self.actions)))
            total += discount * float(reward)
            discount *= self.s.gamma
            if terminated or truncated:
                break
        return total

    def _simulate(self, env: gym.Env, root: Node) -> None:
        path: list[tuple[Node, int, float]] = []
        node, value = root, 0.0
        while True:
            action = self._tree_action(node)
            _, reward, terminated, truncated, _ = env.step(action)
            path.append((node, action, float(reward)))
            if terminated or truncated:
                value = 0.0
                break
            child = node.children.get(action)
            if child is None:
                node.children[action] = Node.fresh(self.actions)
                value = self._rollout(env)
                break
            node = child
        # back up: ``value`` is the value of the state after each edge, from the end of the path
        for parent, action, reward in reversed(path):
            parent.visits[action] += 1
            target = reward + self.s.gamma * value
            if self.s.planner == "ments":
                parent.q[action] = target
                value = float(soft_max(parent.q, self.s.tau))
            else:
                parent.q[action] += (target - parent.q[action]) / parent.visits[action]
                value = target
