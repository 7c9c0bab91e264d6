"""Target density beside the sampler's samples."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import Tensor

from rlasinference.core.files import save_figure
from rlasinference.workbench.metrics import grid
from rlasinference.workbench.targets import Target

SHOWN = 2000  # samples drawn in a scatter


def plot_fit(path: Path, target: Target, tau: float, actions: Tensor, exact: Tensor | None, title: str) -> Path:
    """2-D: target heatmap and sample scatter; 1-D: density and histogram; higher: pairwise
    marginals of the first three dimensions, exact samples beside the sampler's. A categorical
    target: its probabilities p beside the sampler's draws' frequencies (``exact`` is p)."""
    d = target.dim
    if target.space == "discrete" and exact is not None:
        fig, ax = plt.subplots(figsize=(max(5.0, 0.12 * d + 3), 3.5))
        index = list(range(d))
        ax.bar(index, exact.tolist(), width=0.8, color="0.75", label="target softmax(Q/τ)")
        freq = actions.argmax(-1).bincount(minlength=d).double() / len(actions)
        ax.plot(index, freq.tolist(), "o", ms=3 if d > 20 else 6, color="C0", label=f"{len(actions)} draws")
        ax.set_xlabel("action")
        ax.set_ylabel("probability")
        ax.set_title(title)
        ax.legend(frameon=False)
        return save_figure(fig, path)
    acts = actions.numpy()
    shown = min(SHOWN, len(acts))  # a scatter of more hides its own density
    scored = f"{shown} of the {len(acts)} samples scored" if shown < len(acts) else f"the {len(acts)} samples scored"
    ex = None if exact is None else exact.numpy()
    if d == 2:
        points, _ = grid(2)
        g = int(len(points) ** 0.5)
        density = torch.softmax(target.q(points.float()).double() / tau, 0).reshape(g, g).T.numpy()
        fig, axes = plt.subplots(1, 2, figsize=(9, 4.4), dpi=110)
        for ax in axes:
            ax.imshow(density, extent=(-1, 1, -1, 1), origin="lower", cmap="viridis")
            ax.set_xlim(-1, 1)
            ax.set_ylim(-1, 1)
            ax.set_aspect("equal")
        axes[0].set_title(f"target exp(Q/τ), τ = {tau:g}")
        axes[1].scatter(acts[:shown, 0], acts[:shown, 1], s=2, c="white", alpha=0.5)
        axes[1].set_title(f"sampler ({scored})")
    elif d == 1:
        points, _ = grid(1)
        density = (torch.softmax(target.q(points.float()).double() / tau, 0) * len(points) / 2).numpy()
        fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
        ax.plot(points[:, 0].numpy(), density, label="target")
        ax.hist(acts[:, 0], bins=80, range=(-1, 1), density=True, alpha=0.5, label=f"sampler ({len(acts)} samples)")
        ax.legend()
        axes = [ax]
    else:
        pairs = list(itertools.combinations(range(min(d, 3)), 2))
        fig, axes = plt.subplots(1, len(pairs), figsize=(4 * len(pairs), 4), dpi=110)
        for ax, (i, j) in zip(axes, pairs):
            if ex is not None:
                ax.scatter(ex[:shown, i], ex[:shown, j], s=2, c="tab:gray", alpha=0.4, label="exact")
            ax.scatter(acts[:shown, i], acts[:shown, j], s=2, c="tab:blue", alpha=0.4, label=f"sampler ({scored})")
            ax.set_xlim(-1, 1)
            ax.set_ylim(-1, 1)
            ax.set_xlabel(f"a{i}")
            ax.set_ylabel(f"a{j}")
            ax.set_aspect("equal")
        axes[0].legend(markerscale=4, fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)
