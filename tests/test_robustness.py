"""What real users do to runs: two processes on one run, kills before the first checkpoint,
SIGTERM, damaged files, full disks, bad values, odd envs and targets. Each test here failed on
the code before it was written."""

from __future__ import annotations

import csv
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from rlasinference.cli.main import app
from rlasinference.core.settings import parse_set
from rlasinference.training.checkpoint import load_checkpoint
from rlasinference.training.config import resolve
from rlasinference.training.evaluation import EvalResult
from rlasinference.training.lock import RunLock
from rlasinference.training.run_dir import create_run_dir
from rlasinference.training.trainer import Trainer
from tests.helpers import TINY
from tests.test_cli import assert_one_line_error, rows

runner = CliRunner()
SHORT = ["--eval-every", "150", "--eval-episodes", "1", "--quiet", *TINY]
CLI = [sys.executable, "-m", "rlasinference.cli.main"]


def _wait_for(predicate, proc: subprocess.Popen | None = None, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        if proc is not None:
            assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)


def _long_run(out: Path, *extra: str) -> subprocess.Popen:
    cmd = [*CLI, "train", "--steps", "100000", "--out", str(out), *TINY, "--set", "threads=1", *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# 1. one owner per run directory
def test_a_live_run_cannot_be_resumed_or_trained_over_and_a_dead_owner_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _long_run(out, "--eval-every", "200", "--eval-episodes", "1")
    try:
        _wait_for(lambda: (out / "checkpoints" / "last.pt").exists() and len(rows(out)) >= 3, proc)
        before = len(rows(out))
        assert_one_line_error(runner.invoke(app, ["resume", str(out)]), "is in use by process", str(proc.pid))
        again = ["train", "--steps", "300", "--out", str(out), "--quiet", *TINY]
        assert_one_line_error(runner.invoke(app, again), "is in use by process", str(proc.pid))
        same = ["--set", "steps=100000", "--set", "eval_every=200", "--set", "eval_episodes=1", *TINY]
        sweep = ["sweep", "--algo", "sac", "--env", "Pendulum-v1", "--out", str(tmp_path), *same]
        (tmp_path / "sac-Pendulum-v1-s0").symlink_to(out)  # the sweep's trial directory is the live run
        assert_one_line_error(runner.invoke(app, sweep), "is in use by process", str(proc.pid))
        look = runner.invoke(app, [*sweep, "--dry-run"])  # a dry run lists it as running instead
        assert look.exit_code == 0, look.output
        assert "1 running now" in look.output and "running sac-Pendulum-v1-s0 (at step" in look.output
        assert f"by process {proc.pid}" in look.output
        assert len(rows(out)) >= before  # nothing truncated the live run's metrics
    finally:
        proc.kill()
        proc.wait()
    # the killed owner's lock is taken over without a word
    step = load_checkpoint(out / "checkpoints" / "last.pt")["step"]
    result = runner.invoke(app, ["resume", str(out), "--steps", str(step + 100), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "in use" not in result.output


def test_a_lock_held_in_this_process_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / ".rlai-run").touch()  # a run directory another process is making
    with RunLock(out).acquire("rlai train (a test)"):
        result = runner.invoke(app, ["train", "--steps", "100", "--out", str(out), *SHORT])
        assert_one_line_error(result, "in use by process", "rlai train (a test)")
    assert runner.invoke(app, ["train", "--steps", "150", "--out", str(out), *SHORT]).exit_code == 0


# 2. a run killed before its first checkpoint is not stuck
def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_zero(tmp_path: Path) -> None:
    out = tmp_path / "k5"
    proc = _long_run(out, "--set", "learning_starts=200", "--eval-every", "5000")
    _wait_for(lambda: len(rows(out)) >= 1 if (out / "metrics.csv").exists() else False, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "checkpoints" / "last.pt").exists()
    result = runner.invoke(app, ["resume", str(out), "--steps", "300", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "starting it over from step 0" in result.stderr
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 300
    assert [int(r["step"]) for r in rows(out) if r["eval_return"]] == [300]

    # `rlai train` into a directory whose run never checkpointed starts it over as well (made so by
    # dropping the checkpoint and the evaluation: a finished run without its checkpoint is a kept
    # copy, which is refused, below)
    (out / "checkpoints" / "last.pt").unlink()
    metrics = (out / "metrics.csv").read_text().splitlines()
    assert metrics[-1].startswith("300,")  # the last row is the evaluation at step 300
    kept = runner.invoke(app, ["train", "--steps", "150", "--out", str(out), *SHORT])
    assert_one_line_error(kept, "holds a finished run's results (evaluated at step 300) without its checkpoints")
    (out / "metrics.csv").write_text("\n".join(metrics[:-1]) + "\n")
    result = runner.invoke(app, ["train", "--steps", "150", "--out", str(out), *SHORT])
    assert result.exit_code == 0, result.output
    assert "never reached its first checkpoint" in result.stderr
    assert [int(r["step"]) for r in rows(out) if r["eval_return"]] == [150]


def test_a_crash_before_the_first_checkpoint_leaves_a_resumable_run(tmp_path: Path) -> None:
    config = resolve({"steps": 300, "eval_every": 300, "eval_episodes": 1, **parse_set(TINY[1::2])})
    out = create_run_dir(tmp_path / "run", config)
    trainer = Trainer(config, out, quiet=True)

    def crash(batch):
        raise RuntimeError("an unexpected bug")

    trainer.agent.update = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        trainer.train()
    result = runner.invoke(app, ["resume", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 300


def test_checkpoints_by_wall_time_between_evaluations(tmp_path: Path) -> None:
    items = [*TINY[1::2], "checkpoint_every_s=0.000001"]
    config = resolve({"steps": 300, "eval_every": 300, "eval_episodes": 1, **parse_set(items)})
    trainer = Trainer(config, create_run_dir(tmp_path / "run", config), quiet=True)
    saved, save = [], trainer.save

    def record() -> None:
        saved.append(trainer.step)
        save()

    trainer.save = record  # type: ignore[method-assign]
    trainer.train()
    assert saved[0] < 10 and saved[-1] == 300 and len(saved) > 100


# 3. SIGTERM saves like Ctrl-C
def test_sigterm_saves_a_checkpoint_and_the_run_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _long_run(out)
    _wait_for(lambda: (out / "metrics.csv").exists() and len(rows(out)) >= 2, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "interrupted at step" in err
    step = load_checkpoint(out / "checkpoints" / "last.pt")["step"]
    assert step >= 200
    result = runner.invoke(app, ["resume", str(out), "--steps", str(step + 50), "--quiet"])
    assert result.exit_code == 0, result.output


# 4. a checkpoint holds the filled part of the replay buffer only
def test_checkpoint_size_follows_the_filled_buffer(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert runner.invoke(app, ["train", "--steps", "300", "--out", str(out), *SHORT]).exit_code == 0
    last = out / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    assert state["buffer"]["obs"].untyped_storage().nbytes() == 300 * 3 * 4  # not the 1M-row allocation
    assert last.stat().st_size < 1_000_000  # was 36 MB of buffer before


# 5. config values are range-checked before anything is created
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--set", "gamma=2"], ["gamma must be in [0, 1], got 2"]),
        (["--set", "lr_critic=-1"], ["lr_critic must be in (0, 3e+38], got -1"]),
        (["--set", "lr_policy=.nan"], ["lr_policy must be in (0, 3e+38], got nan"]),
        (["--set", "polyak=5"], ["polyak must be in (0, 1], got 5"]),
        (["--set", "sampler.log_std_min=5", "--set", "sampler.log_std_max=-5"], ["sampler.log_std_min must be less"]),
        (["--set", "target_update_every=0"], ["target_update_every must be >= 1, got 0"]),
        (["--set", "ensemble_size=0"], ["ensemble_size must be >= 1"]),
        (["--set", "critic_hidden=[0]"], ["critic_hidden must be a non-empty list of numbers >= 1, got [0]"]),
        (["--set", "sampler.hidden=[-5]"], ["sampler.hidden must be", "got [-5]"]),
        (["--set", "buffer_size=1e15", "--steps", "1000000000000"], ["replay buffer", "lower buffer_size"]),
        (["--seed", "5000000000"], ["seed must be in [0, 4294967295], got 5000000000"]),
        (["--algo", "os:getcwd"], ["'os:getcwd' is not a Preset"]),
        (["--algo", "dime", "--set", "critic.v_min=10", "--set", "critic.v_max=-10"], ["critic.v_min must be less"]),
        (["--algo", "meow", "--set", "temperature=0"], ["temperature must be > 0, got 0"]),
        (["--algo", "diffsac", "--set", "sampler.steps=0"], ["sampler.steps must be >= 1, got 0"]),
    ],
)
def test_out_of_range_values_are_one_line(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    result = runner.invoke(app, ["train", "--steps", "10", "--out", str(tmp_path / "r"), "--quiet", *args])
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "r").exists()


def test_eval_and_sample_flags_are_range_checked(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert runner.invoke(app, ["train", "--steps", "150", "--out", str(out), *SHORT]).exit_code == 0
    assert_one_line_error(runner.invoke(app, ["eval", str(out), "--seed", "-1"]), "--seed must be in [0, 4294967295]")
    sample = ["sample", "--steps", "5", "--out", str(tmp_path / "s"), "--quiet"]
    assert_one_line_error(runner.invoke(app, [*sample, "--lr", "nan"]), "--lr must be in (0, 3e+38], got nan")
    assert_one_line_error(runner.invoke(app, [*sample, "--set", "sampler.hidden=[0]"]), "sampler.hidden must be")
    assert not (tmp_path / "s").exists()


# 6. --env module:Id finds a module in the current directory, as --sampler and --target do
def test_env_from_a_module_in_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "my_envs.py").write_text(
        "import gymnasium as gym\n"
        "gym.register('MyPendulum-v0', entry_point='gymnasium.envs.classic_control.pendulum:PendulumEnv',"
        " max_episode_steps=200)\n"
    )
    rlai = Path(sys.executable).parent / "rlai"
    if not rlai.exists():
        pytest.skip("the rlai script is not installed beside this python")
    cmd = [str(rlai), "train", "--env", "my_envs:MyPendulum-v0", "--steps", "150", "--out", "run", *SHORT]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "checkpoints" / "last.pt").exists()


# 7. compare skips damaged runs
def _fake(root: Path, name: str, seed: int, final: float) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"algo": "sac", "env": "A", "seed": seed, "steps": 200}))
    (run / "metrics.csv").write_text(f"step,time_s,eval_return\n100,1,0\n200,2,{final}\n")
    return run


def test_compare_skips_a_damaged_run_with_one_warning(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    for seed in range(3):
        _fake(sweep, f"sac-A-s{seed}", seed, float(seed))
    (_fake(sweep, "bad-config", 3, 1.0) / "config.yaml").write_text("algo: [unclosed")
    (_fake(sweep, "bad-cell", 4, 1.0) / "metrics.csv").write_text("step,time_s,eval_return\n100,1,oops\n")
    result = runner.invoke(app, ["compare", str(sweep), "--reps", "200"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and "bad-cell" in warnings[0] and "bad-config" in warnings[1]
    assert "| A | sac | 3 |" in result.stdout
    for name in ("sac-A-s0", "sac-A-s1", "sac-A-s2"):
        shutil.rmtree(sweep / name)
    nothing_left = runner.invoke(app, ["compare", str(sweep)])
    assert nothing_left.exit_code == 2 and "Traceback" not in nothing_left.output
    assert nothing_left.stderr.strip().splitlines()[-1] == "error: no run with an evaluation to compare"


# 8. a damaged metrics.csv is rebuilt on resume
def test_resume_rebuilds_a_damaged_metrics_file(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert runner.invoke(app, ["train", "--steps", "300", "--out", str(out), *SHORT]).exit_code == 0
    good = rows(out)
    with open(out / "metrics.csv", "ab") as f:
        f.write(b"\x00\x00\x00\x00garbage,\xff\xfe\n400,\x00\x00")
    result = runner.invoke(app, ["resume", str(out), "--steps", "450", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "was damaged" in result.stderr and "2 unreadable lines dropped" in result.stderr
    after = rows(out)
    assert after[: len(good)] == good
    assert [int(r["step"]) for r in after if r["eval_return"]] == [150, 300, 450]


# 9. filesystem errors are one line, with nothing left behind
def test_unwritable_out_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file.yaml").write_text("x: 1\n")
    bad = runner.invoke(app, ["train", "--steps", "10", "--out", str(tmp_path / "file.yaml" / "run"), "--quiet"])
    assert_one_line_error(bad, "cannot create run directory", "Not a directory")
    bad = runner.invoke(app, ["train", "--steps", "10", "--out", "/proc/rlai-run", "--quiet"])
    assert_one_line_error(bad, "cannot create run directory '/proc/rlai-run'")


def test_a_full_disk_during_a_checkpoint_keeps_the_last_good_one(tmp_path: Path, monkeypatch) -> None:
    import matplotlib.figure

    out = tmp_path / "run"
    real_save, calls = torch.save, []

    def save_until_the_disk_fills(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) >= 3:  # best.pt and last.pt at step 150 fit; then the disk is full
            f.write(b"partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, f, *args, **kwargs)

    def savefig_on_a_full_disk(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(fname))

    monkeypatch.setattr(torch, "save", save_until_the_disk_fills)
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig_on_a_full_disk)
    result = runner.invoke(app, ["train", "--steps", "300", "--out", str(out), *SHORT])
    assert_one_line_error(result, "cannot write checkpoint", "No space left on device", "untouched")
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 150
    leftovers = [p.name for p in out.rglob("*") if ".tmp" in p.name or (p.suffix == ".png" and not p.stat().st_size)]
    assert leftovers == []
    monkeypatch.undo()
    assert runner.invoke(app, ["resume", str(out), "--quiet"]).exit_code == 0


# 10. a user target's output shape is checked
@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("tests.helpers:target_rows", "got shape [5, 2]"),
        ("tests.helpers:target_scalar", "got shape []"),
        ("tests.helpers:target_list", "got a list"),
    ],
)
def test_user_target_with_a_wrong_output_is_one_line(tmp_path: Path, target: str, fragment: str) -> None:
    result = runner.invoke(app, ["sample", "--target", target, "--steps", "5", "--out", str(tmp_path / "s")])
    assert_one_line_error(result, "must return a tensor of shape [5] for actions of shape [5, 2]", fragment)


# 11. a Box action space of shape (2, 2) is flattened for the agent and unflattened for the env
def test_matrix_action_space_is_flattened(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = ["--env", "tests.helpers:MatrixActionPendulum-v0"]
    result = runner.invoke(app, ["train", *env, "--steps", "150", "--out", str(out), *SHORT])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["eval", str(out), "--episodes", "1", "--json"]).exit_code == 0


# 11a. Box actions the rescaling cannot serve: one line, before anything runs
@pytest.mark.filterwarnings("ignore:.*maximum and minimum values are equal")  # gymnasium's own checker
@pytest.mark.parametrize(
    "space, message",
    [
        ("low=[1.0, -1.0], high=[1.0, 1.0]", "has a Box action space with no width in dimension 0 (low 1, high 1)"),
        ("low=[0, 0], high=[5, 5], dtype='int64'", "has Box actions of dtype int64"),
    ],
)
def test_box_actions_without_width_or_of_integers_are_refused(tmp_path: Path, space: str, message: str) -> None:
    env = f"tests.helpers:BoxActionPendulum-v0({space})"
    result = runner.invoke(app, ["train", "--env", env, "--out", str(tmp_path / "run"), *SHORT])
    assert_one_line_error(result, message)
    good = "tests.helpers:BoxActionPendulum-v0(low=[-2.0, 0.0], high=[2.0, 3.0])"  # asymmetric bounds are fine
    assert (
        runner.invoke(app, ["train", "--env", good, "--steps", "150", "--out", str(tmp_path / "ok"), *SHORT]).exit_code
        == 0
    )


# 11b. MuJoCo's warnings become Python warnings: no MUJOCO_LOG.TXT in the user's directory
def test_mujoco_warnings_are_python_warnings(tmp_path: Path, monkeypatch) -> None:
    mujoco = pytest.importorskip("mujoco")
    from rlasinference.envs import make_env

    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(2):
            make_env("HalfCheetah-v5")[0].close()
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
    # gymnasium's HalfCheetah model uses the deprecated settotalmass (MuJoCo >= 3.3): not the
    # user's to act on, so not shown at all
    assert not [w for w in seen if "settotalmass" in str(w.message)]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(3):  # the handler make_env installed; each env made repeats its warnings
            mujoco.get_mju_user_warning()("a test message")
    assert [str(w.message) for w in seen] == ["MuJoCo: a test message"]
    # where warnings are errors the handler prints instead: an exception cannot leave MuJoCo's C code
    code = (
        "import mujoco; from rlasinference.envs import make_env; make_env('HalfCheetah-v5')[0].close(); "
        "mujoco.get_mju_user_warning()('another message'); print('made')"
    )
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "made" in done.stdout, done.stderr
    assert "MuJoCo: another message" in done.stderr


# 11c. keyword arguments of gymnasium.make, written after the env id, reach every env the run makes
def test_env_keywords_reach_training_evaluation_and_resume(tmp_path: Path) -> None:
    from rlasinference.envs.make import env_call, make_env

    assert env_call("FrozenLake-v1(is_slippery=False, map_name='8x8')") == (
        "FrozenLake-v1",
        {"is_slippery": False, "map_name": "8x8"},
    )
    assert env_call("mymodule:MyEnv-v0") == ("mymodule:MyEnv-v0", {})
    lake, _ = make_env("FrozenLake-v1(is_slippery=False)")
    assert all(len(moves) == 1 for row in lake.unwrapped.P.values() for moves in row.values())  # type: ignore[attr-defined]
    # per-env defaults follow the id: MinAtar's schedule with a keyword too
    assert resolve({"algo": "soft-dqn", "env": "MinAtar/Breakout-v1(sticky_action_prob=0.0)"}).algo.batch_size == 32
    out, env = tmp_path / "run", "Pendulum-v1(g=2.0)"
    result = runner.invoke(app, ["train", "--env", env, "--steps", "150", "--out", str(out), *SHORT])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((out / "config.yaml").read_text())["env"] == env
    assert runner.invoke(app, ["resume", str(out), "--steps", "300", "--quiet"]).exit_code == 0
    import rlasinference as rlai

    policy = rlai.load(out, "last")
    cli = runner.invoke(app, ["eval", str(out), "--episodes", "1", "--json"])
    assert cli.exit_code == 0, cli.output
    low = rlai.evaluate(policy, episodes=1)
    assert yaml.safe_load(cli.stdout)["mean_return"] == pytest.approx(low["mean_return"])
    high = rlai.evaluate(policy, env="Pendulum-v1(g=20.0)", episodes=1)
    assert high["mean_return"] != low["mean_return"]  # another gravity, another return
    cli = runner.invoke(app, ["eval", str(out), "--episodes", "1", "--json", "--env", "Pendulum-v1(g=20.0)"])
    assert cli.exit_code == 0, cli.output
    assert yaml.safe_load(cli.stdout)["env"] == "Pendulum-v1(g=20.0)"
    assert yaml.safe_load(cli.stdout)["mean_return"] == pytest.approx(high["mean_return"])
    result = runner.invoke(app, ["train", "--env", "Pendulum-v1(gravity=2.0)", "--out", str(tmp_path / "bad"), *SHORT])
    assert_one_line_error(result, "cannot make env 'Pendulum-v1(gravity=2.0)'", "unexpected keyword argument 'gravity'")


# 11c'. an env whose own code imports a package that is not installed (gymnasium's tabular/ envs
# need jax): the error names the package, and does not blame a module:EnvId prefix the user never wrote
def test_an_env_needing_a_missing_package_says_so(tmp_path: Path) -> None:
    import gymnasium as gym

    gym.register("NeedsMissingPackage-v0", entry_point="rlai_no_such_package.envs:Env")
    result = runner.invoke(app, ["train", "--env", "NeedsMissingPackage-v0", "--out", str(tmp_path / "r"), *SHORT])
    assert_one_line_error(result, "No module named 'rlai_no_such_package'", "the env needs it: install it")
    assert "module:EnvId" not in result.output


# 11d. one keyword set, one spelling: runs, sweeps and compare see one task
def test_env_ids_with_keywords_have_one_spelling() -> None:
    for written, canonical in [
        ("FrozenLake-v1()", "FrozenLake-v1"),
        ('FrozenLake-v1( map_name="8x8",is_slippery=False )', "FrozenLake-v1(is_slippery=False, map_name='8x8')"),
        ("FrozenLake-v1(is_slippery=False, map_name='8x8')", "FrozenLake-v1(is_slippery=False, map_name='8x8')"),
        ("Pendulum-v1(g=2.0)", "Pendulum-v1(g=2.0)"),
        ("Pendulum-v1", "Pendulum-v1"),
    ]:
        assert resolve({"algo": "sac" if "Pendulum" in written else "soft-dqn", "env": written}).run.env == canonical


# 12. a NaN evaluation return stops the run like a NaN loss
def test_nan_evaluation_return_is_named(tmp_path: Path, monkeypatch) -> None:
    def nan_episodes(*args, **kwargs):
        return EvalResult([1.0, float("nan")], [200, 200], [])

    monkeypatch.setattr("rlasinference.training.trainer.run_episodes", nan_episodes)
    result = runner.invoke(app, ["train", "--steps", "300", "--out", str(tmp_path / "run"), *SHORT])
    assert_one_line_error(result, "non-finite evaluation return", "episode 1 of Pendulum-v1 at step 150")
    assert not (tmp_path / "run" / "checkpoints" / "best.pt").exists()


# 13. smaller ones
def test_config_mismatch_on_resume_is_one_line_naming_the_key(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert runner.invoke(app, ["train", "--steps", "150", "--out", str(out), *SHORT]).exit_code == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    (out / "config.yaml").write_text(yaml.safe_dump({**config, "critic_hidden": [64, 32]}))
    result = runner.invoke(app, ["resume", str(out), "--steps", "300"])
    shapes = "'critic.q.net.biases.0' has shape [2, 1, 32] there, [2, 1, 64] here"
    assert_one_line_error(result, "does not match this run's config", shapes)


def test_checkpoint_without_step_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert runner.invoke(app, ["train", "--steps", "150", "--out", str(out), *SHORT]).exit_code == 0
    torch.save({"format": 2, "agent": {}}, out / "checkpoints" / "last.pt")
    assert_one_line_error(runner.invoke(app, ["resume", str(out), "--steps", "300"]), "is incomplete")
    assert_one_line_error(runner.invoke(app, ["eval", str(out)]), "is incomplete")
    torch.save({"format": 1, "step": 150, "agent": {}}, out / "checkpoints" / "last.pt")
    assert_one_line_error(runner.invoke(app, ["eval", str(out)]), "written by an earlier rlasinference (format 1)")


def test_a_finished_trial_of_an_earlier_format_stays_finished_in_a_sweep(tmp_path: Path) -> None:
    # a checkpoint format moving on must not make a sweep over finished trials fail: only
    # resuming such a run needs its state
    args = ["sweep", "--algo", "sac", "--env", "Pendulum-v1", "--seeds", "1", "--out", str(tmp_path / "sw"), *TINY]
    args += ["--set", "eval_every=150", "--set", "eval_episodes=1"]
    trial = tmp_path / "sw" / "sac-Pendulum-v1-s0"
    train = ["train", "--steps", "150", "--out", str(trial), *SHORT, "--set", "threads=1"]
    assert runner.invoke(app, train).exit_code == 0
    state = torch.load(trial / "checkpoints" / "last.pt", weights_only=True)
    torch.save({**state, "format": 1}, trial / "checkpoints" / "last.pt")
    finished = runner.invoke(app, [*args, "--set", "steps=150", "--dry-run"])
    assert finished.exit_code == 0, finished.output
    assert "1 finished (skipped), 0 to resume, 0 new" in finished.output
    result = runner.invoke(app, ["resume", str(trial), "--steps", "300"])
    assert_one_line_error(result, "written by an earlier rlasinference (format 1)")


def test_sweep_name_cannot_leave_the_runs_folder(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("name: ../..\nruns: [{algo: sac, env: Pendulum-v1}]\n")
    assert_one_line_error(runner.invoke(app, ["sweep", str(spec), "--dry-run"]), "plain directory name")


def test_rows_of_a_stopped_run_are_readable_by_csv(tmp_path: Path) -> None:
    """The rebuilt metrics file is a normal CSV file (no stray NULs survive)."""
    out = tmp_path / "run"
    assert runner.invoke(app, ["train", "--steps", "150", "--out", str(out), *SHORT]).exit_code == 0
    (out / "metrics.csv").write_bytes((out / "metrics.csv").read_bytes() + b"\x00" * 64)
    assert runner.invoke(app, ["resume", str(out), "--steps", "300", "--quiet"]).exit_code == 0
    with open(out / "metrics.csv", newline="") as f:
        assert all(r["step"] for r in csv.DictReader(f))
