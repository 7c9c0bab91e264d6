"""The on-policy collector: ``num_envs`` envs stepped together, rollouts of ``num_steps``
each, the agent learning from every rollout. The ``Trainer`` around it keeps the run (metrics,
evaluation, checkpoints with exact resume, Ctrl-C, the stop on non-finite values).

Checkpoints are taken between rollouts; a stop request (Ctrl-C, SIGTERM) ends the rollout in
progress and its update first. The envs are a pool (``envs/pool.py``), in this process or one
subprocess each; an exact resume puts every env back mid-episode by replaying its episode's
actions from its reset seed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from rlasinference.algorithms.on_policy import OnPolicyAgent, OnPolicyConfig, Rollout
from rlasinference.core.normalize import RunningMeanStd
from rlasinference.envs import EnvSpec
from rlasinference.envs.pool import make_pool
from rlasinference.training.config import Config
from rlasinference.training.evaluation import TRAIN_STREAM, episode_seed
from rlasinference.training.state import Episode

if TYPE_CHECKING:
    from rlasinference.training.trainer import Trainer


def settings(config: Config) -> OnPolicyConfig:
    """The on-policy recipe's settings of ``config`` (every rollout preset's config is one)."""
    return cast(OnPolicyConfig, config.algo)


class RolloutCollector:
    """Steps ``num_envs`` envs (``trainer.env`` the first) for a rollout; the agent learns from it."""

    def __init__(self, trainer: Trainer, spec: EnvSpec) -> None:
        self.trainer, self.config, self.device = trainer, trainer.config, trainer.device
        self.agent = cast(OnPolicyAgent, trainer.agent)
        self.action_dim = spec.action_dim
        self.algo = algo = settings(self.config)
        self.pool = make_pool(self.config.run.env, algo.num_envs, algo.vector_env, first=trainer.env)
        self.episodes = [Episode(index=i) for i in range(algo.num_envs)]
        self.next_episode = algo.num_envs
        self.return_rms = RunningMeanStd(1)
        self.returns = np.zeros(algo.num_envs)  # the discounted return the reward scale follows
        self.raw: list[np.ndarray] = []
        self.obs: torch.Tensor | None = None

    @staticmethod
    def iterations(config: Config) -> int:
        """Rollouts in the run: enough to reach ``steps`` (the last one may pass it)."""
        algo = settings(config)
        return math.ceil(config.run.steps / (algo.num_steps * algo.num_envs))

    @staticmethod
    def planned_updates(config: Config) -> int:
        algo = settings(config)
        return RolloutCollector.iterations(config) * algo.epochs * algo.minibatches

    @staticmethod
    def planned_steps(config: Config) -> int:
        algo = settings(config)
        return RolloutCollector.iterations(config) * algo.num_steps * algo.num_envs

    # -- checkpoints: every env's episode and the reward scale (``trainer`` entry) -------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "episodes": [e.state_dict(self.action_dim) for e in self.episodes],
            "next_episode": self.next_episode,
            "return_rms": self.return_rms.get_extra_state(),
            "discounted_returns": torch.as_tensor(self.returns),
        }

    def data_state(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        t = state["trainer"]
        if len(t["episodes"]) != len(self.episodes):
            raise ValueError(f"the checkpoint has {len(t['episodes'])} envs, this config {len(self.episodes)}")
        for episode, saved in zip(self.episodes, t["episodes"]):
            episode.load_state_dict(saved, resumable=True)
        self.next_episode = int(t["next_episode"])
        self.return_rms.set_extra_state(t["return_rms"])
        self.returns = t["discounted_returns"].numpy().copy()

    def close(self) -> None:
        self.pool.close()

    # -- envs ----------------------------------------------------------------------------------
    def _reset(self, i: int) -> np.ndarray:
        """Reset env ``i`` for its current episode and replay the actions already taken in it."""
        seed = episode_seed(self.config.run.seed, TRAIN_STREAM, self.episodes[i].index)
        return self.pool.reset(i, seed, self.episodes[i].actions)

    def _observe(self, obs: list[np.ndarray], update: bool = True) -> torch.Tensor:
        """Observations for the policy: folded into the running statistics (``update``), then
        normalised by them (gymnasium's ``NormalizeObservation`` rule); as they are without
        ``norm_obs``."""
        batch = np.stack(obs)
        rms = self.agent.obs_rms
        if rms is not None:
            if update:
                rms.update(batch)
            batch = rms.normalize(batch, self.algo.clip_obs)
        return torch.as_tensor(batch, dtype=torch.float32, device=self.device)

    def _scale_rewards(self, rewards: np.ndarray, terminated: np.ndarray) -> np.ndarray:
        """Rewards divided by the running std of the discounted return (gymnasium's
        ``NormalizeReward`` rule), clipped; unchanged without ``norm_reward``."""
        algo = self.algo
        if not algo.norm_reward:
            return rewards
        self.returns = self.returns * algo.gamma * (1.0 - terminated) + rewards
        self.return_rms.update(self.returns[:, None])
        return self.return_rms.scale(rewards, algo.clip_reward)

    # -- collecting ----------------------------------------------------------------------------
    def start(self) -> None:
        n = self.algo.num_envs
        self.raw = [self._reset(i) for i in range(n)]
        # a fresh run sees its first observations here; a resumed one saw them before its checkpoint
        self.obs = self._observe(self.raw, update=self.trainer.step == 0)

    def advance(self) -> None:
        """One rollout of every env, then the agent's epochs over it."""
        trainer, algo, agent, raw = self.trainer, self.algo, self.agent, self.raw
        n, steps_per_rollout = algo.num_envs, algo.num_steps
        obs = self.obs
        assert obs is not None, "start() first"
        dim = obs.shape[1]
        buf_obs = torch.zeros(steps_per_rollout, n, dim, device=self.device)
        buf_taken: torch.Tensor | None = None
        rewards = np.zeros((steps_per_rollout, n))
        ends = np.zeros((steps_per_rollout, n))
        bootstrap: list[tuple[int, int, np.ndarray]] = []  # (t, env, final obs) of truncations
        for t in range(steps_per_rollout):
            actions, taken = agent.explore(obs)
            if buf_taken is None:
                buf_taken = torch.zeros(steps_per_rollout, n, taken.shape[1], device=self.device)
            buf_obs[t], buf_taken[t] = obs, taken
            actions_np = actions.cpu().numpy()
            terminated = np.zeros(n)
            for i, (next_obs, reward, term, trunc) in enumerate(self.pool.step(actions_np)):
                self.episodes[i].record(actions_np[i], float(reward))
                rewards[t, i], terminated[i] = float(reward), float(term)
                if term or trunc:
                    ends[t, i] = 1.0
                    if not term:
                        bootstrap.append((t, i, next_obs))
                    trainer.window.episodes.append(self.episodes[i].next())
                    self.episodes[i].index, self.next_episode = self.next_episode, self.next_episode + 1
                    next_obs = self._reset(i)
                raw[i] = next_obs
            rewards[t] = self._scale_rewards(rewards[t], terminated)
            obs = self._observe(raw)
            trainer.count_steps(n)  # (a stop request ends the run after this rollout)
        self.obs = obs
        assert buf_taken is not None
        judged = agent.judge(buf_obs.flatten(0, 1), buf_taken.flatten(0, 1))
        buf_logp, buf_log_pi, buf_values = (x.reshape(steps_per_rollout, n) for x in judged)
        scaled = torch.as_tensor(rewards, dtype=torch.float32, device=self.device)
        finals = self._observe([o for _, _, o in bootstrap], update=False) if bootstrap else None
        scaled = agent.soft_rewards(scaled, buf_log_pi, [(t, i) for t, i, _ in bootstrap], finals)
        rollout = Rollout(
            obs=buf_obs,
            taken=buf_taken,
            rewards=scaled,
            ends=torch.as_tensor(ends, dtype=torch.float32, device=self.device),
            values=buf_values,
            log_density=buf_logp,
            last_value=agent.value_of(obs),
            log_pi=buf_log_pi,
        )
        first = trainer.step - n * steps_per_rollout
        agent.set_progress(first / (self.iterations(self.config) * n * steps_per_rollout))
        for metrics in agent.learn(rollout):
            trainer.window.add(metrics)
