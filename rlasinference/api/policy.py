"""``rlasinference.load`` and ``rlasinference.evaluate``: a trained policy in the env's own
units, for scripts and notebooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from rlasinference.api.values import check_env_id
from rlasinference.core.errors import UserError, first_line


class Policy:
    """A run's trained policy. Observations and actions are the env's: an action comes back in
    the env's action space (its bounds and shape), and actions given to ``log_prob`` and ``q``
    are read in those units.

    Every method takes one observation (the env's observation shape) or a batch of them (a
    leading axis), as numpy or torch, and answers numpy for numpy input, torch for torch. With a
    ``Discrete`` action space an action is its index (an integer; the agent's one-hot vector
    inside); a ``Discrete`` observation is its index too.
    """

    def __init__(
        self, agent: Any, config: Any, action_space: Any, observation_space: Any, step: int, channels_last: bool = False
    ) -> None:
        """``observation_space``: as the caller gives observations (an Atari run's: its stacked
        84 x 84 frames); ``channels_last``: its images are H x W x C, the agent reads C x H x W."""
        self.agent, self.config, self.channels_last = agent, config, channels_last
        self.action_space, self.observation_space = action_space, observation_space
        self.step = step  # the env step of the checkpoint
        self.device = next(agent.parameters()).device
        self._choices = int(action_space.n) if isinstance(action_space, gym.spaces.Discrete) else None
        self._states = int(observation_space.n) if isinstance(observation_space, gym.spaces.Discrete) else None
        self._first_state = int(observation_space.start) if self._states is not None else 0
        # Dict, Tuple, MultiBinary, MultiDiscrete: one vector, as the env's FlattenObservation makes it
        self._structured = not isinstance(observation_space, (gym.spaces.Box, gym.spaces.Discrete))
        if self._choices is not None:  # index = start + position of the largest entry; no rescaling
            self._start = int(action_space.start)
            self._centre, self._half = torch.zeros((), device=self.device), torch.ones((), device=self.device)
            return
        low = torch.as_tensor(np.asarray(action_space.low, dtype=np.float32).reshape(-1), device=self.device)
        high = torch.as_tensor(np.asarray(action_space.high, dtype=np.float32).reshape(-1), device=self.device)
        self._centre, self._half = (high + low) / 2, (high - low) / 2
        self._low, self._high = low, high

    def __repr__(self) -> str:
        run = self.config.run
        return f"Policy({run.algo} on {run.env}, step {self.step:,}, {self.device})"

    # -- units ---------------------------------------------------------------------------------
    def _obs(self, obs: Any) -> tuple[Tensor, bool, bool]:
        """``obs`` as a float32 ``[B, S]`` tensor on the policy's device (as the env gives it: not
        normalised), whether it was a single observation, and whether it was numpy."""
        is_numpy = not isinstance(obs, Tensor)
        if self._structured:
            return self._flattened(obs, is_numpy)
        if self._states is not None:  # state indices -> the one-hot vectors the agent reads
            index = torch.as_tensor(np.asarray(obs) if is_numpy else obs, device=self.device).long()
            index = index - self._first_state
            if index.dim() > 1 or bool(((index < 0) | (index >= self._states)).any()):
                first = self._first_state
                got = (
                    f"shape {tuple(np.shape(obs))}"
                    if index.dim() > 1
                    else f"{index.min().item() + first}..{index.max().item() + first}"
                )
                raise UserError(f"observations must be state indices in [{first}, {first + self._states}), got {got}")
            t = torch.nn.functional.one_hot(index.reshape(-1), self._states).float()
            return t, index.dim() == 0, is_numpy
        t = torch.as_tensor(np.asarray(obs) if is_numpy else obs, dtype=torch.float32, device=self.device)
        shape = tuple(self.observation_space.shape)
        single = tuple(t.shape) == shape
        if not single and tuple(t.shape[1:]) != shape:
            raise UserError(f"observations must have shape {shape} or (batch, *{shape}), got {tuple(t.shape)}")
        if self.channels_last:  # the agent reads images channels first (envs/make.py)
            t = t.movedim(-1, -3)
        return t.reshape(1 if single else t.shape[0], -1), single, is_numpy

    def _flattened(self, obs: Any, is_numpy: bool) -> tuple[Tensor, bool, bool]:
        """A Dict (a mapping), Tuple (a tuple), MultiBinary or MultiDiscrete (an array of the
        space's shape) observation, or a batch of them (a list; an array with a leading axis),
        flattened as ``gymnasium.spaces.flatten`` does; torch leaves give torch answers."""
        space = self.observation_space
        if isinstance(space, gym.spaces.Dict):
            single = isinstance(obs, dict)
        elif isinstance(space, gym.spaces.Tuple):
            single = isinstance(obs, tuple)
        else:
            shape, wanted = tuple(np.shape(obs)), tuple(space.shape)
            single = shape == wanted
            if not single and shape[1:] != wanted:
                raise UserError(f"observations must have shape {wanted} or (batch, *{wanted}), got {shape}")
        found_torch: list[bool] = []
        try:
            batch = [obs] if single else list(obs)
            flat = np.stack([_flat_part(space, o, found_torch) for o in batch])
        except (ValueError, TypeError, KeyError, IndexError, AssertionError) as exc:
            raise UserError(
                f"observations must be of the env's space {space} (one, or a list of them): {first_line(exc)}"
            ) from None
        return torch.as_tensor(flat, device=self.device), single, is_numpy and not any(found_torch)

    def _to_env(self, unit: Tensor) -> Tensor:
        """Actions in (-1, 1)^A ``[..., A]`` to the env's units and shape (one-hot: indices)."""
        if self._choices is not None:
            return self._start + unit.argmax(dim=-1)
        return (self._centre + self._half * unit).reshape(*unit.shape[:-1], *self.action_space.shape)

    def _from_env(self, actions: Any, batch: int) -> Tensor:
        if self._choices is not None:  # indices [B, n] -> one-hot [B, n, K]
            index = torch.as_tensor(np.asarray(actions) if not isinstance(actions, Tensor) else actions)
            index = index.to(self.device).long().reshape(batch, -1) - self._start
            if bool(((index < 0) | (index >= self._choices)).any()):
                raise UserError(
                    f"actions must be indices in [{self._start}, {self._start + self._choices}), "
                    f"got {index.min().item() + self._start}..{index.max().item() + self._start}"
                )
            return torch.nn.functional.one_hot(index, self._choices).float()
        return ((self._box(actions, batch) - self._centre) / self._half).clamp(-1.0, 1.0)

    def _box(self, actions: Any, batch: int) -> Tensor:
        """Box actions in the env's units as ``[B, n, A]`` float32."""
        t = torch.as_tensor(np.asarray(actions) if not isinstance(actions, Tensor) else actions, device=self.device)
        return t.to(torch.float32).reshape(batch, -1, int(np.prod(self.action_space.shape)))

    @staticmethod
    def _out(t: Tensor, single: bool, is_numpy: bool) -> Any:
        t = t[0] if single else t
        return t.detach().cpu().numpy() if is_numpy else t.detach()

    # -- the policy ----------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, obs: Any, deterministic: bool = True) -> Any:
        """The action for ``obs`` in the env's units and shape (the sampler's ``mode`` when
        deterministic, else one draw)."""
        o, single, is_numpy = self._obs(obs)
        return self._out(self._to_env(self.agent.act(o, deterministic)), single, is_numpy)

    @torch.no_grad()
    def sample(self, obs: Any, n: int) -> Any:
        """``n`` actions per observation, ``[n, *action_shape]`` (a batch: ``[B, n, ...]``)."""
        o, single, is_numpy = self._obs(obs)
        actions = self.agent.policy.sampler.sample(self.agent.normalize_obs(o), n).actions
        return self._out(self._to_env(actions), single, is_numpy)

    @torch.no_grad()
    def log_prob(self, obs: Any, actions: Any) -> Any:
        """``log pi(a|s)`` of actions in the env's units, ``[n]`` per observation (actions
        ``[n, *action_shape]``, or one action: a scalar), for samplers with an exact density. It
        is the density of the squashed action in (-1, 1) minus the log of the rescaling to the
        env's bounds; ``-inf`` for an action outside the bounds."""
        sampler = self.agent.policy.sampler
        if sampler.density != "exact":
            what = "an upper bound on log pi for its own draws" if sampler.density == "bound" else "no density"
            raise UserError(
                f"sampler {type(sampler).__name__} has {what} (density {sampler.density!r}), not an exact log_prob"
            )
        o, single, is_numpy = self._obs(obs)
        one = np.ndim(actions) == len(self.action_space.shape) + (0 if single else 1)
        unit = self._from_env(actions, o.shape[0])
        if self._choices is None:  # no density outside the env's bounds, decided in the env's units:
            # a bound rescaled to (-1, 1) in float32 can land a rounding past 1
            flat = self._box(actions, o.shape[0])
            outside = ((flat < self._low) | (flat > self._high)).any(dim=-1)  # [B, n]
        out = sampler.log_prob(self.agent.normalize_obs(o), unit)
        if self._choices is None:
            out = torch.where(outside, -torch.inf, out - torch.log(self._half).sum())
        return self._out(out[:, 0] if one else out, single, is_numpy)

    @torch.no_grad()
    def q(self, obs: Any, actions: Any) -> Any:
        """The soft Q of actions in the env's units, as the policy is trained against it (min or
        mean over the critic's members, the preset's ``actor_q``); ``[n]`` per observation, or a
        scalar for one action. Off-policy presets only (on-policy ones learn V(s))."""
        critic = getattr(self.agent, "actor_q", None)
        if critic is None:
            raise UserError(f"{self.config.run.algo!r} learns a state value V(s), not a Q function")
        o, single, is_numpy = self._obs(obs)
        one = np.ndim(actions) == len(self.action_space.shape) + (0 if single else 1)
        unit = self._from_env(actions, o.shape[0])  # [B, n, A]
        batch, n, dim = unit.shape
        values = critic(o.repeat_interleave(n, dim=0), unit.reshape(batch * n, dim)).min(0).values
        values = values.reshape(batch, n)
        return self._out(values[:, 0] if one else values, single, is_numpy)

    @torch.no_grad()
    def value(self, obs: Any) -> Any:
        """The soft value V(s) = tau log sum_a exp(Q(s, a)/tau) of a discrete run's critic (Q as
        ``q`` reads it): exact, one per observation. Discrete actions only (on a box the integral
        over actions has no closed form)."""
        if self._choices is None or getattr(self.agent, "actor_q", None) is None:
            raise UserError(
                f"{self.config.run.algo!r} on {self.config.run.env!r}: a soft value V(s) needs a discrete run"
            )
        o, single, is_numpy = self._obs(obs)
        q = self.agent.actor_q.all_actions(o).min(0).values  # [B, K]
        tau = float(self.temperature)
        return self._out(tau * torch.logsumexp(q / tau, dim=-1), single, is_numpy)

    @property
    def temperature(self) -> float:
        """The temperature tau of the checkpoint."""
        tau = getattr(self.agent, "temperature", None)
        return float(tau()) if callable(tau) else float(self.agent.tau())


def _flat_part(space: gym.Space, obs: Any, found_torch: list[bool]) -> np.ndarray:
    """``gymnasium.spaces.flatten(space, obs)`` with every part's keys and size checked (flatten
    alone takes a Box part of another size, or an extra key, without a word)."""
    if isinstance(space, gym.spaces.Dict):
        if not isinstance(obs, dict) or set(obs) != set(space.spaces):
            got = sorted(obs) if isinstance(obs, dict) else type(obs).__name__
            raise ValueError(f"a dict with keys {sorted(space.spaces)}, got {got}")
        return np.concatenate([_flat_part(sub, obs[key], found_torch) for key, sub in space.spaces.items()])
    if isinstance(space, gym.spaces.Tuple):
        if not isinstance(obs, tuple) or len(obs) != len(space.spaces):
            raise ValueError(f"a tuple of {len(space.spaces)} parts, got {type(obs).__name__}")
        return np.concatenate([_flat_part(sub, part, found_torch) for sub, part in zip(space.spaces, obs)])
    if isinstance(obs, Tensor):
        found_torch.append(True)
        obs = obs.detach().cpu().numpy()
    if isinstance(space, gym.spaces.Discrete):
        value = np.asarray(obs)
        if value.ndim != 0 or not space.start <= int(value) < space.start + space.n:
            raise ValueError(f"a state index in [{space.start}, {space.start + space.n}), got {value!r}")
    elif tuple(np.shape(obs)) != tuple(space.shape or ()):
        raise ValueError(f"a part of shape {space.shape}, got shape {tuple(np.shape(obs))}")
    elif isinstance(space, gym.spaces.MultiDiscrete):
        value = np.asarray(obs)
        if not np.all((value >= space.start) & (value < space.start + space.nvec)):
            limits = (space.start + space.nvec).tolist()
            raise ValueError(f"indices from {space.start.tolist()} below {limits}, got {value.tolist()}")
    return np.asarray(gym.spaces.flatten(space, np.asarray(obs)), np.float32)


def load(run_dir: str | Path, checkpoint: str = "best", device: str = "cpu") -> Policy:
    """The policy of a run directory's ``best`` (the best evaluation) or ``last`` checkpoint."""
    from rlasinference.core.precision import resolve_precision, set_precision
    from rlasinference.training.build import BEST, LAST, build_agent, resolve_device, restore_agent
    from rlasinference.training.checkpoint import load_checkpoint
    from rlasinference.training.run_dir import read_config

    if checkpoint not in ("best", "last"):
        raise UserError(f"checkpoint must be best or last, got {checkpoint!r}")
    path = Path(run_dir)
    cfg = read_config(path)
    # mapped: a last checkpoint holds the replay buffer too (5.6 GB for Atari), which a policy never reads
    state = load_checkpoint(path / "checkpoints" / (BEST if checkpoint == "best" else LAST), mmap=True)
    dev = resolve_device(device)
    set_precision(resolve_precision(cfg.run.precision, dev))
    agent, env, spec = build_agent(cfg, dev)
    action_space = env.unwrapped.action_space
    env.close()
    restore_agent(agent, state["agent"], f"checkpoint {checkpoint!r} of {str(path)!r}", with_optimizers=False)
    agent.eval()
    moved = bool(spec.image) and tuple(spec.obs_space.shape) != tuple(spec.image)
    return Policy(agent, cfg, action_space, spec.obs_space, step=int(state["step"]), channels_last=moved)


def evaluate(
    policy: Policy,
    env: str | None = None,
    episodes: int = 10,
    seed: int | None = None,
    deterministic: bool = True,
    plot: str | Path | None = None,
    video: str | Path | None = None,
) -> dict[str, Any]:
    """Run ``episodes`` episodes (``rlai eval`` is this function): ``mean_return``,
    ``std_return``, ``mean_length``, ``returns`` and the env's own metrics (MultiGoal:
    ``goals_reached``, ...).

    :param env: an env id (default: the run's env) with the observation and action sizes of the
        run's.
    :param seed: the episodes' seed (default: the run's seed).
    :param plot: where an env that draws its episodes (MultiGoal) draws them.
    :param video: a folder for one MP4 per episode (``<mode>-step<N>-episode-<i>.mp4``; needs
        ``pip install 'rlasinference[video]'``; MuJoCo renders headless through EGL or OSMesa).
        The episodes and their returns are the same as without it.
    """
    from rlasinference.core.checks import AT_LEAST_ONE, RUN_SEEDS
    from rlasinference.envs import make_env
    from rlasinference.envs.video import headless_rendering, record_video
    from rlasinference.training.build import seed_everything
    from rlasinference.training.evaluation import env_report, run_episodes

    AT_LEAST_ONE.check("episodes", episodes)
    run_seed = policy.config.run.seed if seed is None else seed
    RUN_SEEDS.check("seed", run_seed)
    mode = "deterministic" if deterministic else "stochastic"
    if video is not None:
        headless_rendering()
    check_env_id(env)
    made, spec = make_env(env or policy.config.run.env, render_mode=None if video is None else "rgb_array")
    wanted = (gym.spaces.flatdim(policy.observation_space), gym.spaces.flatdim(policy.action_space))
    if (spec.obs_dim, spec.action_dim) != wanted or spec.discrete != (policy._choices is not None):
        made.close()
        kind = lambda discrete: "discrete" if discrete else "box"  # noqa: E731
        raise UserError(
            f"env {env!r} has observations of size {spec.obs_dim} and {spec.action_dim} {kind(spec.discrete)} "
            f"actions; the policy of {policy.config.run.env!r} reads {wanted[0]} and acts in {wanted[1]} "
            f"{kind(policy._choices is not None)} actions"
        )
    try:
        if video is not None:
            made = record_video(made, Path(video), f"{mode}-step{policy.step}")
        seed_everything(run_seed)
        result = run_episodes(policy.agent, made, episodes, run_seed, deterministic=deterministic)
        title = f"step {policy.step}: {episodes} {mode} episodes"
        extra = env_report(made, result, None if plot is None else Path(plot), title)
    finally:
        made.close()
    return {
        "mean_return": result.mean,
        "std_return": result.std,
        "mean_length": float(np.mean(result.lengths)),
        "returns": result.returns,
        **extra,
    }
