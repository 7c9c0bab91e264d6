"""Temperature tau of the Boltzmann target exp(Q/tau): fixed, or learned by dual descent."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class Temperature(nn.Module):
    """Holds ``log tau``; a parameter when learned, a buffer when fixed.

    :param init: initial tau (reference SAC: 1.0).
    :param learned: learn tau towards a target entropy (Haarnoja et al. 2018b, section 5).
    """

    def __init__(self, init: float, learned: bool) -> None:
        super().__init__()
        if init <= 0:
            raise ValueError(f"temperature must be positive, got {init}")
        log_tau = torch.tensor(math.log(init))
        self.learned = learned
        if learned:
            self.log_tau = nn.Parameter(log_tau)
        else:
            self.register_buffer("log_tau", log_tau)

    def forward(self) -> Tensor:
        """tau as a detached scalar tensor (the losses of the sampler and critic treat it as fixed)."""
        return self.log_tau.detach().exp()


def temperature_loss(log_tau: Tensor, log_density: Tensor, target_entropy: float) -> Tensor:
    """Dual loss ``-log_tau * stopgrad(E[log pi] + H_bar)``.

    We multiply by ``log tau`` (as Stable-Baselines3 does), not by ``tau`` (CleanRL): both have
    the same sign of gradient, so tau rises when the entropy ``-E[log pi]`` is below ``H_bar``
    and falls when it is above. ``log_density`` is exact or the sampler's bound.
    """
    return -log_tau * (log_density.mean() + target_entropy).detach()


def trajectory_temperature_loss(log_tau: Tensor, entropy_to_go: Tensor, target_entropy: float, gamma: float) -> Tensor:
    """TECRL's trajectory rule: ``-log_tau * stopgrad(H_bar - (1 - gamma) E[V_e(s')])``.

    ``V_e(s')`` ``[B]`` is the discounted entropy the policy collects from s' on (the entropy
    critic's), and ``(1 - gamma) V_e`` its discounted average per step, which equals the policy's
    entropy where that entropy is the same at every step: tau rises while the trajectory's
    average entropy is below ``H_bar`` and falls while it is above, so one ``target_entropy``
    serves both rules. Unlike the one-step rule it counts the entropy of the states to come, and
    a trajectory that ends early (a termination) collects less of it.
    """
    return -log_tau * (target_entropy - (1.0 - gamma) * entropy_to_go.mean()).detach()
