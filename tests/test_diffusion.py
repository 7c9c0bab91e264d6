"""DiffSAC (the SAC recipe with the diffusion chain's path bound) and DIME (distributional
CrossQ critic, delayed actor, the reference's effective target entropy)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from rlasinference.algorithms import PRESETS, Batch
from rlasinference.algorithms.dime import reference_target_entropy
from rlasinference.cli.main import app
from rlasinference.training.config import resolve

runner = CliRunner()


def test_diffsac_defaults_are_sac_with_the_diffusion_sampler() -> None:
    cfg = resolve({"algo": "diffsac"})
    sac = resolve({"algo": "sac"})
    assert cfg.algo.sampler == "diffusion"
    assert (cfg.algo.objective, cfg.algo.value_estimator, cfg.algo.learn_temperature) == ("reverse-kl", "sampled", True)
    assert (cfg.algo.polyak, cfg.algo.batch_size, cfg.algo.lr_policy) == (sac.algo.polyak, 256, 3e-4)
    assert cfg.sampler_options["steps"] == 16 and cfg.sampler_options["prior_std"] == 2.5


def test_diffsac_update_uses_the_bound() -> None:
    torch.manual_seed(0)
    preset = PRESETS.get("diffsac")
    config = preset.config_cls(critic_hidden=[16], batch_size=16)
    agent = preset.build(config, {"hidden": [16], "steps": 4}, 3, 2)
    batch = Batch(torch.randn(16, 3), torch.rand(16, 2) * 2 - 1, torch.randn(16), torch.randn(16, 3), torch.zeros(16))
    before = agent.sampler.raw_dt.detach().clone()
    metrics = agent.update(batch)
    assert {"entropy", "loss_temperature", "loss_policy"} <= metrics.keys()
    assert all(torch.isfinite(v) for v in metrics.values())
    assert not torch.equal(before, agent.sampler.raw_dt)  # the step size is learned through the bound


def test_reference_target_entropy() -> None:
    # 4 dim(A) against log pi^ - log p_prior(x_0), in expectation over x_0 ~ N(0, 2.5^2 I)
    expected = -3 * (4 - 0.5 - math.log(2.5 * math.sqrt(2 * math.pi)))
    assert reference_target_entropy(3, 2.5) == pytest.approx(expected)
    assert expected == pytest.approx(-3 * 1.6648, abs=1e-3)


def test_dime_target_entropy_per_env() -> None:
    preset = PRESETS.get("dime")
    # MuJoCo and other envs: the reference's effective target; multi-goal: SAC's -dim(A)
    assert resolve({"algo": "dime", "env": "Pendulum-v1"}).algo.target_entropy is None
    assert resolve({"algo": "dime", "env": "rlasinference/MultiGoal-v0"}).algo.target_entropy == -2.0
    mine = resolve({"algo": "dime", "env": "rlasinference/MultiGoal-v0", "target_entropy": -4.0})
    assert mine.algo.target_entropy == -4.0
    built = preset.build(preset.config_cls(critic_hidden=[8], target_entropy=-2.0), {"hidden": [8], "steps": 4}, 3, 2)
    assert built.target_entropy == -2.0


def _dime(entropy_coef: float = 0.005, **overrides: object):
    preset = PRESETS.get("dime")
    config = preset.config_cls(critic_hidden=[16], batch_size=16, **overrides)
    critic = preset.default_critic_options("categorical") | {"atoms": 11, "v_min": -20, "v_max": 20}
    return preset.build(config, {"hidden": [16], "steps": 4}, 3, 2, critic | {"entropy_coef": entropy_coef})


def test_dime_update_schedule_and_no_target_network() -> None:
    torch.manual_seed(1)
    agent = _dime(policy_delay=3)
    assert not any("target" in name for name in agent.state_dict())  # CrossQ: no target critic
    batch = Batch(torch.randn(16, 3), torch.rand(16, 2) * 2 - 1, torch.randn(16), torch.randn(16, 3), torch.zeros(16))
    actor_steps = []
    for _ in range(6):
        before = [p.clone() for p in agent.sampler.parameters()]
        metrics = agent.update(batch)
        moved = any(not torch.equal(a, b) for a, b in zip(before, agent.sampler.parameters()))
        actor_steps.append(moved)
        assert all(torch.isfinite(v) for v in metrics.values())
        # the actor's metrics are reported on the updates that train it
        assert ("loss_policy" in metrics) == moved and set(metrics) <= set(agent.metric_names)
    # as in the reference (its 1-based update count): the actor trains on every third update
    assert actor_steps == [False, False, True, False, False, True]
    assert agent.checkpoint_state()["updates"] == 6
    assert agent.critic.training  # left in training mode for the next critic update


def test_dime_critic_target_is_the_projected_soft_return() -> None:
    """With tau fixed near 0 and a terminal batch, the critic learns the reward's atoms."""
    torch.manual_seed(2)
    agent = _dime(entropy_coef=0.0, policy_delay=1000, temperature=1e-6, lr_temperature=1e-12, lr_critic=1e-2)
    rewards = torch.tensor([-10.0, 5.0]).repeat(8)
    obs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).repeat(8, 1)
    batch = Batch(obs, torch.zeros(16, 2), rewards, obs, torch.ones(16))
    for _ in range(300):
        agent.update(batch)
    q = agent.critic.actor_q(obs[:2], torch.zeros(2, 2)).mean(0)
    torch.testing.assert_close(q, torch.tensor([-10.0, 5.0]), atol=0.5, rtol=0)


@pytest.mark.parametrize("algo", ["diffsac", "dime"])
def test_trains_and_evaluates_from_the_cli(tmp_path: Path, algo: str) -> None:
    out = tmp_path / "run"
    args = ["train", "--algo", algo, "--steps", "150", "--eval-every", "150", "--eval-episodes", "1"]
    tiny = ["--set", "learning_starts=100", "--set", "batch_size=16", "--set", "critic_hidden=[16]"]
    tiny += ["--set", "sampler.hidden=[16]", "--set", "sampler.steps=4", "--set", "log_every=50"]
    result = runner.invoke(app, [*args, "--out", str(out), "--quiet", *tiny])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["eval", str(out), "--episodes", "1", "--json"]).exit_code == 0


def test_dime_bad_support_is_one_line(tmp_path: Path) -> None:
    bad_support = ["--set", "critic.v_min=5", "--set", "critic.v_max=1", "--out", str(tmp_path / "b")]
    bad = runner.invoke(app, ["train", "--algo", "dime", *bad_support])
    assert bad.exit_code == 2 and "critic.v_min must be less than critic.v_max" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
