"""Value estimators. Off-policy: what V(s') is in the soft Bellman target, each a registered pure
function ``(next_context, sampler, target_critic, tau) -> V [B]`` (docs/concepts.md). On-policy:
GAE(lambda) advantages and lambda-returns of a rollout (``gae``)."""

from __future__ import annotations

from rlasinference.core.components import Component
from rlasinference.core.registry import Registry
from rlasinference.values.closed_form import closed_form_value
from rlasinference.values.discrete import exact_soft_value, expected_soft_value
from rlasinference.values.gae import gae, lambda_returns
from rlasinference.values.importance import importance_soft_value
from rlasinference.values.sampled import sampled_soft_value

VALUE_ESTIMATORS: Registry[Component] = Registry("value estimator")
VALUE_ESTIMATORS.register(
    "sampled",
    Component(
        "sampled",
        ("exact", "bound"),
        sampled_soft_value,
        "E_{a'~pi}[min_k Qbar_k(s', a') - tau log pi(a'|s')], log pi exact or bound",
        spaces=("box", "discrete"),
    ),
)
VALUE_ESTIMATORS.register(
    "closed-form",
    Component(
        "closed-form",
        ("exact",),
        closed_form_value,
        "tau min_k log Zbar_k(s'): an energy-based flow's normaliser, no sampling (MEow; energy-flow critic only)",
    ),
)
VALUE_ESTIMATORS.register(
    "importance",
    Component(
        "importance",
        ("exact", "bound", "none"),
        importance_soft_value,
        "tau log mean_i exp(min_k Qbar_k(s', a_i)/tau) / q(a_i), a_i uniform on [-1, 1]^A",
    ),
)
VALUE_ESTIMATORS.register(
    "exact",
    Component(
        "exact",
        ("exact", "bound", "none"),
        exact_soft_value,
        "tau log sum_a exp(min_k Qbar_k(s', a)/tau) over the K discrete actions: the target critic's own soft value",
        spaces=("discrete",),
    ),
)
VALUE_ESTIMATORS.register(
    "expected",
    Component(
        "expected",
        ("exact",),
        expected_soft_value,
        "sum_a pi(a|s')[min_k Qbar_k(s', a) - tau log pi(a|s')], exact over the K discrete actions (discrete SAC)",
        spaces=("discrete",),
    ),
)

__all__ = [
    "VALUE_ESTIMATORS", "closed_form_value", "exact_soft_value", "expected_soft_value", "gae",
    "importance_soft_value", "lambda_returns", "sampled_soft_value",
]  # fmt: skip
