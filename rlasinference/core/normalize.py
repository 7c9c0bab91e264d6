"""Running mean and variance of a stream of vectors (observation and reward normalisation).

Written here rather than taken from gymnasium's ``NormalizeObservation`` / ``NormalizeReward``
wrappers: the statistics must live in the agent's checkpoint (an evaluation and a resumed run
normalise exactly as training did), and the wrappers keep them in the env, out of reach of
``state_dict``. The update is the same parallel (Chan et al.) rule in float64, on NumPy arrays:
it runs once per env step, where a few torch operations on tiny tensors would cost more than
the env step itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn


class RunningMeanStd(nn.Module):
    """Mean and variance of every vector passed to ``update``. A module whose statistics are its
    extra state: they are saved with the agent's ``state_dict`` and stay on the CPU whatever the
    agent's device.

    :param dim: vector size.
    :param eps: initial count (as gymnasium's).
    """

    def __init__(self, dim: int, eps: float = 1e-4) -> None:
        super().__init__()
        # updated in place: assigning attributes of a module costs more than this arithmetic
        self.mean = np.zeros(dim)
        self.var = np.ones(dim)
        self._count = np.full(1, eps)

    @property
    def count(self) -> float:
        return float(self._count[0])

    def update(self, x: np.ndarray) -> None:
        """Fold a batch ``[B, dim]`` into the statistics."""
        x = np.asarray(x, dtype=np.float64)
        n, count = x.shape[0], self._count[0]
        # (written out: np.mean and np.var cost more than the arithmetic on a few numbers)
        batch_mean = x[0] if n == 1 else x.sum(0) / n
        delta, total = batch_mean - self.mean, count + n
        m2 = self.var * count + np.square(delta) * (count * n / total)
        if n > 1:
            m2 += np.square(x - batch_mean).sum(0)
        self.mean += delta * (n / total)
        np.divide(m2, total, out=self.var)
        self._count[0] = total

    def normalize(self, x: np.ndarray, clip: float) -> np.ndarray:
        """``(x - mean) / sqrt(var + 1e-8)`` clipped to ``[-clip, clip]``, float32."""
        return np.clip((x - self.mean) / np.sqrt(self.var + 1e-8), -clip, clip).astype(np.float32)

    def scale(self, x: np.ndarray, clip: float) -> np.ndarray:
        """``x / sqrt(var + 1e-8)`` clipped (reward scaling: the mean is not removed)."""
        return np.clip(x / np.sqrt(self.var + 1e-8), -clip, clip)

    def get_extra_state(self) -> dict[str, Any]:
        return {
            "mean": torch.from_numpy(self.mean.copy()),
            "var": torch.from_numpy(self.var.copy()),
            "count": torch.tensor(self.count, dtype=torch.float64),
        }

    def set_extra_state(self, state: dict[str, Any]) -> None:
        if state["mean"].shape != self.mean.shape:
            size = list(state["mean"].shape)
            raise ValueError(f"normalisation statistics of size {size}, expected {list(self.mean.shape)}")
        self.mean[:] = state["mean"].double().numpy()
        self.var[:] = state["var"].double().numpy()
        self._count[0] = float(state["count"])
