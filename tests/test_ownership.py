"""Never touch what is not ours: a folder of the user's files is refused, a symlinked lock is not
written through, a dry run writes nothing, a failed command leaves its inputs as they were, and
every YAML the tool reads refuses aliases and non-UTF-8 bytes with one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlasinference.cli.main import app
from tests.helpers import TINY
from tests.test_cli import assert_one_line_error

runner = CliRunner()
SHORT = ["--steps", "200", "--eval-every", "200", "--eval-episodes", "1", "--quiet", *TINY, "--set", "threads=1"]
USER_FILES = {
    "config.yaml": b"database: prod\n",
    "metrics.csv": b"date,value\n2024-01-01,42\n",
    "command.txt": b"make deploy\n",
    "versions.yaml": b"app: 3.1\n",
}
# 9 levels of 9 aliases: about 400 million strings once expanded
BOMB = (
    "a: &a [x,x,x,x,x,x,x,x,x]\n"
    + "".join(f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))
    + "steps: *i\n"
)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file and link under ``root`` (links by their target, never followed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            out[rel] = b"link:" + os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    return out


def test_no_command_writes_outside_its_run(tmp_path: Path) -> None:
    user, victim = tmp_path / "proj", tmp_path / "victim.txt"
    user.mkdir()
    for name, data in USER_FILES.items():
        (user / name).write_bytes(data)
    victim.write_bytes(b"the user's own file\n")
    run = tmp_path / "runs" / "r"
    assert runner.invoke(app, ["train", *SHORT, "--out", str(run)]).exit_code == 0
    (run / ".lock").unlink(missing_ok=True)  # (a finished run has none; one is planted)
    (run / ".lock").symlink_to(victim)
    sweep = tmp_path / "sweep"
    (sweep / "sac-Pendulum-v1-s0").mkdir(parents=True)
    (sweep / "sac-Pendulum-v1-s0" / ".lock").symlink_to(victim)
    before = snapshot(tmp_path)

    # 1. a folder of the user's files is no run directory, whatever the command
    assert_one_line_error(runner.invoke(app, ["train", *SHORT, "--out", str(user)]), "is not empty", ".rlai-run")
    assert_one_line_error(runner.invoke(app, ["train", "--env", "Nope-v0", "--out", str(user)]), "is not empty")
    assert_one_line_error(runner.invoke(app, ["train", *SHORT, "--out", ""]), "--out must name a directory")
    assert_one_line_error(
        runner.invoke(app, ["resume", str(user)]), "is not a run directory of this project: no .rlai-run"
    )
    (mine := tmp_path / "mine").mkdir()  # a user's --config file, and nothing of a run
    (mine / "config.yaml").write_text("algo: sac\nsteps: 400\n")
    before[str(Path("mine") / "config.yaml")] = (mine / "config.yaml").read_bytes()
    assert_one_line_error(
        runner.invoke(app, ["resume", str(mine)]), "is not a run directory of this project: no .rlai-run"
    )
    # 2. a symlinked lock is refused, not written through; a dry run writes nothing
    assert_one_line_error(runner.invoke(app, ["resume", str(run), "--steps", "400"]), "is a symbolic link")
    dry = ["sweep", "--algo", "sac", "--env", "Pendulum-v1", "--out", str(sweep), "--dry-run", "--set", "steps=200"]
    assert_one_line_error(runner.invoke(app, dry), "is a symbolic link")
    # 3. a bad --steps is checked before anything is written
    assert_one_line_error(runner.invoke(app, ["resume", str(run), "--steps", "0"]), "steps must be >= 1")
    # reading is fine: eval and compare write only their own outputs
    assert runner.invoke(app, ["eval", str(run), "--episodes", "1"]).exit_code == 0
    compared = runner.invoke(app, ["compare", str(tmp_path / "runs"), "--out", str(tmp_path / "cmp")])
    assert compared.exit_code == 0, compared.output

    after = snapshot(tmp_path)
    written = {k for k in after if k.startswith("cmp/")}
    assert {k: v for k, v in after.items() if k not in written} == before


def test_a_failed_start_in_an_empty_folder_leaves_it_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(runner.invoke(app, ["train", "--env", "Nope-v0", "--out", str(empty)]), "Nope")
    assert list(empty.iterdir()) == []
    # and the same folder then takes the run, which marks it as ours
    assert runner.invoke(app, ["train", *SHORT, "--out", str(empty)]).exit_code == 0
    assert (empty / ".rlai-run").is_file() and (empty / "checkpoints" / "last.pt").is_file()


def test_a_bad_steps_on_resume_leaves_a_run_without_checkpoint_resumable(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert runner.invoke(app, ["train", *SHORT, "--out", str(run)]).exit_code == 0
    for name in ("checkpoints/last.pt", "checkpoints/best.pt", "metrics.csv"):  # as if killed before its first
        (run / name).unlink()
    config = (run / "config.yaml").read_bytes()
    assert_one_line_error(runner.invoke(app, ["resume", str(run), "--steps", "0"]), "steps must be >= 1")
    assert (run / "config.yaml").read_bytes() == config
    assert runner.invoke(app, ["resume", str(run), "--quiet"]).exit_code == 0


def test_yaml_aliases_and_non_utf8_are_refused_in_one_line(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    assert_one_line_error(runner.invoke(app, ["train", "--config", str(bomb)]), "aliases are not accepted")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"env: Pendul\xffm-v1\n")
    assert_one_line_error(runner.invoke(app, ["train", "--config", str(latin)]), "not a UTF-8 text file")
    assert_one_line_error(runner.invoke(app, ["train", "--set", "steps=*a"]), "not valid YAML")
    # a run's own config.yaml: resume and eval refuse it, compare skips that run with a warning
    runs = tmp_path / "runs"
    good, bad = runs / "good", runs / "bad"
    for run in (good, bad):
        assert runner.invoke(app, ["train", *SHORT, "--out", str(run)]).exit_code == 0
    text = (bad / "config.yaml").read_text()
    (bad / "config.yaml").write_text(BOMB + text.replace("steps: 200\n", ""))
    assert_one_line_error(runner.invoke(app, ["resume", str(bad), "--steps", "400"]), "aliases are not accepted")
    assert_one_line_error(runner.invoke(app, ["eval", str(bad)]), "aliases are not accepted")
    compared = runner.invoke(app, ["compare", str(runs), "--out", str(tmp_path / "cmp")])
    assert compared.exit_code == 0 and "bad is damaged, skipped" in compared.stderr
    (bad / "config.yaml").write_bytes(text.encode().replace(b"Pendulum", b"Pend\xffulum"))
    assert_one_line_error(runner.invoke(app, ["eval", str(bad)]), "is not a UTF-8 text file")


def test_square_brackets_in_paths_are_printed_as_they_are(tmp_path: Path) -> None:
    for name in ("mk[/]x", "[old]"):
        run = tmp_path / name
        result = runner.invoke(app, ["train", *SHORT, "--out", str(run)])
        assert result.exit_code == 0, result.output
        assert f"run directory: {run}" in result.output
        assert runner.invoke(app, ["eval", str(run), "--episodes", "1"]).exit_code == 0
        assert runner.invoke(app, ["resume", str(run), "--steps", "300", "--quiet"]).exit_code == 0


BIG = "9" * 400


@pytest.mark.parametrize(
    "args, fragment",
    [
        # 9. integers beyond a float's range
        (["train", "--steps", BIG], "steps must be >= 1, got 9999"),
        (["train", "--seed", BIG], "seed must be in [0, 4294967295]"),
        (["train", "--set", f"lr_critic={BIG}"], "expects a float"),
        (["train", "--set", f"batch_size={BIG}"], "too large for a float"),
        (["sample", "--seed", BIG], "--seed must be in"),
        # 10. malformed module:attr
        (["train", "--env", ".foo:Env-v0"], "is not a module name"),
        (["train", "--env", "..:Env-v0"], "is not a module name"),
        (["train", "--env", ":Env-v0"], "is not a module name"),
        (["train", "--sampler", ":X"], "is not a module name"),
        (["train", "--algo", "a:b:c"], "is not an attribute name"),
        (["sample", "--target", ":X"], "is not a module name"),
        # 11. devices this project does not run on
        (["train", "--device", "mps"], "device 'mps' is not supported"),
        (["train", "--device", "meta"], "device 'meta' is not supported"),
        # 5. sweeps: resources no trial could get, devices, counts, a dead cluster
        (["sweep", "--algo", "sac", "--dry-run", "--gpus-per-trial", "64"], "GPUs"),
        (["sweep", "--algo", "sac", "--dry-run", "--cpus-per-trial", "-1"], "--cpus-per-trial must be > 0"),
        (["sweep", "--algo", "sac", "--dry-run", "--cpus-per-trial", "4096"], "more than this machine's"),
        (["sweep", "--algo", "sac", "--dry-run", "--set", "device=mps"], "device 'mps' is not supported"),
        (["sweep", "--algo", "sac", "--dry-run", "--seeds", "1000000000"], "seeds must be a count in [1, 10000]"),
        (["sweep", "--algo", "sac", "--address", "127.0.0.1:1", "--set", "steps=100"], "no Ray cluster answers"),
    ],
)
def test_bad_values_are_one_line(tmp_path: Path, args: list[str], fragment: str) -> None:
    if args[0] == "sweep":
        args = [*args, "--out", str(tmp_path / "sweep")]
    if args[0] == "train":  # (one thread: no note on a busy machine beside the error)
        args = [*args, "--set", "threads=1"]
    assert_one_line_error(runner.invoke(app, args), fragment)


def test_eval_seeds_and_devices_are_one_line(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert runner.invoke(app, ["train", *SHORT, "--out", str(run)]).exit_code == 0
    assert_one_line_error(runner.invoke(app, ["eval", str(run), "--seed", BIG]), "--seed must be in")
    for device in ("mps", "meta"):
        assert_one_line_error(runner.invoke(app, ["eval", str(run), "--device", device]), "is not supported")


def test_a_sweep_file_with_a_huge_seed_count_is_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: s\nseeds: {'9' * 50}\nruns:\n  - algo: sac\n")
    assert_one_line_error(runner.invoke(app, ["sweep", str(spec), "--dry-run"]), "seeds must be a count")


def test_a_second_sweep_on_a_directory_in_use_is_refused(tmp_path: Path) -> None:
    from rlasinference.training.lock import RunLock

    sweep = tmp_path / "sweep"
    sweep.mkdir()
    args = ["sweep", "--algo", "sac", "--out", str(sweep), "--set", "steps=100"]
    with RunLock(sweep, "sweep").acquire("rlai sweep (the first one)"):
        assert_one_line_error(runner.invoke(app, args), "sweep", "is in use by process", "the first one")


def test_grid_values_may_be_lists(tmp_path: Path) -> None:
    args = ["sweep", "--algo", "sac", "--grid", "critic_hidden=[16,16],[32,32]", "--dry-run", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "critic_hidden=_16_16" in result.output and "critic_hidden=_32_32" in result.output
    bad = runner.invoke(app, ["sweep", "--algo", "sac", "--grid", "lr_critic=[1,", "--dry-run"])
    assert_one_line_error(bad, "malformed --grid")


@pytest.mark.parametrize("line, fragment", [("seeds: abc", "seeds must be an integer"),
                                            ("seeds: 1.5", "seeds must be an integer"),
                                            ("objective: [1]", "objective must be a name")])  # fmt: skip
def test_a_workbench_spec_of_the_wrong_types_is_one_line(tmp_path: Path, line: str, fragment: str) -> None:
    spec = tmp_path / "g.yaml"
    spec.write_text(f"samplers: [gaussian]\ntargets: [banana]\n{line}\n")
    assert_one_line_error(runner.invoke(app, ["sample", "--spec", str(spec), "--out", str(tmp_path / "o")]), fragment)


# 12. in-range values that still could not run
@pytest.mark.parametrize(
    "args, fragments",
    [
        (["train", "--algo", "dime", "--set", "critic.v_min=-1e308", "--set", "critic.v_max=1e308"], ("float32",)),
        (["train", "--algo", "dime", "--set", "critic.v_min=0", "--set", "critic.v_max=1e-300"], ("float32",)),
        (["train", "--set", "lr_critic=1e300"], ("lr_critic must be in (0, 3e+38]",)),
        (["sample", "--lr", "1e300"], ("--lr must be in (0, 3e+38]",)),
        (
            ["train", "--set", "critic_hidden=[1000000,1000000]"],
            (
                "the critic (critic_hidden",
                "GiB",
            ),
        ),
        (["train", "--algo", "ppo", "--set", "value_hidden=[1000000,1000000]"], ("value network (value_hidden)",)),
        (
            ["sample", "--set", "sampler.hidden=[100000000]"],
            (
                "sampler.hidden",
                "GiB",
            ),
        ),
    ],
)
def test_values_in_range_that_cannot_run_are_one_line(tmp_path: Path, args: list[str], fragments: tuple) -> None:
    threads = ["--set", "threads=1"] if args[0] == "train" else []
    assert_one_line_error(runner.invoke(app, [*args, *threads, "--out", str(tmp_path / "o"), "--quiet"]), *fragments)


# 13. compare
def test_compare_outputs_references_links_and_non_finite_returns(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for seed in (0, 1):
        assert (
            runner.invoke(app, ["train", *SHORT, "--seed", str(seed), "--out", str(runs / f"s{seed}")]).exit_code == 0
        )
    (tmp_path / "afile").write_text("x")
    for out, fragment in ((tmp_path / "afile", "is not a directory"), (tmp_path / "afile" / "sub", "Not a directory")):
        assert_one_line_error(runner.invoke(app, ["compare", str(runs), "--out", str(out)]), fragment)
    assert_one_line_error(runner.invoke(app, ["compare", str(runs), "--reps", "1" + "0" * 21]), "--reps must be in")
    # a link to a run is the same run, counted once
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "again").symlink_to(runs / "s0")
    result = runner.invoke(app, ["compare", str(runs), str(tmp_path / "more"), "--out", str(tmp_path / "c1")])
    assert result.exit_code == 0, result.output
    assert "| 2 |" in (tmp_path / "c1" / "table.md").read_text()
    # reference CSVs: a short row, a byte-order mark
    short = tmp_path / "short.csv"
    short.write_text("algo,env,seed,step,eval_return\nsac,Pendulum-v1,0,200\n")
    bad = runner.invoke(app, ["compare", str(runs), "--reference", str(short), "--out", str(tmp_path / "c2")])
    assert_one_line_error(bad, "line 2: fewer values than the header")
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffalgo,env,seed,step,eval_return\nsac,Pendulum-v1,0,200,-1000\n".encode())
    ok = runner.invoke(app, ["compare", str(runs), "--reference", str(bom), "--out", str(tmp_path / "c3")])
    assert ok.exit_code == 0, ok.output
    # a run whose evaluation return is not finite is skipped with a warning, not averaged in
    metrics = runs / "s1" / "metrics.csv"
    lines = metrics.read_text().splitlines()
    header = lines[0].split(",")
    last = lines[-1].split(",")
    last[header.index("eval_return")] = "inf"
    metrics.write_text("\n".join([*lines[:-1], ",".join(last)]) + "\n")
    result = runner.invoke(app, ["compare", str(runs), "--out", str(tmp_path / "c4")])
    assert result.exit_code == 0 and "s1 is damaged, skipped" in result.stderr and "nan" not in result.output


def test_square_brackets_in_an_algorithm_name_reach_the_table_as_they_are(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for seed in (0, 1):
        assert (
            runner.invoke(app, ["train", *SHORT, "--seed", str(seed), "--out", str(runs / f"s{seed}")]).exit_code == 0
        )
    ref = tmp_path / "ref.csv"
    ref.write_text("algo,env,seed,step,eval_return\n[/]x,Pendulum-v1,0,200,-900\n[/]x,Pendulum-v1,1,200,-800\n")
    result = runner.invoke(app, ["compare", str(runs), "--reference", str(ref), "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "[/]x" in result.output


# 15. a user's env, sampler or target that breaks the rules
@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--env", "tests.helpers:rlai-test/WrongShape-v0"], ("not a numeric numpy array of its observation space",)),
        (["--env", "tests.helpers:rlai-test/ListObs-v0"], ("a list",)),
        (["--env", "tests.helpers:rlai-test/StringReward-v0"], ("reward that is not a number: 'high'",)),
        (["--env", "tests.helpers:rlai-test/NoneReward-v0"], ("reward that is not a number: None",)),
        (["--env", "tests.helpers:rlai-test/EmptyAction-v0"], ("empty action or observation space",)),
        (["--env", "tests.helpers:rlai-test/Crashing-v0"], ("raised in step: RuntimeError: the simulator lost",)),
        (
            ["--sampler", "tests.helpers:WrongShapeSampler"],
            (
                "breaks the sampler contract",
                "(4, 7, 2), not (4, 7, 1)",
            ),
        ),
        (
            ["--sampler", "tests.helpers:NoDensitySampler"],
            (
                "breaks the sampler contract",
                "needs log_density",
            ),
        ),
        (
            ["--sampler", "tests.helpers:TupleSampler"],
            (
                "breaks the sampler contract",
                "must return Samples",
            ),
        ),
        (["--sampler", "tests.helpers:RaisingSampler"], ("failed its contract check: ValueError: no weights file",)),
        (
            ["--sampler", "tests.helpers:OutOfBoxSampler"],
            (
                "breaks the sampler contract",
                "outside (-1, 1)",
            ),
        ),
    ],
)
def test_a_user_component_that_breaks_the_rules_is_one_line(tmp_path: Path, args: list[str], fragments: tuple) -> None:
    small = ["--steps", "300", "--eval-every", "300", "--eval-episodes", "1", "--quiet", "--set", "threads=1"]
    small += ["--set", "learning_starts=100", "--set", "batch_size=32", "--set", "critic_hidden=[16]"]
    result = runner.invoke(app, ["train", *small, *args, "--out", str(tmp_path / "o")])
    assert_one_line_error(result, *fragments)


def test_a_user_target_that_fails_during_the_fit_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sample", "--target", "tests.helpers:late_target", "--steps", "5", "--quiet",
                                 "--out", str(tmp_path / "o")])  # fmt: skip
    assert_one_line_error(result, "failed during the fit: KeyError")


# 16. smaller items
def test_async_workers_start_with_ctrl_c_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool starts its workers with SIGINT and SIGTERM ignored, a disposition a spawned
    interpreter keeps from its first instruction: a Ctrl-C while they import prints nothing."""
    import multiprocessing as mp
    import signal

    from rlasinference.envs import pool as env_pool

    seen = []
    spawn_process = mp.get_context("spawn").Process
    start = spawn_process.start

    def recorded_start(self) -> None:
        seen.append((signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)))
        start(self)

    monkeypatch.setattr(spawn_process, "start", recorded_start)
    before = signal.getsignal(signal.SIGINT)
    pool = env_pool.AsyncPool("Pendulum-v1", 2)
    pool.close()
    assert seen == [(signal.SIG_IGN, signal.SIG_IGN)] * 2
    assert signal.getsignal(signal.SIGINT) == before  # the parent's own handler is back


