"""The learning-curve PNG of a run directory."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from rlasinference.core.files import save_figure
from rlasinference.training.metrics import read_metrics

PLOT = "learning_curve.png"


def plot_learning_curve(run_dir: Path, title: str, warmup_steps: int = 0) -> Path:
    """Evaluation return (mean +- std over episodes) and training episode returns vs env steps;
    the uniform-random warm-up (``warmup_steps``) is shaded."""
    rows = read_metrics(run_dir / "metrics.csv")
    train = [(float(r["step"]), float(r["episode_return"])) for r in rows if r.get("episode_return")]
    evals = [
        (float(r["step"]), float(r["eval_return"]), float(r["eval_return_std"] or 0.0))
        for r in rows
        if r.get("eval_return")
    ]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    if warmup_steps > 0:
        ax.axvspan(0, warmup_steps, color="tab:orange", alpha=0.08, lw=0, label="uniform-random warm-up")
    if train:
        ax.plot(*zip(*train), color="tab:gray", alpha=0.6, lw=1, label="training episodes (window mean)")
    if evals:
        steps, means, stds = zip(*evals)
        lo = [m - s for m, s in zip(means, stds)]
        hi = [m + s for m, s in zip(means, stds)]
        ax.fill_between(steps, lo, hi, color="tab:blue", alpha=0.2, lw=0)
        ax.plot(steps, means, "o-", color="tab:blue", label="deterministic evaluation (mean ± std)")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if train or evals or warmup_steps > 0:  # (a run stopped before its first episode has nothing yet)
        ax.legend(loc="lower right", fontsize=8)
    return save_figure(fig, run_dir / PLOT)
