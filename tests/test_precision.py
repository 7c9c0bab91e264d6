"""The ``precision`` run option: bfloat16 matrix products, float32 everywhere else."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from rlasinference.algorithms import PRESETS, Batch
from rlasinference.cli.main import app
from rlasinference.core.nets import EnsembleMLP, mlp
from rlasinference.core.precision import (
    cpu_flags,
    flushed_subnormals,
    flushing_subnormals,
    resolve_precision,
    set_precision,
)
from rlasinference.samplers import get_sampler_class
from tests.helpers import TINY
from tests.test_cli import assert_one_line_error

runner = CliRunner()


def test_networks_compute_in_bf16_and_return_float32() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 5)
    net, ens = mlp(5, [64, 64], 3), EnsembleMLP(5, [64, 64], 1, members=2, batch_renorm=True)
    exact = net(x), ens(x)
    set_precision("bf16")
    low = net(x), ens(x)
    for a, b in zip(exact, low, strict=True):
        assert b.dtype == torch.float32
        assert not torch.equal(a, b)  # the products really ran in bfloat16 ...
        assert torch.allclose(a, b, atol=0.05, rtol=0.05)  # ... to bfloat16's 8 bits of mantissa
    set_precision("fp32")
    assert all(torch.equal(a, b) for a, b in zip(exact, (net(x), ens(x)), strict=True))


@pytest.mark.parametrize("name", ["gaussian", "flow", "diffusion", "svgd", "energy-flow"])
def test_every_sampler_keeps_float32_densities_under_bf16(name: str) -> None:
    torch.manual_seed(0)
    sampler = get_sampler_class(name)(3, 2)
    set_precision("bf16")
    out = sampler.sample(torch.randn(8, 3), 4)
    assert out.actions.dtype == torch.float32 and out.actions.shape == (8, 4, 2)
    if out.log_density is not None:
        assert out.log_density.dtype == torch.float32 and torch.isfinite(out.log_density).all()


@pytest.mark.parametrize("algo", ["sac", "dime", "crossq"])
def test_a_bf16_update_keeps_float32_weights_and_losses(algo: str) -> None:
    preset = PRESETS.get(algo)
    config = preset.config_cls(batch_size=32, critic_hidden=[32, 32])
    torch.manual_seed(0)
    agent = preset.build(config, preset.default_sampler_options(config.sampler) | {"hidden": [32, 32]}, 3, 1)
    batch = Batch(torch.randn(32, 3), torch.rand(32, 1) * 2 - 1, torch.randn(32), torch.randn(32, 3), torch.zeros(32))
    set_precision("bf16")
    for _ in range(3):
        metrics = agent.update(batch)
    assert all(p.dtype == torch.float32 for p in agent.parameters())
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in metrics.values())


def test_auto_is_bf16_only_on_a_cpu_with_amx() -> None:
    amx = "amx_bf16" in cpu_flags()
    assert resolve_precision("auto", torch.device("cpu")) == ("bf16" if amx else "fp32")
    assert resolve_precision("auto", torch.device("cuda")) == "fp32"
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"


def test_bf16_run_trains_and_resumes_from_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--eval-every", "150", "--eval-episodes", "1", "--quiet", *TINY, "--set", "precision=bf16"]
    assert runner.invoke(app, ["train", "--steps", "150", "--out", str(out), *args]).exit_code == 0
    resumed = runner.invoke(app, ["resume", str(out), "--steps", "300", "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    assert "precision: bf16" in (out / "config.yaml").read_text()
    assert runner.invoke(app, ["eval", str(out), "--episodes", "1", "--json"]).exit_code == 0


def test_unknown_precision_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--steps", "150", "--out", str(tmp_path / "r"), "--set", "precision=fp16"])
    assert_one_line_error(result, "precision must be one of auto, fp32, bf16, got 'fp16'")


def test_compile_auto_compiles_only_samplers_that_pay_in_long_runs() -> None:
    from rlasinference.training.build import compile_sampler
    from rlasinference.training.config import COMPILE_MIN_UPDATES

    def agent(sampler: str, action_dim: int = 2) -> object:
        preset = PRESETS.get("sac")
        config = preset.config_cls(sampler=sampler, critic_hidden=[8])
        return preset.build(config, preset.default_sampler_options(sampler) | {"hidden": [8]}, 3, action_dim)

    long, short = COMPILE_MIN_UPDATES, COMPILE_MIN_UPDATES - 1
    assert compile_sampler(agent("flow"), "auto", long) and not compile_sampler(agent("flow"), "auto", short)
    assert not compile_sampler(agent("gaussian"), "auto", long)
    assert compile_sampler(agent("flow", action_dim=1), "auto", long)  # the one-dimensional layer too
    assert compile_sampler(agent("gaussian"), "always", 1) and not compile_sampler(agent("flow"), "never", long)


def test_unknown_compile_setting_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--steps", "150", "--out", str(tmp_path / "r"), "--set", "compile=sometimes"])
    assert_one_line_error(result, "compile must be one of auto, always, never, got 'sometimes'")


@pytest.mark.slow
def test_a_compiled_flow_run_resumes_exactly(tmp_path: Path) -> None:
    from rlasinference.training.checkpoint import load_checkpoint

    common = ["--eval-every", "150", "--eval-episodes", "1", "--quiet", *TINY, "--sampler", "flow"]
    common += ["--set", "compile=always", "--set", "sampler.spline_hidden=8", "--set", "threads=1"]
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert runner.invoke(app, ["train", "--steps", "300", "--out", str(straight), *common]).exit_code == 0
    assert runner.invoke(app, ["train", "--steps", "150", "--out", str(stopped), *common]).exit_code == 0
    assert runner.invoke(app, ["resume", str(stopped), "--steps", "300", "--quiet"]).exit_code == 0
    a = load_checkpoint(straight / "checkpoints" / "last.pt")["agent"]["modules"]
    b = load_checkpoint(stopped / "checkpoints" / "last.pt")["agent"]["modules"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_that_takes_every_core_on_a_busy_machine_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from rlasinference.training.build import busy_note

    monkeypatch.setattr(os, "getloadavg", lambda: (1.9, 1.5, 1.0))
    assert "--set threads=1" in (busy_note(2) or "") and "load average 1.9" in (busy_note(2) or "")
    assert busy_note(1) is None  # one thread cannot oversubscribe
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.5, 1.0))
    assert busy_note(2) is None


def test_what_auto_chose_holds_when_the_run_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # extended past the compile threshold, or resumed on a machine with AMX, a run keeps
    # computing as it began (compiled or not, fp32 or bf16)
    import rlasinference.training.build as build
    import rlasinference.training.trainer as loop
    from rlasinference.training.checkpoint import load_checkpoint
    from rlasinference.training.run_dir import create_run_dir, read_config

    out = tmp_path / "run"
    args = [
        "--eval-every",
        "150",
        "--eval-episodes",
        "1",
        "--quiet",
        *TINY,
        "--sampler",
        "flow",
        "--set",
        "precision=auto",
    ]
    # the run begins as auto chooses on a CPU without AMX, whatever CPU the test runs on
    monkeypatch.setattr(loop, "resolve_precision", lambda name, device: "fp32" if name == "auto" else name)
    assert runner.invoke(app, ["train", "--steps", "150", "--out", str(out), *args]).exit_code == 0
    trainer_state = load_checkpoint(out / "checkpoints" / "last.pt")["trainer"]
    assert (trainer_state["precision"], trainer_state["compiled"]) == ("fp32", False)
    monkeypatch.setattr(build, "COMPILE_MIN_UPDATES", 1)  # auto would compile a new run now
    monkeypatch.setattr(loop, "resolve_precision", lambda name, device: "bf16" if name == "auto" else name)
    resumed = loop.Trainer(read_config(out), out, quiet=True, resume=True)
    assert (resumed.precision, resumed.compiled) == ("fp32", False)
    fresh = loop.Trainer(read_config(out), create_run_dir(tmp_path / "fresh", read_config(out)), quiet=True)
    assert (fresh.precision, fresh.compiled) == ("bf16", True)


def _cpu_can_flush() -> bool:
    """Whether this CPU has the setting (x86 with SSE3: ``set_flush_denormal`` says True); on one
    without it the arithmetic stays as it was, and the tests below expect exactly that."""
    before = flushing_subnormals()
    can = torch.set_flush_denormal(True)
    torch.set_flush_denormal(before)
    return can


def test_subnormals_are_flushed_inside_the_block_and_as_they_were_after() -> None:
    before, can = flushing_subnormals(), _cpu_can_flush()
    tiny = torch.finfo(torch.float32).tiny
    for outside in (False, True):
        torch.set_flush_denormal(outside)
        try:
            with flushed_subnormals():
                assert flushing_subnormals() == can
                # Adam's second moment of a weight whose gradient stays zero: 0.999 x a subnormal
                assert ((torch.tensor([tiny / 8]) * 0.999).item() == 0.0) == can
            assert flushing_subnormals() == (outside and can)
            assert ((torch.tensor([tiny / 8]) * 0.999).item() == 0.0) == (outside and can)
        finally:
            torch.set_flush_denormal(before)


def test_a_run_trains_with_subnormals_flushed_and_gives_the_setting_back(tmp_path: Path) -> None:
    import rlasinference as rlai

    class Seen:
        def __init__(self) -> None:
            self.flushing: set[bool] = set()

        def on_step(self, step: int) -> None:
            self.flushing.add(flushing_subnormals())

    before = flushing_subnormals()
    seen = Seen()
    rlai.train(
        "sac",
        out=tmp_path / "r",
        steps=60,
        eval_every=60,
        eval_episodes=1,
        learning_starts=30,
        threads=1,
        batch_size=8,
        critic_hidden=[8],
        sampler__hidden=[8],
        callbacks=[seen],
    )
    assert seen.flushing == {_cpu_can_flush()} and flushing_subnormals() == before
