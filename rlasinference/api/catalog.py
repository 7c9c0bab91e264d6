"""``components``: the registries as data, what ``rlai list`` prints (and ``rlai list --json``)."""

from __future__ import annotations

from typing import Any


def components() -> dict[str, dict[str, dict[str, Any]]]:
    """Every registered part and which combinations are valid, as plain data (JSON-ready).

    Keys: ``presets`` (name -> its default sampler, objective, value estimator, critic and how tau
    is set), ``samplers`` (name -> action space, density kind, the presets it can be used with,
    the deterministic-action rule), ``objectives`` and ``value_estimators`` (name -> action spaces,
    the sampler densities it accepts, one line on what it does) and ``critics`` (name -> action
    space, the value estimators it works with (None: any), its ``critic.<option>`` defaults, one
    line). A part registered by the user (``rlasinference.samplers.register`` ...) is listed too.
    """
    from rlasinference.algorithms import PRESETS
    from rlasinference.critics import CRITICS, critic_options
    from rlasinference.objectives import OBJECTIVES
    from rlasinference.samplers import SAMPLERS
    from rlasinference.values import VALUE_ESTIMATORS

    presets = {}
    for name, preset in PRESETS:
        sampler, objective, value_estimator, critic = preset.parts()
        presets[name] = {
            "sampler": sampler,
            "objective": objective,
            "value_estimator": value_estimator,
            "critic": critic,
            "temperature": preset.temperature,
        }
    samplers = {
        name: {
            "actions": cls.space,
            "density": cls.density,
            "valid_presets": [n for n, p in PRESETS if p.accepts(cls)],
            "deterministic_action": cls.mode_rule or "best of N under Q",
        }
        for name, cls in SAMPLERS
    }

    def parts(registry: Any) -> dict[str, dict[str, Any]]:
        return {
            name: {"actions": list(c.spaces), "sampler_densities": list(c.accepts), "summary": c.summary}
            for name, c in registry
        }

    critics = {
        name: {
            "actions": critic.space,
            "value_estimators": None if critic.value_estimators is None else list(critic.value_estimators),
            "options": critic_options(critic),
            "summary": critic.summary,
        }
        for name, critic in CRITICS
    }
    return {
        "presets": presets,
        "samplers": samplers,
        "objectives": parts(OBJECTIVES),
        "value_estimators": parts(VALUE_ESTIMATORS),
        "critics": critics,
    }
