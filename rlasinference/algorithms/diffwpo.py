"""DiffWPO (Sanokowski, Patil, Knoll 2025, "A Diffusion Model Framework for Maximum Entropy RL"):
WPO with the diffusion chain.

Recipe: DiffSAC's parts and defaults (the chain, the twin critic, the sampled soft value with the
path bound as log pi, learned tau) with the ``wpo`` objective, which moves the chain on its paths:
each path's score under the chain's exact joint density, along the gradient of Q - tau * bound
(``objectives/wasserstein.py``). One change to the chain: its step sizes stay at their cosine
schedule. WPO's score projection is exact for each step's Gaussian in its mean, but a step size is
shared by every step and by the noising kernel B, and there the projected direction opposes the
bound's gradient (measured on Pendulum: cosine -1 with the reparameterised gradient; learned, the
step sizes shrank 100-fold in every seed and the chain stopped moving its samples). What is from the
paper and what is not: docs/algorithms/diffwpo.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlasinference.algorithms.diffsac import DIFFSAC, DiffSACConfig
from rlasinference.algorithms.preset import Preset


@dataclass
class DiffWPOConfig(DiffSACConfig):
    """DiffSAC's defaults with the ``wpo`` objective."""

    objective: str = "wpo"


DIFFWPO = Preset(
    name="diffwpo",
    config_cls=DiffWPOConfig,
    summary="DiffWPO: the diffusion chain moved by WPO on its paths, scores of the chain's joint density",
    temperature="learned, H_bar = -dim(A) on the bound's entropy",
    sampler_options={**DIFFSAC.sampler_options, "learn_dt": False},
)
