"""SIGKILL at random points (before the first checkpoint, in the middle of a checkpoint write,
anywhere while training) and `rlai resume` until the run is done: the result is the
uninterrupted run's, metrics and weights, for SAC, soft DQN and DIME (two updates per env step
and a delayed actor, the schedule a resume most easily breaks; behind the ``slow`` marker)."""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rlasinference.training.checkpoint import load_checkpoint
from rlasinference.training.metrics import read_metrics
from tests.helpers import TINY

CLI = [sys.executable, "-m", "rlasinference.cli.main"]
SLOW_SAVE = [sys.executable, "-m", "tests.slow_checkpoint"]
RUN = ["--steps", "600", "--eval-every", "150", "--eval-episodes", "1", "--quiet", *TINY]
RUN += ["--set", "log_every=50", "--set", "threads=1", "--set", "checkpoint_every_s=0.4"]
ALGOS = {
    "sac": [],
    "dime": ["--algo", "dime", "--set", "sampler.steps=4"],
    "soft-dqn": [
        "--algo",
        "soft-dqn",
        "--env",
        "CartPole-v1",
        "--set",
        "update_every=1",
        "--set",
        "updates_per_step=1",
    ],
}


def _rows(run_dir: Path) -> list[list[str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        table = list(csv.DictReader(f))
    columns = [c for c in table[0] if c not in ("time_s", "sps")]
    return [[r[c] for c in columns] for r in table]


def _start(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def _last_step(run_dir: Path) -> int:
    try:  # the file is being written: a missing file or a half-written row counts as no step
        return max((int(float(r["step"])) for r in read_metrics(run_dir / "metrics.csv")), default=0)
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _owns(proc: subprocess.Popen, run_dir: Path) -> bool:
    lock = run_dir / ".lock"
    return lock.exists() and lock.read_text().startswith(f"process {proc.pid} ")


def _kill_when(proc: subprocess.Popen, ready, delay: float = 0.0, timeout: float = 120.0) -> bool:
    """SIGKILL ``proc`` ``delay`` seconds after ``ready()`` holds; False if it finished first."""
    deadline = time.time() + timeout
    while not ready():
        if proc.poll() is not None:
            return False
        assert time.time() < deadline, "timed out"
        time.sleep(0.005)
    time.sleep(delay)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


# DIME's kills run with `pytest -m slow` (about a minute): the kill mechanics are the preset's
# own for none of them, and DIME's schedule (two updates a step, the delayed actor) resumes
# exactly at several stop points in the default run (test_every_preset_resumes_exactly[dime])
@pytest.mark.parametrize("algo", [pytest.param(a, marks=pytest.mark.slow) if a == "dime" else a for a in ALGOS])
def test_random_sigkills_and_resumes_give_the_uninterrupted_run(tmp_path: Path, algo: str) -> None:
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    done = subprocess.run([*CLI, "train", "--out", str(straight), *RUN, *ALGOS[algo]], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    last = killed / "checkpoints" / "last.pt"

    # before the first checkpoint: as soon as the trainer has opened its metrics file
    proc = _start([*CLI, "train", "--out", str(killed), *RUN, *ALGOS[algo]])
    assert _kill_when(proc, lambda: (killed / "metrics.csv").exists())
    assert not last.exists()

    # in the middle of a checkpoint write (half of its bytes on disk)
    marker = tmp_path / "writing"
    proc = _start([*SLOW_SAVE, "resume", str(killed), "--quiet"], env={**os.environ, "RLAI_TEST_WRITING": str(marker)})
    assert _kill_when(proc, marker.exists)
    assert list((killed / "checkpoints").glob(".*.tmp.*")), "the kill did not land in a checkpoint write"

    # then anywhere: a random time after the process has taken the run's lock; a kill that finds
    # the run where the last one left it doubles the window (a loaded machine starts slowly)
    rng, kills, window = random.Random(0), [], 2.0
    while len(kills) < 6:
        proc = _start([*CLI, "resume", str(killed), "--quiet"])
        # after the process took the lock and, on a machine fast enough to finish the run inside
        # the window, once it has logged a step past its next checkpoint (150 steps apart)
        ahead = (kills[-1] if kills else 0) + 200 if window <= 2.0 and len(kills) < 3 else 0
        ready = lambda p=proc, ahead=ahead: _owns(p, killed) and _last_step(killed) >= ahead  # noqa: E731
        if not _kill_when(proc, ready, delay=rng.uniform(0.0, window if not ahead else 0.05)):
            assert proc.returncode == 0, proc.communicate()[1]
            break
        kills.append(load_checkpoint(last)["step"] if last.exists() else 0)
        if kills[-1] == (kills[-2] if len(kills) > 1 else 0):
            window = min(2.0 * window, 32.0)
        if kills[-1] == 600:  # killed while it drew its learning curve, after its last checkpoint
            break
    else:
        finish = subprocess.run([*CLI, "resume", str(killed), "--quiet"], capture_output=True, text=True)
        assert finish.returncode == 0, finish.stderr
    assert any(0 < step < 600 for step in kills), f"no random kill landed in the run: {kills}"

    assert _rows(killed) == _rows(straight)
    a = load_checkpoint(straight / "checkpoints" / "last.pt")["agent"]["modules"]
    b = load_checkpoint(last)["agent"]["modules"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
