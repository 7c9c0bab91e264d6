"""Make a gymnasium env whose actions live in (-1, 1)^A, or are K discrete actions read from
K-vectors, or explain in one line why not."""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
import warnings
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import FlattenObservation, RescaleAction, TimeLimit

from rlasinference.core.errors import UserError, described, first_line
from rlasinference.core.registry import import_user_module

#: the episode limit of an env that has none of its own (CliffWalking, an env registered without
#: ``max_episode_steps``): a deterministic policy that walks into a wall would make its evaluation
#: endless. 27,000 steps is the Atari convention (108,000 frames at 4 a step), so every env with a
#: limit of its own, ALE's included, keeps it. Another limit: register the env with
#: ``max_episode_steps`` in a module and train on ``module:EnvId``.
EPISODE_CAP = 27_000
_CAPPED: set[str] = set()


class EpisodeCapWarning(UserWarning):
    """An env without a time limit of its own is truncated at ``EPISODE_CAP`` steps."""


@dataclass(frozen=True)
class EnvSpec:
    """Sizes the agent is built from: ``action_dim`` is K for a discrete env (``discrete``)."""

    obs_dim: int
    action_dim: int
    discrete: bool = False
    #: ``[C, H, W]`` where the observations are images (flattened, channels first), else empty
    image: tuple[int, ...] = ()
    #: ``uint8`` where the observations are bytes (Atari's frames: a replay buffer stores them so)
    obs_dtype: str = "float32"
    #: the observation space as a caller gives observations (after Atari's preprocessing, before
    #: the image is put channels first and flattened): what the Python API's ``Policy`` reads
    obs_space: Any = field(default=None, compare=False)

    @property
    def space(self) -> str:
        """The action space as samplers and critics name it: ``box`` or ``discrete``."""
        return "discrete" if self.discrete else "box"


class FlattenAction(gym.ActionWrapper):
    """A Box action space of any shape seen as a flat vector (gymnasium flattens observations,
    ``FlattenObservation``, but has no wrapper for actions)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.action_space
        assert isinstance(space, gym.spaces.Box)
        self.shape = space.shape
        self.action_space = gym.spaces.Box(space.low.reshape(-1), space.high.reshape(-1), dtype=space.dtype)

    def action(self, action: np.ndarray) -> np.ndarray:
        return np.asarray(action).reshape(self.shape)


class DiscreteAction(gym.ActionWrapper):
    """K discrete actions seen as K-vectors: the env takes the index of the vector's largest entry
    (the agent gives one-hot actions; a uniform draw on (-1, 1)^K, the warm-up's, names each
    action with probability 1/K). The agent sees a Box action space (-1, 1)^K."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.action_space
        assert isinstance(space, gym.spaces.Discrete)
        self.start = int(space.start)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (int(space.n),), dtype=np.float32)

    def action(self, action: np.ndarray) -> int:
        return self.start + int(np.argmax(action))


#: env namespaces whose package registers them only when asked: MinAtar's gymnasium envs
#: (``minatar.gym.register_envs``) and ALE's (importing ``ale_py``)
REGISTERED_BY = {"MinAtar": ("minatar.gym", "register_envs"), "ALE": ("ale_py", "")}


def register_namespace(env_id: str) -> None:
    """Register ``env_id``'s namespace (``MinAtar/...``, ``ALE/...`` and ALE's ``...NoFrameskip-v4``)
    from its package if it is installed and not registered yet; an env of a package not installed
    is gymnasium's error."""
    namespace = env_id.split("/", 1)[0] if "/" in env_id else "ALE" if "NoFrameskip" in env_id else ""
    if (
        namespace not in REGISTERED_BY
        or env_id in gym.registry
        or any(k.startswith(namespace + "/") for k in gym.registry)
    ):
        return
    module_name, function = REGISTERED_BY[namespace]
    if importlib.util.find_spec(module_name.split(".")[0]) is None:
        return
    module = importlib.import_module(module_name)
    if function:
        getattr(module, function)()


