"""SQL: per-env defaults, the hard target copy, the multi-goal env and its evaluation report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from rlasinference.algorithms import PRESETS, Batch
from rlasinference.cli.main import app
from rlasinference.envs import make_env
from rlasinference.envs.multigoal import GOALS
from rlasinference.training.config import resolve
from tests.test_cli import assert_one_line_error

runner = CliRunner()
TINY = ["--set", "learning_starts=60", "--set", "batch_size=16", "--set", "critic_hidden=[16, 16]"]
TINY += ["--set", "sampler.hidden=[16, 16]", "--set", "log_every=50"]


@pytest.mark.parametrize(
    ("env", "key", "value"),
    [
        ("Hopper-v5", "reward_scale", 30.0),
        ("Ant-v5", "reward_scale", 300.0),
        ("Pendulum-v1", "reward_scale", 10.0),
        ("rlasinference/MultiGoal-v0", "reward_scale", 0.1),
        ("rlasinference/MultiGoal-v0", "stein_particles", 32),
    ],
)
def test_per_env_defaults(env: str, key: str, value: float) -> None:
    cfg = resolve({"algo": "sql", "env": env})
    assert getattr(cfg.algo, key) == value
    assert (cfg.algo.sampler, cfg.algo.objective, cfg.algo.value_estimator) == ("svgd", "stein", "importance")
    assert not cfg.algo.learn_temperature
    assert resolve({"algo": "sql", "env": env, "reward_scale": 3.0}).algo.reward_scale == 3.0


def test_target_critic_is_copied_every_n_updates() -> None:
    torch.manual_seed(0)
    preset = PRESETS.get("sql")
    config = preset.config_cls(critic_hidden=[8], batch_size=8, target_update_every=3)
    agent = preset.build(config, {"hidden": [8]}, 2, 2)
    batch = Batch(torch.randn(8, 2), torch.rand(8, 2) * 2 - 1, torch.randn(8), torch.randn(8, 2), torch.zeros(8))
    initial = [p.clone() for p in agent.critic.target.parameters()]
    for _ in range(2):
        metrics = agent.update(batch)
    assert all(torch.equal(a, b) for a, b in zip(initial, agent.critic.target.parameters()))
    assert {"stein_norm", "q_mean"} <= metrics.keys() and "entropy" not in metrics
    agent.update(batch)
    assert all(torch.equal(a, b) for a, b in zip(agent.critic.q.parameters(), agent.critic.target.parameters()))
    assert agent.checkpoint_state()["updates"] == 3


def test_multigoal_dynamics_reward_and_goal() -> None:
    env, spec = make_env("rlasinference/MultiGoal-v0")
    assert (spec.obs_dim, spec.action_dim) == (2, 2)
    obs, _ = env.reset(seed=0)
    assert np.abs(obs).max() < 0.5
    env.unwrapped.position = np.array([3.5, 0.0], dtype=np.float32)
    obs, reward, terminated, _, info = env.step(np.array([0.5, 0.0], dtype=np.float32))
    np.testing.assert_allclose(obs, [4.0, 0.0])
    assert reward == pytest.approx(-30 * 0.25 - 1.0) and not terminated
    obs, reward, terminated, _, info = env.step(np.array([0.5, 0.0], dtype=np.float32))
    assert terminated and info["goal"] == 0 and reward == pytest.approx(-30 * 0.25 - 0.25 + 10)
    env.reset(seed=1)
    ends = [env.step(np.zeros(2, dtype=np.float32))[2:4] for _ in range(30)]
    assert ends[-1] == (False, True) and not any(any(e) for e in ends[:-1])  # truncated at step 30


def test_goals_reached_counts_distinct_goals() -> None:
    env, _ = make_env("rlasinference/MultiGoal-v0")
    paths = [np.stack([np.zeros(2), g * 0.9]) for g in (GOALS[0], GOALS[0], GOALS[3])] + [np.zeros((2, 2))]
    metrics = env.unwrapped.evaluation_metrics(paths)
    assert metrics["goals_reached"] == 2.0
    assert metrics["goal_entropy"] == pytest.approx(-(2 / 3) * np.log(2 / 3) - (1 / 3) * np.log(1 / 3))
    assert env.unwrapped.evaluation_metrics([]) == {"goals_reached": 0.0, "goal_entropy": 0.0}


def test_sql_on_multigoal_from_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "--algo", "sql", "--env", "rlasinference/MultiGoal-v0", "--steps", "150", "--eval-every", "150"]
    result = runner.invoke(app, [*args, "--eval-episodes", "2", "--out", str(out), "--quiet", *TINY])
    assert result.exit_code == 0, result.output
    with open(out / "metrics.csv", newline="") as f:
        evals = [r for r in csv.DictReader(f) if r["eval_return"]]
    assert float(evals[-1]["eval_goals_reached"]) in (0.0, 1.0, 2.0)  # deterministic episodes from one start
    assert (out / "trajectories.png").stat().st_size > 0

    result = runner.invoke(app, ["eval", str(out), "--stochastic", "--episodes", "5", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert 0 <= summary["goals_reached"] <= 4 and summary["episodes"] == 5
    assert (out / "eval-trajectories-stochastic.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--algo", "sac", "--sampler", "svgd"], ["'reverse-kl' needs a sampler with density exact or bound"]),
        (["--algo", "sql", "--set", "stein_fixed=16"], ["stein_fixed must be less than stein_particles"]),
        (
            ["--algo", "sql", "--set", "learn_temperature=true"],
            ["tau cannot be learned with sampler 'svgd'", "learn_temperature=false"],
        ),
        (["--algo", "sql", "--set", "sampler.noise_dim=3"], ["noise_skip needs noise_dim = action size"]),
    ],
)
def test_bad_sql_input(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    result = runner.invoke(app, ["train", "--steps", "10", "--out", str(tmp_path / "r"), "--quiet", *args])
    assert_one_line_error(result, *fragments)
