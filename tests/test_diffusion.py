"""DiffSAC: the SAC recipe with the diffusion chain's path bound in actor, target and temperature."""

from __future__ import annotations

from pathlib import Path

import torch
from typer.testing import CliRunner

from rlasinference.algorithms import PRESETS, Batch
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


def test_diffsac_trains_and_evaluates_from_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "--algo", "diffsac", "--steps", "150", "--eval-every", "150", "--eval-episodes", "1"]
    tiny = ["--set", "learning_starts=100", "--set", "batch_size=16", "--set", "critic_hidden=[16]"]
    tiny += ["--set", "sampler.hidden=[16]", "--set", "sampler.steps=4", "--set", "log_every=50"]
    result = runner.invoke(app, [*args, "--out", str(out), "--quiet", *tiny])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["eval", str(out), "--episodes", "1", "--json"]).exit_code == 0
