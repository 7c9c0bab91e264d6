"""The warm-up's actions: uniform on the box by default, the untrained policy's with
``warmup_policy`` (DSAC-T's default, as DSAC-v2's collector)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rlasinference
from rlasinference.algorithms import PRESETS
from rlasinference.algorithms.base import Agent


@pytest.mark.parametrize("warmup_policy", [False, True])
def test_warmup_actions_come_from_where_the_option_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warmup_policy: bool
) -> None:
    sampled: list[Any] = []
    act = Agent.act

    def counting_act(self: Agent, obs: Any, deterministic: bool) -> Any:
        if not deterministic:
            sampled.append(obs)
        return act(self, obs, deterministic)

    monkeypatch.setattr(Agent, "act", counting_act)
    run = rlasinference.train(
        "sac",
        "Pendulum-v1",
        steps=40,
        out=tmp_path / "run",
        learning_starts=100,
        eval_every=40,
        eval_episodes=1,
        log="none",
        warmup_policy=warmup_policy,
    )
    assert run.dir.is_dir()
    assert len(sampled) == (40 if warmup_policy else 0)


def test_dsac_t_warms_up_with_its_policy() -> None:
    assert PRESETS.get("dsac-t").config_cls().warmup_policy
    assert PRESETS.get("dsac-e").config_cls().warmup_policy
    assert not PRESETS.get("sac").config_cls().warmup_policy
