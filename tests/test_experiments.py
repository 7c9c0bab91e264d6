"""`rlai sweep` (grid expansion, skip/resume planning, a real two-trial Ray sweep, the missing-Ray
message) and `rlai compare` (known inputs -> known IQM and normalised aggregates)."""

from __future__ import annotations

import csv
import importlib.metadata
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from rlasinference.cli.main import app
from rlasinference.core.errors import UserError
from rlasinference.experiments.grid import expand
from tests.helpers import TINY
from tests.test_cli import assert_one_line_error

runner = CliRunner()
# a two-trial sweep small enough for the default test run
SMALL = ["--algo", "sac", "--env", "Pendulum-v1", "--seeds", "2", *TINY, "--set", "eval_every=100"]
SMALL += ["--set", "eval_episodes=1"]


def test_grid_crosses_axes_grid_values_and_seeds() -> None:
    spec = {
        "name": "t",
        "seeds": 2,
        "set": {"steps": 100},
        "runs": [
            {"algo": ["sac", "meow"], "env": "Pendulum-v1", "grid": {"lr_policy": [1e-4, 3e-4]}},
            {"algo": "sac", "sampler": "flow", "env": ["Pendulum-v1", "rlasinference/MultiGoal-v0"], "seeds": [5]},
        ],
    }
    trials = expand(spec)
    assert len(trials) == 2 * 2 * 2 + 2
    names = [t.name for t in trials]
    assert names[0] == "sac-Pendulum-v1-lr_policy=0.0001-s0"
    assert "sac-flow-rlasinference_MultiGoal-v0-s5" in names
    first = trials[0].overrides
    assert first == {"steps": 100, "algo": "sac", "env": "Pendulum-v1", "lr_policy": 1e-4, "seed": 0}


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"runs": []}, "needs `runs`"),
        ({"runs": [{"algo": "sac", "bogus": 1}]}, "unknown key 'bogus'"),
        ({"runs": [{"algo": "sac"}], "seeds": 0}, "seeds must be"),
        ({"runs": [{"algo": "sac", "grid": {"lr_policy": 3e-4}}]}, "non-empty list"),
        ({"runs": [{"algo": "sac"}], "extra": 1}, "unknown sweep key"),
    ],
)
def test_bad_specs_are_user_errors(spec: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        expand(spec)


def test_sweep_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("runs: [{algo: sac, env: Pendulum-v1}]\nset: {no_such_key: 1}\n")
    assert_one_line_error(runner.invoke(app, ["sweep", str(bad), "--dry-run"]), "unknown config key 'no_such_key'")
    assert_one_line_error(runner.invoke(app, ["sweep", "--dry-run"]), "give a sweep file")
    assert_one_line_error(runner.invoke(app, ["sweep", str(tmp_path / "none.yaml")]), "cannot read sweep file")
    # an unknown env or an invalid combination stops the sweep before anything runs
    assert_one_line_error(runner.invoke(app, ["sweep", "--env", "NoSuchEnv-v0", "--dry-run"]), "NoSuchEnv-v0")
    bad_combo = ["sweep", "--algo", "sac", "--sampler", "svgd", "--env", "Pendulum-v1", "--dry-run"]
    assert_one_line_error(runner.invoke(app, bad_combo), "svgd")


def test_sweep_from_python_plans_a_spec_mapping_and_refuses_bad_input(tmp_path: Path) -> None:
    """``rlai.sweep`` takes the YAML file's mapping as well as a file; a dry run plans (each
    trial's status: what the sweep would do) and writes nothing; bad input raises the command's
    errors."""
    import rlasinference as rlai

    spec = {"name": "py", "seeds": [0, 1], "runs": [{"algo": "sac", "env": "Pendulum-v1"}]}
    planned = rlai.sweep(spec, config={"steps": 200}, out=tmp_path / "sw", dry_run=True)
    assert planned.name == "py" and planned.dir == tmp_path / "sw" and not (tmp_path / "sw").exists()
    assert [(t.name, t.status) for t in planned.trials] == [(f"sac-Pendulum-v1-s{k}", "new") for k in (0, 1)]
    assert spec == {"name": "py", "seeds": [0, 1], "runs": [{"algo": "sac", "env": "Pendulum-v1"}]}  # not changed
    # one value or a numpy array where a list goes: a value, not its characters or numpy's types
    grid = {"lr_policy": np.array([1e-3, 3e-4]), "sampler.hidden": [[32, 32]]}
    crossed = rlai.sweep(
        algo="sac", env="Pendulum-v1", grid=grid, seeds=1, config={"gamma": np.float64(0.98)}, dry_run=True
    )
    assert len(crossed.trials) == 2 and crossed.name == "sac-Pendulum-v1" and crossed.ok
    assert len(rlai.sweep(algo="sac", env="Pendulum-v1", grid={"lr_policy": 3e-4}, seeds=1, dry_run=True).trials) == 1
    with pytest.raises(UserError, match="plain values"):
        rlai.sweep(algo="sac", env="Pendulum-v1", config={"note": object()}, out=tmp_path / "odd", dry_run=True)
    assert not (tmp_path / "odd").exists()
    with pytest.raises(UserError, match="not both"):
        rlai.sweep(spec, grid={"lr_policy": [1e-3]}, dry_run=True)
    with pytest.raises(UserError, match="give a sweep file"):
        rlai.sweep(dry_run=True)
    with pytest.raises(UserError, match="unknown config key 'no_such_key'"):
        rlai.sweep(algo="sac", env="Pendulum-v1", config={"no_such_key": 1}, out=tmp_path / "bad", dry_run=True)
    with pytest.raises(UserError, match="sweep name must be"):
        rlai.sweep({"name": "../up", "runs": [{"algo": "sac"}]}, dry_run=True)


def test_missing_ray_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    result = runner.invoke(app, ["sweep", *SMALL, "--set", "steps=100", "--out", str(tmp_path / "sw")])
    assert_one_line_error(result, "pip install 'rlasinference[sweep]'")


def _eval_steps(run_dir: Path) -> list[str]:
    with open(run_dir / "metrics.csv") as f:
        return [r["step"] for r in csv.DictReader(f) if r["eval_return"]]


def test_sweep_runs_skips_finished_and_resumes_on_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray")
    monkeypatch.chdir(tmp_path)  # a relative --out: Ray runs each trial in a directory of its own
    # a sampler from a module in the sweep's directory reaches the trials too
    (tmp_path / "my_sampler.py").write_text("from rlasinference.samplers import TanhGaussian as Mine\n")
    out = tmp_path / "sw"
    args = ["sweep", *SMALL, "--sampler", "my_sampler:Mine", "--out", "sw"]
    first = runner.invoke(app, [*args, "--set", "steps=200", "--keep", "kept"])
    assert first.exit_code == 0, first.output
    assert "0 finished (skipped), 0 to resume, 2 new" in first.output
    assert "compare with: rlai compare kept" in first.output
    for seed in (0, 1):
        assert _eval_steps(out / f"sac-my_sampler_Mine-Pendulum-v1-s{seed}") == ["100", "200"]
    assert yaml.safe_load((out / "sweep.yaml").read_text())["seeds"] == 2
    trial = out / "sac-my_sampler_Mine-Pendulum-v1-s0"
    assert "rlai sweep (trial sac-my_sampler_Mine-Pendulum-v1-s0 of " in (trial / "command.txt").read_text()
    # --keep holds each finished trial without checkpoints, and a sweep elsewhere skips it
    kept = tmp_path / "kept" / trial.name
    assert sorted(f.name for f in kept.iterdir()) == ["command.txt", "config.yaml", "metrics.csv", "versions.yaml"]
    assert (kept / "metrics.csv").read_text() == (trial / "metrics.csv").read_text()
    elsewhere = runner.invoke(app, [*args[:-1], "sw2", "--set", "steps=200", "--keep", "kept", "--dry-run"])
    assert "2 finished (skipped), 0 to resume, 0 new" in elsewhere.output, elsewhere.output
    assert f"done    {trial.name} (at step 200) in kept/{trial.name}" in elsewhere.output
    assert_one_line_error(runner.invoke(app, [*args, "--keep", "sw", "--dry-run"]), "is the sweep directory itself")
    (tmp_path / "file").write_text("")
    assert_one_line_error(runner.invoke(app, [*args, "--keep", "file", "--dry-run"]), "is not a directory")

    again = runner.invoke(app, [*args, "--set", "steps=200", "--dry-run"])
    assert "2 finished (skipped), 0 to resume, 0 new" in again.output
    # a longer sweep over the same trials continues each run from its checkpoint, and keeps it anew
    longer = runner.invoke(app, [*args, "--set", "steps=300", "--keep", "kept"])
    assert longer.exit_code == 0, longer.output
    assert "0 finished (skipped), 2 to resume, 0 new" in longer.output
    assert _eval_steps(trial) == ["100", "200", "300"] == _eval_steps(kept)
    # from Python, the same sweep: a longer budget continues both trials, as the command does
    import rlasinference as rlai

    tiny = {"learning_starts": 100, "batch_size": 32, "critic_hidden": [32, 32], "sampler.hidden": [32, 32]}
    tiny |= {"log_every": 100, "eval_every": 100, "eval_episodes": 1, "steps": 400}
    axes = {"algo": "sac", "sampler": "my_sampler:Mine", "env": "Pendulum-v1", "seeds": 2, "out": "sw"}
    lines: list[str] = []
    done = rlai.sweep(**axes, config=tiny, log=lines.append)
    assert done.ok and lines == ["2 trials in sw: 0 finished (skipped), 2 to resume, 0 new"]
    assert [(t.name, t.status, t.step) for t in done.trials] == [
        (f"sac-my_sampler_Mine-Pendulum-v1-s{seed}", "finished", 300) for seed in (0, 1)
    ]
    assert _eval_steps(trial) == ["100", "200", "300", "400"]
    with open(trial / "metrics.csv") as f:
        last = [r for r in csv.DictReader(f) if r["eval_return"]][-1]
    assert done.trials[0].final_return == float(last["eval_return"])
    looked = rlai.sweep(**axes, config=tiny, dry_run=True)
    assert {t.status for t in looked.trials} == {"done"} and looked.ok
    # a finished run without its checkpoints (a kept copy) is finished, and nothing restarts it
    shutil.rmtree(trial / "checkpoints")
    assert "2 finished (skipped)" in runner.invoke(app, [*args, "--set", "steps=300", "--dry-run"]).output
    for command in (["resume", str(trial)], ["train", "--out", str(trial), *TINY]):
        assert_one_line_error(runner.invoke(app, command), "finished run's results", "without its checkpoints")
    assert _eval_steps(trial) == ["100", "200", "300", "400"]
    # a trial directory holding some other run is refused, not overwritten
    other = runner.invoke(app, [*args, "--set", "steps=300", "--set", "lr_policy=1e-3", "--dry-run"])
    assert_one_line_error(other, "holds a different run", "lr_policy")


def _fake_run(
    root: Path, name: str, algo: str, env: str, seed: int, returns: list[float], target: int = 200, steps: int = 200,
    **more: object,
) -> None:  # fmt: skip
    """A run directory whose evaluations (at ``steps / len(returns)`` apart) gave ``returns``;
    its training took seed + step / 10 seconds; ``more``: other config keys."""
    run = root / name
    run.mkdir(parents=True)
    config = {"algo": algo, "env": env, "seed": seed, **more}
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "steps": target}))
    with open(run / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "time_s", "episode_return", "eval_return"])
        writer.writeheader()
        for i, value in enumerate(returns):
            step = (i + 1) * steps // len(returns)
            writer.writerow({"step": step, "time_s": seed + step / 10, "episode_return": "", "eval_return": value})


