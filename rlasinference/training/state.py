"""The training loop's own state, in parts that save and restore themselves (``last.pt``'s
``trainer`` entry): the episode in progress and the window of the next log row."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rlasinference.core.errors import NonFiniteLossError


@dataclass
class Episode:
    """The training episode in progress: its index (which seeds its reset), return, length and
    actions so far (replayed after a resume to put the env back where it was)."""

    index: int = 0
    ret: float = 0.0
    length: int = 0
    actions: list[np.ndarray] = field(default_factory=list)

    def record(self, action: np.ndarray, reward: float) -> None:
        self.actions.append(action)
        self.ret += reward
        self.length += 1

    def next(self) -> tuple[float, int]:
        """End this episode, start the next; returns the ended one's (return, length)."""
        ended = (self.ret, self.length)
        self.index, self.ret, self.length, self.actions = self.index + 1, 0.0, 0, []
        return ended

    def state_dict(self, action_dim: int) -> dict[str, Any]:
        actions = torch.as_tensor(np.array(self.actions, dtype=np.float32)).reshape(-1, action_dim)
        return {
            "episode": self.index,
            "episode_return": self.ret,
            "episode_length": self.length,
            "episode_actions": actions,
        }

    def load_state_dict(self, state: dict[str, Any], resumable: bool) -> None:
        """``resumable``: the replay buffer came back too, so the episode continues; else a
        fresh one starts (the run cannot be continued exactly without its buffer)."""
        self.index = int(state["episode"])
        if resumable:
            self.ret, self.length = float(state["episode_return"]), int(state["episode_length"])
            self.actions = list(state["episode_actions"].numpy())
        else:
            self.next()


class LogWindow:
    """Sums of the update metrics since the last log row, how many updates gave each (a delayed
    policy reports its losses on its own updates only), and the training episodes that ended."""

    def __init__(self, names: tuple[str, ...], device: torch.device) -> None:
        self.names, self.device = names, device
        self.sums: Tensor | None = None
        self.counts: Tensor | None = None
        self.episodes: list[tuple[float, int]] = []
        self._masks: dict[tuple[bool, ...], Tensor] = {}
        self._zero = torch.zeros((), device=device)

    def add(self, metrics: dict[str, Tensor]) -> None:
        """One update's metrics; summed on the device, without a host synchronisation."""
        present = tuple(k in metrics for k in self.names)
        mask = self._masks.get(present)
        if mask is None:
            mask = self._masks[present] = torch.tensor(present, dtype=torch.float32, device=self.device)
        values = torch.stack([metrics[k].float() if k in metrics else self._zero for k in self.names])
        if self.sums is None or self.counts is None:
            self.sums, self.counts = values, mask.clone()
        else:
            self.sums, self.counts = self.sums + values, self.counts + mask

    def check_finite(self, step: int) -> None:
        if self.sums is not None and not torch.isfinite(self.sums).all():
            bad = [n for n, v in zip(self.names, self.sums.tolist()) if not math.isfinite(v)]
            raise NonFiniteLossError(f"non-finite {bad[0]} at step {step}")

    def row(self) -> dict[str, float]:
        """The means of the window (metrics no update reported are left out); starts a new one."""
        row: dict[str, float] = {}
        if self.episodes:
            row["episode_return"] = float(np.mean([r for r, _ in self.episodes]))
            row["episode_length"] = float(np.mean([n for _, n in self.episodes]))
        if self.sums is not None and self.counts is not None:
            means, counts = (self.sums / self.counts.clamp_min(1)).tolist(), self.counts.tolist()
            row.update((k, v) for k, v, c in zip(self.names, means, counts) if c > 0)
        self.sums, self.counts, self.episodes = None, None, []
        return row

    def state_dict(self) -> dict[str, Any]:
        episodes = [list(e) for e in self.episodes]
        return {"window_sums": self.sums, "window_counts": self.counts, "window_episodes": episodes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        sums, counts = state["window_sums"], state["window_counts"]
        self.sums = None if sums is None else sums.to(self.device)
        self.counts = None if counts is None else counts.to(self.device)
        self.episodes = [(float(r), int(n)) for r, n in state["window_episodes"]]
