"""The envs of an on-policy run, stepped together: in this process (``sync``) or one subprocess
per env (``async``, for envs whose step costs more than a round trip between processes).

Written here rather than taken from ``gymnasium.vector``: an exact resume puts every env back
mid-episode by resetting it with its episode's seed and replaying that episode's actions, and
the vector API resets its sub-envs itself (autoreset, without our seeds) and has no call that
reaches one sub-env. Both pools give the same observations for the same actions.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import threading
import warnings
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from rlasinference.core.errors import UserError
from rlasinference.envs import make_env
from rlasinference.envs.make import EpisodeCapWarning

Step = tuple[np.ndarray, float, bool, bool]  # observation, reward, terminated, truncated


def _replay(env: Any, seed: int, actions: Sequence[np.ndarray]) -> np.ndarray:
    obs, _ = env.reset(seed=seed)
    for action in actions:
        obs, *_ = env.step(action)
    return np.asarray(obs)


class SyncPool:
    """``num_envs`` envs of ``env_id`` in this process, stepped one after the other."""

    def __init__(self, env_id: str, num_envs: int, first: Any | None = None) -> None:
        self.envs = ([first] if first is not None else []) + [
            make_env(env_id)[0] for _ in range(num_envs - (first is not None))
        ]

    def reset(self, i: int, seed: int, actions: Sequence[np.ndarray] = ()) -> np.ndarray:
        """Reset env ``i`` with ``seed`` and replay ``actions``; its observation."""
        return _replay(self.envs[i], seed, actions)

    def step(self, actions: np.ndarray) -> list[Step]:
        out = []
        for env, action in zip(self.envs, actions):
            obs, reward, terminated, truncated, _ = env.step(action)
            out.append((np.asarray(obs), float(reward), bool(terminated), bool(truncated)))
        return out

    def close(self) -> None:
        for env in self.envs:
            env.close()


def _worker(env_id: str, conn: Connection) -> None:
    """One env in a subprocess: answers ``("reset", seed, actions)``, ``("step", action)`` and
    ``("close",)``; an error is sent back as ``("error", text)``. Ctrl-C and SIGTERM reach the
    whole process group: the worker ignores them, the parent finishes its rollout, saves and
    closes the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    warnings.simplefilter("ignore", EpisodeCapWarning)  # the parent made the same env first and said so
    try:
        env = make_env(env_id)[0]
        conn.send(("ready",))
    except Exception as exc:  # reported to the parent as one line
        conn.send(("error", str(exc)))
        return
    while True:
        command, *args = conn.recv()
        try:
            if command == "reset":
                conn.send(("ok", _replay(env, *args)))
            elif command == "step":
                obs, reward, terminated, truncated, _ = env.step(args[0])
                conn.send(("ok", (np.asarray(obs), float(reward), bool(terminated), bool(truncated))))
            else:
                env.close()
                conn.send(("ok", None))
                return
        except Exception as exc:  # the env failed: the parent stops with its message
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class AsyncPool:
    """``num_envs`` envs of ``env_id``, one subprocess each; a step sends every action, then
    waits for every answer, so the envs step in parallel."""

    def __init__(self, env_id: str, num_envs: int) -> None:
        ctx = mp.get_context("spawn")  # a clean interpreter: no copy of torch's thread pools
        self.conns: list[Connection] = []
        self.procs = []
        # A worker ignores Ctrl-C and SIGTERM from its first instruction: an ignored signal stays
        # ignored across the new interpreter's exec, so a Ctrl-C while the workers import their
        # modules prints no traceback from each of them (the parent stops the run).
        main = threading.current_thread() is threading.main_thread()
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}
        try:
            for _ in range(num_envs):
                parent, child = ctx.Pipe()
                proc = ctx.Process(target=_worker, args=(env_id, child), daemon=True)
                proc.start()
                self.conns.append(parent)
                self.procs.append(proc)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        for conn in self.conns:
            self._answer(conn)

    def _send(self, conn: Connection, message: tuple[Any, ...]) -> None:
        try:
            conn.send(message)
        except OSError:  # BrokenPipeError and the like: the worker is gone
            raise UserError("an env subprocess of vector_env=async died") from None

    def _answer(self, conn: Connection) -> Any:
        try:
            kind, *value = conn.recv()
        except (EOFError, OSError):
            raise UserError("an env subprocess of vector_env=async died") from None
        if kind == "error":
            raise UserError(f"an env subprocess of vector_env=async failed: {value[0]}")
        return value[0] if value else None

    def reset(self, i: int, seed: int, actions: Sequence[np.ndarray] = ()) -> np.ndarray:
        self._send(self.conns[i], ("reset", seed, list(actions)))
        return np.asarray(self._answer(self.conns[i]))

    def step(self, actions: np.ndarray) -> list[Step]:
        for conn, action in zip(self.conns, actions):
            self._send(conn, ("step", action))
        return [self._answer(conn) for conn in self.conns]

    def close(self) -> None:
        for conn, proc in zip(self.conns, self.procs):
            try:
                conn.send(("close",))
                conn.recv()
            except (BrokenPipeError, EOFError, OSError):
                pass
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()


def make_pool(env_id: str, num_envs: int, mode: str, first: Any | None = None) -> SyncPool | AsyncPool:
    """The pool of ``mode`` (``sync`` reuses ``first``, an env already made, as its env 0)."""
    return AsyncPool(env_id, num_envs) if mode == "async" else SyncPool(env_id, num_envs, first)
