"""Monte-Carlo tree search with a copyable env as the model: MENTS (Xiao et al. 2019, maximum
entropy for tree search) and UCT (Kocsis and Szepesvari 2006) on one skeleton.

A simulation copies the root env, walks the tree by the tree policy, expands the first action
sequence not yet in it, evaluates it by a random rollout, and backs the values up along its path.
A node is an action sequence from the root (an open-loop tree): exact for deterministic envs,
an average over outcomes for stochastic ones.

  MENTS  tree policy E2W: pi(a|s) = (1 - lambda_s) f_tau(Q_soft(s))(a) + lambda_s / |A|,
         lambda_s = min(1, eps |A| / log(sum_a N(s, a) + 1));
         backup Q_soft(s, a) = r(s, a) + gamma F_tau(Q_soft(s')) once s' is a visited node of the
         tree, else r(s, a) + gamma R (R: the rollout's return; 0 where the episode ended), with
         r(s, a) and R the means over the edge's simulations (a stochastic reward or leaf is
         estimated, not overwritten by its last draw); Q_soft of a new node starts at 0; it
         recommends argmax_a Q_soft(root, a).
  UCT    tree policy: an untried action first, then argmax_a Q(s, a) + c sqrt(log N(s) / N(s, a));
         Q(s, a) is the mean return of the simulations through the edge; it recommends
         argmax_a Q(root, a).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
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
    reward: np.ndarray  # [K]: mean immediate reward of each edge
    tail: np.ndarray  # [K]: mean value after the edge while it led out of the tree (rollouts, ends)
    tails: np.ndarray  # [K]: how many simulations gave ``tail``
    children: dict[int, Node] = field(default_factory=dict)

    @classmethod
    def fresh(cls, actions: int) -> Node:
        zeros = np.zeros(actions)
        return cls(zeros.copy(), np.zeros(actions, dtype=np.int64), zeros.copy(), zeros.copy(), zeros.copy())


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


class Copier:
    """Fresh copies of ``env`` at its current state, one per simulation, and ``env`` left as it
    was. ``clone_state`` / ``restore_state`` on the unwrapped env where it has them (ALE's names):
    the simulations then run on the unwrapped env (a wrapper's counters, a time limit's, stay as
    they were) and the state is restored after the last one. Else ``copy.deepcopy`` of the whole
    env, each copy with a random generator of its own from ``rng``: with the env's, every
    simulation would replay the very outcomes the real env is about to draw (a slippery lake's
    slips), and the planner would see the future instead of the model."""

    def __init__(self, env: gym.Env, name: str, rng: np.random.Generator) -> None:
        self.env, self.rng = env, rng
        unwrapped: Any = env.unwrapped
        self.cloned = callable(getattr(unwrapped, "clone_state", None)) and callable(
            getattr(unwrapped, "restore_state", None)
        )
        if self.cloned:
            self.saved = unwrapped.clone_state()
            return
        try:
            self.frozen = copy.deepcopy(env)
        except Exception as exc:  # an env holding a handle, a lock, a subprocess: whatever it raises
            raise UserError(
                f"env {name!r} cannot be copied for planning (copy.deepcopy: {first_line(exc)}); "
                "give its unwrapped env clone_state() and restore_state(state)"
            ) from None

    def fresh(self) -> gym.Env:
        if self.cloned:
            unwrapped: Any = self.env.unwrapped
            unwrapped.restore_state(self.saved)
            return unwrapped
        sim = copy.deepcopy(self.frozen)
        sim.unwrapped.np_random = np.random.default_rng(int(self.rng.integers(2**63)))
        return sim

    def finish(self) -> None:
        if self.cloned:
            unwrapped: Any = self.env.unwrapped
            unwrapped.restore_state(self.saved)


class TreeSearch:
    """Plans from ``env``'s current state; ``rng`` draws the tree policy's and rollouts' actions."""

    def __init__(
        self,
        settings: PlanSettings,
        actions: int,
        rng: np.random.Generator,
        leaf_q: Callable[[Any], np.ndarray] | None = None,
    ) -> None:
        """``leaf_q``: observation -> ``Q [K]`` of a trained run, in place of the random rollout
        (the paper's DQN-initialised MENTS): MENTS starts a new node's soft values at it and takes
        F_tau of it as the node's value; UCT takes its max as the node's value."""
        settings.check()
        self.s, self.actions, self.rng, self.leaf_q = settings, actions, rng, leaf_q

    def plan(self, env: gym.Env, name: str = "env", obs: Any = None) -> tuple[int, Node]:
        """Run the simulations; the recommended root action and the root node. ``obs``: the env's
        current observation, where a ``leaf_q`` starts the root's values too (MENTS)."""
        copies = Copier(env, name, self.rng)
        root = Node.fresh(self.actions)
        if self.leaf_q is not None and obs is not None:
            self._leaf(root, obs)
        try:
            for _ in range(self.s.simulations):
                self._simulate(copies.fresh(), root)
        finally:
            copies.finish()
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

    def _leaf(self, child: Node, obs: Any) -> float:
        """A new node's value from the run's Q (``leaf_q``); MENTS also starts its soft values there."""
        assert self.leaf_q is not None
        prior = np.asarray(self.leaf_q(obs), dtype=np.float64).reshape(self.actions)
        if self.s.planner == "uct":
            return float(prior.max())
        child.q[:] = prior
        return float(soft_max(prior, self.s.tau))

    def _simulate(self, env: gym.Env, root: Node) -> None:
        path: list[tuple[Node, int, float]] = []
        node, value = root, 0.0
        while True:
            action = self._tree_action(node)
            obs, reward, terminated, truncated, _ = env.step(action)
            path.append((node, action, float(reward)))
            if terminated or truncated:
                value = 0.0
                break
            child = node.children.get(action)
            if child is None:
                child = node.children[action] = Node.fresh(self.actions)
                value = self._rollout(env) if self.leaf_q is None else self._leaf(child, obs)
                break
            node = child
        # back up: ``value`` is the value of the state after each edge, from the end of the path;
        # the last edge led out of the tree (a rollout or the episode's end), the others into it
        for depth, (parent, action, reward) in enumerate(reversed(path)):
            n = parent.visits[action] = parent.visits[action] + 1
            parent.reward[action] += (reward - parent.reward[action]) / n
            if self.s.planner == "uct":
                target = reward + self.s.gamma * value
                parent.q[action] += (target - parent.q[action]) / n
                value = target
                continue
            if depth == 0:
                parent.tails[action] += 1
                parent.tail[action] += (value - parent.tail[action]) / parent.tails[action]
            child = parent.children.get(action)
            after = soft_max(child.q, self.s.tau) if child is not None and child.visits.any() else parent.tail[action]
            parent.q[action] = parent.reward[action] + self.s.gamma * float(after)
            value = float(soft_max(parent.q, self.s.tau))