class ChannelsFirst(gym.ObservationWrapper):
    """An image observation ``[H, W, C]`` as ``[C, H, W]``."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        assert isinstance(space, gym.spaces.Box)
        self.observation_space = gym.spaces.Box(
            np.moveaxis(space.low, -1, 0), np.moveaxis(space.high, -1, 0), dtype=space.dtype
        )

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return np.moveaxis(observation, -1, 0)


class CheckedEnv(gym.Wrapper):
    """The outermost wrapper of every env made here: whatever the env's own code raises, and
    an observation or reward that breaks gymnasium's API (a list, the wrong shape, a string or
    ``None`` reward), becomes one line naming the env, instead of a traceback from inside the
    agent. It checks types and shapes only, a few microseconds a step; values (a NaN reward) are
    the trainer's to judge."""

    def __init__(self, env: gym.Env, env_id: str, obs_dim: int) -> None:
        super().__init__(env)
        self.env_id, self.obs_dim = env_id, obs_dim

    def _fail(self, where: str, exc: Exception) -> UserError:
        return UserError(f"env {self.env_id!r} raised in {where}: {described(exc)}")

    def _obs(self, obs: object, where: str) -> np.ndarray:
        if not isinstance(obs, np.ndarray) or obs.shape != (self.obs_dim,) or obs.dtype.kind not in "fiub":
            got = f"{obs.dtype} {obs.shape}" if isinstance(obs, np.ndarray) else f"a {type(obs).__name__}"
            raise UserError(
                f"env {self.env_id!r}: {where} returned an observation that is not a numeric numpy array of its "
                f"observation space's shape ({self.obs_dim},): {got}"
            )
        return obs

    def reset(self, **kwargs: Any) -> Any:
        try:
            obs, info = self.env.reset(**kwargs)
        except UserError:
            raise
        except Exception as exc:
            raise self._fail("reset", exc) from None
        return self._obs(obs, "reset"), info

    def step(self, action: Any) -> Any:
        try:
            obs, reward, terminated, truncated, info = self.env.step(action)
        except UserError:
            raise
        except Exception as exc:
            raise self._fail("step", exc) from None
        if isinstance(reward, bool) or not isinstance(reward, int | float | np.number) or np.ndim(reward) != 0:
            raise UserError(f"env {self.env_id!r}: step returned a reward that is not a number: {reward!r}")
        return self._obs(obs, "step"), reward, terminated, truncated, info


#: MuJoCo warnings about gymnasium's own model files, which a user cannot act on: HalfCheetah's
#: XML uses ``settotalmass``, deprecated since MuJoCo 3.3 (it still compiles to the same model)
_NOT_ACTIONABLE = ("compiler attribute 'settotalmass' is deprecated",)
_warned: set[str] = set()


def _mujoco_warning(message: str) -> None:
    """MuJoCo's warning callback: a Python warning, once per message and process (every env
    made repeats it), or a line on stderr where warnings are errors (an exception cannot leave
    MuJoCo's C code: the process would abort)."""
    if message in _warned or any(known in message for known in _NOT_ACTIONABLE):
        return
    _warned.add(message)
    try:
        warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)
    except Exception:  # -W error and the like
        print(f"MuJoCo: {message}", file=sys.stderr)


@cache
def route_mujoco_warnings() -> None:
    """Turn MuJoCo's warnings into Python ``RuntimeWarning``s, once per process (the handler is
    MuJoCo's process-wide one; a library that sets its own later replaces it). MuJoCo's default
    handler prints each warning and appends it to ``MUJOCO_LOG.TXT`` in the current directory:
    with MuJoCo 4.0 gymnasium's HalfCheetah model raises a deprecation warning at every env made
    (train, evaluation and pool envs), a file in the user's directory and the same lines on every
    run. As Python warnings they show once each and obey ``-W`` / ``PYTHONWARNINGS``."""
    if importlib.util.find_spec("mujoco") is None:
        return
    try:
        import mujoco
    except (ImportError, AttributeError, OSError, RuntimeError) as exc:  # MUJOCO_GL: missing or invalid GL
        gl = os.environ.get("MUJOCO_GL")
        raise UserError(
            f"cannot import mujoco{f' with MUJOCO_GL={gl}' if gl else ''} ({first_line(exc)}): "
            "unset MUJOCO_GL, or install the libraries it names (egl: libegl1, osmesa: libosmesa6)"
        ) from None

    mujoco.set_mju_user_warning(_mujoco_warning)


