"""A preset is a config with a paper's defaults over a shared recipe: the off-policy actor-critic
(``actor_critic.py``) or the on-policy one (``on_policy.py``)."""

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
class Preset:
    """A registered algorithm.

    :param name: the ``--algo`` name.
    :param config_cls: an ``ActorCriticConfig`` (off-policy) or ``OnPolicyConfig`` subclass with
        the paper's defaults.
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
    config_cls: type[ActorCriticConfig] | type[OnPolicyConfig]
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
    def on_policy(self) -> bool:
        """Trained from rollouts (``OnPolicyTrainer``), not from replay."""
        return issubclass(self.config_cls, OnPolicyConfig)

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
        if isinstance(config, OnPolicyConfig):
            return OnPolicyAgent(config, sampler_options, critic_options, obs_dim, action_dim)
        return ActorCritic(config, sampler_options, critic_options, obs_dim, action_dim)

    def parts(self) -> tuple[str, str, str, str]:
        """Default (sampler, policy objective, value estimator, critic), for listings."""
        c = self.config_cls()
        if isinstance(c, OnPolicyConfig):
            return c.sampler, "clipped surrogate", "GAE(lambda)", "state value V(s)"
        return c.sampler, c.objective, c.value_estimator, c.critic

    def accepts(self, sampler_cls: type[Sampler]) -> bool:
        """Whether the preset can be built with this sampler class (``--sampler``)."""
        config = dataclasses.replace(self.config_cls(), sampler=getattr(sampler_cls, "__name__", "?"))
        try:
            if isinstance(config, OnPolicyConfig):
                check_on_policy_parts(config, sampler_cls)
            else:
                check_parts(config, sampler_cls)
        except UserError:
            return False
        return True