def test_compare_per_env_median_is_the_median_run() -> None:
    pytest.importorskip("rliable")
    from rlasinference.experiments.compare import Run, per_env_table

    finals = [1.0, 1.0, 2.0, 4.0, 5.0, 6.0, 10.0, 19.0]
    runs = [Run(Path(f"r{i}"), "sac", "A", i, np.array([100]), np.array([x]), 100, 1.0) for i, x in enumerate(finals)]
    (row,) = per_env_table(runs, reps=200)
    # IQM: mean of the middle half (2, 4, 5, 6); median: of the 8 runs; mean: 48 / 8
    assert (row["IQM"], row["median"], row["mean"]) == pytest.approx((4.25, 4.5, 6.0))
    assert row["median_low"] <= 4.5 <= row["median_high"]


def test_compare_intervals_are_reproducible_and_per_algorithm() -> None:
    pytest.importorskip("rliable")
    from rlasinference.experiments.compare import Run, aggregate_table, per_env_table

    def runs(label: str, finals: list[float]) -> list[Run]:
        return [
            Run(Path(f"{label}{i}"), label, "A", i, np.array([100]), np.array([x]), 100, 1.0)
            for i, x in enumerate(finals)
        ]

    ours = runs("sac", [1.0, 3.0, 4.0, 9.0, 12.0])
    (alone,) = per_env_table(ours, reps=300)
    beside = {row["algorithm"]: row for row in per_env_table(runs("crossq", [2.0, 5.0, 7.0]) + ours, reps=300)}
    assert beside["sac"] == alone
    np.random.seed(7)
    expected = np.random.rand()
    np.random.seed(7)
    assert per_env_table(ours, reps=300) == [alone]  # the same again: rliable's resampling is seeded
    assert np.random.rand() == expected  # and numpy's global state is left as it was
    scores = {"sac": np.array([[0.1, 0.5], [0.3, 0.9], [0.8, 0.2]])}
    (agg,) = aggregate_table(scores, reps=300)
    (agg_beside, _) = aggregate_table({**scores, "zzz": np.array([[0.5, 0.5], [0.9, 0.1]])}, reps=300)
    assert agg_beside == agg
    assert alone["IQM_low"] < alone["IQM_high"]  # a real interval, not a point


