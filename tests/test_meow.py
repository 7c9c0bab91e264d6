"""MEow: closed-form soft value, per-env defaults, the preset through the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from rlasinference.algorithms import PRESETS, Batch
from rlasinference.cli.main import app
from rlasinference.samplers import EnergyFlow
from rlasinference.training.config import resolve
from rlasinference.values import closed_form_value
from tests.test_cli import assert_one_line_error

runner = CliRunner()
TINY = ["--set", "learning_starts=100", "--set", "batch_size=32", "--set", "sampler.hidden=[16, 16]"]
TINY += ["--set", "sampler.shift_hidden=[16, 16]", "--set", "log_every=100"]


def test_closed_form_value_is_tau_times_the_smaller_log_normalizer() -> None:
    torch.manual_seed(0)
    flow = EnergyFlow(3, 2, hidden=(8,), shift_hidden=(8,))
    with torch.no_grad():
        flow.shifts.biases[-1].copy_(torch.tensor([[[0.5]], [[-0.25]]]))  # type: ignore[union-attr]
    obs = torch.randn(4, 3)
    # the zero-initialised log-sigma network starts at the midpoint of [-5, -0.3]
    torch.testing.assert_close(flow._log_std(obs), torch.full((4, 2), -2.65))
    # log Z_k = sum_i log sigma_i + (A/2) log 2 pi + b_k, with b = (0.5, -0.25): the min is k = 2
    expected = 0.3 * (2 * -2.65 + math.log(2 * math.pi) - 0.25)
    got = closed_form_value(obs, flow, flow, torch.tensor(0.3))  # the flow is its own target critic here
    torch.testing.assert_close(got, torch.full((4,), expected))


@pytest.mark.parametrize(
    ("env", "tau", "polyak", "warmup", "log_std_max"),
    [
        ("Hopper-v5", 0.25, 5e-3, 5000, -0.3),
        ("HalfCheetah-v5", 0.25, 3e-3, 10000, 2.0),
        ("Walker2d-v5", 0.1, 5e-3, 10000, -0.3),
        ("Ant-v5", 0.05, 1e-4, 5000, -0.3),
        ("Pendulum-v1", 0.2, 5e-3, 5000, -0.3),
    ],
)
def test_per_env_defaults(env: str, tau: float, polyak: float, warmup: int, log_std_max: float) -> None:
    """The reference's tuned runs: tau and Polyak rate per env, 10000 warm-up steps on HalfCheetah
    and Walker2d, and a log-sigma bound of 2.0 on HalfCheetah; a user's setting wins."""
    cfg = resolve({"algo": "meow", "env": env})
    assert (cfg.algo.temperature, cfg.algo.polyak, cfg.algo.learning_starts) == (tau, polyak, warmup)
    assert cfg.sampler_options["log_std_max"] == log_std_max
    user = resolve({"algo": "meow", "env": env, "temperature": 0.7, "sampler.log_std_max": 1.0})
    assert (user.algo.temperature, user.sampler_options["log_std_max"]) == (0.7, 1.0)


def test_per_env_sampler_defaults_only_for_the_presets_sampler() -> None:
    # HalfCheetah's log_std_max is meant for the energy flow: a sampler without that option does
    # not fail on it
    svgd = resolve({"algo": "meow", "env": "HalfCheetah-v5", "sampler": "svgd"})
    assert "log_std_max" not in svgd.sampler_options and svgd.algo.learning_starts == 10000


def test_update_regresses_q_onto_the_closed_form_target() -> None:
    torch.manual_seed(0)
    preset = PRESETS.get("meow")
    agent = preset.build(preset.config_cls(), {"hidden": [16, 16], "shift_hidden": [16, 16]}, 3, 1)
    batch = Batch(
        torch.randn(64, 3), torch.rand(64, 1) * 1.8 - 0.9, torch.randn(64), torch.randn(64, 3), torch.zeros(64)
    )
    first = agent.update(batch)["loss_critic"].item()
    for _ in range(200):
        last = agent.update(batch)["loss_critic"].item()
    assert last < 0.5 * first


def test_meow_trains_and_evaluates_from_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "--algo", "meow", "--steps", "300", "--eval-every", "300", "--eval-episodes", "1"]
    result = runner.invoke(app, [*args, "--out", str(out), "--quiet", *TINY])
    assert result.exit_code == 0, result.output
    assert "temperature: 0.2" in (out / "config.yaml").read_text()
    assert runner.invoke(app, ["eval", str(out), "--episodes", "1", "--json"]).exit_code == 0


def test_meow_needs_an_energy_flow(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--algo", "meow", "--sampler", "gaussian", "--out", str(tmp_path / "r")])
    assert_one_line_error(result, "critic 'energy-flow' cannot be used with sampler 'gaussian'", "valid: energy-flow")
    assert not (tmp_path / "r").exists()


def test_energy_flow_with_the_sac_recipe(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "--sampler", "energy-flow", "--steps", "200", "--eval-every", "200", "--eval-episodes", "1"]
    extra = ["--set", "learning_starts=100", "--set", "batch_size=32", "--set", "critic_hidden=[16, 16]"]
    result = runner.invoke(app, [*args, "--out", str(out), "--quiet", *extra, "--set", "sampler.hidden=[16]"])
    assert result.exit_code == 0, result.output