def env_call(env_id: str) -> tuple[str, dict[str, Any]]:
    """An env id and the keyword arguments written after it as a call, each a Python literal:
    ``FrozenLake-v1(is_slippery=False)`` is ``("FrozenLake-v1", {"is_slippery": False})``, what
    ``gymnasium.make`` is given. The whole string stays the env's name everywhere else (run and
    trial names, ``rlai compare``'s tasks): another keyword is another task."""
    if "(" not in env_id:
        return env_id, {}
    name, _, args = env_id.partition("(")
    form = "keyword arguments are written EnvId(key=value, ...), e.g. FrozenLake-v1(is_slippery=False)"
    if not env_id.endswith(")"):
        raise UserError(f"env {env_id!r}: {form}")
    try:
        call = ast.parse(f"f({args}", mode="eval").body
    except SyntaxError:
        raise UserError(f"env {env_id!r}: {form}; each value a Python literal, strings in quotes") from None
    if (
        not isinstance(call, ast.Call)
        or not isinstance(call.func, ast.Name)
        or call.args
        or any(k.arg is None for k in call.keywords)
    ):
        raise UserError(f"env {env_id!r}: {form}")
    kwargs = {}
    for keyword in call.keywords:
        try:
            kwargs[str(keyword.arg)] = ast.literal_eval(keyword.value)
        except (ValueError, TypeError, MemoryError, RecursionError):  # not a literal; an unhashable key
            shown = ast.unparse(keyword.value)
            raise UserError(
                f"env {env_id!r}: the value of {keyword.arg} must be a Python literal (a number, a string in "
                f"quotes, True, False, None, a list, ...), got {shown}"
            ) from None
    return name.strip(), kwargs


def canonical_env(env_id: str) -> str:
    """The one spelling of an env id with keywords (``env_call``): spaces dropped, keywords in
    alphabetical order, values as Python writes them, no empty brackets. ``FrozenLake-v1()`` is
    ``FrozenLake-v1``, and ``FrozenLake-v1( map_name="8x8",is_slippery=False )`` is
    ``FrozenLake-v1(is_slippery=False, map_name='8x8')``: one task in runs, sweeps and compare."""
    if "(" not in env_id:
        return env_id
    try:
        name, kwargs = env_call(env_id)
    except UserError:  # not a call: making the env will say so; until then the id is as written
        return env_id
    if not kwargs:
        return name
    return f"{name}({', '.join(f'{key}={kwargs[key]!r}' for key in sorted(kwargs))})"


def make_gym_env(env_id: str, render_mode: str | None = None, **extra: Any) -> gym.Env:
    """``gymnasium.make(env_id)`` as gymnasium makes it, or a one-line ``UserError``:
    ``module:EnvId`` imports the module that registers it (found in the current directory too),
    ``EnvId(key=value, ...)`` passes keyword arguments (``env_call``), MuJoCo's warnings become
    Python warnings, and ``render_mode`` is passed on (``extra`` too: ALE's ``frameskip``)."""
    name, kwargs = env_call(env_id)
    module, sep, _ = name.partition(":")
    if sep:
        import_user_module(module, "env", env_id)
    else:
        register_namespace(name)
    route_mujoco_warnings()
    kwargs = {**kwargs, **extra, **({} if render_mode is None else {"render_mode": render_mode})}
    try:
        return gym.make(name, **kwargs)
    except gym.error.Error as exc:  # NameNotFound, NamespaceNotFound, VersionNotFound, ...
        raise UserError(f"cannot make env {env_id!r}: {exc}") from None
    except ModuleNotFoundError as exc:  # one the env's own code imports (module:EnvId's module is imported above)
        raise UserError(f"cannot make env {env_id!r}: {exc} (the env needs it: install it)") from None
    except TypeError as exc:  # a constructor without the render_mode argument, or an unknown keyword
        if render_mode is not None and "render_mode" in str(exc):
            raise UserError(f"env {env_id!r} cannot render {render_mode} frames: {first_line(exc)}") from None
        if len(kwargs) > (render_mode is not None):
            raise UserError(f"cannot make env {env_id!r}: {first_line(exc)}") from None
        raise


LIFE_LOST = "life_lost"  # an Atari env's info key: the step lost a life (terminal for the TD target)


