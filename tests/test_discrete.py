"""Discrete actions: the exact Boltzmann policy, the exact soft values and objective against
their formulas, the env's one-hot actions and observations, the Python API's indices, soft DQN
against ``rlai solve``'s Q* on FrozenLake, and one-line errors for every new bad input."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import rlasinference
from rlasinference.cli.main import app
from rlasinference.core.qfunction import all_actions
from rlasinference.critics import DiscreteQ
from rlasinference.envs import LIFE_LOST, EnvSpec, make_env
from rlasinference.objectives.reverse_kl import exact_kl
from rlasinference.planning import soft_q_iteration
from rlasinference.planning.tables import mdp_of_env
from rlasinference.samplers import Softmax, one_hot
from rlasinference.values import exact_soft_value, expected_soft_value
from tests.test_cli import assert_one_line_error

runner = CliRunner()


class TableQ:
    """A fixed Q table over contexts that are row indices: ``Q [E, B, K]`` without a network."""

    def __init__(self, q: torch.Tensor) -> None:
        self.q = q  # [E, B, K]

    def __call__(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        rows = obs[:, 0].long()
        return self.q[:, rows].gather(2, actions.argmax(-1).view(1, -1, 1).expand(self.q.shape[0], -1, 1))[..., 0]


def test_all_actions_from_any_q_function_matches_the_one_pass_of_a_discrete_critic() -> None:
    torch.manual_seed(0)
    q = DiscreteQ(3, 4, [8], 2)
    obs = torch.randn(5, 3)
    direct = q.all_actions(obs)
    by_actions = all_actions(lambda o, a: q(o, a), obs, 4)  # no all_actions: the K one-hot actions
    torch.testing.assert_close(direct, by_actions)
    assert direct.shape == (2, 5, 4)


def test_exact_and_expected_soft_values_and_the_exact_kl_against_their_formulas() -> None:
    """With pi = softmax(Q/tau) the expected soft value is the exact one, F_tau(Q); the exact KL
    objective is tau KL(pi || softmax(Q/tau)) - F_tau(Q), zero gradient at pi = softmax(Q/tau)."""
    torch.manual_seed(1)
    q_table = torch.randn(2, 6, 3, dtype=torch.float64) * 2  # two members, six states, three actions
    q_min = q_table.min(0).values
    context = torch.arange(6, dtype=torch.float64).unsqueeze(1)
    tau = torch.tensor(0.7, dtype=torch.float64)
    sampler = Softmax(1, 3, hidden=[4]).double()
    v_exact = exact_soft_value(context, sampler, TableQ(q_table), tau)
    torch.testing.assert_close(v_exact, tau * torch.logsumexp(q_min / tau, -1))
    # tau -> 0: the max backup
    small = torch.tensor(1e-4, dtype=torch.float64)
    torch.testing.assert_close(exact_soft_value(context, sampler, TableQ(q_table), small), q_min.max(-1).values)

    # a sampler whose logits are the table's own Q / tau: the expected value is the exact one
    class Boltzmann(Softmax):
        def energies(self, c: torch.Tensor) -> torch.Tensor:
            return q_min[c[:, 0].long()] + 0 * self.net(c)

    boltz = Boltzmann(1, 3, hidden=[4], temperature=0.7).double()
    torch.testing.assert_close(expected_soft_value(context, boltz, TableQ(q_table), tau), v_exact)
    log_pi = sampler.log_probs(context)
    expected = (log_pi.exp() * (q_min - tau * log_pi)).sum(-1)
    torch.testing.assert_close(expected_soft_value(context, sampler, TableQ(q_table), tau), expected)

    out = exact_kl(context, sampler, TableQ(q_table), tau)
    target = torch.log_softmax(q_min / tau, -1)
    kl = (log_pi.exp() * (log_pi - target)).sum(-1)
    torch.testing.assert_close(out["loss_policy"], (tau * kl - v_exact).mean())
    torch.testing.assert_close(out["log_density"], (log_pi.exp() * log_pi).sum(-1))
    at_optimum = exact_kl(context, boltz, TableQ(q_table), tau)["loss_policy"]
    torch.testing.assert_close(at_optimum, -v_exact.mean())


def test_munchausen_target_and_huber_loss_against_their_formulas() -> None:
    """M-DQN's regression (float64, fixed tables): y = r + alpha clip(tau log pi_bar(a|s), l0, 0)
    + gamma (1 - d) F_tau(Qbar(s', .)), pi_bar = softmax(Qbar(s, .)/tau), under the Huber loss;
    with alpha 0 and no Huber threshold, soft DQN's squared error."""
    from rlasinference.algorithms import PRESETS
    from rlasinference.core.batch import Batch
    from rlasinference.critics.base import TargetInputs
    from rlasinference.critics.discrete import SoftmaxQCritic

    torch.manual_seed(3)
    q_online, q_target = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64) * 3
    preset = PRESETS.get("m-dqn")
    assert preset.critic_options == {"munchausen": 0.9, "munchausen_clip": -1.0, "huber_delta": 1.0}

    class Table(Softmax):  # Q(s, .) is the row of a table the context indexes
        def __init__(self, table: torch.Tensor) -> None:
            super().__init__(1, 3, hidden=[2])
            self.table = table

        def energies(self, c: torch.Tensor) -> torch.Tensor:
            return self.table[c[:, 0].long()] + 0 * self.net(c.float()).double()

    tau, gamma, alpha, l0 = torch.tensor(0.3, dtype=torch.float64), 0.9, 0.9, -1.0
    obs, next_obs = torch.tensor([[0.0], [1.0], [2.0]]), torch.tensor([[3.0], [0.0], [1.0]])
    actions = torch.eye(3, dtype=torch.float64)[[2, 0, 1]]
    batch = Batch(obs, actions, torch.tensor([1.0, -0.5, 0.2]), next_obs, torch.tensor([0.0, 0.0, 1.0]))
    for munchausen, delta in ((alpha, 1.0), (0.0, 0.0)):
        critic = SoftmaxQCritic(1, 3, [2], 1, Table(q_online), munchausen, l0, delta)
        critic.target = Table(q_target)

        def value(target: object) -> torch.Tensor:
            return tau * (target.all_actions(next_obs)[0] / tau).logsumexp(-1)  # type: ignore[attr-defined]

        out = critic.loss(batch, TargetInputs(value, lambda: (actions, actions), tau, gamma, 1.0))
        rows, taken = obs[:, 0].long(), actions.argmax(-1)
        tau_log_pi = (tau * torch.log_softmax(q_target[rows] / tau, -1)).gather(1, taken[:, None])[:, 0]
        v_next = tau * (q_target[next_obs[:, 0].long()] / tau).logsumexp(-1)
        y = batch.rewards.double() + munchausen * tau_log_pi.clamp(l0, 0) + gamma * (1 - batch.terminated) * v_next
        error = q_online[rows].gather(1, taken[:, None])[:, 0] - y
        expected = torch.where(error.abs() < 1, 0.5 * error**2, error.abs() - 0.5) if delta else 0.5 * error**2
        torch.testing.assert_close(out["loss_critic"], expected.mean())
        assert not delta or ((error.abs() < 1).any() and (error.abs() > 1).any())  # both sides of Huber's bend
    assert tau_log_pi.min() < l0 < tau_log_pi.max()  # the clip in play, and not everywhere


def test_softmax_samples_the_exact_distribution() -> None:
    torch.manual_seed(2)
    sampler = Softmax(2, 4, hidden=[8], temperature=0.5)
    context = torch.randn(1, 2)
    draws = sampler.sample(context, 40_000)
    freq = draws.actions[0].mean(0)
    torch.testing.assert_close(freq, sampler.log_probs(context)[0].exp().detach(), atol=0.01, rtol=0)
    assert torch.equal(sampler.mode(context)[0], one_hot(sampler.log_probs(context).argmax(-1), 4)[0])


def test_discrete_envs_take_one_hot_actions_and_discrete_observations_become_one_hot() -> None:
    env, spec = make_env("CartPole-v1")
    assert spec.discrete and spec.action_dim == 2 and spec.obs_dim == 4
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    env.reset(seed=0)
    env.close()
    lake, spec = make_env("FrozenLake-v1")
    assert spec.discrete and spec.action_dim == 4 and spec.obs_dim == 16
    obs, _ = lake.reset(seed=0)
    assert obs.shape == (16,) and obs[0] == 1 and obs.sum() == 1
    obs, *_ = lake.step(np.array([0.0, 0.0, 1.0, 0.0]))  # right, on the non-slippery... or a slip: one-hot anyway
    assert obs.sum() == 1
    lake.close()


class TwoDials(gym.Env):
    """An env with a MultiDiscrete action space (refused)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.MultiDiscrete([3, 2])

    def reset(self, *, seed=None, options=None):  # type: ignore[override]
        return np.zeros(2, np.float32), {}

    def step(self, action):  # type: ignore[override]
        return np.zeros(2, np.float32), 0.0, True, False, {}


if "tests/TwoDials-v0" not in gym.registry:
    gym.register("tests/TwoDials-v0", entry_point=TwoDials)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--algo", "soft-dqn", "--env", "tests.test_discrete:tests/TwoDials-v0"], "MultiDiscrete"),
        (["--algo", "soft-dqn", "--env", "Pendulum-v1"], "presets for this env: sac"),
        (["--algo", "sac-discrete", "--env", "Pendulum-v1"], "draws discrete actions"),
        (["--algo", "sac", "--env", "CartPole-v1"], "presets for this env: m-dqn, sac-discrete, soft-dqn"),
        (["--algo", "ppo", "--env", "CartPole-v1"], "2 discrete actions"),
        (  # the preset fits the env, the sampler given does not: the samplers that do are named
            ["--algo", "soft-dqn", "--sampler", "gaussian", "--env", "CartPole-v1"],
            "sampler 'gaussian' draws box actions; samplers for this env: softmax (--algo soft-dqn's own: softmax)",
        ),
        (["--algo", "sac", "--sampler", "softmax", "--env", "CartPole-v1"], "'reverse-kl' works on box actions"),
        (
            [
                "--algo",
                "sac",
                "--sampler",
                "softmax",
                "--env",
                "CartPole-v1",
                "--set",
                "objective=exact-kl",
                "--set",
                "value_estimator=expected",
            ],
            "valid critics: discrete, softmax-q",
        ),
        (["--algo", "sac-discrete", "--sampler", "gaussian", "--env", "Pendulum-v1"], "works on discrete actions"),
        (["--algo", "soft-dqn", "--env", "CartPole-v1", "--set", "ensemble_size=2"], "ensemble_size must be 1"),
        (["--algo", "m-dqn", "--env", "CartPole-v1", "--set", "critic.munchausen=1.5"], "critic.munchausen"),
        (["--algo", "m-dqn", "--env", "CartPole-v1", "--set", "critic.munchausen_clip=0.5"], "munchausen_clip"),
    ],
)
def test_bad_discrete_input_is_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["train", *args, "--steps", "200", "--out", str(tmp_path / "run"), "--quiet"])
    assert_one_line_error(result, needle)


@pytest.mark.parametrize("algo", ["soft-dqn", "sac-discrete", "m-dqn"])
def test_a_discrete_run_trains_evaluates_and_answers_in_indices(tmp_path: Path, algo: str) -> None:
    run = rlasinference.train(
        algo, "CartPole-v1", steps=600, out=tmp_path / algo, learning_starts=200, batch_size=16,
        sampler={"hidden": [16]}, critic_hidden=[16], eval_every=300, eval_episodes=2, update_every=1,
        updates_per_step=1,
    )  # fmt: skip
    policy = run.policy("last")
    obs = np.zeros(4, np.float32)
    action = policy.predict(obs)
    assert action.shape == () and int(action) in (0, 1)
    assert policy.sample(np.zeros((3, 4), np.float32), 5).shape == (3, 5)
    log_p = policy.log_prob(obs, np.array([0, 1]))
    assert np.isclose(np.exp(log_p).sum(), 1.0, atol=1e-5)
    assert policy.q(obs, np.array([0, 1])).shape == (2,)
    stochastic = rlasinference.evaluate(policy, episodes=2, deterministic=False)
    assert len(stochastic["returns"]) == 2
    result = runner.invoke(app, ["eval", str(run.dir), "--episodes", "2", "--stochastic"])
    assert result.exit_code == 0, result.output


def _frozen_lake_error(slippery: bool, seed: int, tmp_path: Path) -> float:
    """max |Q - Q*| over the states a trained soft DQN can stand on (not holes, not the goal)."""
    env_id, tau, gamma = "FrozenLake-v1", 0.1, 0.9
    kwargs = {"is_slippery": slippery}
    env = gym.make(env_id, **kwargs)
    q_star = soft_q_iteration(mdp_of_env(env, env_id), gamma, tau).q
    desc = env.unwrapped.desc.reshape(-1)
    env.close()
    name = f"tests.test_discrete:tests/FrozenLake{'Slippery' if slippery else ''}-v0"
    # slippery: noisy targets, so smaller steps over more data (the error is largest next to the goal)
    schedule = {"steps": 20000, "lr_policy": 1e-3, "batch_size": 128} if slippery else {"steps": 6000}
    run = rlasinference.train(
        "soft-dqn", name, seed=seed, out=tmp_path / f"{slippery}-{seed}", **({
            "temperature": tau, "gamma": gamma, "learning_starts": 2000, "update_every": 1, "batch_size": 64,
            "lr_policy": 3e-3, "target_update_every": 50, "buffer_size": 20000, "eval_every": 100_000,
            "eval_episodes": 1, "sampler": {"hidden": [64]}} | schedule),
    )  # fmt: skip
    policy = run.policy("last")
    q = np.stack([policy.q(s, np.arange(4)) for s in range(16)])
    standing = np.array([c not in (b"H", b"G") for c in desc])
    return float(np.abs(q - q_star)[standing].max())


for _slippery in (False, True):
    _id = f"tests/FrozenLake{'Slippery' if _slippery else ''}-v0"
    if _id not in gym.registry:
        gym.register(_id, entry_point="gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv", max_episode_steps=100,
                     kwargs={"is_slippery": _slippery})  # fmt: skip


@pytest.mark.parametrize(
    ("slippery", "tolerance"),
    [(False, 0.05), pytest.param(True, 0.15, marks=pytest.mark.slow)],
    ids=["exact", "slippery"],
)
def test_soft_dqn_learns_the_soft_q_function_rlai_solve_computes(
    tmp_path: Path, slippery: bool, tolerance: float
) -> None:
    """FrozenLake 4x4, tau 0.1, gamma 0.9 (Q* between 0 and about 1.3): max |Q - Q*| over the
    states the agent can stand on, median of three seeds. Measured (AMD EPYC): not slippery
    0.0067, 0.0165, 0.0039 (6,000 steps, about 5 s each); slippery 0.139, 0.092 (20,000 steps)."""
    errors = sorted(_frozen_lake_error(slippery, seed, tmp_path) for seed in range(3))
    assert errors[1] < tolerance, errors  # the median of three seeds


def test_image_observations_reach_a_convolutional_torso_channels_first(tmp_path: Path) -> None:
    """A channels-last image env (MinAtar's layout) is read channels first by a convolutional
    torso in the sampler and in each critic member; the Python API takes the env's own layout and
    acts as the agent does on the flattened, transposed observation."""
    env, spec = make_env("tests.helpers:tests/DotImage-v0")
    assert spec.image == (2, 6, 6) and spec.obs_dim == 72 and spec.discrete
    flat, _ = env.reset(seed=3)
    raw = env.unwrapped._obs()
    assert np.array_equal(flat, np.moveaxis(raw, -1, 0).reshape(-1))
    run = rlasinference.train(
        "sac-discrete", "tests.helpers:tests/DotImage-v0", steps=400, out=tmp_path / "image", learning_starts=200,
        batch_size=16, update_every=1, eval_every=400, eval_episodes=1, sampler={"hidden": [16]}, critic_hidden=[16],
    )  # fmt: skip
    policy = run.policy("last")
    assert isinstance(policy.agent.sampler.net[0][1], torch.nn.Conv2d)
    assert all(isinstance(member[0][1], torch.nn.Conv2d) for member in policy.agent.critic.q.net)
    obs = torch.as_tensor(flat).unsqueeze(0)
    expected = policy.agent.act(obs, deterministic=True).argmax(-1).item()
    assert int(policy.predict(raw)) == expected
    assert policy.log_prob(raw, np.arange(3)).shape == (3,)
    env.close()


def test_minatar_envs_register_themselves_when_installed() -> None:
    pytest.importorskip("minatar")
    env, spec = make_env("MinAtar/Breakout-v1")
    assert spec.discrete and spec.image[1:] == (10, 10)
    env.close()


def test_sac_discrete_target_entropy_follows_the_env_family() -> None:
    """0.89 log K (CleanRL's) on Atari and elsewhere; 0.5 log K where 0.89 made tau grow without
    bound (classic control, MinAtar), with the schedule of the family; a --set still wins."""
    from rlasinference.training.config import resolve

    def scale(env: str, **more: object) -> float:
        return resolve({"algo": "sac-discrete", "env": env, **more}).algo.target_entropy_scale

    assert scale("BreakoutNoFrameskip-v4") == scale("FrozenLake-v1") == 0.89
    assert scale("CartPole-v1") == scale("Acrobot-v1") == scale("MinAtar/Breakout-v1") == 0.5
    assert resolve({"algo": "sac-discrete", "env": "MinAtar/SpaceInvaders-v1"}).algo.batch_size == 32
    assert scale("MinAtar/Breakout-v1", target_entropy_scale=0.7) == 0.7


def test_atari_frames_are_preprocessed_and_stored_as_bytes() -> None:
    """ALE's RGB frames (with ale-py and OpenCV installed): 84 x 84 grey, 4 stacked, bytes; the
    training env's rewards are clipped to their sign, the evaluation env's are not."""
    env, spec = _atari("ALE/Pong-v5", train=True)
    assert spec.image == (4, 84, 84) and spec.obs_dtype == "uint8" and spec.discrete
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.uint8 and obs.shape == (4 * 84 * 84,)
    env.close()

    def clips(made: gym.Env) -> bool:
        while isinstance(made, gym.Wrapper):
            if isinstance(made, gym.wrappers.TransformReward):
                return made.func(44.0) == 1.0 and made.func(-3.0) == -1.0
            made = made.env
        return False

    evaluation, _ = make_env("ALE/Pong-v5")
    assert clips(env) and not clips(evaluation)
    evaluation.close()


def test_kaiming_init_is_the_references_layer_init() -> None:
    """``init: kaiming`` (CleanRL's ``layer_init`` in ``sac_atari.py``): every layer's weights,
    the output layer's too, from N(0, 2 / fan_in), biases 0; the stacked members of an
    ``EnsembleMLP`` each with their own fan-in. sac-discrete takes it on Atari only."""
    from rlasinference.core.nets import EnsembleMLP, initialise
    from rlasinference.critics.discrete import DiscreteCritic
    from rlasinference.training.config import resolve

    torch.manual_seed(0)
    actor = Softmax(4 * 84 * 84, 9, hidden=[512], image=(4, 84, 84), init="kaiming")
    critic = DiscreteCritic(4 * 84 * 84, 9, [512], 2, actor, image=(4, 84, 84), init="kaiming")
    ensemble = initialise(EnsembleMLP(64, [512], 9, members=2), "kaiming")
    layers = [(name, p.detach()) for net in (actor, critic.q, ensemble) for name, p in net.named_parameters()]
    weights, biases = [p for name, p in layers if "weight" in name], [p for name, p in layers if "bias" in name]
    for w in weights:
        fan_in = w.shape[1] if w.dim() == 3 else w[0].numel()  # [E, in, out], or torch's [out, in, ...]
        assert abs(float(w.std()) / (2 / fan_in) ** 0.5 - 1) < 0.05, (tuple(w.shape), float(w.std()))
    assert len(weights) == 5 + 5 * 2 + 2 and all(float(b.abs().max()) == 0 for b in biases)
    assert all(torch.equal(a, b) for a, b in zip(critic.q.parameters(), critic.target.parameters()))
    defaults = resolve({"algo": "sac-discrete", "env": "BeamRiderNoFrameskip-v4"})
    elsewhere = resolve({"algo": "sac-discrete", "env": "CartPole-v1"})
    assert defaults.sampler_options["init"] == defaults.critic_options["init"] == "kaiming"
    assert elsewhere.sampler_options["init"] == elsewhere.critic_options["init"] == "torch"
    with pytest.raises(ValueError, match=r"sampler\.init must be one of torch, kaiming"):
        Softmax(4, 2, init="xavier")
    # with another critic (or sampler), the preset's Atari options for its own are not passed on
    other = resolve(
        {"algo": "sac-discrete", "env": "BeamRiderNoFrameskip-v4", "critic": "softmax-q", "objective": "none"}
    )
    assert "init" not in other.critic_options and other.sampler_options["init"] == "kaiming"


def _needs_atari() -> None:
    for module in ("ale_py", "cv2", "stable_baselines3"):  # the atari extra
        pytest.importorskip(module)


def _atari(game: str, train: bool) -> tuple[gym.Env, EnvSpec]:
    _needs_atari()
    return make_env(game, train=train)


def _play(env: gym.Env, spec: EnvSpec, seed: int, actions: list[np.ndarray] | None = None) -> dict:
    """One game of uniformly random (or the given) actions: what each step said."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    played: dict = {"actions": [], "lost": [], "stacks_afresh": [], "lives": [], "ends": None, "obs": obs}
    while True:
        n = len(played["actions"])
        action = actions[n] if actions is not None else np.eye(spec.action_dim)[rng.integers(spec.action_dim)]
        obs, _, terminated, truncated, info = env.step(action)
        played["actions"].append(action)
        if info.get(LIFE_LOST):
            frames = obs.reshape(4, -1)
            played["lost"].append(n)
            played["stacks_afresh"].append(all(np.array_equal(frames[i], frames[3]) for i in range(3)))
            played["lives"].append(env.unwrapped.ale.lives())  # type: ignore[attr-defined]
        played["obs"] = obs
        if terminated or truncated or (actions is not None and n + 1 == len(actions)):
            played["ends"] = (terminated, truncated)
            return played


def test_atari_a_life_lost_ends_the_transition_not_the_game() -> None:
    """As the reference's DQN wrappers do (EpisodicLifeEnv, FireResetEnv), a life lost in Breakout
    (5 lives, FIRE to serve) is terminal for the TD target and the next life starts as after a
    reset (FIRE pressed, 4 frames stacked afresh); here inside one episode, the whole game, in the
    training env (which says so in ``info``) and the evaluation env alike. Replaying a game's
    actions from its reset seed puts the env where it was (how a run resumes mid-episode)."""
    env, spec = _atari("BreakoutNoFrameskip-v4", train=True)
    game = _play(env, spec, seed=0)
    assert len(game["lost"]) == 4 and game["lives"] == [4, 3, 2, 1] and all(game["stacks_afresh"])
    assert game["ends"] == (True, False)  # the fifth life lost ends the game: a real terminal
    again = _play(env, spec, seed=0, actions=game["actions"][: game["lost"][2] + 5])
    replayed = _play(env, spec, seed=0, actions=again["actions"])
    assert np.array_equal(replayed["obs"], again["obs"]) and again["lost"] == replayed["lost"] == game["lost"][:3]
    env.close()
    evaluation, _ = _atari("BreakoutNoFrameskip-v4", train=False)
    whole = _play(evaluation, spec, seed=0, actions=game["actions"])
    assert whole["lost"] == game["lost"] and whole["ends"] == (True, False)
    evaluation.close()


def test_a_game_that_ends_while_the_next_life_starts_ends_the_episode() -> None:
    """Breakout's first life is lost at frame 122 of this game; with ALE's frame limit set inside
    the steps that start the next life (a no-op, FIRE, ...), the wrappers begin a new game
    unseen, so the episode ends there, truncated; with the limit at the life lost itself, the
    step is terminal and truncated as ALE says."""
    env, spec = _atari("BreakoutNoFrameskip-v4", train=True)
    actions = _play(env, spec, seed=0)["actions"]
    env.close()
    for limit, lost, ends in ((126, [22], (False, True)), (122, [], (True, True))):
        env, _ = _atari(f"BreakoutNoFrameskip-v4(max_num_frames_per_episode={limit})", train=True)
        game = _play(env, spec, seed=0, actions=actions)
        assert (len(game["actions"]), game["lost"], game["ends"]) == (23, lost, ends), limit
        env.close()


def test_the_replay_buffer_cuts_the_target_at_each_life_lost(tmp_path: Path) -> None:
    """A run on Breakout keeps whole games as its episodes, while its replay buffer marks each
    life lost terminal: more terminal transitions than episodes ended."""
    from rlasinference.training.checkpoint import load_checkpoint

    _needs_atari()
    rlasinference.train(
        "soft-dqn", "BreakoutNoFrameskip-v4", steps=250, out=tmp_path / "run", learning_starts=250, eval_every=250,
        eval_episodes=1, log_every=250, buffer_size=250,
    )  # fmt: skip
    terminal = int(load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["buffer"]["terminated"].sum())
    header, row = (line.split(",") for line in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[:2])
    game_length = float(row[header.index("episode_length")])  # the mean length of the episodes that ended
    assert game_length > 90, "an episode is a whole game: five lives of about 23 steps each"
    assert terminal >= 4 * (250 // game_length), "each game's lives lost are terminal transitions too"


def test_eval_stochastic_evaluates_the_policys_draws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rlasinference.training import trainer as trainer_module

    seen: list[bool] = []
    original = trainer_module.run_episodes

    def recording(*args, deterministic: bool = True, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(deterministic)
        return original(*args, deterministic=deterministic, **kwargs)

    monkeypatch.setattr(trainer_module, "run_episodes", recording)
    rlasinference.train(
        "soft-dqn", "CartPole-v1", steps=300, out=tmp_path / "run", learning_starts=100, eval_every=150,
        eval_episodes=1, eval_stochastic=True, sampler={"hidden": [8]},
    )  # fmt: skip
    assert seen and not any(seen)


def test_a_finished_run_extended_with_more_steps_is_the_longer_run(tmp_path: Path) -> None:
    """A run's replay buffer holds only its steps: a finished 150-step run resumed to 300 steps
    appends after its transitions (it does not overwrite the first and read an empty slot), and
    ends as the 300-step run does, rows and weights."""
    from rlasinference.training.checkpoint import load_checkpoint
    from tests.test_critic_axis import _rows

    common = ["--algo", "sac-discrete", "--env", "CartPole-v1", "--eval-every", "150", "--eval-episodes", "1"]
    common += ["--quiet", "--set", "learning_starts=100", "--set", "batch_size=16", "--set", "update_every=1"]
    common += ["--set", "updates_per_step=1"]
    common += ["--set", "sampler.hidden=[16]", "--set", "critic_hidden=[16]", "--set", "log_every=50"]
    straight, extended = tmp_path / "straight", tmp_path / "extended"
    assert runner.invoke(app, ["train", "--steps", "300", "--out", str(straight), *common]).exit_code == 0
    assert runner.invoke(app, ["train", "--steps", "150", "--out", str(extended), *common]).exit_code == 0
    assert runner.invoke(app, ["resume", str(extended), "--steps", "300", "--quiet"]).exit_code == 0
    assert _rows(extended) == _rows(straight)
    a = load_checkpoint(straight / "checkpoints" / "last.pt")
    b = load_checkpoint(extended / "checkpoints" / "last.pt")
    assert all(torch.equal(a["agent"]["modules"][k], b["agent"]["modules"][k]) for k in a["agent"]["modules"])


def test_an_env_without_a_time_limit_is_truncated_and_one_with_one_keeps_it(monkeypatch) -> None:
    """CliffWalking has no time limit: a policy that walks into the top wall forever (action 0,
    up, from the start) would make an evaluation endless; it is truncated at the cap, with a
    warning. An env with a limit of its own keeps it."""
    from rlasinference.envs import make as made
    from rlasinference.envs.make import EPISODE_CAP

    monkeypatch.setattr(made, "_CAPPED", set())  # warned once per env and process
    with pytest.warns(made.EpisodeCapWarning, match="no time limit of its own"):
        cliff, spec = make_env("CliffWalking-v1")
    cliff.reset(seed=0)
    up = np.eye(spec.action_dim, dtype=np.float32)[0]
    for step in range(1, EPISODE_CAP + 1):
        _, _, terminated, truncated, _ = cliff.step(up)
        assert not terminated and truncated == (step == EPISODE_CAP)
    lake, _ = make_env("FrozenLake-v1")
    assert lake.spec is not None and lake.spec.max_episode_steps == 100
