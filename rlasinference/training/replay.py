"""The off-policy collector: one env, a replay buffer, uniformly random actions for
``learning_starts`` steps, then ``updates_per_step`` updates on sampled minibatches after every
``update_every``-th env step. The ``Trainer`` around it keeps the run (evaluation, checkpoints, signals); after a
resume the env is put back mid-episode by replaying the episode's actions from its reset seed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.base import ReplayAgent
from rlasinference.core.errors import UserError
from rlasinference.envs import LIFE_LOST, EnvSpec
from rlasinference.training.buffer import ReplayBuffer, transition_bytes
from rlasinference.training.config import Config
from rlasinference.training.evaluation import TRAIN_STREAM, episode_seed
from rlasinference.training.state import Episode

if TYPE_CHECKING:
    from rlasinference.training.trainer import Trainer


class ReplayCollector:
    """Steps ``trainer.env`` one step at a time into a replay buffer; the agent learns from it."""

    def __init__(self, trainer: Trainer, spec: EnvSpec) -> None:
        self.trainer, self.env, self.device = trainer, trainer.env, trainer.device
        self.agent = cast(ReplayAgent, trainer.agent)
        algo, run = cast(ActorCriticConfig, trainer.config.algo), trainer.config.run
        self.save_buffer = run.save_buffer
        self.action_dim = spec.action_dim
        obs_dtype = torch.uint8 if spec.obs_dtype == "uint8" else torch.float32
        # a run of fewer steps than buffer_size never wraps: only its steps are allocated (a run
        # resumed with more steps allocates more and appends after the saved transitions)
        capacity = min(algo.buffer_size, run.steps)
        _check_buffer_fits(capacity, spec, self.device)
        self.buffer = ReplayBuffer(capacity, spec.obs_dim, spec.action_dim, self.device, obs_dtype)
        self.episode = Episode()
        self.obs: np.ndarray | None = None

    @staticmethod
    def planned_updates(config: Config) -> int:
        algo, every = cast(ActorCriticConfig, config.algo), cast(ActorCriticConfig, config.algo).update_every
        # the env steps s in [max(learning_starts, 1), steps] with s % update_every == 0
        first = max(algo.learning_starts, 1)
        return max(config.run.steps // every - (first - 1) // every, 0) * algo.updates_per_step

    @staticmethod
    def planned_steps(config: Config) -> int:
        return config.run.steps

    # -- checkpoints: the episode in progress (``trainer`` entry) and the buffer (its own) ------
    def state_dict(self) -> dict[str, Any]:
        return self.episode.state_dict(self.action_dim)

    def data_state(self) -> dict[str, Any]:
        return {"buffer": self.buffer.state_dict() if self.save_buffer else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["buffer"] is not None:
            self.buffer.load_state_dict(state["buffer"])
        self.episode.load_state_dict(state["trainer"], resumable=state["buffer"] is not None)

    # -- collecting ----------------------------------------------------------------------------
    def start(self) -> None:
        self.obs = self._begin_episode()

    def _begin_episode(self) -> np.ndarray:
        """Reset the env for the current episode, replaying the actions already taken in it
        (after a resume), so that the env is in exactly the state it was saved in."""
        obs, _ = self.env.reset(seed=episode_seed(self.trainer.config.run.seed, TRAIN_STREAM, self.episode.index))
        for action in self.episode.actions:
            obs, *_ = self.env.step(action)
        return obs

    def _act(self, obs: np.ndarray) -> np.ndarray:
        if self.trainer.step < self.agent.learning_starts and not self.agent.warmup_policy:
            return (torch.rand(self.action_dim) * 2 - 1).numpy()
        obs_t = torch.as_tensor(obs, dtype=torch.float32, device=self.device).unsqueeze(0)
        return self.agent.act(obs_t, deterministic=False)[0].cpu().numpy()

    def advance(self) -> None:
        """One env step into the buffer, then the agent's updates (after the warm-up)."""
        trainer, agent, obs = self.trainer, self.agent, self.obs
        assert obs is not None, "start() first"
        action = self._act(obs)
        next_obs, reward, terminated, truncated, info = self.env.step(action)
        # an Atari life lost ends the transition, not the episode (``envs.make.Lives``)
        self.buffer.add(
            obs,
            action,
            float(reward),
            next_obs,
            bool(terminated or (isinstance(info, dict) and info.get(LIFE_LOST, False))),
        )
        self.episode.record(action, float(reward))
        self.obs = next_obs
        trainer.count_steps(1)
        if terminated or truncated:
            trainer.window.episodes.append(self.episode.next())
            self.obs = self._begin_episode()
        if trainer.step >= agent.learning_starts and trainer.step % agent.update_every == 0:
            for _ in range(agent.updates_per_step):
                for metrics in agent.learn(self.buffer.sample(agent.batch_size)):
                    trainer.window.add(metrics)

    def close(self) -> None:
        return None


def _check_buffer_fits(transitions: int, spec: EnvSpec, device: torch.device) -> None:
    """Refuse a run whose replay buffer would outgrow this machine's memory before it ends."""
    if device.type != "cpu" or not hasattr(os, "sysconf"):
        return
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return
    need = transitions * transition_bytes(spec.obs_dim, spec.action_dim, 1 if spec.obs_dtype == "uint8" else 4)
    if need > total:
        raise UserError(
            f"the replay buffer would hold {transitions} transitions ({need / 2**30:.3g} GiB) by the end of the run, "
            f"more than this machine's {total / 2**30:.3g} GiB; lower buffer_size"
        )
