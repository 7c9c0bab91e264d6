"""``rlai solve``: soft Q-iteration (or soft policy iteration) on an env with a transition table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer

from rlasinference.cli.output import fail, out_path, say
from rlasinference.core.errors import UserError

METHODS = ("q-iteration", "policy-iteration")


def solve(
    env: Annotated[str, typer.Argument(help="A gymnasium env id with a transition table, e.g. FrozenLake-v1.")],
    tau: Annotated[float, typer.Option(help="Temperature (0: ordinary value iteration).")] = 0.1,
    gamma: Annotated[float, typer.Option(help="Discount, in [0, 1).")] = 0.99,
    method: Annotated[str, typer.Option(help="q-iteration or policy-iteration.")] = "q-iteration",
    tol: Annotated[float, typer.Option(help="Distance to Q* at which q-iteration stops.")] = 1e-10,
    out: Annotated[
        str | None,
        typer.Option(help="Folder for solution.json (and values.png for a grid). \\[default: runs/solve-...]"),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the solution as one JSON object.")] = False,
) -> None:
    """Solve an env's soft-optimal Q*, V* and pi* exactly from its transition table.

    Works for envs that expose env.unwrapped.P[s][a] = [(prob, next_state, reward, terminated), ...]
    as gymnasium's toy-text envs do (FrozenLake, CliffWalking, Taxi). Grid worlds are drawn."""
    import gymnasium as gym

    from rlasinference.core.registry import import_user_module
    from rlasinference.planning import mdp_of_env, soft_policy_iteration, soft_q_iteration
    from rlasinference.planning.plot import plot_grid
    from rlasinference.planning.tables import grid_shape
    from rlasinference.training.run_dir import make_dir

    try:
        if method not in METHODS:
            raise UserError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
        if not tol > 0:
            raise UserError(f"--tol must be positive, got {tol}")
        module, sep, _ = env.partition(":")
        if sep:
            import_user_module(module, "env", env)
        try:
            made = gym.make(env)
        except gym.error.Error as exc:
            raise UserError(f"cannot make env {env!r}: {exc}") from None
        mdp = mdp_of_env(made, env)
        if method == "q-iteration":
            solution = soft_q_iteration(mdp, gamma, tau, tol)
        else:
            solution = soft_policy_iteration(mdp, gamma, tau)
        folder = out_path(out) or Path("runs") / f"solve-{re.sub(r'[^A-Za-z0-9_.-]+', '-', env)}-tau{tau:g}"
        make_dir(folder, "output directory")
        record = {"env": env, "tau": tau, "gamma": gamma, "method": method, **solution.as_dict()}
        (folder / "solution.json").write_text(json.dumps(record) + "\n")
        shape = grid_shape(made)
        if shape is not None and shape[0] * shape[1] == mdp.states:
            plot_grid(solution, shape, folder / "values.png", f"{env}: τ = {tau:g}, γ = {gamma:g}")
    except UserError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot write the solution: {exc.strerror or exc}") from None
    if json_:
        typer.echo(json.dumps(record))
        return
    say(
        f"{env}: {mdp.states} states, {mdp.actions} actions, τ {tau:g}, γ {gamma:g}; {method} converged in "
        f"{solution.iterations} iterations (residual {solution.residual:.2g})"
    )
    say(f"V* from state 0: {solution.v[0]:.4f}; greedy actions: {solution.policy.argmax(axis=1).tolist()}")
    say(f"wrote solution.json{', values.png' if (folder / 'values.png').exists() else ''} to {folder}")
