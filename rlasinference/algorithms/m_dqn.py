"""Munchausen DQN (Vieillard, Pietquin and Geist 2020, "Munchausen Reinforcement Learning"):
soft DQN whose reward gains alpha times the clipped scaled log-policy of the action taken,
alpha * clip(tau log pi_bar(a|s), l0, 0) with pi_bar = softmax(Qbar(s, .)/tau) of the target copy,
which makes the soft backup a KL-regularised one (KL weight alpha tau, entropy (1 - alpha) tau).

Recipe: ``soft-dqn``'s parts, with the ``softmax-q`` critic's ``munchausen`` option (alpha 0.9,
l0 = -1, tau 0.03: the paper's and its reference code's, google-research ``munchausen_rl``) and
its Huber loss (``huber_delta`` 1, Dopamine's DQN). On Atari and classic control the schedule is
that code's (below); on MinAtar and elsewhere soft DQN's (the MinAtar paper's DQN; CleanRL's
``dqn.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlasinference.algorithms.base import by_env_prefix
from rlasinference.algorithms.preset import Preset
from rlasinference.algorithms.soft_dqn import SoftDQNConfig, is_atari
from rlasinference.algorithms.soft_dqn import env_defaults as soft_dqn_defaults


@dataclass
class MDQNConfig(SoftDQNConfig):
    """Soft DQN's fields at Munchausen's temperature."""

    temperature: float = 0.03


#: Atari: the reference code's (its atari.gin over Dopamine's DQN agent); target copies in updates
ATARI: dict[str, Any] = {
    "lr_policy": 5e-5, "adam_eps": 3.125e-4, "batch_size": 32, "buffer_size": 1_000_000, "learning_starts": 20_000,
    "update_every": 4, "target_update_every": 2000, "sampler.hidden": [512],
}  # fmt: skip
#: CartPole and Acrobot: the reference code's cartpole.gin (it has no Acrobot file; Dopamine's
#: gym network serves both): Adam 1e-3, 512x512, batch 128, a buffer of 50,000, 500 steps before
#: learning, an update every 4 env steps, a target copy every 100 env steps = 25 updates
CLASSIC_CONTROL: dict[str, Any] = {
    "lr_policy": 1e-3, "adam_eps": 3.125e-4, "batch_size": 128, "buffer_size": 50_000, "learning_starts": 500,
    "update_every": 4, "target_update_every": 25, "sampler.hidden": [512, 512],
}  # fmt: skip


def env_defaults(env_id: str) -> dict[str, Any]:
    if is_atari(env_id):
        return dict(ATARI)
    classic = by_env_prefix(env_id, {"CartPole": CLASSIC_CONTROL, "Acrobot": CLASSIC_CONTROL})
    return dict(classic) if classic else soft_dqn_defaults(env_id)  # MinAtar: its paper's DQN; else CleanRL's


M_DQN = Preset(
    name="m-dqn",
    config_cls=MDQNConfig,
    summary="Munchausen DQN: soft DQN with alpha * clipped tau log pi(a|s) added to the reward",
    temperature="fixed",
    sampler_options={"hidden": [120, 84]},
    critic_options={"munchausen": 0.9, "munchausen_clip": -1.0, "huber_delta": 1.0},
    env_defaults=env_defaults,
)
