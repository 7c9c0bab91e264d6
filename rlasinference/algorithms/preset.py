"""A preset is a config with a paper's defaults over a shared recipe: the off-policy actor-critic
(``actor_critic.py``) or the on-policy one (``on_policy.py``). A ``Recipe`` says what a family of
presets shares (its config class, its agent, how it checks its parts, how the trainer collects
its data), so that nothing else asks which family a preset belongs to."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rlasinference.algorithms.actor_critic import ActorCritic, ActorCriticConfig, check_parts
from rlasinference.algorithms.base import Agent
from rlasinference.algorithms.on_policy import OnPolicyAgent, OnPolicyConfig, check_on_policy_parts
from rlasinference.core.errors import UserError
from rlasinference.critics import critic_options, get_critic_class
from rlasinference.samplers import Sampler, get_sampler_class, sampler_options


@dataclass(frozen=True)
class Recipe:
    """What the presets over one shared recipe have in common.

    :param name: in words, for listings.
    :param config_cls: the base config class of its presets.
    :param agent_cls: built as ``agent_cls(config, sampler_options, critic_options, obs_dim, action_dim)``.
    :param check_parts: ``(config, sampler_cls)``: one ``UserError`` when the parts do not go together.
    :param parts: ``config -> (sampler, policy objective, value estimator, critic)``, for listings.
    :param collector: how the trainer gathers its data: ``replay`` (a replay buffer, an update
        per env step) or ``rollout`` (rollouts of ``num_steps`` steps, then epochs over them).
    """

    name: str
    config_cls: type
    agent_cls: type[Agent]
    check_parts: Callable[[Any, type[Sampler]], None]
    parts: Callable[[Any], tuple[str, str, str, str]]
    collector: str


OFF_POLICY = Recipe(
    "off-policy actor-critic",
    ActorCriticConfig,
    ActorCritic,
    check_parts,
    lambda c: (c.sampler, c.objective, c.value_estimator, c.critic),
    "replay",
)
ON_POLICY = Recipe(
    "on-policy actor-critic",
    OnPolicyConfig,
    OnPolicyAgent,
    check_on_policy_parts,
    lambda c: (c.sampler, "clipped surrogate", "GAE(lambda)", "state value V(s)"),
    "rollout",
)
RECIPES = (OFF_POLICY, ON_POLICY)


@dataclass(frozen=True)
class Preset:
    """A registered algorithm.

    :param name: the ``--algo`` name.
    :param config_cls: a subclass of a recipe's config class (``ActorCriticConfig``,
        ``OnPolicyConfig``) with the paper's defaults.
    :param summary: one line for ``rlai list`` and the docs.
    :param temperature: how tau is set, in words.
    :param sampler_options: the paper's ``sampler.<option>`` values, used while the config keeps
        the preset's own sampler (another sampler starts from its own defaults). A preset pins
        here every option its results depend on, so a sampler's general-purpose defaults
        (chosen on the workbench's target suite) can move without moving the preset.
    :param critic_options: the paper's ``critic.<option>`` values, used while the config keeps
        the preset's own critic (another critic starts from its own defaults).
    :param env_defaults: ``env_id -> {key: value}``, config values that depend on the env (the
        user's settings override them).
    """

    name: str
    config_cls: type[Any]
    summary: str
    temperature: str
    sampler_options: Mapping[str, Any] = field(default_factory=dict)
    critic_options: Mapping[str, Any] = field(default_factory=dict)
    env_defaults: Callable[[str], dict[str, Any]] | None = None

    def default_sampler_options(self, sampler: str) -> dict[str, Any]:
        """The options of ``sampler`` before the user's ``sampler.<option>`` settings."""
        options = sampler_options(get_sampler_class(sampler))
        if sampler == self.config_cls().sampler:
            options.update(self.sampler_options)
        return options

    @property
    def recipe(self) -> Recipe:
        """The shared recipe this preset's config is a config of."""
        for recipe in RECIPES:
            if issubclass(self.config_cls, recipe.config_cls):
                return recipe
        raise UserError(f"preset {self.name!r}: its config is not a config of any recipe")

    @property
    def on_policy(self) -> bool:
        """Trained from rollouts, not from replay."""
        return self.recipe.collector == "rollout"

    def default_critic_options(self, critic: str | None) -> dict[str, Any]:
        """The options of ``critic`` before the user's ``critic.<option>`` settings (none for an
        on-policy preset, whose value function is not a registered critic)."""
        if critic is None:
            return {}
        options = critic_options(get_critic_class(critic))
        if critic == getattr(self.config_cls(), "critic", None):
            options.update(self.critic_options)
        return options

    def build(
        self,
        config: Any,
        sampler_options: dict[str, Any],
        obs_dim: int,
        action_dim: int,
        critic_options: dict[str, Any] | None = None,
    ) -> Agent:
        """The agent; ``critic_options`` default to ``default_critic_options(config.critic)``."""
        if critic_options is None:
            critic_options = self.default_critic_options(getattr(config, "critic", None))
        return self.recipe.agent_cls(config, sampler_options, critic_options, obs_dim, action_dim)

    def parts(self) -> tuple[str, str, str, str]:
        """Default (sampler, policy objective, value estimator, critic), for listings."""
        return self.recipe.parts(self.config_cls())

    def accepts(self, sampler_cls: type[Sampler]) -> bool:
        """Whether the preset can be built with this sampler class (``--sampler``)."""
        config = dataclasses.replace(self.config_cls(), sampler=getattr(sampler_cls, "__name__", "?"))
        try:
            self.recipe.check_parts(config, sampler_cls)
        except UserError:
            return False
        return True
