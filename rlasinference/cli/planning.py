"""``rlai solve`` (soft Q-iteration on an env with a transition table) and ``rlai plan`` (MENTS and
UCT tree search with a copy of the env as the model)."""

from __future__ import annotations

import csv
import json
import re
import time
from pathlib import Path
from typing import Annotated

import typer

from rlasinference.cli.output import fail, out_path, say
from rlasinference.core.errors import UserError

SHOWN_STATES = 64  # greedy actions printed for an env that is not a grid; solution.json holds all


def solve(
    env: Annotated[
        str,
        typer.Argument(help="A gymnasium env id with a transition table, e.g. 'FrozenLake-v1(is_slippery=False)'."),
    ],
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

    Works for envs that expose `env.unwrapped.P[s][a] = [(prob, next_state, reward, terminated), ...]`
    as gymnasium's toy-text envs do (FrozenLake, CliffWalking, Taxi). Grid worlds are drawn."""

    from rlasinference.api.planning import solve as solve_env
    from rlasinference.core.files import atomic_path, claim_output_dir
    from rlasinference.envs.make import make_gym_env
    from rlasinference.planning.plot import plot_grid
    from rlasinference.planning.tables import grid_shape

    try:
        made = make_gym_env(env)
        solution = solve_env(made, tau, gamma, method, tol)
        start = int(made.reset(seed=0)[0])
        folder = out_path(out) or Path("runs") / f"solve-{re.sub(r'[^A-Za-z0-9_.-]+', '-', env)}-tau{tau:g}"
        claim_output_dir(folder, ("solution.json", "values.png"), "a solution's outputs")
        record = {"env": env, "tau": tau, "gamma": gamma, "method": method, **solution.as_dict()}
        with atomic_path(folder / "solution.json") as tmp:
            tmp.write_text(json.dumps(record) + "\n")
        shape = grid_shape(made)
        if shape is not None and shape[0] * shape[1] == len(solution.v):
            plot_grid(solution, shape, folder / "values.png", f"{env}: τ = {tau:g}, γ = {gamma:g}")
    except UserError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot write the solution: {exc.strerror or exc}") from None
    if json_:
        typer.echo(json.dumps(record))
        return
    say(
        f"{env}: {solution.q.shape[0]} states, {solution.q.shape[1]} actions, τ {tau:g}, γ {gamma:g}; "
        f"{method} converged in "
        f"{solution.iterations} iterations (residual {solution.residual:.2g})"
    )
    greedy = solution.policy.argmax(axis=1).tolist()
    if shape is not None and shape[0] * shape[1] == len(greedy):  # a grid world: its rows, as the plot draws them
        say(f"V* at the reset state {start}: {solution.v[start]:.4f}; greedy actions, row by row:")
        for row in range(shape[0]):
            say("  " + " ".join(str(a) for a in greedy[row * shape[1] : (row + 1) * shape[1]]))
    else:  # a long table is cut: every state's policy is in solution.json
        shown = ", ".join(map(str, greedy[:SHOWN_STATES])) + (", ..." if len(greedy) > SHOWN_STATES else "")
        say(f"V* at the reset state {start}: {solution.v[start]:.4f}; greedy actions: [{shown}]")
    say(f"wrote solution.json{', values.png' if (folder / 'values.png').exists() else ''} to {folder}")


def plan(
    env: Annotated[str, typer.Argument(help="A gymnasium env id with discrete actions whose state can be copied.")],
    planner: Annotated[str, typer.Option(help="ments or uct.")] = "ments",
    simulations: Annotated[int, typer.Option(help="Simulations per decision.")] = 500,
    tau: Annotated[float, typer.Option(help="MENTS's temperature.")] = 0.1,
    eps: Annotated[float, typer.Option(help="MENTS's exploration (E2W's epsilon).")] = 0.1,
    c: Annotated[float, typer.Option(help="UCT's exploration constant.")] = 1.0,
    gamma: Annotated[float, typer.Option(help="Discount, in (0, 1].")] = 1.0,
    rollout_depth: Annotated[int, typer.Option(help="Steps of the random rollout at a new node.")] = 50,
    value: Annotated[
        str | None,
        typer.Option(help="A trained discrete run whose Q(s, .) evaluates new nodes instead of rollouts."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the env's reset and of the planner.")] = 0,
    episodes: Annotated[int, typer.Option(help="0: plan once at the reset state; K: play K episodes.")] = 0,
    max_steps: Annotated[
        int | None, typer.Option(help="End each played episode after this many decisions (truncation).")
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            help="Folder for plan.json, episodes.csv and episodes.png (with --episodes). \\[default: runs/plan-...]"
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Plan with MENTS (maximum-entropy tree search) or UCT, using a copy of the env as the model.

    The env's state is copied with copy.deepcopy, or with clone_state()/restore_state(state)
    where its unwrapped env has them (ALE)."""
    import numpy as np

    from rlasinference.api.planning import planner as make_planner
    from rlasinference.core.files import atomic_path, claim_output_dir
    from rlasinference.envs.make import make_gym_env  # (importing envs registers the synthetic trees)
    from rlasinference.planning.plot import plot_episodes

    try:
        if episodes < 0:
            raise UserError(f"--episodes must be 0 or positive, got {episodes}")
        if max_steps is not None and max_steps < 1:
            raise UserError(f"--max-steps must be positive, got {max_steps}")
        if max_steps is not None and episodes == 0:
            raise UserError("--max-steps caps played episodes: it needs --episodes 1 or more")
        made = make_gym_env(env)
        search = make_planner(made, planner, simulations, tau, eps, c, gamma, rollout_depth, seed, value)
        settings = search.s
        obs, _ = made.reset(seed=seed)
        if episodes == 0:
            action, root = search.plan(made, env, obs)
            record: dict[str, object] = {"action": action, "visits": root.visits.tolist(), "q": root.q.tolist()}
        else:
            folder = out_path(out) or Path("runs") / f"plan-{planner}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', env)}-s{seed}"
            claim_output_dir(folder, ("plan.json", "episodes.csv", "episodes.png"), "a plan's outputs")
            returns, lengths = [], []
            with open(folder / "episodes.csv", "w", newline="") as f:
                rows = csv.writer(f)
                rows.writerow(["episode", "return", "length", "seconds"])
                for episode in range(episodes):
                    began = time.perf_counter()
                    obs, _ = made.reset(seed=seed + episode)
                    total, length, done = 0.0, 0, False
                    while not done:
                        action, _ = search.plan(made, env, obs)
                        obs, reward, terminated, truncated, _ = made.step(action)
                        total, length = total + float(reward), length + 1
                        done = terminated or truncated or length == max_steps
                    returns.append(total)
                    lengths.append(length)
                    rows.writerow([episode, total, length, round(time.perf_counter() - began, 3)])
                    f.flush()
            record = {"mean_return": float(np.mean(returns)), "std_return": float(np.std(returns))}
            record |= {"mean_length": float(np.mean(lengths)), "returns": returns}
            plot_episodes(
                returns, lengths, folder / "episodes.png", f"{planner} on {env}: {simulations} simulations a step"
            )
            settings_record = {k: getattr(settings, k) for k in vars(settings)}
            with atomic_path(folder / "plan.json") as tmp:
                tmp.write_text(
                    json.dumps({"env": env, "seed": seed, "max_steps": max_steps, **settings_record, **record}) + "\n"
                )
    except UserError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot write the episodes: {exc.strerror or exc}") from None
    record = {"env": env, "planner": planner, "simulations": simulations, **record}
    if json_:
        typer.echo(json.dumps(record))
    elif episodes == 0:
        say(f"{planner} on {env} ({simulations} simulations): action {record['action']}")
        say(f"  visits {record['visits']}")
        values = ", ".join(f"{q:.4f}" for q in root.q)
        say(f"  {'soft values' if planner == 'ments' else 'mean returns'} [{values}]")
    else:
        say(
            f"{episodes} episodes of {env} planned by {planner} ({simulations} simulations a step): "
            f"return {record['mean_return']:.2f} ± {record['std_return']:.2f}, length {record['mean_length']:.1f}"
        )
        say(f"wrote plan.json, episodes.csv, episodes.png to {folder}")
