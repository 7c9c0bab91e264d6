"""Loggers are callbacks chosen by the run's ``log`` setting: TensorBoard by default, Weights &
Biases on request (a fake ``wandb`` module records what the run sends; the real one runs
offline), none at all; a bad name is one line and exit code 2."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import rlasinference as rlai
from rlasinference.cli.main import app
from tests.test_cli import assert_one_line_error

runner = CliRunner()
SMALL = dict(steps=300, eval_every=150, eval_episodes=1, learning_starts=100, log_every=100, threads=1)
NETS = dict(batch_size=16, critic_hidden=[8], sampler__hidden=[8])


class FakeWandb(types.ModuleType):
    """What the logger calls of ``wandb``: ``init`` (kept) and the run's ``log`` and ``finish``."""

    def __init__(self) -> None:
        super().__init__("wandb")
        self.__spec__ = importlib.machinery.ModuleSpec("wandb", None)
        self.inits: list[dict[str, Any]] = []
        self.logged: list[tuple[int, dict[str, float]]] = []
        self.finished = 0

    def init(self, **kwargs: Any) -> Any:
        self.inits.append(kwargs)
        fake = self

        class Run:
            def log(self, data: dict[str, float], step: int) -> None:
                fake.logged.append((step, data))

            def finish(self) -> None:
                fake.finished += 1

        return Run()


def test_wandb_gets_every_row_and_a_resumed_run_continues_the_same_wandb_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    stop = type("Stop", (), {"on_eval": lambda self, step, metrics: step < 150})()
    run = rlai.train("sac", out=tmp_path / "r", log="wandb", callbacks=[stop], **SMALL, **NETS)
    assert run.metrics[-1]["step"] == 150 and not (run.dir / "tb").exists()
    rlai.resume(run.dir)
    first, second = fake.inits
    assert first["id"] == second["id"] == (run.dir / "wandb-id").read_text().strip()
    assert first["resume"] == "allow" and first["dir"] == str(run.dir) and first["config"]["log"] == "wandb"
    assert fake.finished == 2
    evals = {step: data["eval/eval_return"] for step, data in fake.logged if "eval/eval_return" in data}
    csv = {int(r["step"]): r["eval_return"] for r in rlai.Run(run.dir).metrics if "eval_return" in r}
    assert evals == pytest.approx(csv, rel=1e-5) and sorted(evals) == [150, 300]  # (the CSV keeps 6 digits)
    train_rows = [step for step, data in fake.logged if "train/loss_critic" in data]
    assert train_rows == [100, 200, 300] and all("train/time_s" not in data for _, data in fake.logged)


def test_log_none_and_tensorboard_and_bad_names(tmp_path: Path) -> None:
    run = rlai.train("sac", out=tmp_path / "none", log="none", **SMALL, **NETS)
    assert not (run.dir / "tb").exists() and run.metrics[-1]["step"] == 300
    run = rlai.train("sac", out=tmp_path / "tb", **SMALL, **NETS)
    assert any(p.name.startswith("events.out.tfevents") for p in (run.dir / "tb").iterdir())
    bad = runner.invoke(app, ["train", "--log", "mlflow", "--out", str(tmp_path / "bad")])
    assert_one_line_error(bad, "log must name loggers among tensorboard, wandb, none")
    assert not (tmp_path / "bad").exists()


def test_missing_wandb_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if it were not installed
    result = runner.invoke(app, ["train", "--log", "tensorboard,wandb", "--out", str(tmp_path / "r")])
    assert_one_line_error(result, "pip install 'rlasinference[wandb]'")


def test_real_wandb_writes_an_offline_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = rlai.train("sac", out=tmp_path / "r", log="wandb", **SMALL, **NETS)
    offline = list((run.dir / "wandb").glob("offline-run-*"))
    assert len(offline) == 1 and any(p.suffix == ".wandb" and p.stat().st_size > 0 for p in offline[0].iterdir())
