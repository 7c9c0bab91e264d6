"""The multi-goal point mass of soft Q-learning (Haarnoja et al. 2017, section 5.1).

A 2-D point starts near the origin; the action is its velocity in [-1, 1]^2. Four goals sit at
(+-5, 0) and (0, +-5). Reward: -30 |a|^2 - min_g |x - g|^2, and +10 when the point comes
within 1 of a goal, which ends the episode. 30 steps per episode. Every goal is equally good,
so a maximum-entropy policy keeps all four routes open; a policy that commits early reaches one
or two.

Evaluation hooks (used by the training loop and ``rlai eval``): ``MultiGoalEnv.evaluation_metrics``
reports ``goals_reached`` over a set of episodes and ``MultiGoalEnv.plot_trajectories``
draws them over the cost landscape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlasinference.core.files import save_figure

GOALS = np.array([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0], [0.0, -5.0]], dtype=np.float32)


class MultiGoalEnv(gym.Env[np.ndarray, np.ndarray]):
    """The multi-goal point mass (Haarnoja et al. 2017): four goals, one start.

    :param goal_reward: bonus on reaching a goal.
    :param action_cost: weight of |a|^2.
    :param distance_cost: weight of the squared distance to the nearest goal.
    :param init_sigma: std of the start position around the origin.
    :param goal_threshold: distance at which a goal counts as reached."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's class attribute)

    def __init__(
        self,
        goal_reward: float = 10.0,
        action_cost: float = 30.0,
        distance_cost: float = 1.0,
        init_sigma: float = 0.1,
        goal_threshold: float = 1.0,
    ) -> None:
        self.goal_reward, self.action_cost, self.distance_cost = goal_reward, action_cost, distance_cost
        self.init_sigma, self.goal_threshold = init_sigma, goal_threshold
        self.bound = 7.0
        self.observation_space = gym.spaces.Box(-self.bound, self.bound, shape=(2,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.position = np.zeros(2, dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        start = self.init_sigma * self.np_random.standard_normal(2)
        self.position = np.clip(start, -self.bound, self.bound).astype(np.float32)
        return self.position.copy(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        action = np.clip(np.asarray(action, dtype=np.float32).reshape(2), -1.0, 1.0)
        self.position = np.clip(self.position + action, -self.bound, self.bound).astype(np.float32)
        distances = np.linalg.norm(GOALS - self.position, axis=1)
        reward = -self.action_cost * float(action @ action) - self.distance_cost * float(distances.min() ** 2)
        reached = bool(distances.min() < self.goal_threshold)
        info: dict[str, Any] = {}
        if reached:
            reward += self.goal_reward
            info["goal"] = int(distances.argmin())
        return self.position.copy(), reward, reached, False, info

    # evaluation hooks -----------------------------------------------------------------------

    def goal_of(self, final_position: np.ndarray) -> int | None:
        """Index of the goal an episode ending at ``final_position`` reached, if any."""
        distances = np.linalg.norm(GOALS - final_position, axis=1)
        return int(distances.argmin()) if distances.min() < self.goal_threshold else None

    def evaluation_metrics(self, trajectories: list[np.ndarray]) -> dict[str, float]:
        """Of a set of episodes (observations ``[T+1, 2]`` each): ``goals_reached``, the number of
        distinct goals reached; ``goal_entropy``, the entropy (nats) of which goal the episodes
        that reached one reached: log 4 = 1.39 when all four are equally used, 0 for one goal."""
        goals = [g for g in (self.goal_of(t[-1]) for t in trajectories) if g is not None]
        counts = np.bincount(np.array(goals, dtype=int), minlength=len(GOALS)) if goals else np.zeros(len(GOALS))
        p = counts[counts > 0] / max(len(goals), 1)
        entropy = float(-(p * np.log(p)).sum()) + 0.0  # (+ 0.0 turns -0.0 into 0.0 for printing)
        return {"goals_reached": float((counts > 0).sum()), "goal_entropy": entropy}

    def plot_trajectories(self, trajectories: list[np.ndarray], path: Path, title: str) -> None:
        """The episodes' paths over the contours of the distance cost, goals in red."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        grid = np.linspace(-self.bound, self.bound, 281)
        xx, yy = np.meshgrid(grid, grid)
        cost = np.min([(xx - gx) ** 2 + (yy - gy) ** 2 for gx, gy in GOALS], axis=0)
        fig, ax = plt.subplots(figsize=(6, 6))
        contours = ax.contour(xx, yy, cost, levels=15, cmap="Greys", linewidths=0.6)
        ax.clabel(contours, inline=True, fontsize=7, fmt="%.0f")
        for t in trajectories:
            ax.plot(t[:, 0], t[:, 1], color="tab:blue", alpha=0.35, linewidth=1.0)
        ax.scatter(GOALS[:, 0], GOALS[:, 1], color="tab:red", s=60, zorder=3, label="goals")
        ax.set(xlim=(-self.bound, self.bound), ylim=(-self.bound, self.bound), aspect="equal", title=title)
        ax.legend(loc="upper right")
        save_figure(fig, path, dpi=100)
