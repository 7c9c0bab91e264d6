"""Held-out workbench targets: written after the samplers' defaults were chosen on the built-in
suite, and never used to choose them. They check that the defaults carry over to targets the
suite does not contain (docs/workbench.md):

    rlai sample --sampler flow --target benchmarks.heldout_targets:ring6 --seeds 5

(run from the project root, which puts ``benchmarks`` on the import path). Each is a user target
as the workbench takes it: a callable ``Q: [n, d] -> [n]`` with ``dim`` and ``modes``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def _mixture(centers: list[list[float]], stds: list[float], weights: list[float]) -> Callable[[Tensor], Tensor]:
    c = torch.tensor(centers)
    s = torch.tensor(stds)
    w = torch.tensor(weights) / sum(weights)
    log_norm = torch.log(w) - c.shape[1] * torch.log(s * math.sqrt(2 * math.pi))

    def q(a: Tensor) -> Tensor:
        d2 = (a.unsqueeze(1) - c.to(a)).square().sum(-1)
        return torch.logsumexp(log_norm.to(a) - 0.5 * d2 / s.to(a).square(), dim=1)

    q.dim = c.shape[1]  # type: ignore[attr-defined]
    q.modes = c  # type: ignore[attr-defined]
    return q


_angles = [2 * math.pi * k / 6 + 0.3 for k in range(6)]
#: six equal narrow modes on a circle of radius 0.6 (ring8's radius and width, six modes)
ring6 = _mixture([[0.6 * math.cos(t), 0.6 * math.sin(t)] for t in _angles], [0.08] * 6, [1.0] * 6)

#: three modes of weights 0.6 / 0.3 / 0.1 at uneven distances, the lightest the narrowest
skewed3 = _mixture([[-0.55, 0.35], [0.45, 0.5], [0.2, -0.6]], [0.09, 0.07, 0.05], [0.6, 0.3, 0.1])

#: five modes along a diagonal line: neighbours close, the ends near the box's corners
line5 = _mixture([[-0.8 + 0.4 * k, -0.7 + 0.35 * k] for k in range(5)], [0.06] * 5, [1.0] * 5)

#: one wide mode beside two narrow ones of the same weight
wide_narrow = _mixture([[-0.4, -0.3], [0.5, 0.45], [0.55, -0.5]], [0.22, 0.04, 0.04], [1.0, 1.0, 1.0])

#: four modes in 3-D at corners of a cube's face and its centre, unequal weights
mix3d_heldout = _mixture(
    [[0.5, 0.5, -0.4], [-0.5, 0.5, 0.4], [0.5, -0.5, 0.4], [-0.4, -0.4, -0.5]], [0.12] * 4, [0.4, 0.3, 0.2, 0.1]
)
