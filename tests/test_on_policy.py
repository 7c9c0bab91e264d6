"""The on-policy regime: GAE and running statistics against direct computations, PPO's update
invariants, exact resume, the samplers it accepts, and the sb3-ppo peer."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from rlasinference.algorithms import PRESETS
from rlasinference.algorithms.on_policy import Rollout, has_action_density
from rlasinference.cli.main import app
from rlasinference.core.errors import UserError
from rlasinference.core.normalize import RunningMeanStd
from rlasinference.samplers import SAMPLERS
from rlasinference.training.checkpoint import load_checkpoint
from rlasinference.training.config import resolve
from rlasinference.training.run_dir import create_run_dir
from rlasinference.training.trainer import Trainer
from rlasinference.values.gae import gae
from tests.helpers import stop_at_call

TINY_PPO = {
    "algo": "ppo", "num_steps": 48, "minibatches": 4, "epochs": 2, "sampler.hidden": [16], "value_hidden": [16],
    "eval_episodes": 1, "log_every": 48, "threads": 1,
}  # fmt: skip


def test_gae_matches_the_definition() -> None:
    """A_t = sum_k (gamma lambda)^k delta_{t+k}, cut at the end of an episode; 3 steps, 2 envs."""
    rewards = torch.tensor([[1.0, 0.5], [2.0, -1.0], [0.0, 3.0]])
    values = torch.tensor([[0.3, 0.1], [0.2, 0.4], [-0.5, 0.6]])
    ends = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    last = torch.tensor([0.7, -0.2])
    gamma, lam = 0.9, 0.8
    got = gae(rewards, values, ends, last, gamma, lam)
    for env in range(2):
        for t in range(3):
            expected, discount = 0.0, 1.0
            for k in range(t, 3):
                nxt = last[env] if k == 2 else values[k + 1, env]
                delta = rewards[k, env] + gamma * nxt * (1 - ends[k, env]) - values[k, env]
                expected += discount * float(delta)
                if ends[k, env]:
                    break
                discount *= gamma * lam
            assert got[t, env].item() == pytest.approx(expected, abs=1e-6), (t, env)


def test_running_statistics_equal_the_whole_stream_and_travel_with_the_state_dict() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(1000, 3)) * np.array([1.0, 5.0, 0.1]) + 2.0
    rms = RunningMeanStd(3)
    for chunk in np.array_split(data, 27):
        rms.update(chunk)
    assert np.allclose(rms.mean, data.mean(0), atol=1e-6) and np.allclose(rms.var, data.var(0), rtol=1e-3)
    normalized = rms.normalize(data, clip=10.0)
    assert normalized.dtype == np.float32
    assert np.abs(normalized.mean(0)).max() < 1e-3 and np.abs(normalized.std(0) - 1).max() < 1e-2
    assert rms.normalize(np.full((1, 3), 1e6), clip=10.0).max() == 10.0
    copy = RunningMeanStd(3)
    copy.load_state_dict(rms.state_dict())
    assert np.array_equal(copy.mean, rms.mean) and np.array_equal(copy.var, rms.var) and copy.count == rms.count


def _agent(**extra: object):
    config = resolve({**TINY_PPO, "env": "Pendulum-v1", **extra})  # (sampler.hidden applies to any sampler)
    return config.preset.build(config.algo, config.sampler_options, 3, 1, config.critic_options)


ON_POLICY = [name for name, preset in PRESETS if preset.on_policy]
SMALL = {
    "flow": {"sampler.spline_hidden": 8},
    "energy-flow": {"sampler.shift_hidden": [8]},
    "diffusion": {"sampler.steps": 3},
}


@pytest.mark.parametrize(
    "preset, sampler",
    [(p, s) for p in ON_POLICY for s, cls in SAMPLERS if has_action_density(cls) and cls.space == "box"],
)
def test_first_minibatch_has_ratio_one_and_every_part_moves(preset: str, sampler: str) -> None:
    """Every on-policy preset with every sampler it accepts. The old log-density is
    re-evaluated, not copied from the sample: the first minibatch's ratio is 1 up to float
    rounding (minibatches are smaller batches than the rollout's), and nothing is clipped.
    Policy and value both move."""
    torch.manual_seed(0)
    agent = _agent(algo=preset, sampler=sampler, **SMALL.get(sampler, {}))
    obs = torch.randn(16, 2, 3)
    _, taken = agent.explore(obs.flatten(0, 1))
    logp, log_pi, values = agent.judge(obs.flatten(0, 1), taken)
    rollout = Rollout(
        obs=obs,
        taken=taken.reshape(16, 2, -1),
        rewards=torch.randn(16, 2),
        ends=torch.zeros(16, 2),
        values=values.reshape(16, 2),
        log_density=logp.reshape(16, 2),
        last_value=torch.zeros(2),
        log_pi=log_pi.reshape(16, 2),
    )
    before = [p.detach().clone() for p in agent.parameters()]
    steps = list(agent.learn(rollout))
    assert abs(steps[0]["approx_kl"].item()) < 1e-6 and steps[0]["clip_fraction"].item() == 0.0
    assert len(steps) == 2 * 4 + 1 and "explained_variance" in steps[-1]
    assert all(torch.isfinite(v).all() for step in steps for v in step.values())
    moved = [not torch.equal(p, b) for p, b in zip(agent.parameters(), before)]
    assert any(moved[: len(list(agent.sampler.parameters()))]) and all(
        not torch.equal(p, b) for p, b in zip(agent.value.parameters(), before[-len(list(agent.value.parameters())) :])
    )


def test_a_learned_temperature_follows_the_entropy() -> None:
    """Dual descent: with the policy's entropy far below the target, tau rises."""
    torch.manual_seed(0)
    agent = _agent(temperature=0.1, learn_temperature=True, target_entropy=5.0)
    obs = torch.randn(16, 1, 3)
    _, taken = agent.explore(obs.flatten(0, 1))
    logp, log_pi, values = agent.judge(obs.flatten(0, 1), taken)
    rollout = Rollout(obs, taken.reshape(16, 1, -1), torch.randn(16, 1), torch.zeros(16, 1),
                      values.reshape(16, 1), logp.reshape(16, 1), torch.zeros(1), log_pi.reshape(16, 1))  # fmt: skip
    for _ in agent.learn(rollout):
        pass
    assert agent.tau() > 0.1


@pytest.mark.parametrize("learn_dt", [True, False])
def test_diffppo_keeps_the_gradient_of_the_bound_at_a_fixed_path(learn_dt: bool) -> None:
    """The soft reward -tau bound_old enters the surrogate as a constant; the gradient of
    E_path[-tau bound] also holds -tau E[grad bound] at a fixed path, whose backward-kernel part
    -grad log B is not 0 when the step size is learned. The policy loss's gradient on the step
    size is the clipped surrogate's plus tau grad mean(bound - log p(path)); with a fixed step
    size the extra part is 0."""
    torch.manual_seed(0)
    agent = _agent(
        algo="diffppo", max_grad_norm=0.0, learn_temperature=False, temperature=0.5, norm_adv=False,
        **{"sampler.steps": 3, "sampler.hidden": [16], "sampler.learn_dt": learn_dt},
    )  # fmt: skip
    obs = torch.randn(32, 3)
    taken = agent.explore(obs)[1].clone()  # (explored in inference mode)
    log_joint, bound, values = (t.clone() for t in agent.judge(obs, taken))
    mb = {"obs": obs, "taken": taken, "log_density": log_joint, "log_pi": bound, "values": values,
          "advantages": torch.randn(32), "returns": torch.randn(32)}  # fmt: skip
    # what the update's gradient on the sampler must be, at the parameters before its step
    params = list(agent.sampler.parameters())
    new_joint, new_bound = agent.taken_log_density(obs, taken)
    ratio = (new_joint - log_joint).exp()  # 1 here: nothing is clipped
    surrogate = -(mb["advantages"] * ratio).mean()
    extra = 0.5 * (new_bound - new_joint).mean()
    g_surrogate = torch.autograd.grad(surrogate, params, retain_graph=True, allow_unused=True)
    g_extra = torch.autograd.grad(extra, params, allow_unused=True)
    agent._minibatch(mb)
    for p, a, b in zip(params, g_surrogate, g_extra):
        expected = (torch.zeros_like(p) if a is None else a) + (torch.zeros_like(p) if b is None else b)
        torch.testing.assert_close(p.grad if p.grad is not None else torch.zeros_like(p), expected)
    step_size = agent.sampler.raw_dt
    if learn_dt:
        assert g_extra[params.index(step_size)].abs().sum() > 0
    else:
        assert all(b is None or b.abs().sum() == 0 for b in g_extra)


def _same(a: object, b: object) -> bool:
    """Equal tensors, or equal dicts of them (the normalisation statistics are extra state)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)


def _rows(run_dir: Path) -> list[list[str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return [[v for k, v in r.items() if k not in ("time_s", "sps")] for r in csv.DictReader(f)]


@pytest.mark.parametrize(
    "extra",
    [
        {"env": "Pendulum-v1", "num_envs": 2},
        # a truncating env (time limit 20), the flow, a learned tau on the soft reward, no normalisation
        {"env": "InvertedPendulum-v5", "sampler": "flow", "sampler.spline_hidden": 8, "temperature": 0.05,
         "learn_temperature": True, "entropy": "reward", "norm_obs": False, "norm_reward": False},
        {"algo": "diffppo", "env": "Pendulum-v1", "num_envs": 1, "sampler.steps": 2},
    ],
    ids=["ppo-2envs", "maxent-flow", "diffppo"],
)  # fmt: skip
def test_stopped_and_resumed_on_policy_run_is_the_uninterrupted_one(tmp_path: Path, extra: dict) -> None:
    """Stopped after the update of rollouts 2 and 3, mid-episode, and resumed: the same metrics
    rows and final weights as the run that was not stopped (every on-policy preset)."""
    config = resolve({**TINY_PPO, "steps": 480, "eval_every": 200, **extra})
    straight = create_run_dir(tmp_path / "straight", config)
    Trainer(config, straight, quiet=True).train()
    final = load_checkpoint(straight / "checkpoints" / "last.pt")["agent"]["modules"]
    for stop_after in (2, 3):
        stopped = create_run_dir(tmp_path / f"stopped{stop_after}", config)
        trainer = Trainer(config, stopped, quiet=True)
        stop_at_call(trainer, "learn", stop_after)
        summary = trainer.train()
        assert summary["interrupted"] and summary["step"] < 480
        assert Trainer(config, stopped, quiet=True, resume=True).train()["step"] >= 480
        assert _rows(stopped) == _rows(straight), f"stopped after rollout {stop_after}"
        again = load_checkpoint(stopped / "checkpoints" / "last.pt")["agent"]["modules"]
        assert all(_same(final[k], again[k]) for k in final), f"stopped after rollout {stop_after}"


def test_ppo_trains_from_the_cli_with_flow_and_refuses_svgd(tmp_path: Path) -> None:
    run = ["train", "--algo", "ppo", "--steps", "96", "--eval-every", "96", "--eval-episodes", "1", "--quiet"]
    tiny = ["--set", "num_steps=48", "--set", "minibatches=4", "--set", "epochs=1", "--set", "sampler.hidden=[16]"]
    tiny += ["--set", "num_envs=1"]
    out = tmp_path / "flow"
    result = CliRunner().invoke(app, [*run, *tiny, "--sampler", "flow", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 96
    result = CliRunner().invoke(app, [*run, *tiny, "--sampler", "svgd", "--out", str(tmp_path / "svgd")])
    assert result.exit_code == 2 and "density" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    result = CliRunner().invoke(app, [*run, "--set", "entropy=maybe", "--out", str(tmp_path / "bad")])
    assert result.exit_code == 2 and "entropy must be one of bonus, reward" in result.output
    # evaluation of the saved run normalises observations with the saved statistics
    result = CliRunner().invoke(app, ["eval", str(out), "--episodes", "1", "--json"])
    assert result.exit_code == 0, result.output


def test_a_budget_of_part_of_a_rollout_says_how_many_steps_it_takes(tmp_path: Path) -> None:
    """Rollouts are whole (2 envs x 48 steps here): 100 steps take 192, and the run says so before
    it starts; a budget of whole rollouts says nothing."""
    notes: list[str] = []
    config = resolve({**TINY_PPO, "num_envs": 2, "steps": 100, "eval_every": 1000})
    summary = Trainer(config, create_run_dir(tmp_path / "part", config), quiet=True, note=notes.append).train()
    assert summary["step"] == 192
    assert [n for n in notes if "rollouts" in n] == [
        "note: ppo collects whole rollouts of 2 env(s) x 48 steps: this run takes 192 steps, not 100"
    ]
    notes.clear()
    config = resolve({**TINY_PPO, "num_envs": 2, "steps": 96, "eval_every": 1000})
    Trainer(config, create_run_dir(tmp_path / "whole", config), quiet=True, note=notes.append).train()
    assert not [n for n in notes if "rollouts" in n]


def test_sb3_ppo_peer_evaluates_where_ours_does(tmp_path: Path) -> None:
    pytest.importorskip("stable_baselines3")
    from rlasinference.experiments.sweep import plan, run_trial

    spec = {"name": "peer", "set": {"steps": 4100, "eval_every": 3000, "eval_episodes": 1}}
    spec["runs"] = [{"algo": "sb3-ppo", "env": "InvertedPendulum-v5"}]
    (planned,) = plan(spec, tmp_path, threads=1)
    reported: list[tuple[int, float]] = []
    run_trial(str(tmp_path), planned.trial.name, planned.config, lambda s, r: reported.append((s, r)))
    # after the update of the rollout that crossed 3000 (4096), then the last one (6144)
    assert [s for s, _ in reported] == [4096, 6144] and all(np.isfinite(r) for _, r in reported)
    with pytest.raises(UserError, match="num_envs"):
        plan({**spec, "set": {**spec["set"], "num_envs": 0}}, tmp_path / "bad", threads=1)
    for key in ("squash", "clip_value"):
        with pytest.raises(UserError, match=f"{key} must be true or false, got 'maybe'"):
            plan({**spec, "set": {**spec["set"], key: "maybe"}}, tmp_path / "bad", threads=1)


def test_sb3_ppo_copies_our_settings_and_schedule() -> None:
    """The peer's settings are our preset's on the same env (Pendulum's own included); its
    step-size schedule, written in rollouts, gives our schedule: the full step size at the first
    update, down by lr / iterations per rollout, never below 0."""
    pytest.importorskip("stable_baselines3")
    from rlasinference.experiments.peers import ppo_settings, sb3_ppo, sb3_ppo_env

    settings = ppo_settings("Pendulum-v1")
    assert (settings["num_envs"], settings["num_steps"], settings["gamma"]) == (4, 1024, 0.9)
    model = sb3_ppo(sb3_ppo_env("Pendulum-v1", settings), settings, steps=10000, seed=0)
    assert (model.n_steps, model.batch_size, model.n_epochs, model.vf_coef) == (1024, 64, 10, 0.25)
    iterations, batch = 3, 4096  # ceil(10000 / 4096)
    for k in range(1, iterations + 1):  # after rollout k, SB3 reports progress 1 - k batch / steps
        progress = 1.0 - k * batch / 10000
        assert model.lr_schedule(progress) == pytest.approx(1e-3 * (1 - (k - 1) / iterations))
    assert model.clip_range_vf is not None  # the preset clips the value; clip_value false: neither does
    unclipped = ppo_settings("Pendulum-v1", clip_value=False)
    assert sb3_ppo(sb3_ppo_env("Pendulum-v1", unclipped), unclipped, steps=10000, seed=0).clip_range_vf is None


def test_sb3_ppo_squash_gives_it_our_tanh_gaussian() -> None:
    """``squash``: the peer's policy density is our tanh-Gaussian's at the same mean and log-std,
    its deterministic action the tanh of the mean; the default keeps SB3's unsquashed Gaussian."""
    pytest.importorskip("stable_baselines3")
    import torch

    from rlasinference.experiments.peers import ppo_settings, sb3_ppo, sb3_ppo_env
    from rlasinference.samplers.gaussian import gaussian_tanh_log_density

    settings = ppo_settings("HalfCheetah-v5")
    env = sb3_ppo_env("HalfCheetah-v5", settings)
    plain = sb3_ppo(env, settings, steps=4096, seed=0)
    assert type(plain.policy.action_dist).__name__ == "DiagGaussianDistribution"
    policy = sb3_ppo(env, settings, steps=4096, seed=0, squash=True).policy
    with torch.no_grad():
        policy.log_std.fill_(-0.5)
        obs = torch.randn(64, 17)
        actions, _, _ = policy(obs)
        _, log_prob, _ = policy.evaluate_actions(obs, actions)
        mean = policy.action_net(policy.mlp_extractor.forward_actor(policy.extract_features(obs)))
    assert actions.abs().max() < 1
    x = torch.atanh(actions.double().clamp(-1 + 1e-7, 1 - 1e-7))
    log_std = torch.full_like(x, -0.5)
    ours = gaussian_tanh_log_density((x - mean.double()) / log_std.exp(), log_std, x)
    torch.testing.assert_close(log_prob.double(), ours, rtol=1e-4, atol=1e-3)
    assert np.allclose(policy.predict(obs.numpy(), deterministic=True)[0], torch.tanh(mean).numpy(), atol=1e-6)


def test_async_envs_give_the_run_of_sync_envs(tmp_path: Path) -> None:
    """One subprocess per env (``vector_env=async``) steps the same envs with the same seeds:
    the same metrics rows and weights as in-process stepping."""
    runs = {}
    for mode in ("sync", "async"):
        config = resolve({**TINY_PPO, "env": "InvertedPendulum-v5", "num_envs": 2, "steps": 192,
                          "eval_every": 192, "vector_env": mode})  # fmt: skip
        runs[mode] = create_run_dir(tmp_path / mode, config)
        Trainer(config, runs[mode], quiet=True).train()
    assert _rows(runs["sync"]) == _rows(runs["async"])
    a, b = (load_checkpoint(d / "checkpoints" / "last.pt")["agent"]["modules"] for d in runs.values())
    assert all(_same(a[k], b[k]) for k in a)
    with pytest.raises(UserError, match="vector_env must be one of sync, async"):
        _agent(vector_env="threads")


def test_ctrl_c_on_async_envs_saves_and_resumes(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group, env subprocesses included: they ignore it, the
    run ends its rollout, saves, and resumes."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rlasinference.cli.main", "train", "--algo", "ppo", "--env", "InvertedPendulum-v5",
           "--steps", "100000", "--out", str(out), "--set", "vector_env=async", "--set", "num_envs=2",
           "--set", "num_steps=64", "--set", "minibatches=2", "--set", "epochs=1", "--set", "log_every=128",
           "--set", "threads=1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while not (out / "metrics.csv").exists() or len(_rows(out)) < 2:
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: every process of the group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err and "interrupted at step" in err, err
    step = load_checkpoint(out / "checkpoints" / "last.pt")["step"]
    assert step > 0 and step % 128 == 0
    result = CliRunner().invoke(app, ["resume", str(out), "--steps", str(step + 128), "--quiet"])
    assert result.exit_code == 0, result.output
