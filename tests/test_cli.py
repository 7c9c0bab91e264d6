"""The CLI as a user meets it: training smoke, eval JSON, resume equivalence, Ctrl-C, and one
clear line with exit code 2 for every kind of bad input."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from rlasinference.cli.main import app
from rlasinference.core.settings import parse_set
from rlasinference.training.checkpoint import load_checkpoint
from rlasinference.training.config import resolve
from rlasinference.training.run_dir import create_run_dir
from rlasinference.training.trainer import Trainer
from tests.helpers import TINY

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert "Traceback" not in result.output and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_train_smoke_and_run_directory(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "--steps", "400", "--eval-every", "200", "--eval-episodes", "2", "--out", str(out), "--quiet"]
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # a process count other than the run's (threads: 1)
    try:
        result = runner.invoke(app, [*args, *TINY])
    finally:
        torch.set_num_threads(before)
    assert result.exit_code == 0, result.output
    for name in ("config.yaml", "command.txt", "versions.yaml", "metrics.csv", "learning_curve.png"):
        assert (out / name).is_file(), name
    assert (out / "checkpoints" / "last.pt").is_file() and (out / "checkpoints" / "best.pt").is_file()
    assert any(p.name.startswith("events.out.tfevents") for p in (out / "tb").iterdir())
    evals = [r for r in rows(out) if r["eval_return"]]
    assert [int(r["step"]) for r in evals] == [200, 400]
    # every row says how long the run has taken, the last one up to its end (evaluation included)
    assert all(float(r["time_s"]) > 0 for r in rows(out)) and rows(out)[-1] == evals[-1]
    assert float(evals[-1]["time_s"]) >= max(float(r["time_s"]) for r in rows(out))
    train_rows = [r for r in rows(out) if r["loss_critic"]]
    assert train_rows and all(float(r["tau"]) > 0 for r in train_rows)
    assert "versions" not in (out / "versions.yaml").read_text()
    recorded = yaml.safe_load((out / "versions.yaml").read_text())
    # the machine too: runs reproduce on one machine, not across instruction sets
    assert recorded["torch"] and recorded["cpu"] and recorded["cpu_count"] >= 1
    assert recorded["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert recorded["torch_threads"] == 1  # the run's thread count, not the process's before it
    if (ROOT / ".git").exists() and shutil.which("git"):  # and which code made it: the checkout's commit
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        assert recorded["rlasinference_commit"].rstrip("+") == head.stdout.strip()
    # the checkpoint holds only safe types: it loads with weights_only=True
    state = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 400 and state["buffer"]["size"] == 400

    result = runner.invoke(app, ["eval", str(out), "--episodes", "2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["episodes"] == 2 and {"mean_return", "std_return"} <= summary.keys()
    # deterministic evaluation with the run's seed reproduces the run's own last evaluation
    assert summary["mean_return"] == pytest.approx(float(evals[-1]["eval_return"]), rel=1e-4)

    result = runner.invoke(app, ["eval", str(out), "--episodes", "2", "--stochastic", "--checkpoint", "best"])
    assert result.exit_code == 0 and "stochastic" in result.stdout


def test_list_shows_presets_samplers_and_validity() -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    for word in ("sac", "meow", "sql", "diffsac", "dime", "gaussian", "bound", "reverse-kl", "importance"):
        assert word in result.stdout
    svgd_row = next(line for line in result.stdout.splitlines() if line.startswith("svgd "))
    assert " none " in svgd_row and "sql" in svgd_row and "sac," not in svgd_row


def test_list_json_is_the_python_components() -> None:
    import rlasinference as rlai

    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert listed == rlai.components()
    unregistered = set()
    for name, preset in listed["presets"].items():
        # a preset's own sampler is valid with it; every part an off-policy preset names is
        # registered (the on-policy recipe's loss, GAE and V(s) are described, not registry names)
        assert name in listed["samplers"][preset["sampler"]]["valid_presets"]
        kinds = (("objectives", "objective"), ("value_estimators", "value_estimator"), ("critics", "critic"))
        if any(preset[key] not in listed[kind] for kind, key in kinds):
            unregistered.add(name)
    assert unregistered == {"ppo", "diffppo"}
    assert listed["samplers"]["svgd"]["valid_presets"] == ["sql"]
    discrete = [n for n, p in listed["presets"].items() if listed["samplers"][p["sampler"]]["actions"] == "discrete"]
    assert discrete and listed["samplers"]["softmax"]["valid_presets"] == discrete


def test_list_fits_an_80_column_terminal_one_line_per_row() -> None:
    from rlasinference.algorithms import PRESETS
    from rlasinference.critics import CRITICS
    from rlasinference.objectives import OBJECTIVES
    from rlasinference.samplers import SAMPLERS
    from rlasinference.values import VALUE_ESTIMATORS

    lines = runner.invoke(app, ["list"], env={"COLUMNS": "80"}).stdout.splitlines()
    rows = sum(len(list(reg)) for reg in (PRESETS, SAMPLERS, OBJECTIVES, VALUE_ESTIMATORS, CRITICS))
    # a title, a header and a blank line per table, the hint at the end: nothing wraps
    assert len(lines) == rows + 4 * 3 + 1 and all(len(line) <= 80 for line in lines)
    long = runner.invoke(app, ["list", "--long"], env={"COLUMNS": "200"}).stdout
    assert "temperature" in long and "deterministic action" in long and "options" in long


def _tiny_config(steps: int, seed: int = 0, **extra: object):
    items = [i for i in TINY if i != "--set"]
    return resolve({"steps": steps, "eval_every": 250, "eval_episodes": 2, "seed": seed, **parse_set(items), **extra})


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the process's mappings (Linux)")
def test_a_resumed_run_lets_go_of_the_checkpoint_it_mapped(tmp_path: Path) -> None:
    # the checkpoint is mapped to read its replay buffer without a copy; what the run keeps
    # (the optimizers' moments) is copied out, so that the file can go once it is replaced
    run = create_run_dir(tmp_path / "run", _tiny_config(300))
    Trainer(_tiny_config(300), run, quiet=True).train()
    resumed = Trainer(_tiny_config(400), run, quiet=True, resume=True)
    resumed.save()  # replaces last.pt
    maps = Path("/proc/self/maps").read_text()
    assert str(run / "checkpoints" / "last.pt") not in maps
    assert resumed.train()["step"] == 400


@pytest.mark.parametrize(
    "extra",
    [{}, {"algo": "sql", "env": "rlasinference/MultiGoal-v0", "learning_starts": 100, "target_update_every": 50}],
    ids=["sac", "sql-multigoal"],
)
def test_stopped_and_resumed_run_matches_an_uninterrupted_one(tmp_path: Path, extra: dict) -> None:
    config = _tiny_config(750, **extra)
    straight = create_run_dir(tmp_path / "straight", config)
    Trainer(config, straight, quiet=True).train()

    stopped = create_run_dir(tmp_path / "stopped", config)
    trainer = Trainer(config, stopped, quiet=True)
    update, calls = trainer.agent.update, []

    def update_then_stop(batch):
        calls.append(1)
        if len(calls) == 337:  # mid-episode, mid-log-window, between evaluations
            trainer.request_stop()
        return update(batch)

    trainer.agent.update = update_then_stop  # type: ignore[method-assign]
    summary = trainer.train()
    assert summary["interrupted"] and summary["step"] == 100 + 337 - 1
    resumed = Trainer(config, stopped, quiet=True, resume=True)
    assert resumed.train()["step"] == 750

    columns = [c for c in rows(straight)[0] if c not in ("time_s", "sps")]
    assert [[r[c] for c in columns] for r in rows(stopped)] == [[r[c] for c in columns] for r in rows(straight)]
    a = load_checkpoint(straight / "checkpoints" / "last.pt")["agent"]["modules"]
    b = load_checkpoint(stopped / "checkpoints" / "last.pt")["agent"]["modules"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_ctrl_c_saves_and_resume_continues(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rlasinference.cli.main", "train", "--steps", "100000", "--out", str(out), *TINY]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while (time.time() < deadline and not (out / "metrics.csv").exists()) or len(rows(out)) < 2:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted at step" in err
    step = load_checkpoint(out / "checkpoints" / "last.pt")["step"]
    assert step >= 200
    result = runner.invoke(app, ["resume", str(out), "--steps", str(step + 150), "--quiet"])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == step + 150
    assert len((out / "command.txt").read_text().splitlines()) == 2


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--env", "NoSuchEnv-v0"], ["cannot make env 'NoSuchEnv-v0'"]),
        (["--env", "no_such_module:Env-v0"], ["cannot import module 'no_such_module' for env"]),
        (["--env", "CartPole-v1"], ["2 discrete actions", "presets for this env: m-dqn, sac-discrete, soft-dqn"]),
        (["--algo", "nope"], ["unknown algorithm 'nope'", "valid: sac"]),
        (["--sampler", "nope"], ["unknown sampler 'nope'", "valid: gaussian"]),
        (
            ["--sampler", "tests.helpers:DensityFreeSampler"],
            ["policy objective 'reverse-kl' needs a sampler with density exact or bound", "valid samplers: gaussian"],
        ),
        (["--set", "gamma"], ["malformed --set 'gamma': expected key=value"]),
        (["--set", "nope=1"], ["unknown config key 'nope'; valid keys:", "batch_size"]),
        (["--set", "batch_size=[1"], ["not valid YAML"]),
        (["--device", "gpu7"], ["invalid device 'gpu7'"]),
        (["--config", "/nonexistent.yaml"], ["cannot read config file"]),
    ],
)
def test_bad_train_input(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    result = runner.invoke(app, ["train", "--steps", "10", "--out", str(tmp_path / "r"), "--quiet", *args])
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "r").exists()  # no half-made run directory is left behind


def test_failed_start_in_an_existing_directory_keeps_the_directory(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    result = runner.invoke(app, ["train", "--env", "CartPole-v1", "--out", str(out), "--quiet"])
    assert_one_line_error(result, "presets for this env")
    assert list(out.iterdir()) == []
    (out / "notes.txt").write_text("the user's file")  # not empty, not a run: refused before anything
    result = runner.invoke(app, ["train", "--out", str(out), "--quiet"])
    assert_one_line_error(result, "is not empty and holds no run of this project")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_existing_run_directory_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "--steps", "150", "--eval-every", "150", "--eval-episodes", "1", "--out", str(out), "--quiet"]
    assert runner.invoke(app, [*args, *TINY]).exit_code == 0
    before = (out / "metrics.csv").read_text()
    assert_one_line_error(runner.invoke(app, [*args, *TINY]), "already holds a run", "rlai resume")
    assert (out / "metrics.csv").read_text() == before
    assert_one_line_error(runner.invoke(app, ["resume", str(out)]), "already reached step 150", "--steps")


def test_bad_run_directories(tmp_path: Path) -> None:
    assert_one_line_error(runner.invoke(app, ["eval", str(tmp_path / "missing")]), "does not exist")
    assert_one_line_error(runner.invoke(app, ["resume", str(tmp_path / "missing")]), "does not exist")
    assert_one_line_error(runner.invoke(app, ["eval", str(tmp_path)]), "is not a run directory")
    out = tmp_path / "run"
    args = ["train", "--steps", "150", "--eval-every", "150", "--eval-episodes", "1", "--out", str(out), "--quiet"]
    assert runner.invoke(app, [*args, *TINY]).exit_code == 0
    (out / "checkpoints" / "last.pt").write_bytes(b"garbage, not a checkpoint")
    assert_one_line_error(runner.invoke(app, ["eval", str(out)]), "is corrupt or unsafe to load")
    assert_one_line_error(runner.invoke(app, ["resume", str(out), "--steps", "300"]), "is corrupt or unsafe to load")
    assert_one_line_error(runner.invoke(app, ["eval", str(out), "--checkpoint", "first"]), "last or best")
    (out / "checkpoints" / "last.pt").unlink()
    assert_one_line_error(runner.invoke(app, ["eval", str(out)]), "no checkpoint at")
    assert_one_line_error(runner.invoke(app, ["eval", str(out / "config.yaml")]), "is a file; give its run directory")
    (out / "config.yaml").write_text("algo: [unclosed")
    assert_one_line_error(runner.invoke(app, ["eval", str(out)]), "config.yaml", "is not valid YAML")
    # an emptied or foreign config would give the preset's defaults, not the run's settings: refused,
    # and the file is left as it is
    for damaged, missing in (("", "algo"), ("::: not yaml [\n", "algo"), ("algo: sac\nenv: Pendulum-v1\n", "seed")):
        (out / "config.yaml").write_text(damaged)
        for command in (["eval", str(out)], ["resume", str(out), "--steps", "300"]):
            assert_one_line_error(runner.invoke(app, command), f"config.yaml' is damaged: it has no {missing}")
        assert (out / "config.yaml").read_text() == damaged
        if missing == "algo":
            compared = runner.invoke(app, ["compare", str(tmp_path)])
            assert "run is damaged, skipped" in compared.stderr and "None" not in compared.output


def test_checkpoint_with_code_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "--steps", "150", "--eval-every", "150", "--eval-episodes", "1", "--out", str(out), "--quiet"]
    assert runner.invoke(app, [*args, *TINY]).exit_code == 0

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"format": 1, "payload": Payload()}, out / "checkpoints" / "last.pt")
    assert_one_line_error(runner.invoke(app, ["eval", str(out)]), "is corrupt or unsafe to load")


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "--env", "tests.helpers:NaNRewardPendulum-v0", "--steps", "2000", "--eval-every", "200"]
    result = runner.invoke(app, [*args, "--eval-episodes", "1", "--out", str(out), "--quiet", *TINY])
    assert_one_line_error(result, "non-finite loss_critic", "last good checkpoint", "(step 400)")
    state = load_checkpoint(out / "checkpoints" / "last.pt")
    assert state["step"] == 400
    assert all(torch.isfinite(v).all() for v in state["agent"]["modules"].values())
    assert runner.invoke(app, ["eval", str(out), "--episodes", "1", "--json"]).exit_code == 0


def test_a_run_without_a_gradient_update_says_so(tmp_path: Path) -> None:
    args = ["train", "--steps", "200", "--eval-every", "200", "--eval-episodes", "1", "--set", "threads=1"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "r")])
    assert result.exit_code == 0 and "learning_starts (5000) >= steps (200)" in result.stderr
    assert "no gradient update" not in runner.invoke(app, [*args, "--set", "learning_starts=100",
                                                           "--out", str(tmp_path / "s")]).stderr  # fmt: skip
    small = runner.invoke(app, [*args, "--set", "learning_starts=100", "--set", "buffer_size=50",
                                "--out", str(tmp_path / "b")])  # fmt: skip
    assert small.exit_code == 0 and "buffer_size (50) < batch_size (256)" in small.stderr


def test_version_short_help_and_no_lock_left_behind(tmp_path: Path) -> None:
    from rlasinference import __version__

    assert runner.invoke(app, ["--version"]).stdout.strip() == f"rlai (rlasinference) {__version__}"
    assert "train [OPTIONS]" in runner.invoke(app, ["train", "-h"]).stdout
    out = tmp_path / "r"
    args = ["train", "--steps", "150", "--eval-every", "150", "--eval-episodes", "1", "--quiet", *TINY]
    assert runner.invoke(app, [*args, "--out", str(out)]).exit_code == 0
    assert not (out / ".lock").exists()  # a finished run names no dead process


def test_progress_speed_leaves_evaluations_out_and_eta_waits_for_the_warm_up() -> None:
    from rlasinference.training.progress import Clock

    clock = Clock(total=5000, warmup=1000, eval_every=1000)
    clock.stepped(0, 1000, 0.5)  # the warm-up: random actions, fast
    assert clock.eta(1000) == "-" and clock.eta(900) == "after the warm-up"
    clock.evaluated(5.0)  # the evaluation at step 1000
    assert clock.speed() == "2000"  # 1000 steps in 0.5 s; the evaluation's 5 s left out
    clock.stepped(1000, 2000, 10.0)  # learning: 100 steps/s
    clock.evaluated(5.0)
    assert clock.speed() == "100"
    # 3000 steps at 100 steps/s, and the evaluations at 3000, 4000 and 5000 at 5 s each
    assert clock.remaining(2000) == 30.0 + 15.0 and clock.eta(2000) == "0:00:45"


def test_a_library_warning_is_one_plain_line() -> None:
    """gymnasium colours its warnings for a terminal ("\\x1b[33mWARN: ...\\x1b[0m"); ``rlai``
    prints them as one plain ``warning:`` line, without the escape codes."""
    from rlasinference.cli.main import _one_line_warning

    line = _one_line_warning(UserWarning("\x1b[33mWARN: The environment Taxi-v3 is out of date.\x1b[0m"), UserWarning)
    assert line == "warning: The environment Taxi-v3 is out of date.\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--steps", "abc"], "Invalid value for '--steps'"),
        (["train", "--no-such-flag"], "No such option: --no-such-flag"),
        (["compare"], "Missing argument 'paths'"),
        (["no-such-command"], "No such command 'no-such-command'"),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(argv: list[str], message: str, monkeypatch, capsys) -> None:
    """What the argument parser refuses is one ``error:`` line as well (the entry point ``rlai``
    runs ``main``), not a framed box."""
    from rlasinference.cli.main import main

    monkeypatch.setattr(sys, "argv", ["rlai", *argv])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert message in err and "-h)" in err


def test_a_run_config_for_another_algo_gives_what_it_changed_not_its_presets_defaults(tmp_path: Path) -> None:
    """``--config`` of a SAC run with ``--algo sql``: SQL's sampler, objective and networks with the
    file's run keys and the keys it changed from SAC's defaults, and a note that says so."""
    source = tmp_path / "sac"
    args = ["--eval-every", "150", "--eval-episodes", "1", "--quiet"]
    changed = ["--set", "learning_starts=100", "--set", "lr_critic=0.002"]
    assert runner.invoke(app, ["train", "--steps", "150", "--out", str(source), *args, *changed]).exit_code == 0
    result = runner.invoke(
        app, ["train", "--config", str(source / "config.yaml"), "--algo", "sql", "--out", str(tmp_path / "sql"), *args]
    )
    assert result.exit_code == 0, result.output
    assert "is a config of --algo sac: for sql it gives its run keys and learning_starts, lr_critic" in result.stderr
    made = yaml.safe_load((tmp_path / "sql" / "config.yaml").read_text())
    sql = resolve({"algo": "sql"}).flat()
    assert (made["sampler"], made["objective"], made["critic_hidden"]) == (
        sql["sampler"],
        sql["objective"],
        sql["critic_hidden"],
    )
    assert (made["lr_critic"], made["learning_starts"], made["steps"]) == (0.002, 100, 150)
    # a file written by hand holds only what its writer chose: all of it is kept
    (tmp_path / "mine.yaml").write_text("algo: sac\nbatch_size: 64\nsteps: 150\n")
    command = ["train", "--config", str(tmp_path / "mine.yaml"), "--algo", "sql", "--out", str(tmp_path / "mine")]
    result = runner.invoke(app, [*command, *args])
    assert result.exit_code == 0 and "is a config of" not in result.stderr, result.output
    assert yaml.safe_load((tmp_path / "mine" / "config.yaml").read_text())["batch_size"] == 64


def test_command_help_is_reflowed_to_the_terminal_and_keeps_brackets() -> None:
    """A docstring's line breaks are not the help's (a sentence broken at the source's width reads
    as broken at 80 columns), and ``P[s][a]`` is shown, not taken for Rich markup."""
    result = runner.invoke(app, ["solve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Works for envs that expose `env.unwrapped.P[s][a] = [(prob, next_state, reward, terminated), ...]` as" in (
        result.output
    )
