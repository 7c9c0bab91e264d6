"""The public Python API: train, resume, load, evaluate, callbacks; actions in the env's units
and shape; the same numbers as the CLI. (docs/tutorials/python-api.md runs as written too.)"""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import rlasinference as rlai
from rlasinference.cli.main import app

runner = CliRunner()
SMALL = dict(steps=300, eval_every=300, eval_episodes=1, learning_starts=100, threads=1, batch_size=32)
SMALL_NETS = dict(critic_hidden=[16], sampler__hidden=[16])


def test_the_package_lists_its_api_and_each_name_resolves() -> None:
    """``dir()`` (tab completion, ``help``) offers the lazily imported API, and every name in it is
    there."""
    assert dir(rlai) == sorted(rlai.__all__)
    assert all(getattr(rlai, name) is not None for name in rlai.__all__)


def test_train_returns_the_run_and_its_policy_acts_in_the_env_units(tmp_path: Path) -> None:
    run = rlai.train("sac", "tests.helpers:MatrixActionPendulum-v0", out=tmp_path / "r", **SMALL, **SMALL_NETS)
    assert run.dir == tmp_path / "r" and (run.dir / ".rlai-run").is_file()
    assert run.config["critic_hidden"] == [16] and run.config["sampler.hidden"] == [16]
    assert run.metrics[-1]["step"] == 300 and "eval_return" in run.metrics[-1]
    policy = run.policy("last")
    assert repr(policy) == "Policy(sac on tests.helpers:MatrixActionPendulum-v0, step 300, cpu)"
    space = gym.spaces.Box(-2.0, 2.0, shape=(2, 2), dtype=np.float32)
    obs = np.zeros(3, dtype=np.float32)
    action = policy.predict(obs)
    assert action.shape == (2, 2) and space.contains(action.astype(np.float32))
    assert policy.predict(np.stack([obs] * 5), deterministic=False).shape == (5, 2, 2)
    assert policy.sample(obs, 4).shape == (4, 2, 2)
    assert isinstance(policy.predict(torch.zeros(3)), torch.Tensor)
    # the (-1, 1) action the agent takes, rescaled to [-2, 2]: twice as large
    unit = policy.agent.act(torch.zeros(1, 3), True)[0].reshape(2, 2).numpy()
    np.testing.assert_allclose(action, 2.0 * unit, rtol=1e-6)
    # log_prob in the env's units: the (-1, 1) density minus log 2 per action dimension
    draws = policy.sample(obs, 3)
    inner = policy.agent.sampler.log_prob(torch.zeros(1, 3), torch.as_tensor(draws / 2.0).reshape(1, 3, 4))[0].detach()
    np.testing.assert_allclose(policy.log_prob(obs, draws), inner.numpy() - 4 * math.log(2.0), rtol=1e-5)
    # no density outside the bounds: one coordinate past 2 is enough
    beyond = draws.copy()
    beyond[1, 0, 1] = 2.5
    assert policy.log_prob(obs, beyond)[1] == -math.inf
    np.testing.assert_allclose(policy.log_prob(obs, beyond)[[0, 2]], policy.log_prob(obs, draws)[[0, 2]], rtol=1e-6)
    assert np.isfinite(policy.q(obs, action)) and policy.q(obs, draws).shape == (3,)
    assert policy.temperature > 0


def test_log_prob_is_finite_on_the_bounds_of_an_asymmetric_box(tmp_path: Path) -> None:
    """[0.1, 0.7] is not exact in binary: its bounds rescaled to (-1, 1) in float32 land a rounding
    past 1, yet they are inside the box; just past them is not."""
    env = "tests.helpers:BoxActionPendulum-v0(low=[0.1, -0.3], high=[0.7, 1.0])"
    policy = rlai.train("sac", env, out=tmp_path / "r", **SMALL, **SMALL_NETS).policy("last")
    obs = np.zeros(3, dtype=np.float32)
    low, high = policy.action_space.low, policy.action_space.high
    on_bounds = policy.log_prob(obs, np.stack([low, high, np.array([low[0], high[1]], dtype=np.float32)]))
    assert np.isfinite(on_bounds).all(), on_bounds
    past = np.stack([np.nextafter(low, -np.inf), np.nextafter(high, np.inf)]).astype(np.float32)
    assert (policy.log_prob(obs, past) == -math.inf).all()


