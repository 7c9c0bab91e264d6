"""Preallocated uniform replay buffer on the agent's device."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlasinference.algorithms.base import Batch
from rlasinference.core.errors import UserError


def transition_bytes(obs_dim: int, action_dim: int, obs_bytes: int = 4) -> int:
    """Bytes of one stored transition (obs and next obs of ``obs_bytes`` a number, float32 action,
    reward, terminated)."""
    return 2 * obs_bytes * obs_dim + 4 * (action_dim + 2)


class ReplayBuffer:
    """Circular buffer of ``capacity`` transitions; tensors are allocated once, up front.

    Sampling draws indices from torch's global generator, so a run's sampling is restored
    with ``torch.set_rng_state``. Observations are stored as ``obs_dtype`` (``torch.uint8`` for
    Atari's frames: a quarter of float32's memory) and sampled as float32.
    """

    def __init__(
        self,
        capacity: int,
        obs_dim: int,
        action_dim: int,
        device: torch.device | str = "cpu",
        obs_dtype: torch.dtype = torch.float32,
    ) -> None:
        self.capacity = capacity
        self.device = torch.device(device)
        # torch.empty maps pages lazily: an oversized buffer costs memory only when filled
        try:
            self.obs = torch.empty(capacity, obs_dim, device=self.device, dtype=obs_dtype)
            self.next_obs = torch.empty(capacity, obs_dim, device=self.device, dtype=obs_dtype)
            self.actions = torch.empty(capacity, action_dim, device=self.device)
            self.rewards = torch.empty(capacity, device=self.device)
            self.terminated = torch.empty(capacity, device=self.device)
        except (RuntimeError, MemoryError):
            size = capacity * transition_bytes(obs_dim, action_dim, obs_dtype.itemsize) / 2**30
            raise UserError(
                f"cannot allocate a replay buffer of {capacity} transitions ({size:.3g} GiB) on {self.device}; "
                "lower buffer_size"
            ) from None
        self.pos = 0
        self.size = 0

    def add(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        i = self.pos
        self.obs[i] = torch.from_numpy(obs)
        self.next_obs[i] = torch.from_numpy(next_obs)
        self.actions[i] = torch.from_numpy(action)
        self.rewards[i] = reward
        self.terminated[i] = float(terminated)
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        idx = torch.randint(0, self.size, (batch_size,)).to(self.device)
        obs, next_obs = self.obs[idx].float(), self.next_obs[idx].float()
        return Batch(obs, self.actions[idx], self.rewards[idx], next_obs, self.terminated[idx])

    def state_dict(self) -> dict[str, Any]:
        """The filled part only (plain tensors and ints: loadable with ``weights_only=True``). On the
        CPU its tensors share the buffer's memory: write them before the next ``add``."""
        names = ("obs", "next_obs", "actions", "rewards", "terminated")
        return {"pos": self.pos, "size": self.size} | {k: _filled(getattr(self, k), self.size) for k in names}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = state["size"]
        if n > self.capacity:
            raise ValueError(f"checkpoint holds {n} transitions, more than the buffer capacity {self.capacity}")
        for name in ("obs", "next_obs", "actions", "rewards", "terminated"):
            getattr(self, name)[:n] = state[name].to(self.device)
        # a buffer saved full that this one exceeds (a run extended with more steps: a buffer
        # sized to a run never wraps) goes on after its last transition, not over its first
        self.pos, self.size = (state["pos"] if n == self.capacity else n), n


def _filled(t: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` rows of the contiguous ``t`` as a tensor that ``torch.save`` writes alone.
    ``torch.save`` writes a view's whole storage (the preallocated buffer), so on the CPU the rows
    get a storage of their own over the same memory, and a checkpoint costs no second copy of
    the buffer (Atari's is 5.6 GB); from another device they are copied to the host."""
    if t.device.type != "cpu":
        return t[:n].to("cpu")
    storage = t.untyped_storage()[: n * t.stride(0) * t.element_size()]
    return torch.empty(0, dtype=t.dtype).set_(storage, 0, (n, *t.shape[1:]), t.stride())
