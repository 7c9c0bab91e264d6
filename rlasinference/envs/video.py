"""MP4s of evaluation episodes: gymnasium's ``RecordVideo`` (moviepy writes the files) on an
env made to render ``rgb_array`` frames. MuJoCo renders without a display through EGL (Linux:
``libegl1``) or OSMesa (``libosmesa6``); with neither a display nor ``MUJOCO_GL`` set, EGL is
tried. Anything missing is one line that says what to install."""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import os
import sys
from pathlib import Path

import gymnasium as gym

from rlasinference.core.errors import UserError, first_line

HEADLESS_HINT = (
    "MuJoCo renders without a display through EGL (Linux package libegl1; MUJOCO_GL=egl) "
    "or OSMesa (libosmesa6; MUJOCO_GL=osmesa)"
)


def headless_rendering() -> None:
    """Pick EGL for MuJoCo on Linux where nothing is chosen and there is no display (gymnasium
    reads ``MUJOCO_GL`` when its first renderer is made; macOS and Windows render without it)."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("MUJOCO_GL", "egl")


def record_video(env: gym.Env, folder: Path, prefix: str) -> gym.Env:
    """``env`` (made with ``render_mode="rgb_array"``) recording every episode to
    ``folder/<prefix>-episode-<i>.mp4``, once a first frame was drawn."""
    if importlib.util.find_spec("moviepy") is None or sys.modules.get("moviepy", False) is None:
        raise UserError("--video needs moviepy: pip install 'rlasinference[video]'")
    failure = _first_frame_failure(env)
    if failure is not None:
        raise UserError(f"cannot render frames ({failure}); {HEADLESS_HINT}")
    from gymnasium.wrappers import RecordVideo

    try:
        return RecordVideo(env, str(folder), episode_trigger=lambda _: True, name_prefix=prefix, disable_logger=True)
    except gym.error.Error as exc:  # moviepy that does not import, an env without rgb_array frames
        raise UserError(f"cannot record videos: {first_line(exc)}") from None


def _first_frame_failure(env: gym.Env) -> str | None:
    """Draw one frame; the first line of what went wrong, ``None`` if a frame came. A renderer
    that fails half-built is closed and collected quietly (gymnasium's viewer would print a
    traceback from its ``__del__``)."""
    previous = sys.unraisablehook
    sys.unraisablehook = lambda _: None
    try:
        env.reset(seed=0)
        if env.render() is None:
            return "the env returned no rgb_array frame"
        return None
    except Exception as exc:  # GL libraries fail in many ways; each is one line here
        failure = first_line(exc)
        with contextlib.suppress(Exception):  # the same broken renderer, freed again
            env.close()
    finally:
        gc.collect()
        sys.unraisablehook = previous
    return failure
