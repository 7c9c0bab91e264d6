"""What the update benchmarks share: an agent built by its preset at a task's sizes with a random
batch, and updates timed in blocks that alternate between forms of the same computation (two
versions of a function, two precisions) so that each form sees the same machine state."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from rlasinference.algorithms import PRESETS, Batch


def random_batch(n: int, obs_dim: int, action_dim: int) -> Batch:
    """``n`` transitions of random observations, actions inside (-0.9, 0.9) and rewards."""
    actions = torch.rand(n, action_dim) * 1.8 - 0.9
    return Batch(torch.randn(n, obs_dim), actions, torch.randn(n), torch.randn(n, obs_dim), torch.zeros(n))


def built(
    algo: str, overrides: Mapping[str, Any] | None = None, options: Mapping[str, Any] | None = None,
    obs_dim: int = 11, action_dim: int = 3,
) -> tuple[Any, Batch]:  # fmt: skip
    """``algo``'s agent (its config with ``overrides``, its sampler's defaults with ``options``;
    Hopper's sizes unless told), built from seed 0, and a random batch of its batch size."""
    torch.manual_seed(0)
    preset = PRESETS.get(algo)
    config = preset.config_cls(**(overrides or {}))
    agent = preset.build(
        config, preset.default_sampler_options(config.sampler) | dict(options or {}), obs_dim, action_dim
    )
    return agent, random_batch(config.batch_size, obs_dim, action_dim)


def alternate(
    forms: Mapping[str, Callable[[], None]], agents: Mapping[str, tuple[Any, Batch]], blocks: int, updates: int
) -> dict[tuple[str, str], float]:
    """Median milliseconds per update of each agent under each form. ``forms`` maps a form's name
    to what switches this process to it; each block runs every form (their order rotating from
    block to block), and under each, every agent's untimed update and then ``updates`` timed
    ones; the last form switched on stays on."""
    names: Sequence[str] = list(forms)
    times: dict[tuple[str, str], list[float]] = {(label, form): [] for label in agents for form in names}
    for block in range(blocks):
        shift = block % len(names)
        for form in [*names[shift:], *names[:shift]]:
            forms[form]()
            for label, (agent, batch) in agents.items():
                agent.update(batch)
                start = time.perf_counter()
                for _ in range(updates):
                    agent.update(batch)
                times[label, form].append((time.perf_counter() - start) / updates * 1e3)
    return {key: statistics.median(values) for key, values in times.items()}
