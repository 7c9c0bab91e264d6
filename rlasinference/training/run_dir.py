"""Run directories: config, command line, versions, metrics, TensorBoard, checkpoints, plot.

Layout::

    RUN_DIR/config.yaml        resolved config (flat keys, accepted by --config)
    RUN_DIR/command.txt        the command lines that created and resumed the run
    RUN_DIR/versions.yaml      python, torch, gymnasium, mujoco, numpy, rlasinference; the CPU
                               (model, cores, torch's instruction set) and GPU
    RUN_DIR/metrics.csv        training and evaluation rows (``step``, ``eval_return``, ...)
    RUN_DIR/tb/                TensorBoard event files (``log=tensorboard``, the default)
    RUN_DIR/wandb/, wandb-id   Weights & Biases files and run id (``log=wandb``)
    RUN_DIR/checkpoints/       last.pt (with replay buffer), best.pt (weights only)
    RUN_DIR/learning_curve.png written when the run ends
    RUN_DIR/.rlai-run          the marker: this directory was made for a run by this project

A directory is ours to write into, and to start over in, only when it carries the marker (made
with ``O_CREAT | O_EXCL`` before anything else is written), is empty, or does not exist: a
folder of the user's own files is refused with one line, never overwritten.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from rlasinference.core.errors import UserError
from rlasinference.core.settings import load_yaml_config
from rlasinference.training.config import Config, resolve
from rlasinference.training.lock import LOCK

CONFIG = "config.yaml"
MARKER = ".rlai-run"


def default_run_dir(config: Config, root: Path = Path("runs")) -> Path:
    env = re.sub(r"[^A-Za-z0-9_.-]+", "_", config.run.env)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return root / f"{config.run.algo}-{config.algo.sampler.replace(':', '_')}-{env}-s{config.run.seed}-{stamp}"


def is_ours(path: Path) -> bool:
    """Whether ``path`` carries the marker this project writes into its run directories."""
    return (path / MARKER).is_file() and not (path / MARKER).is_symlink()


def claim_run_dir(path: Path) -> tuple[bool, bool]:
    """Make ``path`` ours for a new run: create it, or take it when it is empty or already
    marked; a one-line ``UserError`` for anything else (a file, a folder of other files).
    Returns ``(created, marked)``: whether this call created the directory, and the marker."""
    if str(path) == "":
        raise UserError("--out must name a directory, got an empty path")
    created = not path.exists() and not path.is_symlink()
    make_dir(path)
    if is_ours(path):
        return created, False
    try:
        empty = not any(path.iterdir())
    except OSError as exc:
        raise UserError(f"cannot read run directory {str(path)!r}: {exc.strerror}") from None
    if not empty:
        raise UserError(
            f"{str(path)!r} is not empty and holds no run of this project (no {MARKER}): "
            "choose a new or empty directory for --out"
        )
    try:
        os.close(os.open(path / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
    except FileExistsError:  # another process claimed it first: its marker serves both
        pass
    except OSError as exc:
        raise UserError(f"cannot write to run directory {str(path)!r}: {exc.strerror}") from None
    return created, True


def make_dir(path: Path, what: str = "run directory") -> None:
    """``mkdir -p path``, or a one-line ``UserError`` (a file in the way, no permission, ...)."""
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {str(path)!r} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {what} {str(path)!r}: {exc.strerror}") from None


def create_run_dir(path: Path, config: Config, command: str | None = None, replace: bool = False) -> Path:
    """Make ``path`` for a new run; refuse one that already holds a run (it would be lost), unless
    ``replace`` (the caller has checked that the run there never reached a checkpoint)."""
    if (path / CONFIG).exists() and not replace:
        raise UserError(f"{str(path)!r} already holds a run; use `rlai resume {path}` or choose another --out")
    claim_run_dir(path)
    write_config(path, config)
    write_versions(path, threads=config.run.threads)
    record_command(path, command)
    return path


def discard_run_dir(path: Path, created: bool, marked: bool) -> None:
    """Undo ``create_run_dir`` for a run that failed before its first step: remove the
    directory if this run created it, else only the files a run writes there (the directory is
    ours: marked, or empty before) and the marker if this run wrote it."""
    if created:
        shutil.rmtree(path, ignore_errors=True)
        return
    for name in (CONFIG, "versions.yaml", "command.txt", LOCK, *((MARKER,) if marked else ())):
        (path / name).unlink(missing_ok=True)


def os_error_line(exc: OSError, where: Path) -> str:
    """One line for a filesystem error: the path, the OS's reason."""
    path = exc.filename if exc.filename is not None else where
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"file system error on {str(path)!r}: {reason}"