def atari(env: gym.Env, env_id: str, render_mode: str | None, train: bool) -> gym.Env:
    """An ALE env that gives RGB frames, preprocessed as the Atari-100k literature and CleanRL's
    ``sac_atari.py`` do: up to 30 no-ops at reset, 4 frames a step (max of the last two), 84 x 84
    grey frames (gymnasium's ``AtariPreprocessing``); a life lost starts the next life as a reset
    would (a no-op, then FIRE and the next action in the games that wait for FIRE: Stable-Baselines3's
    ``EpisodicLifeEnv`` and ``FireResetEnv``, the DQN wrappers CleanRL uses), 4 frames stacked
    afresh (``FrameStackObservation``), all inside one episode, the whole game (``Lives``); the
    step that loses a life says ``info[LIFE_LOST]``, which the training collector makes terminal
    for the TD target. ``train``: rewards clipped to their sign. Other envs unchanged."""
    unwrapped: Any = env.unwrapped
    if type(unwrapped).__name__ != "AtariEnv" or len(env.observation_space.shape or ()) != 3:
        return env
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TransformReward

    if getattr(unwrapped, "_frameskip", 1) != 1:  # ALE/...-v5 skips 4 frames itself: the wrapper does here
        env.close()
        env = make_gym_env(env_id, render_mode, frameskip=1)
    try:
        env = AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84, grayscale_obs=True)
        from stable_baselines3.common.atari_wrappers import EpisodicLifeEnv, FireResetEnv
    except (gym.error.DependencyNotInstalled, ImportError) as exc:
        env.close()
        raise UserError(f"env {env_id!r}: {first_line(exc)} (pip install 'rlasinference[atari]')") from None
    lives = EpisodicLifeEnv(env)
    env = lives
    meanings = unwrapped.get_action_meanings()
    if len(meanings) >= 3 and meanings[1] == "FIRE":
        env = FireResetEnv(env)
    env = Lives(FrameStackObservation(env, 4), lives)
    return TransformReward(env, lambda r: float(np.sign(float(r)))) if train else env


class Lives(gym.Wrapper):
    """One episode a game: where ``EpisodicLifeEnv`` (below) ends an episode at a life lost, the
    env is reset in place (which starts the next life, not a new game) and the step says
    ``info[LIFE_LOST]``. So a run's episodes, returns and resumes (which replay an episode's
    actions from its reset) are whole games, while the training collector still cuts the TD
    target at each life lost, as CleanRL's ``EpisodicLifeEnv`` does."""

    def __init__(self, env: gym.Env, episodic: Any) -> None:
        super().__init__(env)
        self.episodic = episodic  # the EpisodicLifeEnv below

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.episodic.was_real_done = True  # a reset from outside starts a new game, wherever this one was
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated and not truncated and not self.episodic.was_real_done:
            ale = self.env.unwrapped.ale  # type: ignore[attr-defined]
            frame = ale.getEpisodeFrameNumber()
            obs, _ = self.env.reset()  # the next life (EpisodicLifeEnv's no-op; FireResetEnv's FIRE)
            terminated, info = False, {**info, LIFE_LOST: True}
            # the game ended within those steps (ALE's frame limit) and the wrappers began another,
            # unseeded: this episode ends here, truncated, and the caller starts the next one
            truncated = ale.getEpisodeFrameNumber() < frame
        return obs, reward, terminated, truncated, info


