"""MENTS and UCT (``rlai plan``): MENTS's root soft values converge to the exact ones on a
deterministic tree (backward induction of the softmax), its tau -> 0 limit backs up maxima, and
bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

from rlasinference.cli.main import app
from rlasinference.planning.synthetic_tree import SyntheticTree
from rlasinference.planning.tree_search import PlanSettings, TreeSearch
from tests.test_cli import assert_one_line_error

runner = CliRunner()


def _plan(tree: SyntheticTree, planner: str, simulations: int, tau: float = 0.1, seed: int = 0) -> tuple[int, object]:
    tree.reset(seed=0)
    settings = PlanSettings(planner, simulations, tau=tau, eps=0.5, rollout_depth=10)  # eps 0.5: every node reached
    return TreeSearch(settings, tree.k, np.random.default_rng(seed)).plan(tree)


@pytest.mark.parametrize("tree_seed", [1, 2, 3])
def test_ments_root_soft_values_converge_to_backward_induction(tree_seed: int) -> None:
    tree = SyntheticTree(branching=3, depth=3, noise=0.0, tree=tree_seed)
    exact = tree.soft_values(0.1)
    action, root = _plan(tree, "ments", 5000)
    # every node of the 39 is expanded and backed up many times over: the backups are exact
    assert np.abs(root.q - exact).max() / np.abs(exact).max() < 1e-9  # type: ignore[attr-defined]
    assert action == int(np.argmax(exact))


def test_ments_at_small_tau_backs_up_maxima_and_finds_the_best_leaf() -> None:
    tree = SyntheticTree(branching=3, depth=3, noise=0.0, tree=4)
    hard = tree.leaf_means().reshape(3, 9).max(axis=1)  # the best leaf under each root action
    action, root = _plan(tree, "ments", 5000, tau=1e-4)
    assert np.abs(root.q - hard).max() < 1e-4 * np.log(3) * 2 + 1e-12  # type: ignore[attr-defined]
    assert action == tree.best_action()
    assert _plan(tree, "uct", 3000)[0] == tree.best_action()


def test_planning_a_stochastic_env_does_not_see_its_future() -> None:
    """Each simulation draws its own outcomes: a copy of the env keeps the env's random state, and
    planning with it would replay exactly the slips the real lake is about to make."""
    lake = gym.make("FrozenLake-v1")
    lake.reset(seed=0)
    search = TreeSearch(PlanSettings("uct", 300, rollout_depth=20), 4, np.random.default_rng(0))
    before = lake.unwrapped.np_random.bit_generator.state
    _, root = search.plan(lake)
    assert lake.unwrapped.np_random.bit_generator.state == before  # the real env is untouched
    assert root.visits.sum() == 300 and len(root.children) == 4


def test_rlai_plan_root_statistics_and_episodes(tmp_path: Path) -> None:
    once = runner.invoke(app, ["plan", "rlasinference/SyntheticTree-v0", "--simulations", "300", "--json"])
    assert once.exit_code == 0, once.output
    record = json.loads(once.stdout)
    assert len(record["visits"]) == 4 and sum(record["visits"]) == 300 and len(record["q"]) == 4
    assert record["action"] == int(np.argmax(record["q"]))
    played = runner.invoke(
        app,
        [
            "plan",
            "CartPole-v1",
            "--planner",
            "uct",
            "--simulations",
            "20",
            "--episodes",
            "1",
            "--rollout-depth",
            "20",
            "--json",
            "--out",
            str(tmp_path / "played"),
        ],
    )
    assert played.exit_code == 0, played.output
    assert json.loads(played.stdout)["mean_return"] > 30  # a random policy lasts about 22 steps
    assert {p.name for p in (tmp_path / "played").iterdir()} == {"plan.json", "episodes.csv", "episodes.png"}
    capped = runner.invoke(
        app,
        [
            *["plan", "CartPole-v1", "--planner", "uct", "--simulations", "20", "--rollout-depth", "20"],
            *["--episodes", "2", "--max-steps", "7", "--json", "--out", str(tmp_path / "capped")],
        ],
    )
    assert capped.exit_code == 0, capped.output
    assert json.loads(capped.stdout)["returns"] == [7.0, 7.0]  # UCT balances the pole for 7 steps, then stops
    assert json.loads((tmp_path / "capped" / "plan.json").read_text())["max_steps"] == 7


@pytest.mark.parametrize(
    "args, message",
    [
        (["Pendulum-v1"], "planning needs Discrete actions"),
        (["CartPole-v1", "--simulations", "0"], "simulations must be positive"),
        (["CartPole-v1", "--planner", "alphazero"], "planner must be one of ments, uct"),
        (["CartPole-v1", "--tau", "0"], "tau must be positive"),
        (["CartPole-v1", "--episodes", "-1"], "--episodes must be 0 or positive"),
        (["CartPole-v1", "--episodes", "1", "--max-steps", "0"], "--max-steps must be positive"),
        (["CartPole-v1", "--max-steps", "5"], "--max-steps caps played episodes: it needs --episodes 1 or more"),
        (["tests.helpers:Uncopyable-v0"], "cannot be copied for planning"),
    ],
)
def test_rlai_plan_bad_input_is_one_line(args: list[str], message: str) -> None:
    assert_one_line_error(runner.invoke(app, ["plan", *args]), message)


def test_ments_averages_noisy_leaves() -> None:
    """A stochastic leaf's value is the mean of its draws, not the last one: on a two-armed tree
    with reward noise 0.5 the root's soft values come within 0.05 of the arms' means."""
    tree = SyntheticTree(branching=2, depth=1, noise=0.5, tree=7)
    _, root = _plan(tree, "ments", 4000)
    assert np.abs(root.q - tree.leaf_means()).max() < 0.05  # type: ignore[attr-defined]


def test_range_scaled_trees_span_zero_to_one_and_keep_the_order_of_the_leaves() -> None:
    """``scale="range"`` maps the path sums affinely onto [0, 1]: the worst leaf 0, the best 1, the
    same best action and the same leaves' order as ``scale="depth"``; a leaf's reward is its mean
    plus the noise."""
    depth, ranged = (SyntheticTree(3, 3, noise=0.0, tree=5, scale=scale) for scale in ("depth", "range"))
    means = ranged.leaf_means()
    assert means.min() == 0.0 and means.max() == pytest.approx(1.0)
    np.testing.assert_array_equal(np.argsort(means), np.argsort(depth.leaf_means()))
    assert ranged.best_action() == depth.best_action()
    ranged.reset(seed=0)
    for a in (2, 0, 1):
        _, reward, done, _, _ = ranged.step(a)
    assert done and reward == pytest.approx(means[2 * 9 + 0 * 3 + 1])
    with pytest.raises(ValueError, match="scale must be"):
        SyntheticTree(scale="sum")


class Cloneable(gym.Env):
    """A counter with ALE's clone_state / restore_state: planning must leave it where it was."""

    def __init__(self) -> None:
        self.observation_space, self.action_space = gym.spaces.Discrete(100), gym.spaces.Discrete(2)
        self.count = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.count = 0
        return 0, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        self.count += 1
        return self.count, float(action), self.count >= 5, False, {}

    def clone_state(self) -> int:
        return self.count

    def restore_state(self, state: int) -> None:
        self.count = state


