"""PPO (Schulman et al. 2017, "Proximal Policy Optimization Algorithms"), continuous control.

Recipe: the on-policy actor-critic (``on_policy.py``) with a Gaussian of a state-independent
log-std, 64x64 tanh networks with orthogonal initialisation, and the MuJoCo settings of the
reference implementations (CleanRL's ``ppo_continuous_action.py``, openai/baselines ppo2):
2048 steps per rollout, 10 epochs of 32 minibatches, clip 0.2, GAE lambda 0.95, gamma 0.99,
Adam 3e-4 (eps 1e-5) annealed to 0, value clipping, gradient norm 0.5, observations and
rewards normalised by running statistics (clipped at 10), entropy weight 0. Two deviations,
both on docs/algorithms/ppo.md: the Gaussian is tanh-squashed (this project's action box is
(-1, 1); the references clip an unbounded Gaussian at the env), and a time-limit truncation
bootstraps with gamma V(final obs), as Stable-Baselines3 does (CleanRL treats it as an end).
With ``--set temperature=T`` (or ``learn_temperature=true``) it is MaxEnt PPO.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlasinference.algorithms.base import by_env_prefix
from rlasinference.algorithms.on_policy import OnPolicyConfig
from rlasinference.algorithms.preset import Preset

#: the PPO references' policy network, as options of the ``gaussian`` sampler
REFERENCE_GAUSSIAN: dict[str, Any] = {
    "hidden": [64, 64],
    "activation": "tanh",
    "state_std": False,
    "log_std_init": 0.0,
    "orthogonal_init": True,
}


def pendulum_defaults(env_id: str) -> dict[str, Any]:
    """On Pendulum, rl-baselines3-zoo's PPO settings (4 envs of 1024 steps, gamma 0.9, Adam 1e-3;
    the zoo also uses gSDE exploration, which we do not): at the MuJoCo settings PPO needs far
    more than 200k steps there."""
    settings = {"num_envs": 4, "num_steps": 1024, "minibatches": 64, "gamma": 0.9, "lr": 1e-3}
    return settings if by_env_prefix(env_id, {"Pendulum": True}) else {}


@dataclass
class PPOConfig(OnPolicyConfig):
    """PPO uses the on-policy defaults unchanged."""


PPO = Preset(
    name="ppo",
    config_cls=PPOConfig,
    summary="PPO: clipped surrogate on rollouts; any sampler with an action or path density",
    temperature="fixed, 0 (plain PPO); MaxEnt PPO: fixed or learned, bonus or soft reward",
    sampler_options=REFERENCE_GAUSSIAN,
    env_defaults=pendulum_defaults,
)
