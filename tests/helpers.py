"""Test doubles loaded through the user-facing ``module:attr`` forms."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium.envs.classic_control.pendulum import PendulumEnv
from torch import Tensor

from rlasinference.core.nets import mlp
from rlasinference.samplers.base import DensityKind, Sampler, Samples

# tiny networks so that CLI tests train in seconds
TINY = [
    "--set", "learning_starts=100",
    "--set", "batch_size=32",
    "--set", "critic_hidden=[32, 32]",
    "--set", "sampler.hidden=[32, 32]",
    "--set", "log_every=100",
]  # fmt: skip


def stop_at_call(trainer: Any, method: str, call: int) -> None:
    """Make ``trainer`` request a stop at the ``call``-th call of its agent's ``method``
    (``update`` off-policy, ``learn`` on-policy), as Ctrl-C would at that moment."""
    original, calls = getattr(trainer.agent, method), [0]

    def then_stop(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == call:
            trainer.request_stop()
        return original(*args, **kwargs)

    setattr(trainer.agent, method, then_stop)


class DensityFreeSampler(Sampler):
    """A sampler with no density (like SVGD particles): invalid with the reverse-KL objective."""

    density: ClassVar[DensityKind] = "none"

    def __init__(self, context_dim: int, action_dim: int, hidden: tuple[int, ...] = (32,)) -> None:
        super().__init__(context_dim, action_dim)
        self.net = mlp(context_dim + action_dim, hidden, action_dim)

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        xi = torch.randn(context.shape[0], n, self.action_dim)
        ctx = context.unsqueeze(1).expand(-1, n, -1)
        return Samples(actions=torch.tanh(self.net(torch.cat([ctx, xi], -1))))


class NaNRewardPendulum(PendulumEnv):
    """Pendulum whose reward turns NaN after ``nan_after`` steps (counted over the env's life)."""

    nan_after = 400

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = 0

    def step(self, action: np.ndarray) -> Any:
        obs, reward, terminated, truncated, info = super().step(action)
        self.count += 1
        return obs, (float("nan") if self.count > self.nan_after else reward), terminated, truncated, info


gym.register("NaNRewardPendulum-v0", entry_point=NaNRewardPendulum, max_episode_steps=200)


def quadratic_target(a: Tensor) -> Tensor:
    """A user workbench target: Q(a) = -|a - 0.2|^2 / (2 * 0.3^2) on (-1, 1)^2."""
    return -0.5 * ((a - 0.2) / 0.3).square().sum(-1)


quadratic_target.dim = 2  # type: ignore[attr-defined]
quadratic_target.modes = torch.tensor([[0.2, 0.2]])  # type: ignore[attr-defined]


def target_without_dim(a: Tensor) -> Tensor:
    return a.sum(-1)


def detached_target(a: Tensor) -> Tensor:
    """Q computed off the graph (as numpy code would): no fit can follow its gradient."""
    return -a.detach().square().sum(-1)


detached_target.dim = 2  # type: ignore[attr-defined]


class MatrixActionPendulum(PendulumEnv):
    """Pendulum driven by a (2, 2) Box action (its mean is the torque): a non-flat action space."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.action_space = gym.spaces.Box(-2.0, 2.0, shape=(2, 2), dtype=np.float32)

    def step(self, action: np.ndarray) -> Any:
        assert np.shape(action) == (2, 2), np.shape(action)
        return super().step(np.array([float(np.mean(action))], dtype=np.float32))


gym.register("MatrixActionPendulum-v0", entry_point=MatrixActionPendulum, max_episode_steps=200)


class BoxActionPendulum(PendulumEnv):
    """Pendulum with the action space its keywords give (the torque is the first action)."""

    def __init__(self, low: list[float], high: list[float], dtype: str = "float32", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        kind = np.dtype(dtype)
        self.action_space = gym.spaces.Box(np.array(low, dtype=kind), np.array(high, dtype=kind), dtype=kind)

    def step(self, action: np.ndarray) -> Any:
        return super().step(np.asarray(action, dtype=np.float32)[:1])


gym.register("BoxActionPendulum-v0", entry_point=BoxActionPendulum, max_episode_steps=200)


def target_rows(a: Tensor) -> Tensor:
    """A user target that returns [n, d] instead of [n]."""
    return -a.square()


target_rows.dim = 2  # type: ignore[attr-defined]


def target_scalar(a: Tensor) -> Tensor:
    return -a.square().sum()


target_scalar.dim = 2  # type: ignore[attr-defined]


def target_list(a: Tensor) -> list[float]:
    return [0.0] * a.shape[0]


target_list.dim = 2  # type: ignore[attr-defined]


def _user_mix3d(a: Tensor) -> Tensor:
    """A user target with modes but no exact sampler: four modes in 3-D (weights 0.4/0.3/0.2/0.1)."""
    centers = 0.5 * torch.tensor([[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    weights = torch.tensor([0.4, 0.3, 0.2, 0.1])
    d2 = (a.unsqueeze(1) - centers.to(a)).square().sum(-1)
    return torch.logsumexp(torch.log(weights.to(a)) - 0.5 * d2 / 0.12**2, dim=1)


user_mix3d = _user_mix3d
user_mix3d.dim = 3  # type: ignore[attr-defined]
user_mix3d.modes = 0.5 * torch.tensor(  # type: ignore[attr-defined]
    [[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]
)


class WrongShapePendulum(PendulumEnv):
    """Observations of 4 numbers where the space says 3."""

    def reset(self, **kwargs: Any) -> Any:
        obs, info = super().reset(**kwargs)
        return np.append(obs, 0.0).astype(np.float32), info


class ListObsPendulum(PendulumEnv):
    """Observations as Python lists."""

    def reset(self, **kwargs: Any) -> Any:
        obs, info = super().reset(**kwargs)
        return obs.tolist(), info


class StringRewardPendulum(PendulumEnv):
    def step(self, action: np.ndarray) -> Any:
        obs, _, terminated, truncated, info = super().step(action)
        return obs, "high", terminated, truncated, info


class NoneRewardPendulum(PendulumEnv):
    def step(self, action: np.ndarray) -> Any:
        obs, _, terminated, truncated, info = super().step(action)
        return obs, None, terminated, truncated, info


class EmptyActionPendulum(PendulumEnv):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(0,), dtype=np.float32)


class CrashingPendulum(PendulumEnv):
    """Raises at its 150th step (after the warm-up of a short run)."""

    steps = 0

    def step(self, action: np.ndarray) -> Any:
        CrashingPendulum.steps += 1
        if CrashingPendulum.steps == 150:
            raise RuntimeError("the simulator lost its licence")
        return super().step(action)


for _name, _cls in [("WrongShape", WrongShapePendulum), ("ListObs", ListObsPendulum),
                    ("StringReward", StringRewardPendulum), ("NoneReward", NoneRewardPendulum),
                    ("EmptyAction", EmptyActionPendulum), ("Crashing", CrashingPendulum)]:  # fmt: skip
    gym.register(f"rlai-test/{_name}-v0", entry_point=_cls, max_episode_steps=200)


class _BrokenSampler(Sampler):
    density: ClassVar[DensityKind] = "exact"

    def __init__(self, context_dim: int, action_dim: int) -> None:
        super().__init__(context_dim, action_dim)
        self.net = mlp(context_dim, [8], action_dim)

    def _actions(self, context: Tensor, n: int) -> Tensor:
        return torch.tanh(self.net(context)).unsqueeze(1).expand(-1, n, -1)

    def log_prob(self, context: Tensor, actions: Tensor) -> Tensor:
        return torch.zeros(actions.shape[:2])


class WrongShapeSampler(_BrokenSampler):
    def sample(self, context: Tensor, n: int = 1) -> Samples:
        actions = self._actions(context, n)
        return Samples(actions=torch.cat([actions, actions], -1), log_density=torch.zeros(actions.shape[:2]))


class NoDensitySampler(_BrokenSampler):
    def sample(self, context: Tensor, n: int = 1) -> Samples:
        return Samples(actions=self._actions(context, n))


class TupleSampler(_BrokenSampler):
    def sample(self, context: Tensor, n: int = 1) -> Any:
        actions = self._actions(context, n)
        return actions, torch.zeros(actions.shape[:2])


class RaisingSampler(_BrokenSampler):
    def __init__(self, context_dim: int, action_dim: int) -> None:
        raise ValueError("no weights file")


class OutOfBoxSampler(_BrokenSampler):
    def sample(self, context: Tensor, n: int = 1) -> Samples:
        actions = 2.0 * self._actions(context, n)  # in (-2, 2)
        return Samples(actions=actions, log_density=torch.zeros(actions.shape[:2]))


class _Later:
    """A target that passes the start's check, then fails on the fit's batches."""

    dim = 2

    def __call__(self, a: Tensor) -> Tensor:
        if a.shape[0] > 5:
            raise KeyError("missing table entry")
        return -(a**2).sum(-1)


late_target = _Later()


class Uncopyable(gym.Env):
    """Discrete actions and a lock inside: ``copy.deepcopy`` fails, as for an env holding a handle."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.observation_space = gym.spaces.Discrete(1)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        return 0, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        return 0, 0.0, True, False, {}


gym.register("Uncopyable-v0", entry_point=Uncopyable)


class DotImage(gym.Env):
    """A ``size`` x ``size`` image (6: MinAtar's torso reads it; 36 or more: the Nature torso)
    with two planes, channels last (as MinAtar's): a dot in plane 0, pressing the action of the
    dot's column third pays 1; 20 steps an episode."""

    action_space = gym.spaces.Discrete(3)

    def __init__(self, size: int = 6) -> None:
        self.size = size
        self.observation_space = gym.spaces.Box(0.0, 1.0, (size, size, 2), np.float32)

    def _obs(self) -> np.ndarray:
        image = np.zeros((self.size, self.size, 2), np.float32)
        image[self.dot[0], self.dot[1], 0] = 1.0
        image[:, :, 1] = self.t / 20
        return image

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t, self.dot = 0, self.np_random.integers(0, self.size, size=2)
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward = float(int(action) == 3 * self.dot[1] // self.size)
        self.t, self.dot = self.t + 1, self.np_random.integers(0, self.size, size=2)
        return self._obs(), reward, False, self.t >= 20, {}


if "tests/DotImage-v0" not in gym.registry:
    gym.register("tests/DotImage-v0", entry_point=DotImage)


class DictGoal(gym.Env):
    """A point in the plane with a goal, observed as a Dict (as gymnasium-robotics' goal envs):
    ``observation`` (the position), ``desired_goal`` and a MultiBinary ``near`` flag; the reward
    is minus the distance to the goal; 20 steps an episode."""

    observation_space = gym.spaces.Dict(
        {
            "observation": gym.spaces.Box(-2.0, 2.0, (2,), np.float32),
            "desired_goal": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
            "near": gym.spaces.MultiBinary(1),
        }
    )
    action_space = gym.spaces.Box(-0.2, 0.2, (2,), np.float32)

    def _obs(self) -> dict[str, np.ndarray]:
        near = np.array([np.linalg.norm(self.pos - self.goal) < 0.2], dtype=np.int8)
        return {"observation": self.pos.copy(), "desired_goal": self.goal.copy(), "near": near}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.t = 0
        self.pos = np.zeros(2, np.float32)
        self.goal = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        return self._obs(), {}

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        self.pos = np.clip(self.pos + np.asarray(action, np.float32), -2, 2)
        self.t += 1
        return self._obs(), -float(np.linalg.norm(self.pos - self.goal)), False, self.t >= 20, {}


if "tests/DictGoal-v0" not in gym.registry:
    gym.register("tests/DictGoal-v0", entry_point=DictGoal, max_episode_steps=20)


class CountsMD(gym.Env):
    """Two counters observed as MultiDiscrete([3, 4]): the step modulo 3 and the last action + 1;
    action 1 pays 1; 10 steps an episode."""

    observation_space = gym.spaces.MultiDiscrete([3, 4])
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.array([0, 0]), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return np.array([self.t % 3, int(action) + 1]), float(action), False, self.t >= 10, {}


if "tests/CountsMD-v0" not in gym.registry:
    gym.register("tests/CountsMD-v0", entry_point=CountsMD, max_episode_steps=10)


def target_nan(a: Tensor) -> Tensor:
    """A user target whose Q is NaN everywhere (a bug in the user's code)."""
    return a.sum(-1) * torch.nan


target_nan.dim = 2  # type: ignore[attr-defined]
