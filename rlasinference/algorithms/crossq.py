"""CrossQ (Bhatt et al. 2024, "CrossQ: Batch Normalization in Deep RL for Greater Sample
Efficiency and Simplicity").

Recipe: SAC's tanh-Gaussian sampler with batch renormalisation in the actor (training mode for
the policy loss, running statistics when acting and for the critic's next actions), reverse KL
and sampled soft value with the ``crossq`` critic: batch renormalisation in the critic, no
target network, the current and next pairs in one training-mode pass, the actor reading the
critic in evaluation mode. Defaults from the
reference implementations (the paper's code and its SBX / sb3-contrib ports): Adam 1e-3 with
beta1 = 0.5 for actor and critic, 1e-3 for tau, the critic steps first, actor and tau every 3rd
update, critic width 2048, batch renormalisation with rate 0.01 (momentum 0.99) and 100,000
warm-up passes, batch 256, learned tau with target -dim(A).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.preset import Preset


@dataclass
class CrossQConfig(ActorCriticConfig):
    """CrossQ's defaults; every field means what it does for SAC (``ActorCriticConfig``). The
    critic is 2048 wide as in the paper; on a CPU, ``--set 'critic_hidden=[256, 256]'`` is about
    SAC's cost per update (docs/algorithms/crossq.md)."""

    critic: str = "crossq"
    critic_hidden: list[int] = field(default_factory=lambda: [2048, 2048])
    lr_policy: float = 1e-3
    lr_critic: float = 1e-3
    lr_temperature: float = 1e-3
    policy_delay: int = 3
    critic_first: bool = True
    adam_beta1: float = 0.5


CROSSQ = Preset(
    name="crossq",
    config_cls=CrossQConfig,
    summary="CrossQ: SAC with a batch-renormalised critic and no target network",
    temperature="learned, H_bar = -dim(A)",
    # the references' actor (adityab/CrossQ bn_mode 'brn_actor', SBX batch_norm_actor, sb3-contrib)
    sampler_options={"batch_renorm": True},
)