def write_config(path: Path, config: Config) -> None:
    (path / CONFIG).write_text(yaml.safe_dump(config.flat(), sort_keys=False))


def record_command(path: Path, command: str | None = None) -> None:
    """Append ``command`` (default: this process's command line) to command.txt."""
    if command is None:
        command = " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *sys.argv[1:]])
    with open(path / "command.txt", "a") as f:
        f.write(command + "\n")


#: keys that every run's config.yaml holds, whatever version of the project wrote it
RUN_IDENTITY = ("algo", "env", "seed", "steps")


def read_config(path: Path, overrides: dict[str, Any] | None = None) -> Config:
    """The config of an existing run directory, with ``overrides`` (``rlai resume --steps``)
    checked as every config key is; a one-line ``UserError`` otherwise."""
    if path.is_file():
        raise UserError(f"{str(path)!r} is a file; give its run directory, {str(path.parent)!r}")
    if not path.is_dir():
        raise UserError(f"run directory {str(path)!r} does not exist")
    file = path / CONFIG
    if not file.is_file():
        raise UserError(f"{str(path)!r} is not a run directory (no {CONFIG})")
    data = load_yaml_config(file, "the run's config")
    missing = [key for key in RUN_IDENTITY if key not in data]
    if missing and not is_ours(path):  # someone else's config.yaml (a --config file, say)
        raise UserError(
            f"{str(path)!r} is not a run directory of this project: no {MARKER}, and its {CONFIG} names no "
            f"{', '.join(missing)}"
        )
    if missing:  # an emptied or truncated file: the preset's defaults are not the run's settings
        raise UserError(f"the run's config {str(file)!r} is damaged: it has no {missing[0]} (a run writes every key)")
    try:
        config = resolve(data)
    except UserError as exc:
        raise UserError(f"the run's config {str(file)!r}: {exc}") from None
    return resolve({**data, **overrides}) if overrides else config


def write_versions(path: Path, extra: tuple[str, ...] = (), threads: int = 0) -> None:
    """``path/versions.yaml``: ``versions(extra, threads)``."""
    (path / "versions.yaml").write_text(yaml.safe_dump(versions(extra, threads), sort_keys=False))


def versions(extra: tuple[str, ...] = (), threads: int = 0) -> dict[str, Any]:
    """What a run's returns depend on besides its config: the packages (and ``extra`` ones, e.g. a
    peer's library), the thread count (``threads``, the run's setting, which it applies after this
    is written; 0: the process's count), the CPU and its instruction set, the GPU."""
    out: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("rlasinference", "torch", "gymnasium", "mujoco", "numpy", *extra):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = None
    out["rlasinference_commit"] = _source_commit()
    out["torch_threads"] = threads or torch.get_num_threads()
    out["cuda"] = torch.version.cuda if torch.cuda.is_available() else None
    # a run is reproducible on one machine, not across instruction sets: the same seed gives
    # other returns on a CPU with AVX-512 than on one with AVX2 only, so the machine is recorded
    out["cpu"] = _cpu_model()
    out["cpu_count"] = os.cpu_count()
    out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    out["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return out


def _source_commit() -> str | None:
    """The git commit of this package's source when it runs from a checkout (``+`` when files
    tracked there differ from it), else None (an installed wheel): the version number alone does
    not say which code made a run."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        git = ["git", "-C", str(root)]
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True)
        status = [*git, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"]
        changed = subprocess.run(status, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return commit.stdout.strip() + ("+" if changed.stdout.strip() else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
