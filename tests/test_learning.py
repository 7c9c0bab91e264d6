"""Learning checks: medians over three seeds of the final deterministic evaluation return.

Slow (minutes per env on a 2-core CPU): run with ``pytest -m slow``. The thresholds are the
issues' acceptance bars; the measured figures are on the algorithms' pages in docs/algorithms/.
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlasinference.cli.main import app

runner = CliRunner()


def final_eval_return(run_dir: Path) -> float:
    with open(run_dir / "metrics.csv", newline="") as f:
        evals = [r for r in csv.DictReader(f) if r["eval_return"]]
    return float(evals[-1]["eval_return"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("algo", "env", "steps", "threshold"),
    [
        ("sac", "Pendulum-v1", 15_000, -250.0),
        ("sac", "InvertedPendulum-v5", 20_000, 900.0),
        ("sac:flow", "Pendulum-v1", 20_000, -250.0),
        ("meow", "Pendulum-v1", 20_000, -250.0),
        ("meow", "InvertedPendulum-v5", 20_000, 900.0),
        ("sql", "Pendulum-v1", 20_000, -300.0),
        ("diffsac", "Pendulum-v1", 20_000, -250.0),
        ("dime", "Pendulum-v1", 20_000, -250.0),
    ],
)
def test_preset_learns(tmp_path: Path, algo: str, env: str, steps: int, threshold: float) -> None:
    finals = []
    preset, _, sampler = algo.partition(":")
    for seed in range(3):
        out = tmp_path / f"{preset}-{sampler}-{env}-s{seed}"
        args = ["train", "--algo", preset, "--env", env, "--steps", str(steps), "--seed", str(seed)]
        args += ["--sampler", sampler] if sampler else []
        result = runner.invoke(app, [*args, "--out", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        finals.append(final_eval_return(out))
    assert statistics.median(finals) >= threshold, finals


@pytest.mark.slow
@pytest.mark.parametrize(("algo", "goals"), [("sql", 4), ("diffsac", 3), ("dime", 3)])
def test_multigoal_coverage(tmp_path: Path, algo: str, goals: int) -> None:
    """100 stochastic evaluation episodes on the multi-goal env reach at least ``goals`` of the
    four goals (median of 3 seeds; the issues' bars, measured on the algorithms' pages)."""
    reached = []
    for seed in range(3):
        out = tmp_path / f"{algo}-multigoal-s{seed}"
        args = ["train", "--algo", algo, "--env", "rlasinference/MultiGoal-v0", "--steps", "20000"]
        result = runner.invoke(app, [*args, "--seed", str(seed), "--out", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["eval", str(out), "--stochastic", "--episodes", "100", "--json"])
        reached.append(json.loads(result.stdout)["goals_reached"])
    assert statistics.median(reached) >= goals, reached
