"""Episodes with a fixed policy: the periodic evaluation and ``rlai eval``."""

from __future__ import annotations

from dataclasses import dataclass

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

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))


@torch.no_grad()
def run_episodes(agent: Agent, env: gym.Env, episodes: int, seed: int, deterministic: bool = True) -> EvalResult:
    """Roll out ``episodes`` full episodes; episode ``j`` resets with the same seed every time,
    so successive evaluations of a run are compared on the same start states."""
    device = next(agent.parameters()).device
    result = EvalResult([], [])
    for j in range(episodes):
        obs, _ = env.reset(seed=episode_seed(seed, EVAL_STREAM, j))
        total, length, done = 0.0, 0, False
        while not done:
            obs_t = torch.as_tensor(obs, dtype=torch.float32, device=device).unsqueeze(0)
            action = agent.act(obs_t, deterministic)[0].cpu().numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            length += 1
            done = terminated or truncated
        result.returns.append(total)
        result.lengths.append(length)
    return result