def test_probability_of_improvement_equals_rliables() -> None:
    rliable_metrics = pytest.importorskip("rliable.metrics")
    from rlasinference.experiments.compare.stats import probability_of_improvement

    rng = np.random.default_rng(0)
    for n, m, tasks in ((3, 5, 1), (5, 5, 2), (10, 3, 3), (1, 1, 1)):
        x = rng.integers(0, 4, size=(n, tasks)).astype(float)  # few values: many ties
        y = rng.integers(0, 4, size=(m, tasks)).astype(float)
        for a, b in ((x, y), (y, x), (x, x)):
            assert probability_of_improvement(a, b) == rliable_metrics.probability_of_improvement(a, b)
    assert probability_of_improvement(np.array([[2.0], [3.0]]), np.array([[1.0], [2.0]])) == 0.875  # 3.5 of 4 pairs


def test_iqm_equals_rliables_to_the_bit() -> None:
    """The per-env and aggregate tables' IQM without scipy's per-call wrapper: equal, not close,
    to rliable's aggregate_iqm, so the tables stay byte for byte what they were."""
    rliable_metrics = pytest.importorskip("rliable.metrics")
    from rlasinference.experiments.compare.stats import iqm

    rng = np.random.default_rng(0)
    for trial in range(2000):
        x = rng.normal(size=(rng.integers(1, 40), rng.integers(1, 5))) * 10.0 ** rng.integers(-3, 5)
        x = np.round(x) if trial % 3 == 0 else x  # ties
        assert iqm(x) == rliable_metrics.aggregate_iqm(x)
    assert iqm(np.array([[1.0], [2.0], [3.0], [4.0], [100.0], [-100.0], [5.0], [6.0]])) == 3.5  # middle half: 2..5


def test_compare_known_scores(tmp_path: Path) -> None:
    pytest.importorskip("rliable")
    sweep = tmp_path / "sweep"
    for seed, final in enumerate([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]):
        _fake_run(sweep, f"sac-A-s{seed}", "sac", "A", seed, [0.0, final])
        _fake_run(sweep, f"sac-B-s{seed}", "sac", "B", seed, [0.0, 10 * final])
        _fake_run(sweep, f"meow-A-s{seed}", "meow", "A", seed, [0.0, 0.5])
        _fake_run(sweep, f"meow-B-s{seed}", "meow", "B", seed, [0.0, 80.0])
    _fake_run(sweep, "sac-C-s0", "sac", "C", 0, [0.0], target=400)  # unfinished: left out
    result = runner.invoke(app, ["compare", str(sweep), "--reps", "500", "--baseline", "sac", "--baseline", "meow"])
    assert result.exit_code == 0, result.output
    with open(sweep / "compare" / "table.csv") as f:
        rows = {(r["scope"], r["env"], r["algorithm"]): r for r in csv.DictReader(f)}
    a = rows[("env", "A", "sac")]
    # IQM of 1..8 = mean of the middle half (3, 4, 5, 6)
    assert (float(a["IQM"]), float(a["mean"]), float(a["median"]), a["runs"]) == (4.5, 4.5, 4.5, "8")
    assert float(a["IQM_low"]) <= 4.5 <= float(a["IQM_high"]) and float(a["IQM_low"]) < float(a["IQM_high"])
    assert float(a["seconds"]) == 23.5  # median of the runs' last time_s: 20 + seed for seeds 0..7
    # normalised per env by [min, max] over all runs: env A [0.5, 8], env B [10, 80]; meow is 0 on A, 1 on B
    meow = rows[("aggregate", "all (normalised)", "meow")]
    assert float(meow["mean"]) == pytest.approx(0.5)
    assert float(meow["optimality gap"]) == pytest.approx(0.5)
    sac = rows[("aggregate", "all (normalised)", "sac")]
    expected = np.mean([(np.arange(1, 9) - 0.5) / 7.5, (10 * np.arange(1, 9) - 10) / 70])
    assert float(sac["mean"]) == pytest.approx(expected)
    assert ("env", "C", "sac") not in rows  # the unfinished run
    assert "stopped at step 200 of 400, left out" in result.output
    for name in ("curves.png", "profiles.png", "table.md"):
        assert (sweep / "compare" / name).stat().st_size > 0
    table = (sweep / "compare" / "table.md").read_text()
    assert "| A | sac | 8 | 4.5 [" in table and "| 24 s |" in table
    assert table.startswith("Final deterministic evaluation return per env")
    # P(a meow run ends above a sac run): on A never (0.5 < 1..8); on B above 7 of 8 and tied with
    # one (80 against 10..80): 7.5 / 8; over both envs, the mean
    improvement = {(e, a): r for (scope, e, a), r in rows.items() if scope == "against sac"}
    for env, p in (("A", 0.0), ("B", 7.5 / 8), ("all", 7.5 / 16)):
        assert float(improvement[(env, "meow")]["P(improvement)"]) == pytest.approx(p)
    assert float(improvement[("A", "meow")]["P(improvement)_high"]) == 0.0  # every resample: below
    assert "| B | meow | 8 | 0.94 [" in table
    assert "| A | meow | 8 | 0.00 [0.00, 0.00] | worse |" in table  # the whole interval below 0.5
    # a second baseline: its own table, the other way round (sac above meow on A: every pair)
    against_meow = {(e, a): r for (scope, e, a), r in rows.items() if scope == "against meow"}
    assert float(against_meow[("A", "sac")]["P(improvement)"]) == 1.0
    assert "| A | sac | 8 | 1.00 [1.00, 1.00] | better |" in table
    bad = runner.invoke(app, ["compare", str(sweep), "--reps", "500", "--baseline", "crossq"])
    assert_one_line_error(bad, "--baseline 'crossq' is not among the compared algorithms")