def test_dict_and_tuple_observations_are_flattened_in_training_and_in_the_policy(tmp_path: Path) -> None:
    """A Dict observation (a goal env's) trains, evaluates and is read by the policy as the env's
    FlattenObservation reads it; so does Blackjack's Tuple of Discretes with a discrete preset."""
    run = rlai.train("sac", "tests.helpers:tests/DictGoal-v0", out=tmp_path / "goal", **SMALL, **SMALL_NETS)
    policy = run.policy("last")
    env = gym.make("tests/DictGoal-v0")
    obs, _ = env.reset(seed=3)
    flat = torch.as_tensor(gym.spaces.flatten(env.observation_space, obs), dtype=torch.float32)
    assert flat.shape == (5,)  # 2 + 2 + 1, in the space's key order
    np.testing.assert_allclose(policy.predict(obs), 0.2 * policy.agent.act(flat[None], True)[0].numpy(), rtol=1e-6)
    assert policy.predict([obs, obs, obs]).shape == (3, 2) and np.isfinite(policy.q(obs, policy.predict(obs)))
    # torch leaves: a torch answer
    as_torch = {key: torch.as_tensor(value) for key, value in obs.items()}
    assert torch.equal(policy.predict(as_torch), torch.as_tensor(policy.predict(obs)))
    wrong = [
        {"observation": obs["observation"]},  # a key missing
        {**obs, "extra": np.zeros(1)},  # a key too many
        {**obs, "observation": np.zeros(3, np.float32)},  # a part of another size
        {**obs, "observation": np.zeros(3), "desired_goal": np.zeros(1)},  # sizes that add up
    ]
    for bad in wrong:
        with pytest.raises(rlai.UserError, match="observations must be of the env's space"):
            policy.predict(bad)
    assert np.isfinite(rlai.evaluate(policy, episodes=1)["mean_return"])

    cards = rlai.train("soft-dqn", "Blackjack-v1", out=tmp_path / "cards", **SMALL, critic_hidden=[16])
    hand = gym.make("Blackjack-v1").reset(seed=0)[0]
    assert isinstance(hand, tuple) and cards.policy("last").predict(hand) in (0, 1)
    assert cards.policy("last").predict([hand, hand]).shape == (2,)

    counts = rlai.train("soft-dqn", "tests.helpers:tests/CountsMD-v0", out=tmp_path / "md", **SMALL, critic_hidden=[16])
    policy = rlai.load(counts.dir, "last")
    assert policy.predict(np.array([0, 1])) in (0, 1) and policy.predict(np.array([[0, 1], [2, 3]])).shape == (2,)
    for bad in (np.array([0, 1, 2]), np.array([3, 0])):  # a third counter; an index out of range
        with pytest.raises(rlai.UserError, match="observations must"):
            policy.predict(bad)
    assert rlai.evaluate(policy, episodes=1)["mean_length"] == 10


def test_evaluate_gives_the_numbers_of_rlai_eval(tmp_path: Path) -> None:
    import json

    run = rlai.train("sac", out=tmp_path / "r", **SMALL, **SMALL_NETS)
    for deterministic in (True, False):
        ours = rlai.evaluate(rlai.load(run.dir), episodes=2, seed=7, deterministic=deterministic)
        flags = ["--episodes", "2", "--seed", "7", "--checkpoint", "best", "--json"]
        cli = runner.invoke(app, ["eval", str(run.dir), *flags, *([] if deterministic else ["--stochastic"])])
        assert json.loads(cli.stdout)["returns"] == ours["returns"]


