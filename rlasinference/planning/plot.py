"""A solved grid world drawn: V* per cell with the most probable action and its probability,
and the entropy of pi*(.|s), how far from deterministic the soft-optimal policy is there; and the
episodes ``rlai plan --episodes`` played."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rlasinference.core.files import save_figure
from rlasinference.planning.soft_iteration import SoftSolution


def plot_grid(solution: SoftSolution, shape: tuple[int, int], path: Path, title: str) -> Path:
    rows, cols = shape
    v = solution.v.reshape(rows, cols)
    p = solution.policy
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1).reshape(rows, cols)
    fig, axes = plt.subplots(1, 2, figsize=(2 * (1.1 * cols + 1.5), 1.1 * rows + 1.2), dpi=110)
    for ax, values, name, cmap in ((axes[0], v, "V*(s)", "viridis"), (axes[1], entropy, "entropy of π*(·|s)", "magma")):
        image = ax.imshow(values, cmap=cmap)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ax.set_title(name)
        ax.set_xticks(range(cols))
        ax.set_yticks(range(rows))
    best, prob = p.argmax(axis=1).reshape(rows, cols), p.max(axis=1).reshape(rows, cols)
    for r in range(rows):
        for c in range(cols):
            axes[0].text(
                c,
                r,
                f"{v[r, c]:.2f}\na{best[r, c]} {prob[r, c]:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white",
            )
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_episodes(returns: list[float], lengths: list[int], path: Path, title: str) -> Path:
    """Each planned episode's return (bars, with the mean as a line) and length."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 4.8), sharex=True)
    index = np.arange(len(returns))
    top.bar(index, returns, color="C0")
    top.axhline(float(np.mean(returns)), color="k", lw=1, ls="--", label=f"mean {np.mean(returns):.4g}")
    top.set_ylabel("return")
    top.legend(frameon=False)
    top.set_title(title)
    bottom.bar(index, lengths, color="0.6")
    bottom.set_ylabel("length")
    bottom.set_xlabel("episode")
    return save_figure(fig, path)