def test_a_run_killed_after_its_last_checkpoint_finishes_its_outputs(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert runner.invoke(app, ["train", *SHORT, "--out", str(run)]).exit_code == 0
    (run / "learning_curve.png").unlink()  # killed between the last checkpoint and the plot
    result = runner.invoke(app, ["resume", str(run), "--quiet"])
    assert result.exit_code == 0 and "finishing its outputs" in result.stderr
    assert (run / "learning_curve.png").is_file()
    assert_one_line_error(runner.invoke(app, ["resume", str(run)]), "already reached step 200")


def test_eval_json_is_strict_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from rlasinference.training import evaluation

    run = tmp_path / "r"
    assert runner.invoke(app, ["train", *SHORT, "--out", str(run)]).exit_code == 0
    original = evaluation.run_episodes

    def infinite(*args, **kwargs):
        result = original(*args, **kwargs)
        result.returns[0] = float("inf")
        return result

    monkeypatch.setattr("rlasinference.training.evaluation.run_episodes", infinite)
    out = runner.invoke(app, ["eval", str(run), "--episodes", "1", "--json"]).stdout
    assert "Infinity" not in out and json.loads(out)["returns"] == [None]


def test_a_tensorboard_thread_failure_is_not_printed(capfd: pytest.CaptureFixture) -> None:
    import threading

    from tensorboard.summary.writer.event_file_writer import _AsyncWriterThread

    from rlasinference.training.loggers import quiet_tensorboard_thread

    quiet_tensorboard_thread()

    class Full(_AsyncWriterThread):
        def __init__(self) -> None:
            threading.Thread.__init__(self, daemon=True)

        def run(self) -> None:
            raise OSError(28, "No space left on device")

    thread = Full()
    thread.start()
    thread.join()
    assert "Traceback" not in capfd.readouterr().err


def test_a_workbench_fit_never_writes_into_a_folder_of_other_files(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["sample", "--steps", "5", "--quiet", "--out", str(mine)])
    assert_one_line_error(result, "holds files that are not a fit's outputs (notes.txt)")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


# 7. a full disk where a command draws its figures
def test_a_full_disk_while_drawing_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "figure.png"))

    run = tmp_path / "r"
    assert runner.invoke(app, ["train", *SHORT, "--out", str(run)]).exit_code == 0
    monkeypatch.setattr("rlasinference.training.evaluation.env_report", full)
    assert_one_line_error(runner.invoke(app, ["eval", str(run), "--episodes", "1"]), "No space left on device")
    fit = tmp_path / "fit"
    assert runner.invoke(app, ["sample", "--steps", "5", "--quiet", "--out", str(fit)]).exit_code == 0
    monkeypatch.setattr("rlasinference.workbench.run.plot_fit", full)
    result = runner.invoke(app, ["sample", "--steps", "5", "--quiet", "--out", str(fit)])
    assert_one_line_error(result, "No space left on device")
    assert not (fit / "metrics.json").exists()  # no metrics.json beside the earlier fit's picture
