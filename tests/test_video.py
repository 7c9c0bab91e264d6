"""``rlai eval --video``: one MP4 per episode, the same episodes as without it, and one line
(exit code 2) where moviepy or headless GL is missing."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlasinference.cli.main import app
from tests.test_cli import assert_one_line_error

runner = CliRunner()
pytest.importorskip("mujoco")
TINY = ["--steps", "200", "--eval-every", "200", "--eval-episodes", "1", "--set", "learning_starts=100"]
TINY += ["--set", "critic_hidden=[16]", "--set", "sampler.hidden=[16]", "--quiet"]


@pytest.fixture(scope="module")
def hopper_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("video") / "run"
    result = runner.invoke(app, ["train", "--env", "Hopper-v5", *TINY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_eval_video_writes_one_mp4_per_episode_of_the_same_episodes(hopper_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("moviepy")
    plain = runner.invoke(app, ["eval", str(hopper_run), "--episodes", "2", "--json"])
    videos = tmp_path / "videos"
    filmed = runner.invoke(app, ["eval", str(hopper_run), "--episodes", "2", "--json", "--video", str(videos)])
    if filmed.exit_code == 2:  # no headless GL on this machine: then it must say so in one line
        assert_one_line_error(filmed, "libegl1")
        pytest.skip("no headless OpenGL here: " + filmed.stderr.strip())
    assert filmed.exit_code == 0, filmed.output
    assert json.loads(filmed.stdout)["returns"] == json.loads(plain.stdout)["returns"]
    files = sorted(p.name for p in videos.glob("*.mp4"))
    assert files == ["deterministic-step200-episode-0.mp4", "deterministic-step200-episode-1.mp4"]
    assert all((videos / name).stat().st_size > 1000 for name in files)


def test_eval_video_without_moviepy_is_one_line(
    hopper_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "moviepy", None)  # as if it were not installed
    result = runner.invoke(app, ["eval", str(hopper_run), "--episodes", "1", "--video", str(tmp_path / "v")])
    assert_one_line_error(result, "pip install 'rlasinference[video]'")


@pytest.mark.skipif(ctypes.util.find_library("OSMesa") is not None, reason="OSMesa is installed here")
def test_gl_libraries_that_are_missing_are_one_line(hopper_run: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"} | {"MUJOCO_GL": "osmesa"}
    cmd = [sys.executable, "-m", "rlasinference.cli.main", "eval", str(hopper_run), "--episodes", "1"]
    done = subprocess.run([*cmd, "--video", str(tmp_path / "v")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "libosmesa6" in done.stderr


def test_eval_threads(hopper_run: Path) -> None:
    import torch

    before = torch.get_num_threads()
    try:
        one = runner.invoke(app, ["eval", str(hopper_run), "--episodes", "1", "--json", "--threads", "1"])
        assert one.exit_code == 0 and torch.get_num_threads() == 1
        bad = runner.invoke(app, ["eval", str(hopper_run), "--episodes", "1", "--threads", "-1"])
        assert_one_line_error(bad, "--threads must be 0 (every core) or more, got -1")
    finally:
        torch.set_num_threads(before)
