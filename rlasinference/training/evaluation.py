"""Episodes with a fixed policy: the periodic evaluation and ``rlai eval``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from rlasinference.algorithms.base import Agent

TRAIN_STREAM, EVAL_STREAM = 0, 1


def episode_seed(seed: int, stream: int, index: int) -> int:
    """Reset seed of episode ``index`` of a stream (training or evaluation), independent across
    streams; a resumed run re-creates any episode from its index alone."""
    return int(np.random.SeedSequence([seed, stream, index]).generate_state(1)[0])


@dataclass
class EvalResult:
    returns: list[float]
    lengths: list[int]
    trajectories: list[np.ndarray] = field(default_factory=list)  # observations [T + 1, S] per episode

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))


#: a fixed policy as the env sees it: one observation in, one action out (in the env's units)
Actor = Callable[[np.ndarray], np.ndarray]


def agent_actor(agent: Agent, deterministic: bool = True) -> Actor:
    """``agent``'s actions, one observation at a time, on the agent's device."""
    device = next(agent.parameters()).device

    def act(obs: np.ndarray) -> np.ndarray:
        obs_t = torch.as_tensor(obs, dtype=torch.float32, device=device).unsqueeze(0)
        return agent.act(obs_t, deterministic)[0].cpu().numpy()

    return act


@torch.no_grad()
def run_episodes(
    policy: Agent | Actor, env: gym.Env, episodes: int, seed: int, deterministic: bool = True
) -> EvalResult:
    """Roll out ``episodes`` full episodes of an agent (``deterministic`` or not) or of any
    ``Actor`` (a peer library's model); episode ``j`` resets with the same seed every time, so
    successive evaluations of a run, and runs of different libraries, see the same start states."""
    act = agent_actor(policy, deterministic) if isinstance(policy, Agent) else policy
    result = EvalResult([], [])
    for j in range(episodes):
        obs, _ = env.reset(seed=episode_seed(seed, EVAL_STREAM, j))
        total, length, done, path = 0.0, 0, False, [obs]
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total += float(reward)
            length += 1
            done = terminated or truncated
            path.append(obs)
        result.returns.append(total)
        result.lengths.append(length)
        result.trajectories.append(np.stack(path))
    return result


def env_metric_names(env: gym.Env) -> list[str]:
    """Names of the extra evaluation metrics an env reports (``evaluation_metrics`` hook)."""
    hook = getattr(env.unwrapped, "evaluation_metrics", None)
    return [] if hook is None else sorted(hook([]))


def env_report(env: gym.Env, result: EvalResult, plot_path: Path | None, title: str = "") -> dict[str, float]:
    """The env's own evaluation metrics of these episodes, and (with a ``plot_path``) its
    trajectory plot where it draws one (``evaluation_metrics`` / ``plot_trajectories`` hooks,
    e.g. the multi-goal env)."""
    unwrapped = env.unwrapped
    metrics = unwrapped.evaluation_metrics(result.trajectories) if hasattr(unwrapped, "evaluation_metrics") else {}
    if plot_path is not None and hasattr(unwrapped, "plot_trajectories"):
        unwrapped.plot_trajectories(result.trajectories, plot_path, title)
    return metrics