def test_compare_gives_no_verdict_on_too_few_runs_and_names_unequal_budgets(tmp_path: Path) -> None:
    """Two runs above two runs are all above, P = 1.00 [1.00, 1.00]: no evidence (a rank test of 2
    against 2 cannot reach 5%), so no verdict; 3 against 3 gets one. Runs given different step
    budgets on one env are named."""
    pytest.importorskip("rliable")
    sweep = tmp_path / "sweep"
    for seed in range(3):
        _fake_run(sweep, f"sac-A-s{seed}", "sac", "A", seed, [0.0, 1.0 + seed])
        _fake_run(sweep, f"meow-A-s{seed}", "meow", "A", seed, [0.0, 10.0 + seed])
    for seed in range(2):
        _fake_run(sweep, f"sql-A-s{seed}", "sql", "A", seed, [0.0, 20.0 + seed])
    result = runner.invoke(app, ["compare", str(sweep), "--reps", "200", "--baseline", "sac"])
    assert result.exit_code == 0, result.output
    assert "| A | meow | 3 | 1.00 [1.00, 1.00] | better |" in result.output
    assert "| A | sql | 2 | 1.00 [1.00, 1.00] | too few runs |" in result.output
    assert "different step budgets" not in result.output
    _fake_run(sweep, "sac-A-s9", "sac", "A", 9, [0.0, 0.0, 3.0], target=300, steps=300)
    result = runner.invoke(app, ["compare", str(sweep), "--reps", "200", "--baseline", "sac"])
    assert "A: the runs have different step budgets (meow 200, sac 200/300, sql 200)" in result.output


def test_compare_counts_two_spellings_of_one_env_as_one_task(tmp_path: Path) -> None:
    """Runs whose configs spell one keyword set differently (made before ids had one spelling, or
    by hand) are one task, and ``--env`` takes any spelling of it."""
    pytest.importorskip("rliable")
    sweep = tmp_path / "sweep"
    spellings = ["FrozenLake-v1()", "FrozenLake-v1", "FrozenLake-v1( )"]
    for seed, env in enumerate(spellings):
        _fake_run(sweep, f"soft-dqn-s{seed}", "soft-dqn", env, seed, [0.0, 0.5 + seed / 10])
        _fake_run(sweep, f"lake8-s{seed}", "soft-dqn", "FrozenLake-v1(map_name='8x8',is_slippery=False)", seed, [0.1])
    result = runner.invoke(app, ["compare", str(sweep), "--reps", "200", "--env", "FrozenLake-v1()"])
    assert result.exit_code == 0, result.output
    assert "| FrozenLake-v1 | soft-dqn | 3 |" in result.output
    result = runner.invoke(
        app, ["compare", str(sweep), "--reps", "200", "--env", 'FrozenLake-v1(is_slippery=False, map_name="8x8")']
    )
    assert result.exit_code == 0, result.output
    assert "| FrozenLake-v1(is_slippery=False, map_name='8x8') | soft-dqn | 3 |" in result.output


def test_compare_from_python_is_the_command(tmp_path: Path) -> None:
    """``rlai.compare`` computes and writes what ``rlai compare`` prints: the same table, rows and
    files; bad input raises the command's error before anything is written."""
    pytest.importorskip("rliable")
    import rlasinference as rlai

    sweep = tmp_path / "sweep"
    for seed, final in enumerate([1.0, 5.0, 3.0, 4.0]):
        _fake_run(sweep, f"sac-A-s{seed}", "sac", "A", seed, [0.0, final])
        _fake_run(sweep, f"meow-A-s{seed}", "meow", "A", seed, [0.0, final + 2])
    lines: list[str] = []
    steps: list[tuple[int, int]] = []
    result = rlai.compare(
        sweep,
        out=tmp_path / "py",
        reps=300,
        baseline=["sac"],
        log=lines.append,
        progress=lambda d, t: steps.append((d, t)),
    )
    cli = runner.invoke(
        app, ["compare", str(sweep), "--out", str(tmp_path / "cli"), "--reps", "300", "--baseline", "sac"]
    )
    assert cli.exit_code == 0, cli.output
    assert result.table and result.table in cli.stdout
    assert (tmp_path / "py" / "table.csv").read_text() == (tmp_path / "cli" / "table.csv").read_text()
    assert result.written == ["curves.png", "table.md", "table.csv", "profiles.png"]
    assert all((tmp_path / "py" / name).stat().st_size > 0 for name in result.written)
    assert {r["algorithm"]: r["mean"] for r in result.env_rows} == {"sac": 3.25, "meow": 5.25}
    # P(a meow run ends above a sac run): counted over the 16 pairs, a tie counting half
    (against,) = [r for r in result.improvement["sac"] if r["env"] == "A" and r["algorithm"] == "meow"]
    above = sum((m > s) + 0.5 * (m == s) for m in (3.0, 7.0, 5.0, 6.0) for s in (1.0, 5.0, 3.0, 4.0))
    assert against["P(improvement)"] == pytest.approx(above / 16)
    assert result.runs == 8 and "bootstrapping (300 samples)" in lines[-1] and steps and steps[-1][0] == steps[-1][1]
    with pytest.raises(UserError, match="--baseline 'ppo' is not among"):  # one name, not a list of letters
        rlai.compare(sweep, out=tmp_path / "bad", reps=300, baseline="ppo")
    assert not (tmp_path / "bad").exists()
    with pytest.raises(UserError, match="--out must name a directory"):
        rlai.compare(sweep, out=" ", reps=300)


