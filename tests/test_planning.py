"""``rlai solve``: soft Q-iteration and soft policy iteration on tabular MDPs, against an
independent iteration written here, and their tau -> 0 limit, value iteration."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

from rlasinference.cli.main import app
from rlasinference.planning import TabularMDP, soft_policy_iteration, soft_q_iteration
from tests.test_cli import assert_one_line_error

runner = CliRunner()


def random_mdp(seed: int, states: int = 7, actions: int = 3) -> TabularMDP:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(states + 1), size=(states, actions))  # the last column: termination
    return TabularMDP(reward=rng.normal(size=(states, actions)), cont=p[..., :states])


def independent_soft_q(mdp: TabularMDP, gamma: float, tau: float, sweeps: int = 3000) -> np.ndarray:
    """Q <- r + gamma P (tau log sum exp(Q / tau)), written out state by state."""
    q = np.zeros((mdp.states, mdp.actions))
    for _ in range(sweeps):
        v = np.array([tau * np.log(np.sum(np.exp(q[s] / tau))) if tau > 0 else q[s].max() for s in range(mdp.states)])
        q = np.array(
            [[mdp.reward[s, a] + gamma * mdp.cont[s, a] @ v for a in range(mdp.actions)] for s in range(mdp.states)]
        )
    return q


@pytest.mark.parametrize("tau", [0.1, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_soft_q_and_policy_iteration_agree_with_an_independent_iteration(seed: int, tau: float) -> None:
    mdp, gamma = random_mdp(seed), 0.9
    expected = independent_soft_q(mdp, gamma, tau, sweeps=400)
    solved = soft_q_iteration(mdp, gamma, tau, tol=1e-10)
    assert np.abs(solved.q - expected).max() < 1e-6
    by_policy = soft_policy_iteration(mdp, gamma, tau)
    assert np.abs(by_policy.q - expected).max() < 1e-6 and by_policy.iterations < 20
    # pi* = softmax(Q*/tau), and V* = tau logsumexp(Q*/tau) = E_pi*[Q* - tau log pi*]
    assert np.allclose(solved.policy.sum(axis=1), 1.0)
    assert np.allclose(solved.v, (solved.policy * (solved.q - tau * np.log(solved.policy))).sum(axis=1))


def test_tau_to_zero_is_value_iteration() -> None:
    mdp, gamma = random_mdp(5), 0.95
    value_iteration = independent_soft_q(mdp, gamma, 0.0, sweeps=800)
    assert np.abs(soft_q_iteration(mdp, gamma, 0.0).q - value_iteration).max() < 1e-8
    assert np.abs(soft_policy_iteration(mdp, gamma, 0.0).q - value_iteration).max() < 1e-8
    for tau in (1e-2, 1e-3):  # the soft value exceeds the hard one by at most tau log|A| / (1 - gamma)
        gap = soft_q_iteration(mdp, gamma, tau).q - value_iteration
        assert gap.min() >= -1e-9 and gap.max() <= tau * np.log(mdp.actions) / (1 - gamma) + 1e-9  # (tol 1e-10)


def test_rlai_solve_frozen_lake(tmp_path: Path) -> None:
    result = runner.invoke(app, ["solve", "FrozenLake-v1", "--tau", "0.1", "--out", str(tmp_path / "s"), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    q, policy = np.array(record["q"]), np.array(record["policy"])
    assert q.shape == (16, 4) and np.allclose(policy.sum(axis=1), 1.0) and record["iterations"] > 0
    assert (tmp_path / "s" / "values.png").stat().st_size > 0
    assert json.loads((tmp_path / "s" / "solution.json").read_text())["v"] == record["v"]
    slippery = runner.invoke(
        app,
        [
            "solve",
            "FrozenLake-v1",
            "--tau",
            "0",
            "--method",
            "policy-iteration",
            "--json",
            "--out",
            str(tmp_path / "vi"),
        ],
    )
    # value iteration's V*(0) on the slippery 4x4 lake at gamma 0.99 (a known figure: 0.542)
    assert abs(json.loads(slippery.stdout)["v"][0] - 0.542) < 1e-3
    # the lake made with a keyword of gymnasium.make: without slipping, the goal is 6 moves away,
    # and its reward comes on the 6th, so V*(0) = gamma^5
    still = runner.invoke(
        app, ["solve", "FrozenLake-v1(is_slippery=False)", "--tau", "0", "--json", "--out", str(tmp_path / "ns")]
    )
    assert still.exit_code == 0, still.output
    assert abs(json.loads(still.stdout)["v"][0] - 0.99**5) < 1e-9


def test_rlai_solve_prints_a_grid_by_rows_and_cuts_a_long_table(tmp_path: Path) -> None:
    lake = runner.invoke(
        app, ["solve", "FrozenLake-v1(is_slippery=False)", "--tau", "0", "--out", str(tmp_path / "lake")]
    )
    assert lake.exit_code == 0, lake.output
    record = json.loads((tmp_path / "lake" / "solution.json").read_text())
    greedy = np.array(record["policy"]).argmax(axis=1).reshape(4, 4)
    rows = lake.stdout.splitlines()[2:6]  # after the summary and V*(s0) lines
    assert [[int(a) for a in row.split()] for row in rows] == greedy.tolist()
    taxi_id = "Taxi-v4" if "Taxi-v4" in gym.registry else "Taxi-v3"  # gymnasium before 1.3: v3
    taxi = runner.invoke(app, ["solve", taxi_id, "--tau", "0.1", "--out", str(tmp_path / "taxi")])
    assert taxi.exit_code == 0, taxi.output
    shown = taxi.stdout.splitlines()[1].split("greedy actions: [")[1]
    assert shown.endswith(", ...]") and len(shown.split(", ")) == 64 + 1  # 500 states: 64 shown


@pytest.mark.parametrize(
    "args, message",
    [
        (["Pendulum-v1"], "exposes no transition table"),
        (["FrozenLake-v1", "--gamma", "1"], "gamma must be in [0, 1)"),
        (["FrozenLake-v1", "--tau", "-1"], "tau must be 0 or positive"),
        (["FrozenLake-v1", "--method", "mcts"], "--method must be one of q-iteration, policy-iteration"),
        (["NoSuchEnv-v0"], "cannot make env 'NoSuchEnv-v0'"),
        (["FrozenLake-v1(slippery=False)"], "unexpected keyword argument 'slippery'"),
        (["FrozenLake-v1(is_slippery=no)"], "the value of is_slippery must be a Python literal"),
        (["FrozenLake-v1(False)"], "keyword arguments are written EnvId(key=value, ...)"),
        (["FrozenLake-v1(desc={['S']: 1})"], "the value of desc must be a Python literal"),
        (["FrozenLake-v1(is_slippery=False"], "keyword arguments are written EnvId(key=value, ...)"),
        (["FrozenLake-v1(map_name=8x8)"], "each value a Python literal, strings in quotes"),
    ],
)
def test_rlai_solve_bad_input_is_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    assert_one_line_error(runner.invoke(app, ["solve", *args, "--out", str(tmp_path / "s")]), message)


def test_solve_and_plan_write_only_into_a_folder_of_their_own(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's own file")
    for args in (["solve", "FrozenLake-v1"], ["plan", "CartPole-v1", "--simulations", "5", "--episodes", "1"]):
        result = runner.invoke(app, [*args, "--out", str(mine)])
        assert_one_line_error(result, "holds files that are not", "notes.txt", "choose another --out")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "solution.json").symlink_to(mine / "notes.txt")  # a link planted to redirect the write
    assert_one_line_error(runner.invoke(app, ["solve", "FrozenLake-v1", "--out", str(linked)]), "solution.json")
    assert (mine / "notes.txt").read_text() == "the user's own file"
    again = tmp_path / "again"  # a folder holding a solution's own outputs is written again
    for _ in range(2):
        assert runner.invoke(app, ["solve", "FrozenLake-v1", "--out", str(again)]).exit_code == 0
