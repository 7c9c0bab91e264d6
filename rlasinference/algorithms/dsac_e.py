"""DSAC-E (Zhan et al., "Mind Your Entropy: From Maximum Entropy to Trajectory
Entropy-Constrained RL", 2025): DSAC-T with TECRL's two parts.

Recipe: DSAC-T (its ``dsac`` critic and every default, ``dsac_t.py``) with an entropy critic (the
``dsac`` critic learns the reward alone; the actor reads Q_r + tau Q_e, ``critics/entropy.py``)
and the trajectory temperature rule (tau moves the discounted average entropy along the
trajectory, (1 - gamma) V_e, towards H_bar = -dim(A); ``trajectory_temperature_loss``). Both
parts are config fields, so ``--set entropy_critic=true temperature_rule=trajectory`` gives any
other box sampler and critic the same treatment.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlasinference.algorithms.dsac_t import DSAC_T, DSACTConfig
from rlasinference.algorithms.preset import Preset


@dataclass
class DSACEConfig(DSACTConfig):
    """DSAC-T's defaults with the entropy critic and the trajectory rule on."""

    entropy_critic: bool = True
    temperature_rule: str = "trajectory"


DSAC_E = Preset(
    name="dsac-e",
    config_cls=DSACEConfig,
    summary="DSAC-E: DSAC-T with an entropy critic and a trajectory-entropy constraint on tau (TECRL)",
    temperature="learned, trajectory rule: (1 - gamma) V_e -> -dim(A), from e",
    sampler_options=DSAC_T.sampler_options,
)