def test_compare_env_narrows_the_aggregate_to_the_envs_every_algorithm_reached(tmp_path: Path) -> None:
    pytest.importorskip("rliable")
    sweep = tmp_path / "sweep"
    for seed in range(3):
        for env in ("A", "B"):
            _fake_run(sweep, f"sac-{env}-s{seed}", "sac", env, seed, [0.0, 1.0 + seed])
        _fake_run(sweep, f"meow-A-s{seed}", "meow", "A", seed, [0.0, 2.0 + seed])  # a sweep not yet on B
    whole = runner.invoke(app, ["compare", str(sweep), "--reps", "200", "--out", str(tmp_path / "all")])
    assert whole.exit_code == 0, whole.output
    assert "meow: not run on every env, left out of the aggregate" in whole.output
    narrowed = runner.invoke(app, ["compare", str(sweep), "--reps", "200", "--env", "A", "--out", str(tmp_path / "a")])
    assert narrowed.exit_code == 0, narrowed.output
    with open(tmp_path / "a" / "table.csv") as f:
        rows = {(r["scope"], r["env"], r["algorithm"]) for r in csv.DictReader(f)}
    assert ("aggregate", "all (normalised)", "meow") in rows and ("aggregate", "all (normalised)", "sac") in rows
    assert not any(env == "B" for _, env, _ in rows)
    bad = runner.invoke(app, ["compare", str(sweep), "--env", "Hopper-v5"])
    assert_one_line_error(bad, "--env 'Hopper-v5': no run on it; the runs are on A, B")


def test_compare_aggregate_leaves_out_an_env_few_algorithms_ran(tmp_path: Path) -> None:
    """A side check on one env (SAC on an older task version) does not empty the aggregate of
    every other algorithm; naming the envs keeps it."""
    pytest.importorskip("rliable")
    sweep = tmp_path / "sweep"
    for seed in range(3):
        for algo in ("sac", "meow", "sql"):
            for env in ("A", "B"):
                _fake_run(sweep, f"{algo}-{env}-s{seed}", algo, env, seed, [0.0, 1.0 + seed])
        _fake_run(sweep, f"sac-Aold-s{seed}", "sac", "Aold", seed, [0.0, 3.0 + seed])
    whole = runner.invoke(app, ["compare", str(sweep), "--reps", "200", "--out", str(tmp_path / "all")])
    assert whole.exit_code == 0, whole.output
    assert "Aold: run by 1 of 3 algorithms, left out of the aggregate (--env keeps it)" in whole.output
    table = (tmp_path / "all" / "table.md").read_text()
    assert all(f"| {algo} | 3 x 2 |" in table for algo in ("sac", "meow", "sql")), table
    named = ["--env", "A", "--env", "B", "--env", "Aold", "--out", str(tmp_path / "named")]
    kept = runner.invoke(app, ["compare", str(sweep), "--reps", "200", *named])
    assert kept.exit_code == 0, kept.output
    assert "meow: not run on every env, left out of the aggregate" in kept.output
    table = (tmp_path / "named" / "table.md").read_text()
    assert "| sac | 3 x 3 |" in table and "| meow | 3 x" not in table, table


def test_compare_single_run_just_plots(tmp_path: Path) -> None:
    pytest.importorskip("rliable")
    _fake_run(tmp_path, "one", "sac", "A", 0, [1.0, 2.0, 3.0])
    result = runner.invoke(app, ["compare", str(tmp_path / "one")])
    assert result.exit_code == 0, result.output
    assert "eval return 3.00 at step 200" in result.output
    assert (tmp_path / "one" / "compare" / "curves.png").exists()
    assert not (tmp_path / "one" / "compare" / "table.md").exists()
    assert_one_line_error(runner.invoke(app, ["compare", str(tmp_path / "missing")]), "is not a directory")


@pytest.mark.parametrize(
    "suite, trials",
    [
        ("quick", 63),
        ("mujoco", 175),
        ("mujoco-100k", 106),
        ("mujoco-100k-pairings", 18),
        ("on-policy", 27),
        ("pendulum-20k", 12),
    ],
)
def test_benchmark_suites_resolve(tmp_path: Path, suite: str, trials: int) -> None:
    """Every trial of the shipped suites is a valid config (checked without running anything)."""
    spec = Path(__file__).parent.parent / "benchmarks" / f"{suite}.yaml"
    result = runner.invoke(app, ["sweep", str(spec), "--dry-run", "--out", str(tmp_path / suite)])
    assert result.exit_code == 0, result.output
    assert f"{trials} trials in" in result.output and f"{trials} new" in result.output


