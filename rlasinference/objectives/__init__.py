"""Policy objectives: pure functions ``(context, sampler, critic, tau) -> {"loss_policy", ...}``.

Every objective minimises (an estimate or bound of) the reverse KL to exp(Q/tau); ``covering-kl``
adds a forward-KL term with the same minimiser.
"""

from __future__ import annotations

from rlasinference.core.components import Component
from rlasinference.core.registry import Registry
from rlasinference.objectives.clipped_surrogate import clipped_surrogate, clipped_value_loss
from rlasinference.objectives.covering_kl import covering_kl
from rlasinference.objectives.reverse_kl import exact_kl, no_policy_loss, reverse_kl
from rlasinference.objectives.stein import stein
from rlasinference.objectives.temperature import Temperature, temperature_loss, trajectory_temperature_loss
from rlasinference.objectives.wasserstein import wpo

OBJECTIVES: Registry[Component] = Registry("policy objective")
OBJECTIVES.register(
    "reverse-kl",
    Component(
        "reverse-kl",
        ("exact", "bound"),
        reverse_kl,
        "E_pi[tau log pi - Q], Q the min (or mean) over the critic's members, log pi exact or a path bound",
        log_density=True,
    ),
)
OBJECTIVES.register(
    "covering-kl",
    Component(
        "covering-kl",
        ("exact", "bound"),
        covering_kl,
        "reverse KL plus a self-normalised forward KL on the sampler's own draws: keeps mass on every mode",
        options=("cover_samples", "cover_weight", "cover_uniform"),
        metrics=("forward_ess",),
        log_density=True,
    ),
)
OBJECTIVES.register(
    "exact-kl",
    Component(
        "exact-kl",
        ("exact",),
        exact_kl,
        "sum_a pi(a|s)[tau log pi(a|s) - Q(s, a)] over the K discrete actions, exact (discrete SAC)",
        log_density=True,
        spaces=("discrete",),
    ),
)
OBJECTIVES.register(
    "wpo",
    Component(
        "wpo",
        ("exact", "bound"),
        wpo,
        "Wasserstein policy optimisation: scores of unreparameterised samples times grad (Q - tau log pi); "
        "a diffusion chain's on its paths (DiffWPO)",
        metrics=("flow_norm",),
        log_density=True,
        bound_needs_path=True,
    ),
)
OBJECTIVES.register(
    "none",
    Component(
        "none",
        ("exact", "bound", "none"),
        no_policy_loss,
        "no policy loss: the critic is the sampler and its Bellman loss trains it (MEow, soft DQN)",
        trains_sampler=False,
        spaces=("box", "discrete"),
    ),
)
OBJECTIVES.register(
    "stein",
    Component(
        "stein",
        ("exact", "bound", "none"),
        stein,
        "amortized SVGD: move particles along the Stein direction of exp(Q/tau) (pre-tanh space)",
        options=("stein_particles", "stein_fixed", "stein_cover", "cover_samples"),
        metrics=("stein_norm",),
    ),
)

__all__ = [
    "OBJECTIVES", "Temperature", "clipped_surrogate", "clipped_value_loss", "covering_kl", "exact_kl", "no_policy_loss",
    "reverse_kl", "stein", "temperature_loss", "trajectory_temperature_loss", "wpo",
]  # fmt: skip
