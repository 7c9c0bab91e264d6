"""WPO's velocity g = grad_x (Q - tau log pi), two ways, side by side in one process: the earlier
form (its own backward pass through the policy, kept below as the reference) against
``objectives/wasserstein.py``'s (g = grad_x Q - tau score, reusing the score that the update
differentiates anyway; on the chain's paths, grad(Q + tau log_back) - tau score). Whole updates
of DiffWPO and WPO at Hopper's sizes; blocks alternate between the forms; one torch thread,
median ms per update. It also checks that the forms agree: one update from the same state and
draws, the largest difference of the policy's gradients relative to each gradient's scale.

    python benchmarks/wpo_velocity.py
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

import torch
from machine import describe, load
from side_by_side import alternate, built
from torch import Tensor

from rlasinference.objectives import wasserstein

CURRENT = (wasserstein._wpo_on_paths, wasserstein._projected_flow)


def earlier_on_paths(context: Tensor, sampler: Any, critic: Any, tau: Tensor, path: Tensor) -> dict[str, Tensor]:
    """The form before 2026-12-07: the velocity by its own backward pass through the chain."""
    batch, dim = path.shape[0], path.shape[-1]
    flat = path.reshape(batch, -1).detach().requires_grad_(True)
    log_joint, log_back = sampler.path_log_prob(context, flat)
    bound = log_joint - log_back
    q = critic(context, torch.tanh(flat[:, -dim:])).min(dim=0).values
    out = earlier_flow(flat, q, tau, bound, log_joint)
    out["loss_policy"] = out["loss_policy"] - tau * log_back.mean()
    return out


def earlier_flow(x: Tensor, q: Tensor, tau: Tensor, log_pi: Tensor, score_of: Tensor | None = None) -> dict:
    """The velocity's own backward pass; the score of ``score_of`` (the chain's joint density) or of log_pi."""
    (velocity,) = torch.autograd.grad((q - tau * log_pi).sum(), x, retain_graph=True)
    (score,) = torch.autograd.grad((log_pi if score_of is None else score_of).sum(), x, create_graph=True)
    loss = -(score * velocity.detach()).sum(dim=-1).mean()
    return {"loss_policy": loss, "log_density": log_pi.detach(), "flow_norm": velocity.norm(dim=-1).mean()}


def use(form: str) -> None:
    wasserstein._wpo_on_paths, wasserstein._projected_flow = (  # type: ignore[assignment]
        CURRENT if form == "current" else (earlier_on_paths, earlier_flow)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--updates", type=int, default=5, help="updates per block")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {describe()}; load average before: {load()}")
    agents = {algo: built(algo) for algo in ("diffwpo", "wpo")}
    for algo, (agent, batch) in agents.items():  # the two forms from one state and one seed
        params = []
        for form in ("earlier", "current"):
            use(form)
            twin = copy.deepcopy(agent)
            torch.manual_seed(1)
            twin.update(batch)
            params.append([p.grad.clone() for p in twin.sampler.parameters() if p.grad is not None])
        gap = max(((a - b).abs().max() / a.abs().max().clamp_min(1e-12)).item() for a, b in zip(*params))
        print(f"  {algo}: the forms' policy gradients differ by {gap:.1e} of their scale")
    ms = alternate(
        {form: lambda form=form: use(form) for form in ("earlier", "current")}, agents, args.blocks, args.updates
    )
    use("current")
    for algo in agents:
        before, after = ms[algo, "earlier"], ms[algo, "current"]
        print(f"  {algo:<8} earlier {before:7.2f} ms  current {after:7.2f} ms  {before / after:5.2f}x")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