def test_sb3_peer_trial_writes_a_comparable_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("stable_baselines3")
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path / "sb3-log"))  # where SB3's default logger writes
    from rlasinference.experiments.sweep import plan, run_trial

    spec = {"name": "peer", "set": {"steps": 300, "learning_starts": 100, "eval_every": 100, "eval_episodes": 1}}
    spec["runs"] = [{"algo": "sb3-sac", "env": "Pendulum-v1"}]
    (planned,) = plan(spec, tmp_path, threads=1)
    assert (planned.trial.name, planned.action) == ("sb3-sac-Pendulum-v1-s0", "new")
    reported: list[tuple[int, float]] = []
    keep = tmp_path / "kept"
    run_trial(str(tmp_path), planned.trial.name, planned.config, lambda s, r: reported.append((s, r)), str(keep))
    assert [s for s, _ in reported] == [100, 200, 300]
    assert _eval_steps(tmp_path / planned.trial.name) == ["100", "200", "300"] == _eval_steps(keep / planned.trial.name)
    assert not (tmp_path / "sb3-log").exists()
    kept = keep / planned.trial.name  # kept like our runs: the library's version and the machine too
    assert sorted(f.name for f in kept.iterdir()) == ["command.txt", "config.yaml", "metrics.csv", "versions.yaml"]
    recorded = yaml.safe_load((kept / "versions.yaml").read_text())
    assert recorded["stable-baselines3"] == importlib.metadata.version("stable-baselines3")
    assert recorded["torch_cpu_capability"] and recorded["torch_threads"] == 1
    assert "sb3-sac-Pendulum-v1-s0" in (kept / "command.txt").read_text()
    assert plan(spec, tmp_path, threads=1)[0].action == "done"
    # a peer run stored before a key existed, which the sweep gives at its default, is the same run
    stored = tmp_path / planned.trial.name / "config.yaml"
    old = yaml.safe_load(stored.read_text())
    stored.write_text(yaml.safe_dump({k: v for k, v in old.items() if k != "learning_starts"}))
    assert plan({**spec, "set": {**spec["set"], "learning_starts": 5000}}, tmp_path, threads=1)[0].action == "done"
    with pytest.raises(UserError, match="holds a different run"):
        plan(spec, tmp_path, threads=1)  # learning_starts 100 is not the default
    with pytest.raises(UserError, match="sb3-sac takes only"):
        plan({**spec, "set": {**spec["set"], "lr_policy": 1e-3}}, tmp_path / "other", threads=1)


def test_compare_reference_joins_the_table_and_export_round_trips(tmp_path: Path) -> None:
    pytest.importorskip("rliable")
    sweep = tmp_path / "sweep"
    for seed, final in enumerate([10.0, 20.0, 30.0]):
        _fake_run(sweep, f"sac-Hopper-v5-s{seed}", "sac", "Hopper-v5", seed, [0.0, final])
        _fake_run(sweep, f"sac-Other-v0-s{seed}", "sac", "Other-v0", seed, [0.0, final])
    reference = tmp_path / "published.csv"
    lines = ["algo,env,seed,step,logged_step,eval_return"]
    for seed, (half, end, later) in enumerate([(1, 2, 9), (3, 4, 9), (5, 6, 9), (7, 8, 9)]):
        lines += [f"ref,Hopper-v4,{seed},100,99,{half}", f"ref,Hopper-v4,{seed},200,198,{end}"]
        lines += [f"ref,Hopper-v4,{seed},300,300,{later}", f"other,Hopper-v4,{seed},200,200,1"]
    reference.write_text("\n".join(lines) + "\n")
    export = tmp_path / "ours.csv"
    args = ["compare", str(sweep), "--reps", "300", "--reference", str(reference), "--reference-algo", "ref"]
    result = runner.invoke(app, [*args, "--export", str(export)])
    assert result.exit_code == 0, result.output
    with open(sweep / "compare" / "table.csv") as f:
        rows = {(r["scope"], r["env"], r["algorithm"]): r for r in csv.DictReader(f)}
    # the published seeds at the step our runs end (200), matched to v5 by name, labelled with v4
    ref = rows[("env", "Hopper-v5", "ref (published, v4)")]
    assert (float(ref["mean"]), ref["runs"]) == (5.0, "4")
    assert ("env", "Hopper-v5", "other (published, v4)") not in rows  # --reference-algo
    assert not any(k[2].startswith("ref") for k in rows if k[0] == "aggregate")
    assert "no published results for Other-v0" in result.output
    assert "ref (published, v4): published results, left out of the aggregate" in result.output
    # our runs in the same long format: read back as a reference, they give our own table
    with open(export) as f:
        exported = list(csv.DictReader(f))
    assert len(exported) == 12 and exported[0] == {
        "algo": "sac", "env": "Hopper-v5", "seed": "0", "step": "100", "eval_return": "0"
    }  # fmt: skip
    again = runner.invoke(app, ["compare", str(sweep), "--reps", "300", "--reference", str(export)])
    assert again.exit_code == 0, again.output
    with open(sweep / "compare" / "table.csv") as f:
        rows = {(r["scope"], r["env"], r["algorithm"]): r for r in csv.DictReader(f)}
    published, ours = rows[("env", "Hopper-v5", "sac (published)")], rows[("env", "Hopper-v5", "sac")]
    assert float(published["mean"]) == float(ours["mean"])