def test_on_policy_policies_normalise_observations_and_have_no_q(tmp_path: Path) -> None:
    run = rlai.train("ppo", out=tmp_path / "p", steps=256, num_steps=128, eval_every=256, eval_episodes=1, threads=1)
    policy = rlai.load(run.dir, "last")
    obs = np.array([0.5, -0.5, 1.0], dtype=np.float32)
    expected = policy.agent.act(torch.as_tensor(obs)[None], True)[0].numpy() * 2.0  # act normalises itself
    np.testing.assert_allclose(policy.predict(obs), expected, rtol=1e-6)
    assert np.isfinite(policy.log_prob(obs, policy.predict(obs)))
    with pytest.raises(rlai.UserError, match="learns a state value"):
        policy.q(obs, policy.predict(obs))


def test_bad_inputs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(rlai.UserError, match="unknown config key 'lr_crtic'"):
        rlai.train("sac", lr_crtic=1e-3, out=tmp_path / "x")
    with pytest.raises(rlai.UserError, match="out must name a directory"):
        rlai.train("sac", out="")
    with pytest.raises(rlai.UserError, match=r"not an env object.*'Pendulum-v1'"):
        rlai.train("sac", gym.make("Pendulum-v1"), out=tmp_path / "object")  # type: ignore[arg-type]
    assert not (tmp_path / "object").exists()
    run = rlai.train("sac", out=tmp_path / "r", **SMALL, **SMALL_NETS)
    with pytest.raises(rlai.UserError, match="checkpoint must be best or last"):
        rlai.load(run.dir, "first")
    with pytest.raises(rlai.UserError, match=r"observations must have shape \(3,\)"):
        rlai.load(run.dir).predict(np.zeros(4))
    with pytest.raises(rlai.UserError, match="episodes must be >= 1"):
        rlai.evaluate(rlai.load(run.dir), episodes=0)
    with pytest.raises(rlai.UserError, match="not an env object"):
        rlai.evaluate(rlai.load(run.dir), env=gym.make("Pendulum-v1"))  # type: ignore[arg-type]
    sizes = r"'MountainCarContinuous-v0' has observations of size 2 .* 'Pendulum-v1' reads 3 and acts in 1 box"
    with pytest.raises(rlai.UserError, match=sizes):
        rlai.evaluate(rlai.load(run.dir), env="MountainCarContinuous-v0")
    assert len(rlai.evaluate(rlai.load(run.dir), env="Pendulum-v1", episodes=1)["returns"]) == 1


def test_callbacks_see_every_event_and_stop_the_run_resumably(tmp_path: Path) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.steps: list[int] = []
            self.evals: list[tuple[int, float]] = []
            self.checkpoints: list[Path] = []

        def on_step(self, step: int) -> None:
            self.steps.append(step)

        def on_eval(self, step: int, metrics: dict) -> bool | None:
            self.evals.append((step, metrics["eval_return"]))
            return None

        def on_checkpoint(self, path: Path) -> None:
            self.checkpoints.append(path)

    seen = Recorder()
    settings = {**SMALL, **SMALL_NETS, "steps": 400, "eval_every": 200}
    straight = rlai.train("sac", out=tmp_path / "straight", callbacks=[seen], **settings)
    assert seen.steps == list(range(1, 401)) and [s for s, _ in seen.evals] == [200, 400]
    assert seen.checkpoints == [straight.dir / "checkpoints" / "last.pt"] * 2
    # a stop at the first evaluation, then resume: the run an uninterrupted one is
    stopped = rlai.train("sac", out=tmp_path / "stopped", callbacks=[rlai.StopAtReturn(-math.inf)], **settings)
    assert stopped.summary["interrupted"] and stopped.summary["step"] == 200
    resumed = rlai.resume(stopped.dir)
    assert resumed.summary["step"] == 400 and not resumed.summary["interrupted"]
    a = torch.load(straight.dir / "checkpoints" / "last.pt", weights_only=True)["agent"]["modules"]
    b = torch.load(resumed.dir / "checkpoints" / "last.pt", weights_only=True)["agent"]["modules"]
    assert all(torch.equal(a[k], b[k]) for k in a)
