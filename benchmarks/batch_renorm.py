"""Batch renormalisation's two written forms, side by side in one process: the earlier one
(Welford variance, division by the feature's deviation; kept below as the reference) against
``core/nets.py``'s (two-pass variance, a per-feature scale), in whole updates at Hopper's sizes
of CrossQ (256-wide critic), CrossQ with the diffusion chain and SAC (no batch renorm: the
control). Blocks alternate between the forms; one torch thread, median ms per update.

    python benchmarks/batch_renorm.py
"""

from __future__ import annotations

import argparse

import torch
from machine import describe, load
from side_by_side import alternate, built

from rlasinference.core.nets import BatchRenorm

CURRENT = BatchRenorm.forward
AGENTS = {  # label: (preset, config, sampler options)
    "crossq, 256 wide": ("crossq", {"critic_hidden": [256, 256]}, {}),
    "crossq + diffusion chain": (
        "crossq",
        {"sampler": "diffusion", "critic_hidden": [256, 256]},
        {"steps": 16, "prior_std": 2.5, "learn_noise": False, "guided": False},
    ),
    "sac (control)": ("sac", {}, {}),
}


def earlier(self: BatchRenorm, x: torch.Tensor, detach_params: bool = False) -> torch.Tensor:
    """The form before 2026-12-07: the same function, other rounding."""
    x = x.float()
    weight, bias = (self.weight.detach(), self.bias.detach()) if detach_params else (self.weight, self.bias)
    if not self.training:
        return (x - self.running_mean) * torch.rsqrt(self.running_var + self.eps) * weight + bias
    dims, keep = ((1,), True) if self.members is not None else (tuple(range(x.dim() - 1)), False)
    mean = x.mean(dim=dims, keepdim=keep)
    var = x.var(dim=dims, unbiased=False, keepdim=keep)
    with torch.no_grad():
        running_std = torch.sqrt(self.running_var + self.eps)
        renorm = self.calls >= self.warmup
        r = torch.where(renorm, (torch.sqrt(var + self.eps) / running_std).clamp(1 / self.r_max, self.r_max), 1.0)
        d = torch.where(renorm, ((mean - self.running_mean) / running_std).clamp(-self.d_max, self.d_max), 0.0)
        self.running_mean.lerp_(mean, self.momentum)
        self.running_var.lerp_(var, self.momentum)
        self.calls += 1
    mean = mean - d * var.clamp_min(1e-12).sqrt() / r
    return (x - mean) / torch.sqrt(var / r.square() + self.eps) * weight + bias


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--updates", type=int, default=8, help="updates per block")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {describe()}; load average before: {load()}")
    agents = {label: built(algo, overrides, options) for label, (algo, overrides, options) in AGENTS.items()}
    forms = {"earlier": earlier, "current": CURRENT}
    ms = alternate(
        {form: lambda f=f: setattr(BatchRenorm, "forward", f) for form, f in forms.items()}, agents, args.blocks,
        args.updates,
    )  # fmt: skip
    BatchRenorm.forward = CURRENT  # type: ignore[method-assign]
    for label in agents:
        before, after = (ms[label, form] for form in forms)
        print(f"  {label:<26} earlier {before:6.2f} ms  current {after:6.2f} ms  {before / after:5.2f}x")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