def test_compare_published_means_are_a_row_and_a_point_outside_the_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("rliable")
    from rlasinference.experiments import compare as cmp

    for seed, final in enumerate([10.0, 20.0, 30.0]):
        _fake_run(tmp_path / "sw", f"sac-Game-v5-s{seed}", "sac", "Game-v5", seed, [0.0, final], eval_stochastic=True)
    means = tmp_path / "means.csv"
    means.write_text(
        "algo,env,step,mean_return,source\n"
        "paper,Game-v4,200,25.5,table 1\npaper,Game-v4,100,3,table 2\npaper,Elsewhere-v4,200,9,table 1\n"
    )
    drawn: list = []
    monkeypatch.setattr(cmp, "plot_curves", lambda data, path, colours=None, means=(): drawn.extend(means))
    args = ["compare", str(tmp_path / "sw"), "--reps", "200", "--reference", str(means)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    with open(tmp_path / "sw" / "compare" / "table.csv") as f:
        rows = {(r["scope"], r["env"], r["algorithm"]): r for r in csv.DictReader(f)}
    # the mean at the step our runs end (200), matched to v5 by name and labelled with v4
    row = rows[("env", "Game-v5", "paper (published mean, v4)")]
    assert (row["runs"], float(row["mean"]), row["IQM"], row["mean_low"]) == ("0", 25.5, "nan", "nan")
    assert float(rows[("env", "Game-v5", "sac")]["mean"]) == 20.0  # ours, bootstrapped as before
    table = (tmp_path / "sw" / "compare" / "table.md").read_text()
    assert "| Game-v5 | paper (published mean, v4) | mean only | - | 25.5 | - | - |" in table
    assert table.startswith("Final stochastic evaluation return per env")  # the runs' eval_stochastic
    assert [(m.label, m.env, m.step, m.mean) for m in drawn] == [("paper (published mean, v4)", "Game-v5", 200, 25.5)]
    assert "a published mean, no seeds: in the table and the curves only" in result.output
    baseline = runner.invoke(app, [*args, "--baseline", "paper (published mean, v4)"])
    assert_one_line_error(baseline, "is a published mean: the probability of ending above it needs seeds")
    means.write_text("algo,env,step,mean_return\npaper,Game-v4,200,high\n")
    assert_one_line_error(runner.invoke(app, args), "line 2: step must be non-negative integers, mean_return a finite")


def test_compare_bad_reference_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("rliable")
    _fake_run(tmp_path / "sw", "a", "sac", "A", 0, [1.0, 2.0])
    _fake_run(tmp_path / "sw", "b", "sac", "A", 1, [1.0, 2.0])
    bad = tmp_path / "bad.csv"
    bad.write_text("algo,env,seed,step\nsac,A,0,200\n")
    args = ["compare", str(tmp_path / "sw"), "--reps", "200", "--reference"]
    assert_one_line_error(runner.invoke(app, [*args, str(bad)]), "has no column 'eval_return'")
    bad.write_text("algo,env,seed,step,eval_return\nsac,A,zero,200,1\n")
    assert_one_line_error(runner.invoke(app, [*args, str(bad)]), "line 2: seed and step must be non-negative integers")
    for value in ("inf", "nan"):
        bad.write_text(f"algo,env,seed,step,eval_return\nsac,A,0,200,{value}\n")
        assert_one_line_error(runner.invoke(app, [*args, str(bad)]), "eval_return a finite number")
    bad.write_bytes(b"algo,env,seed,step,eval_return\nsac,\xff\xfe,0,200,1\n")
    assert_one_line_error(runner.invoke(app, [*args, str(bad)]), "is not a UTF-8 text file")
    assert_one_line_error(runner.invoke(app, [*args, str(tmp_path / "none.csv")]), "cannot read reference")
    bad.write_text("algo,env,seed,step,eval_return\nsac,A,0,200,1\n")
    result = runner.invoke(app, [*args, str(bad), "--reference-algo", "crossq"])
    assert_one_line_error(result, "has no algorithm 'crossq'")
    no_reference = ["compare", str(tmp_path / "sw"), "--reps", "200", "--reference-algo", "sac"]
    assert_one_line_error(runner.invoke(app, no_reference), "--reference-algo needs --reference CSV")
    export = ["compare", str(tmp_path / "sw"), "--reps", "200", "--export", str(tmp_path / "no" / "dir.csv")]
    assert_one_line_error(runner.invoke(app, export), "cannot write")


def test_compare_reference_beside_unfinished_runs_keeps_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rliable")
    from rlasinference.experiments import compare as cmp

    for seed in (0, 1):
        _fake_run(tmp_path / "sw", f"sac-A-s{seed}", "sac", "A", seed, [1.0, 2.0], target=400)  # not finished
    reference = tmp_path / "ref.csv"
    reference.write_text("algo,env,seed,step,eval_return\n" + "".join(f"ref,A,{s},400,5\n" for s in range(3)))
    drawn: dict = {}
    monkeypatch.setattr(cmp, "plot_curves", lambda data, path, colours=None, means=(): drawn.update(data))
    args = ["compare", str(tmp_path / "sw"), "--reps", "200", "--reference", str(reference)]
    result = runner.invoke(app, [*args, "--reference", str(reference)])  # the same file twice: read once
    assert result.exit_code == 0, result.output
    assert set(drawn["A"]) == {"sac", "ref (published)"}  # ours are drawn beside the published curve
    assert int(drawn["A"]["ref (published)"][4]) == 3  # its three seeds, once
    assert not (tmp_path / "sw" / "compare" / "table.md").exists()  # no finished run of ours: no table


def test_compare_curves_colour_an_algorithm_alike_in_every_panel() -> None:
    from rlasinference.experiments.compare.report import _colour_key

    assert _colour_key("sac (published, v4)") == _colour_key("sac (published)") == "sac (published)"
    assert _colour_key("sac") != _colour_key("sac (published)")  # ours and theirs stay apart


def test_compare_palette_gives_twenty_algorithms_twenty_colours() -> None:
    from rlasinference.experiments.compare import palette

    colours = palette([f"algo{i:02d}" for i in range(19)] + ["algo00 (published, v4)", "algo00 (published)"])
    assert len(colours) == 20  # a published label is one key whatever task version it names
    assert len(set(colours.values())) == 20  # tab10 alone would give 10


def test_compare_profile_colours_each_algorithm_as_its_curves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rliable")
    from rlasinference.experiments import compare as cmp

    for seed in (0, 1, 2):  # "crossq" and "meow" have curves on A only: they must not shift the others' colours
        for algo, env, final in [("sac", "A", 1.0), ("sac", "B", 2.0), ("zzz", "A", 3.0), ("zzz", "B", 1.0)]:
            _fake_run(tmp_path, f"{algo}-{env}-s{seed}", algo, env, seed, [0.0, final + seed])
        for algo in ("crossq", "meow"):
            _fake_run(tmp_path, f"{algo}-A-s{seed}", algo, "A", seed, [0.0, 5.0 + seed])
    figures: dict[str, object] = {}
    monkeypatch.setattr(cmp.report, "save_figure", lambda fig, path, **kw: figures.setdefault(path.name, fig))
    result = runner.invoke(app, ["compare", str(tmp_path), "--reps", "200", "--env", "A", "--env", "B"])
    assert result.exit_code == 0, result.output

    def by_label(handles: list, texts: list) -> dict[str, tuple]:
        return {t.get_text().split(" (")[0]: tuple(h.get_color()) for h, t in zip(handles, texts, strict=True)}

    (legend,) = figures["curves.png"].legends  # type: ignore[attr-defined]
    curves = by_label(legend.legend_handles, legend.get_texts())
    profile = figures["profiles.png"].axes[0].get_legend()  # type: ignore[attr-defined]
    profiles = by_label(profile.legend_handles, profile.get_texts())
    assert set(profiles) == {"sac", "zzz"}
    assert {label: curves[label] for label in profiles} == profiles
    assert profiles["sac"] != profiles["zzz"]


def test_compare_tells_apart_runs_of_one_algorithm_with_other_settings(tmp_path: Path) -> None:
    from rlasinference.experiments.compare import find_runs

    for seed in (0, 1):
        _fake_run(tmp_path, f"sac-s{seed}", "sac", "Pendulum-v1", seed, [1.0, 2.0])
        _fake_run(tmp_path, f"sac-lr-s{seed}", "sac", "Pendulum-v1", seed, [1.0, 3.0])
        config = tmp_path / f"sac-lr-s{seed}" / "config.yaml"
        config.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()), "lr_policy": 0.001}))
    (s0, *_), _ = find_runs([tmp_path / "sac-s0"])
    assert s0.label == "sac"  # alone: nothing to tell apart
    runs, _ = find_runs([tmp_path])
    assert sorted(r.label for r in runs) == ["sac", "sac", "sac lr_policy=0.001", "sac lr_policy=0.001"]
    # the runs at the preset's own value keep the plain label
    assert {r.label for r in runs if "lr" not in r.path.name} == {"sac"}