def test_planning_through_clone_state_leaves_the_env_where_it_was() -> None:
    env = gym.wrappers.TimeLimit(Cloneable(), max_episode_steps=50)
    env.reset(seed=0)
    env.step(0)
    action, root = TreeSearch(PlanSettings("ments", 200), 2, np.random.default_rng(0)).plan(env)
    assert env.unwrapped.count == 1 and env._elapsed_steps == 1  # the state and the time limit's counter
    assert action == 1 and root.visits.sum() == 200  # action 1 pays 1 a step


def test_a_trained_discrete_runs_soft_value_evaluates_new_nodes(tmp_path: Path) -> None:
    """DQN-initialised MENTS: with a soft DQN's V(s) at the leaves and no rollouts, MENTS's root
    soft values on FrozenLake (not slippery, tau 0.1, gamma 0.9) are Q*(start, .) of soft
    Q-iteration, where rollouts of random moves almost never reach the goal (under the soft
    values the entropy of staying put makes the wall-bumping moves, left and up, the best). A
    continuous run has no exact V(s): one line."""
    import rlasinference
    from rlasinference.planning import soft_q_iteration
    from rlasinference.planning.tables import mdp_of_env

    name = "tests.test_discrete:tests/FrozenLake-v0"  # 4x4, not slippery
    run = rlasinference.train(
        "soft-dqn", name, steps=6000, out=tmp_path / "lake", temperature=0.1, gamma=0.9, learning_starts=2000,
        update_every=1, batch_size=64, lr_policy=3e-3, target_update_every=50, eval_every=100_000, eval_episodes=1,
        sampler={"hidden": [64]},
    )  # fmt: skip
    policy = run.policy("last")
    env = gym.make(name.split(":")[1])
    q_star = soft_q_iteration(mdp_of_env(env, "lake"), 0.9, 0.1)
    assert abs(float(policy.value(0)) - q_star.v[0]) < 0.05
    obs, _ = env.reset(seed=0)
    search = rlasinference.planner(env, "ments", simulations=100, tau=0.1, gamma=0.9, rollout_depth=0, value=run.dir)
    action, root = search.plan(env, obs=obs)
    assert np.abs(root.q - q_star.q[0]).max() < 0.05, (root.q, q_star.q[0])
    assert action in (0, 3)
    sac = rlasinference.train("sac", "Pendulum-v1", steps=300, out=tmp_path / "sac", learning_starts=100)
    result = runner.invoke(app, ["plan", "CartPole-v1", "--value", str(sac.dir), "--simulations", "5"])
    assert_one_line_error(result, "a soft value V(s) needs a discrete run")
    other = runner.invoke(app, ["plan", "tests.test_discrete:tests/FrozenLakeSlippery-v0", "--value", str(run.dir)])
    assert other.exit_code == 0  # the same spaces: a run of the other lake is accepted
    wrong = runner.invoke(app, ["plan", "tests.helpers:tests/DotImage-v0", "--value", str(run.dir)])
    assert_one_line_error(wrong, "--value run was trained on 'tests.test_discrete:tests/FrozenLake-v0'")