def make_env(env_id: str, render_mode: str | None = None, train: bool = False) -> tuple[gym.Env, EnvSpec]:
    """``make_gym_env(env_id)`` with the Box action space rescaled from (-1, 1) to the env's
    bounds, or a Discrete one read from K-vectors (``DiscreteAction``); Box actions and
    observations of more than one axis are flattened, a Discrete observation made one-hot, a Dict,
    Tuple, MultiBinary or MultiDiscrete one flattened as ``gymnasium.spaces.flatten`` does. ``render_mode``
    is passed on (``rgb_array`` for videos). An Atari env's frames are preprocessed (``atari``;
    ``train``: the training env's rewards are clipped to their sign). An env without a time limit
    of its own is truncated after ``EPISODE_CAP`` steps."""
    raw = make_gym_env(env_id, render_mode)
    env = atari(raw, env_id, render_mode, train)
    preprocessed = env is not raw  # Atari's stacked frames, channels first
    spec_of = env.spec
    own_limit = spec_of is not None and (
        spec_of.max_episode_steps is not None or spec_of.kwargs.get("max_num_frames_per_episode")  # ALE's
    )
    if not own_limit:
        if env_id not in _CAPPED:  # once per env, not once per env made (training, evaluation)
            warnings.warn(
                f"env {env_id!r} has no time limit of its own: its episodes are truncated after {EPISODE_CAP:,} steps",
                EpisodeCapWarning,
                stacklevel=2,
            )
            _CAPPED.add(env_id)
        env = TimeLimit(env, EPISODE_CAP)
    act_space, obs_space = env.action_space, env.observation_space
    if isinstance(act_space, gym.spaces.Discrete):
        action_dim, discrete = int(act_space.n), True
    elif isinstance(act_space, gym.spaces.Box):
        action_dim, discrete = int(np.prod(act_space.shape)), False
        if not (np.all(np.isfinite(act_space.low)) and np.all(np.isfinite(act_space.high))):
            env.close()
            raise UserError(f"env {env_id!r} has an unbounded action space; bounded Box actions are required")
        if not np.issubdtype(act_space.dtype, np.floating):
            env.close()
            raise UserError(
                f"env {env_id!r} has Box actions of dtype {act_space.dtype}; continuous actions are floating-point "
                "(integer choices are a Discrete space)"
            )
        narrow = np.flatnonzero(~(act_space.high > act_space.low).reshape(-1))
        if narrow.size:
            env.close()
            where = int(narrow[0])
            raise UserError(
                f"env {env_id!r} has a Box action space with no width in dimension {where} "
                f"(low {act_space.low.reshape(-1)[where]:g}, high {act_space.high.reshape(-1)[where]:g}); every "
                "dimension needs low < high"
            )
    else:
        env.close()
        flatten = "; flatten a MultiDiscrete one into one Discrete space"
        raise UserError(
            f"env {env_id!r} has a {type(act_space).__name__} action space; Box (continuous) and Discrete "
            "action spaces are supported" + flatten * isinstance(act_space, gym.spaces.MultiDiscrete)
        )
    if isinstance(obs_space, gym.spaces.Discrete):
        obs_dim = int(obs_space.n)
    elif isinstance(obs_space, gym.spaces.Box) and len(obs_space.shape) >= 1:
        obs_dim = int(np.prod(obs_space.shape))
    elif not isinstance(obs_space, gym.spaces.Box) and obs_space.is_np_flattenable:
        obs_dim = int(gym.spaces.flatdim(obs_space))  # Dict, Tuple, MultiBinary, MultiDiscrete: one vector
    else:
        env.close()
        raise UserError(
            f"env {env_id!r} must have an observation space gymnasium can flatten to a vector (Box, Discrete, "
            f"Dict, Tuple, MultiBinary, MultiDiscrete), got {obs_space}"
        )
    image: tuple[int, ...] = ()
    if isinstance(obs_space, gym.spaces.Box) and len(obs_space.shape) == 3:
        if not preprocessed:  # gymnasium's images are H x W x C (MinAtar's): channels first, as convolutions read them
            env = ChannelsFirst(env)
        image = tuple(int(x) for x in env.observation_space.shape)  # type: ignore[union-attr]
    obs_dtype = "uint8" if isinstance(obs_space, gym.spaces.Box) and obs_space.dtype == np.uint8 else "float32"
    spec = EnvSpec(obs_dim, action_dim, discrete, image, obs_dtype, obs_space)
    if spec.action_dim < 1 or spec.obs_dim < 1 or (discrete and spec.action_dim < 2):
        env.close()
        raise UserError(
            f"env {env_id!r} has an empty action or observation space, or a single discrete action; "
            "both need at least one dimension, and a choice needs two actions"
        )
    if isinstance(act_space, gym.spaces.Box):
        unit = np.ones(act_space.shape, dtype=np.float32)
        env = RescaleAction(env, -unit, unit)
        if len(act_space.shape) != 1:
            env = FlattenAction(env)
    else:
        env = DiscreteAction(env)
    if not (isinstance(obs_space, gym.spaces.Box) and len(obs_space.shape) == 1):
        env = FlattenObservation(env)  # a Discrete observation becomes its one-hot vector, an image a vector
    return CheckedEnv(env, env_id, spec.obs_dim), spec