def test_copies_of_the_run_schema_are_read_from_the_dataclass() -> None:
    import dataclasses

    from rlasinference.experiments import peers
    from rlasinference.experiments.compare import runs as compare
    from rlasinference.training.config import RUN_KEYS, RunConfig

    assert {f.name for f in dataclasses.fields(RunConfig)} == RUN_KEYS
    assert RUN_KEYS | {"sampler"} == compare._BOOKKEEPING
    assert all(peers.RUN_DEFAULTS[k] == getattr(RunConfig(), k) for k in peers.RUN_DEFAULTS)


def test_compare_says_when_runs_are_too_few_and_labels_what_it_draws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("rliable")
    from rlasinference.experiments import compare as cmp

    for seed in (0, 1):  # two seeds each: sac always below meow
        _fake_run(tmp_path, f"sac-A-s{seed}", "sac", "A", seed, [0.0, 1.0 + seed])
        _fake_run(tmp_path, f"meow-A-s{seed}", "meow", "A", seed, [0.0, 5.0 + seed])
    for seed in (0, 1, 2):
        _fake_run(tmp_path, f"sql-A-s{seed}", "sql", "A", seed, [0.0, 2.0 + seed])
    figures: dict[str, object] = {}
    monkeypatch.setattr(cmp.report, "save_figure", lambda fig, path, **kw: figures.setdefault(path.name, fig))
    result = runner.invoke(app, ["compare", str(tmp_path), "--reps", "200", "--baseline", "sac"])
    assert result.exit_code == 0, result.output
    assert "| A | meow | 2 | 1.00 [1.00, 1.00] |" in result.stdout  # what two runs give
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    for label in ("meow", "sac"):
        assert f"note: {label} on A: 2 runs; its intervals describe these runs, not the algorithm" in result.stderr
    assert not [n for n in notes if n.startswith("note: sql on A")]  # three runs: no note
    assert "compare: 7 runs read in" in result.stderr  # progress before the bootstraps
    curves_axis = figures["curves.png"].axes[0]  # type: ignore[attr-defined]
    assert curves_axis.get_ylabel() == "eval return (IQM; 95% CI)"  # no published reference given
    profile_axis = figures["profiles.png"].axes[0]  # type: ignore[attr-defined]
    assert "tau" not in profile_axis.get_xlabel() + profile_axis.get_ylabel()


def test_peers_take_their_one_precision_and_refuse_bf16() -> None:
    from rlasinference.experiments.peers import peer_config

    assert "precision" not in peer_config({"algo": "sb3-sac", "precision": "auto"})  # SB3's best: float32
    with pytest.raises(UserError, match="sb3-sac computes in float32 only"):
        peer_config({"algo": "sb3-sac", "precision": "bf16"})


def test_sb3_dqn_peer_acts_through_our_discrete_env_and_refuses_untuned_envs(tmp_path: Path) -> None:
    pytest.importorskip("stable_baselines3")
    from rlasinference.experiments.peers import peer_config, run_peer

    config = peer_config({"algo": "sb3-dqn", "env": "CartPole-v1", "steps": 400, "eval_every": 200, "eval_episodes": 1})
    final = run_peer(config, tmp_path / "dqn")
    rows = (tmp_path / "dqn" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and [r.split(",")[0] for r in rows[1:]] == ["200", "400"]
    assert final >= 8  # CartPole pays 1 a step and lasts at least 8 steps
    with pytest.raises(UserError, match="sb3-dqn has tuned settings for CartPole, Acrobot only"):
        peer_config({"algo": "sb3-dqn", "env": "MountainCar-v0"})


def test_sweeps_that_share_a_kept_folder_keep_each_ones_spec(tmp_path: Path) -> None:
    """Two specs kept in one folder (the MuJoCo suite and its pairings): the first is sweep.yaml,
    the other sweep-<name>.yaml beside it; running a sweep again rewrites its own file only."""
    from rlasinference.experiments.sweep import write_spec

    kept = tmp_path / "kept"
    first, second = {"name": "suite", "seeds": 3}, {"name": "pairings", "seeds": 2}
    write_spec(first, kept)
    write_spec(second, kept)
    write_spec({**first, "seeds": 5}, kept)
    assert yaml.safe_load((kept / "sweep.yaml").read_text()) == {"name": "suite", "seeds": 5}
    assert yaml.safe_load((kept / "sweep-pairings.yaml").read_text()) == second
