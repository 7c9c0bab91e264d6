"""A synthetic search tree (the setting of MENTS's first experiment, Xiao et al. 2019): a k-ary
tree of depth d; each edge carries a value drawn uniformly from [0, 1] once per tree (``tree``
seeds it); a leaf's mean reward is the sum of the edge values on its path, scaled into [0, 1]:
divided by d (``scale="depth"``, the default) or mapped affinely so that the worst leaf has 0 and
the best 1 (``scale="range"``, as the published re-implementations of these trees do, e.g. the
synthetic trees of Dam et al.'s "Convex Regularization in Monte-Carlo Tree Search", which
normalise the path sums to [0, 1] and draw leaf rewards with noise std 0.5); reaching a leaf ends
the episode with that mean plus Gaussian noise of std ``noise``.
No reward before the leaf. Registered as ``rlasinference/SyntheticTree-v0`` (observation: the
node's index among the tree's nodes, breadth first).

``soft_values(tau)`` gives the exact soft value of every root action by backward induction on the
means, and ``best_action()`` the root action with the highest mean leaf below it (gamma 1).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlasinference.planning.soft_iteration import soft_max


class SyntheticTree(gym.Env):
    def __init__(
        self, branching: int = 4, depth: int = 4, noise: float = 0.5, tree: int = 0, scale: str = "depth"
    ) -> None:
        if branching < 2 or depth < 1:
            raise ValueError(f"a tree needs branching >= 2 and depth >= 1, got {branching} and {depth}")
        if scale not in ("depth", "range"):
            raise ValueError(f"scale must be 'depth' or 'range', got {scale!r}")
        self.k, self.d, self.noise = branching, depth, noise
        rng = np.random.default_rng(tree)
        # edge values per level: level l has k^(l+1) edges, indexed by the child's position
        self.edges = [rng.uniform(0.0, 1.0, size=branching ** (level + 1)) for level in range(depth)]
        nodes = sum(branching**level for level in range(depth + 1))
        sums = self._leaf_sums()
        # the affine map from a path sum to the leaf's mean
        if scale == "depth":
            self._offset, self._width = 0.0, float(depth)
        else:
            self._offset, self._width = float(sums.min()), float(sums.max() - sums.min())
        self.observation_space = gym.spaces.Discrete(nodes)
        self.action_space = gym.spaces.Discrete(branching)
        self.level, self.position, self.path_sum = 0, 0, 0.0

    def _index(self) -> int:
        return sum(self.k**level for level in range(self.level)) + self.position

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.level, self.position, self.path_sum = 0, 0, 0.0
        return 0, {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict]:
        a = int(action)
        if not 0 <= a < self.k:
            raise ValueError(f"action {action} outside [0, {self.k})")
        if self.level >= self.d:
            raise RuntimeError("the episode ended at a leaf: reset first")
        self.position = self.position * self.k + a
        self.path_sum += float(self.edges[self.level][self.position])
        self.level += 1
        if self.level < self.d:
            return self._index(), 0.0, False, False, {}
        reward = (self.path_sum - self._offset) / self._width + self.noise * float(self.np_random.normal())
        return self._index(), reward, True, False, {}

    def _leaf_sums(self) -> np.ndarray:
        sums = np.zeros(1)
        for level in range(self.d):
            sums = np.repeat(sums, self.k) + self.edges[level]
        return sums

    def leaf_means(self) -> np.ndarray:
        """Mean reward of every leaf, in breadth-first order."""
        return (self._leaf_sums() - self._offset) / self._width

    def soft_values(self, tau: float) -> np.ndarray:
        """Q_soft(root, a) for each root action (gamma 1): backward induction of F_tau on the means."""
        values = self.leaf_means()
        for _ in range(self.d - 1):
            values = soft_max(values.reshape(-1, self.k), tau)
        return values

    def best_action(self) -> int:
        """The root action above the leaf of highest mean."""
        return int(np.argmax(self.leaf_means())) // self.k ** (self.d - 1)
