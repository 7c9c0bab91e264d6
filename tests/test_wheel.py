"""The package as it would be published: ``python -m build`` gives a wheel and an sdist, each
installs into a fresh venv (torch first, as the README says) and runs ``rlai train``, ``rlai
eval`` and ``rlai compare`` there, with no extra. About two minutes: pip fetches the
dependencies into a new environment."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"  # the README's first command
# what a build does not need, and what other tests (another xdist worker) may write meanwhile
IGNORED = (".venv", "runs", "site", "*.egg-info", ".*cache*", "__pycache__", "*.pyc", ".git", "results")


def _run(cmd: list[str], cwd: Path, timeout: float = 900) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_wheel_and_sdist_install_into_a_fresh_venv_and_train(tmp_path: Path) -> None:
    pytest.importorskip("build")
    source = tmp_path / "source"  # a copy: the build writes its egg-info beside the sources
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*IGNORED))
    _run([sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(source)], tmp_path)
    (wheel,) = (tmp_path / "dist").glob("rlasinference-*.whl")
    (sdist,) = (tmp_path / "dist").glob("rlasinference-*.tar.gz")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    pip, rlai = str(venv / "bin" / "pip"), str(venv / "bin" / "rlai")
    _run([pip, "install", "-q", TORCH], tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    short = ["--steps", "300", "--eval-every", "300", "--eval-episodes", "1", "--set", "learning_starts=100", "--quiet"]
    for artifact in (wheel, sdist):
        _run([pip, "install", "-q", "--force-reinstall", "--no-deps", str(artifact)], tmp_path)
        _run([pip, "install", "-q", str(artifact)], tmp_path)  # its dependencies
        out = work / artifact.name
        assert "done: 300 steps" in _run([rlai, "train", *short, "--out", str(out)], work)
        _run([rlai, "eval", str(out), "--episodes", "1", "--json"], work)
        assert "wrote curves.png" in _run([rlai, "compare", str(out)], work)
        shown = _run([str(venv / "bin" / "python"), "-c", "import rlasinference; print(rlasinference.__file__)"], work)
        assert str(venv) in shown  # the installed package, not this checkout
    files = subprocess.run(["tar", "tzf", str(sdist)], capture_output=True, text=True, check=True).stdout
    assert "LICENSE" in files and "README.md" in files
