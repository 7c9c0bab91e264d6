"""The critic as an axis: the contract every registered critic meets, golden values of the
categorical target and of the shared update, the bound's shift through every loss that uses it,
every valid (preset, sampler, critic) combination training, and exact resume for every preset."""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from rlasinference.algorithms import PRESETS
from rlasinference.core.batch import Batch
from rlasinference.core.errors import UserError
from rlasinference.critics import CRITICS, CategoricalCritic, TargetInputs, critic_options, hl_gauss_projection
from rlasinference.objectives import reverse_kl, temperature_loss
from rlasinference.samplers import SAMPLERS, EnergyFlow, Sampler, Samples, Softmax, TanhGaussian
from rlasinference.training.checkpoint import load_checkpoint
from rlasinference.training.config import resolve
from rlasinference.training.run_dir import create_run_dir
from rlasinference.training.trainer import Trainer
from rlasinference.values import VALUE_ESTIMATORS, sampled_soft_value
from tests.helpers import stop_at_call

SMALL_SAMPLER = {
    "gaussian": {"hidden": [8]},
    "flow": {"hidden": [8], "spline_hidden": 8},
    "energy-flow": {"hidden": [8], "shift_hidden": [8]},
    "svgd": {"hidden": [8]},
    "diffusion": {"hidden": [8], "steps": 2},
    "softmax": {"hidden": [8]},
}


def _batch(obs_dim: int = 3, action_dim: int = 2, n: int = 16) -> Batch:
    g = torch.Generator().manual_seed(0)
    return Batch(
        torch.randn(n, obs_dim, generator=g),
        torch.rand(n, action_dim, generator=g) * 1.8 - 0.9,
        torch.randn(n, generator=g),
        torch.randn(n, obs_dim, generator=g),
        (torch.rand(n, generator=g) < 0.2).float(),
    )


def _inputs(sampler: Sampler, batch: Batch, tau: float = 0.3) -> TargetInputs:
    t = torch.tensor(tau)

    def sample_next() -> tuple[Tensor, Tensor]:
        s = sampler.sample(batch.next_obs, 1)
        assert s.log_density is not None
        return s.actions[:, 0], s.log_density[:, 0]

    def value(q):
        estimator = (
            "closed-form" if hasattr(q, "log_normalizer") else "exact" if sampler.space == "discrete" else "sampled"
        )
        return VALUE_ESTIMATORS.get(estimator).fn(batch.next_obs, sampler, q, t)

    return TargetInputs(value, sample_next, t, 0.99, 1.0)


@pytest.mark.parametrize("name", CRITICS.names())
def test_every_critic_meets_the_contract(name: str) -> None:
    torch.manual_seed(0)
    cls = CRITICS.get(name)
    discrete = cls.space == "discrete"
    if discrete:
        sampler: Sampler = Softmax(3, 2, hidden=(8,))
    else:
        sampler = (
            EnergyFlow(3, 2, hidden=(8,), shift_hidden=(8,)) if cls.is_sampler else TanhGaussian(3, 2, hidden=(8,))
        )
    assert cls.accepts_sampler(type(sampler))
    options = critic_options(cls)
    assert set(cls.option_ranges) <= set(options) and cls.summary
    assert all(e in VALUE_ESTIMATORS for e in cls.value_estimators or ())
    if name == "categorical":
        options |= {"atoms": 11, "v_min": -10.0, "v_max": 10.0}
    members = 1 if name == "softmax-q" else 2
    critic = cls(3, 2, [8], members, sampler, **options)
    batch = _batch()
    out = critic.loss(batch, _inputs(sampler, batch))
    assert {"loss_critic", "q_mean", *cls.metrics} == set(out)
    assert out["loss_critic"].ndim == 0 and out["loss_critic"].requires_grad and not out["q_mean"].requires_grad
    out["loss_critic"].backward()
    trained = list(sampler.parameters()) if cls.is_sampler else [p for p in critic.parameters() if p.requires_grad]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trained)

    # the actor's view: [E, B], gradients to the actions only, the critic left in training mode;
    # a discrete critic's one-hot actions carry none: it gives every action's Q [E, B, K] at once
    for p in [*critic.parameters(), *sampler.parameters()]:
        p.grad = None
    actions = batch.actions.clone().requires_grad_(True)
    q = critic.actor_q(batch.obs, actions)
    assert q.shape == (members, 16)
    if discrete:
        q_all = critic.actor_q_all(batch.obs)
        assert q_all.shape == (members, 16, 2) and not q.requires_grad and not q_all.requires_grad
        torch.testing.assert_close(
            q, q_all.gather(2, batch.actions.argmax(-1).view(1, -1, 1).expand(members, -1, 1))[..., 0]
        )
    else:
        q.sum().backward()
        assert actions.grad is not None and actions.grad.abs().sum() > 0
    assert all(p.grad is None for p in critic.parameters()) and critic.training
    critic.after_update(1, 0.5, 1)


def test_critics_refuse_what_they_cannot_use() -> None:
    assert not CRITICS.get("energy-flow").accepts_sampler(TanhGaussian)
    with pytest.raises(UserError, match="critic 'categorical' cannot use value estimator 'importance'"):
        resolve({"algo": "dime", "value_estimator": "importance"}).preset.build(
            resolve({"algo": "dime", "value_estimator": "importance"}).algo, SMALL_SAMPLER["diffusion"], 3, 1
        )


class _FixedLogits(nn.Module):
    """A target network whose output is given: ``[E, B, atoms]``."""

    def __init__(self, logits: Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, x: Tensor) -> Tensor:
        return self.logits


def test_categorical_target_golden() -> None:
    """Support (-2, 0, 2); next-state probabilities (0.2, 0.5, 0.3) for both members; r = 1,
    gamma = 0.5, tau = 0.5, log pi(a'|s') = -1. Non-terminal: atoms move to
    1 + 0.5 (z + 0.5) = (0.25, 1.25, 2.25 -> 2), split onto the support:
    (0, 0.2 * 0.875 + 0.5 * 0.375, 0.2 * 0.125 + 0.5 * 0.625 + 0.3) = (0, 0.3625, 0.6375).
    Terminal: every atom moves to r = 1, half way: (0, 0.5, 0.5)."""
    torch.manual_seed(0)
    critic = CategoricalCritic(1, 1, [4], 2, None, atoms=3, v_min=-2.0, v_max=2.0)  # type: ignore[arg-type]
    probs = torch.tensor([0.2, 0.5, 0.3])
    critic.target = _FixedLogits(probs.log().expand(2, 2, 3))
    batch = Batch(torch.zeros(2, 1), torch.zeros(2, 1), torch.ones(2), torch.zeros(2, 1), torch.tensor([0.0, 1.0]))
    inputs = TargetInputs(
        lambda q: torch.zeros(2), lambda: (torch.zeros(2, 1), torch.full((2,), -1.0)), torch.tensor(0.5), 0.5, 1.0
    )
    target = torch.tensor([[0.0, 0.3625, 0.6375], [0.0, 0.5, 0.5]])
    log_pred = torch.log_softmax(critic.logits(batch.obs, batch.actions), -1)
    expected = -(target * log_pred).sum(-1).mean(-1).sum()
    torch.testing.assert_close(critic.loss(batch, inputs)["loss_critic"], expected)


def test_hl_gauss_projection() -> None:
    support = torch.linspace(-5, 5, 11)
    probs = torch.softmax(torch.randn(4, 11), -1)
    values = torch.rand(4, 11) * 6 - 3
    out = hl_gauss_projection(probs, values, support, sigma=0.75)
    torch.testing.assert_close(out.sum(-1), torch.ones(4))
    # far inside the support the Gaussian's mean is kept
    torch.testing.assert_close(out @ support, (probs * values).sum(-1), atol=0.02, rtol=0)
    # a narrow Gaussian on an atom puts all its mass on that atom
    one = hl_gauss_projection(torch.tensor([[1.0] + [0.0] * 10]), torch.full((1, 11), 2.0), support, sigma=1e-3)
    assert one[0, 7] == pytest.approx(1.0)


def test_hl_gauss_does_not_clamp_targets_beyond_the_support() -> None:
    # support [-100, 100], 101 atoms, sigma 0.75 bins: a target of 103 keeps the part of N(103, 1.5^2)
    # that falls on the support (Farebrother et al. 2024), mean 99.915; clamped to the last atom
    # first it would be N(100, 1.5^2) cut at the edge, mean 99.262
    support = torch.linspace(-100, 100, 101)
    out = hl_gauss_projection(torch.ones(1, 1), torch.tensor([[103.0]]), support, sigma=1.5)
    assert (out @ support).item() == pytest.approx(99.915, abs=1e-3)
    # the same integral below the support, and targets far beyond it: finite, one-hot on the end atom
    low = hl_gauss_projection(torch.ones(1, 1), torch.tensor([[-103.0]]), support, sigma=1.5)
    assert (low @ support).item() == pytest.approx(-99.915, abs=1e-3)
    far = hl_gauss_projection(torch.ones(2, 1), torch.tensor([[1e6], [-1e6]]), support, sigma=1.5)
    assert torch.isfinite(far).all()
    torch.testing.assert_close(far[:, [-1, 0]], torch.eye(2))


def test_shared_update_golden_target_and_one_backward_equals_three() -> None:
    """The twin critic's target is r * reward_scale + gamma (1 - d) V(s') with V from the target
    critic's min; the joint backward of the three losses equals their separate gradients, each
    reaching its own part only."""
    torch.manual_seed(0)
    preset = PRESETS.get("sac")
    agent = preset.build(preset.config_cls(critic_hidden=[8], reward_scale=3.0, gamma=0.9), {"hidden": [8]}, 3, 2)
    batch = _batch()
    next_actions = torch.rand(16, 2) * 1.8 - 0.9
    log_pi_next = torch.randn(16)
    tau = torch.tensor(0.7)
    value = lambda q: q(batch.next_obs, next_actions).min(0).values - tau * log_pi_next  # noqa: E731
    inputs = TargetInputs(value, lambda: (next_actions, log_pi_next), tau, 0.9, 3.0)
    with torch.no_grad():
        v = agent.critic.target(batch.next_obs, next_actions).min(0).values - 0.7 * log_pi_next
        y = 3.0 * batch.rewards + 0.9 * (1 - batch.terminated) * v
    q = agent.critic.q(batch.obs, batch.actions)
    torch.testing.assert_close(agent.critic.loss(batch, inputs)["loss_critic"], 0.5 * ((q - y) ** 2).mean(1).sum())

    parts = {
        "critic": list(agent.critic.q.parameters()),
        "policy": list(agent.sampler.parameters()),
        "temperature": [agent.temperature.log_tau],
    }
    params = [p for group in parts.values() for p in group]
    torch.manual_seed(1)
    loss_c = agent.critic.loss(batch, inputs)["loss_critic"]
    out = reverse_kl(batch.obs, agent.sampler, agent.actor_q, tau)
    loss_t = temperature_loss(agent.temperature.log_tau, out["log_density"], agent.target_entropy)
    joint = torch.autograd.grad(loss_c + out["loss_policy"] + loss_t, params, retain_graph=True)
    for loss, own in ((loss_c, "critic"), (out["loss_policy"], "policy"), (loss_t, "temperature")):
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        offset = 0
        for name, group in parts.items():
            for g, j in zip(grads[offset : offset + len(group)], joint[offset : offset + len(group)]):
                if name == own:
                    torch.testing.assert_close(g, j)
                else:
                    assert g is None or not g.abs().any()
            offset += len(group)


class _Shifted(Sampler):
    """A sampler whose log-density (a bound, say) is another's plus a constant c."""

    density = "bound"

    def __init__(self, inner: Sampler, c: float) -> None:
        super().__init__(inner.context_dim, inner.action_dim)
        self.inner, self.c = inner, c

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        s = self.inner.sample(context, n)
        assert s.log_density is not None
        return Samples(s.actions, s.log_density + self.c)


def test_shifting_the_bound_moves_each_loss_by_the_formula() -> None:
    torch.manual_seed(0)
    inner, c, tau = TanhGaussian(3, 2, hidden=(8,)), 0.37, torch.tensor(0.6)
    batch = _batch()
    critic = lambda obs, a: torch.stack([a.sum(-1), -a.sum(-1)])  # noqa: E731
    results = []
    for sampler in (inner, _Shifted(inner, c)):
        torch.manual_seed(5)
        out = reverse_kl(batch.obs, sampler, critic, tau)
        torch.manual_seed(6)
        v = sampled_soft_value(batch.next_obs, sampler, critic, tau)
        log_tau = torch.tensor(math.log(0.6))
        results.append((out["loss_policy"], v, temperature_loss(log_tau, out["log_density"], -2.0)))
    (p0, v0, t0), (p1, v1, t1) = results
    torch.testing.assert_close(p1 - p0, tau * c)  # E[tau log pi - Q] moves by tau c
    torch.testing.assert_close(v1 - v0, torch.full_like(v0, -0.6 * c))  # V moves by -tau c
    torch.testing.assert_close(t1 - t0, torch.tensor(-math.log(0.6) * c))  # -log tau (E log pi + H)


def _combinations() -> list[tuple[str, str, str]]:
    return list(itertools.product(PRESETS.names(), SAMPLERS.names(), CRITICS.names()))


def test_every_valid_combination_trains_every_part() -> None:
    """Walk presets x samplers x critics; each valid one makes three updates (a delayed actor's
    first), and every parameter group of its optimizer moves."""
    built = []
    for preset_name, sampler, critic in _combinations():
        preset = PRESETS.get(preset_name)
        try:
            cfg = resolve({"algo": preset_name, "sampler": sampler, "critic": critic, "critic_hidden": [8]})
            options = dict(cfg.sampler_options) | SMALL_SAMPLER[sampler]
            critic_opts = cfg.critic_options | ({"atoms": 11} if critic == "categorical" else {})
            torch.manual_seed(0)
            agent = preset.build(cfg.algo.__class__(**{**vars(cfg.algo), "batch_size": 16}), options, 3, 2, critic_opts)
        except UserError:
            continue
        groups = agent.optimizers["adam"].param_groups
        before = [[p.detach().clone() for p in g["params"]] for g in groups]
        for _ in range(3):
            metrics = agent.update(_batch())
            assert all(torch.isfinite(v) for v in metrics.values()), (preset_name, sampler, critic)
        for g, old in zip(groups, before):
            moved = any(not torch.equal(p, o) for p, o in zip(g["params"], old))
            assert moved, f"{preset_name} + {sampler} + {critic}: the {g['part']} group did not move"
        built.append((preset_name, sampler, critic))
    for must in [
        ("sac", "gaussian", "crossq"),
        ("dime", "flow", "categorical"),
        ("sac", "flow", "categorical"),
        ("sac-discrete", "softmax", "discrete"),
        ("soft-dqn", "softmax", "softmax-q"),
    ]:
        assert must in built  # fmt: skip
    # actions of another kind than the sampler draws are refused (a box critic, a discrete sampler)
    assert ("sac", "gaussian", "discrete") not in built and ("sac-discrete", "softmax", "twin") not in built
    assert ("meow", "gaussian", "energy-flow") not in built and ("sac", "gaussian", "energy-flow") not in built
    assert len(built) >= 40, len(built)


def test_every_objective_trains_every_sampler_it_accepts() -> None:
    """The policy objective is an axis too: with SAC's recipe and critic, each registered objective
    that fits a sampler by itself trains every sampler whose density it accepts (the sampler's
    parameters move in three updates, every logged metric is finite); the others are refused."""
    from rlasinference.objectives import OBJECTIVES

    built = []
    for (objective, component), sampler in itertools.product(OBJECTIVES, SAMPLERS.names()):
        if not component.trains_sampler:
            continue
        cls = SAMPLERS.get(sampler)
        base = "sac-discrete" if cls.space == "discrete" else "sac"  # SAC's recipe and critic for that space
        try:
            cfg = resolve(
                {"algo": base, "sampler": sampler, "objective": objective, "critic_hidden": [8]}
                | {"learn_temperature": component.log_density}  # (stein has no entropy estimate)
                | ({"value_estimator": "importance"} if cls.density == "none" else {})
            )
            algo = cfg.algo.__class__(**{**vars(cfg.algo), "batch_size": 16, "cover_samples": 4})
            torch.manual_seed(0)
            agent = PRESETS.get(base).build(algo, dict(cfg.sampler_options) | SMALL_SAMPLER[sampler], 3, 2, {})
        except UserError:
            assert not component.fits(cls), (objective, sampler)
            continue
        before = [p.detach().clone() for p in agent.sampler.parameters()]
        for _ in range(3):
            metrics = agent.update(_batch())
            assert all(torch.isfinite(v) for v in metrics.values()), (objective, sampler)
        assert any(not torch.equal(p, o) for p, o in zip(agent.sampler.parameters(), before)), (objective, sampler)
        for name in component.metrics:
            assert name in metrics, (objective, name)
        built.append((objective, sampler))
    assert ("covering-kl", "flow") in built and ("covering-kl", "diffusion") in built
    assert {("wpo", "gaussian"), ("wpo", "flow"), ("wpo", "diffusion")} <= set(built) and ("wpo", "svgd") not in built
    assert ("exact-kl", "softmax") in built and ("reverse-kl", "softmax") not in built
    assert ("covering-kl", "svgd") not in built and ("stein", "svgd") in built


RESUME = {
    "sac": {},
    "sac+crossq": {"critic": "crossq"},
    "crossq": {"algo": "crossq"},
    "sql": {"algo": "sql", "env": "rlasinference/MultiGoal-v0", "target_update_every": 50},
    "diffsac": {"algo": "diffsac", "sampler.steps": 2},
    "dime": {"algo": "dime", "sampler.steps": 2, "critic.atoms": 11},
    "meow": {"algo": "meow", "sampler.shift_hidden": [16]},
    # bfloat16 matrix products resume exactly too (the chain, batch renorm and the categorical critic)
    "dime-bf16": {"algo": "dime", "sampler.steps": 2, "critic.atoms": 11, "precision": "bf16"},
    # discrete actions: two updates every second env step, targets copied mid-run
    "soft-dqn": {"algo": "soft-dqn", "env": "CartPole-v1", "update_every": 2, "updates_per_step": 2,
                 "target_update_every": 7},
    "sac-discrete": {"algo": "sac-discrete", "env": "CartPole-v1", "update_every": 2, "updates_per_step": 2,
                     "target_update_every": 5},
    "m-dqn": {"algo": "m-dqn", "env": "CartPole-v1", "update_every": 2, "updates_per_step": 2,
              "target_update_every": 7},
    "dsac-t": {"algo": "dsac-t", "sampler.hidden": [16], "critic_hidden": [16]},
    "dsac-e": {"algo": "dsac-e", "sampler.hidden": [16], "critic_hidden": [16]},
    "wpo": {"algo": "wpo", "policy_delay": 3},
    "diffwpo": {"algo": "diffwpo", "sampler.steps": 2, "policy_delay": 3},
    # image observations: a convolutional torso in the sampler and in each critic member (MinAtar's;
    # the Nature torso's frames and weights channels last from 36 pixels a side)
    "sac-discrete-image": {"algo": "sac-discrete", "env": "tests.helpers:tests/DotImage-v0", "update_every": 2,
                           "updates_per_step": 2, "target_update_every": 5},
    "soft-dqn-frames": {"algo": "soft-dqn", "env": "tests.helpers:tests/DotImage-v0(size=36)", "update_every": 2,
                        "updates_per_step": 2, "target_update_every": 5},
    # Atari: a random Breakout player loses a life every 25 steps or so, so the stops fall in a game
    # whose lives lost reset the env in place (replayed from the game's reset on resume)
    "sac-discrete-atari": {"algo": "sac-discrete", "env": "BreakoutNoFrameskip-v4", "update_every": 2,
                           "updates_per_step": 2, "target_update_every": 5},
}  # fmt: skip


def _rows(run_dir: Path) -> list[list[str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        table = list(csv.DictReader(f))
    return [[r[c] for c in r if c not in ("time_s", "sps")] for r in table]


@pytest.mark.parametrize("name", list(RESUME))
def test_every_preset_resumes_exactly(tmp_path: Path, name: str) -> None:
    """Stopped after update 100, 101 and 102 (every phase of a 3-update policy delay) and
    resumed: the same metrics rows and final weights as the uninterrupted run."""
    for module in ("ale_py", "cv2", "stable_baselines3") if "atari" in name else ():
        pytest.importorskip(module)
    config = resolve(
        {"steps": 300, "eval_every": 150, "eval_episodes": 1, "learning_starts": 100, "batch_size": 16,
         "critic_hidden": [16], "sampler.hidden": [16], "log_every": 25, "threads": 1, **RESUME[name]}
    )  # fmt: skip
    straight = create_run_dir(tmp_path / "straight", config)
    Trainer(config, straight, quiet=True).train()
    final = load_checkpoint(straight / "checkpoints" / "last.pt")["agent"]["modules"]
    for stop_after in (100, 101, 102):
        stopped = create_run_dir(tmp_path / f"stopped{stop_after}", config)
        trainer = Trainer(config, stopped, quiet=True)
        stop_at_call(trainer, "update", stop_after)
        assert trainer.train()["interrupted"]
        if "atari" in name:  # the game in progress at the stop has lost a life: its replay crosses one
            saved = load_checkpoint(stopped / "checkpoints" / "last.pt")
            size, length = saved["buffer"]["size"], saved["trainer"]["episode_length"]
            assert saved["buffer"]["terminated"][size - length : size].any(), f"stopped after update {stop_after}"
        assert Trainer(config, stopped, quiet=True, resume=True).train()["step"] == 300
        assert _rows(stopped) == _rows(straight), f"{name}, stopped after update {stop_after}"
        again = load_checkpoint(stopped / "checkpoints" / "last.pt")["agent"]["modules"]
        assert all(torch.equal(final[k], again[k]) for k in final), f"{name}, stopped after update {stop_after}"


@pytest.mark.parametrize(
    "args",
    [
        ["--algo", "sac", "--set", "critic=crossq"],
        ["--algo", "dime", "--sampler", "flow", "--set", "sampler.spline_hidden=8", "--set", "critic.atoms=11"],
        ["--algo", "sac", "--sampler", "flow", "--set", "critic=categorical", "--set", "critic.projection=hl-gauss"],
    ],
    ids=["sac+crossq", "dime+flow", "flow-sac+categorical"],
)
def test_new_combinations_train_from_the_cli(tmp_path: Path, args: list[str]) -> None:
    from typer.testing import CliRunner

    from rlasinference.cli.main import app
    from tests.helpers import TINY

    out = tmp_path / "run"
    run = ["train", "--steps", "150", "--eval-every", "150", "--eval-episodes", "1", "--out", str(out), "--quiet"]
    result = CliRunner().invoke(app, [*run, *TINY, *args])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 150


def test_invalid_combinations_name_the_valid_ones(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rlasinference.cli.main import app
    from tests.test_cli import assert_one_line_error

    run = ["train", "--steps", "10", "--out", str(tmp_path / "r"), "--quiet"]
    cases = [
        (
            ["--set", "critic=energy-flow"],
            "critic 'energy-flow' cannot be used with sampler 'gaussian'; valid: energy-flow",
        ),
        (["--algo", "dime", "--set", "value_estimator=importance"], "valid: sampled"),
        (["--set", "objective=none"], "valid: energy-flow"),
        (["--set", "critic=nope"], "unknown critic 'nope'; valid: twin, crossq, categorical, energy-flow"),
        (["--set", "critic.atoms=11"], "unknown config key 'critic.atoms'"),
        (["--set", "critic=categorical", "--set", "critic.projection=l2"], "critic.projection must be one of"),
        (
            ["--algo", "sac-discrete", "--env", "CartPole-v1", "--set", "critic.init=xavier"],
            "cannot build critic 'discrete': critic.init must be one of torch, kaiming, got 'xavier'",
        ),
    ]
    for extra, fragment in cases:
        assert_one_line_error(CliRunner().invoke(app, [*run, *extra]), fragment)
        assert not (tmp_path / "r").exists()


def test_meow_with_the_critic_first_trains() -> None:
    """Objective none after the critic's own step leaves nothing to step (no traceback)."""
    preset = PRESETS.get("meow")
    config = preset.config_cls(critic_first=True, batch_size=16)
    agent = preset.build(config, SMALL_SAMPLER["energy-flow"], 3, 2)
    before = [p.detach().clone() for p in agent.sampler.parameters()]
    agent.update(_batch())
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.sampler.parameters()))


def test_categorical_critic_refuses_batch_renorm_with_a_target_network() -> None:
    with pytest.raises(UserError, match=r"needs critic\.target_network=false"):
        CategoricalCritic(3, 2, [8], 2, None, batch_renorm=True, target_network=True)  # type: ignore[arg-type]


def test_crossq_actor_is_batch_renormalised_in_its_loss_only() -> None:
    # the references (adityab/CrossQ 'brn_actor', SBX, sb3-contrib): the actor trains on batch
    # statistics and acts, and samples the critic's next actions, on running statistics
    from rlasinference.core.nets import BatchRenorm

    crossq, sac = PRESETS.get("crossq"), PRESETS.get("sac")
    assert crossq.default_sampler_options("gaussian")["batch_renorm"] is True
    assert sac.default_sampler_options("gaussian")["batch_renorm"] is False  # --set critic=crossq keeps SAC's actor
    config = resolve({"algo": "crossq", "critic_hidden": [16], "sampler.hidden": [16], "batch_size": 8})
    agent = crossq.build(config.algo, config.sampler_options, 3, 2)
    norms = [m for m in agent.sampler.modules() if isinstance(m, BatchRenorm)]
    assert len(norms) == 2  # in front of each linear layer (one hidden layer), the input's included
    batch = _batch()
    agent.policy.act(batch.obs, deterministic=False)
    agent.policy.act(batch.obs, deterministic=True)
    assert all(m.calls.item() == 0 for m in norms)  # acting reads the running statistics
    for _ in range(6):
        agent.update(batch)
    # policy_delay 3: two actor updates in six, each one pass in training mode; the value
    # estimator's next actions did not count
    assert all(m.calls.item() == 2 for m in norms)
    assert not agent.sampler.training
    # in evaluation mode the input layer is (x - running mean) / sqrt(running var + eps)
    first = norms[0]
    expected = (batch.obs - first.running_mean) / torch.sqrt(first.running_var + 1e-3) * first.weight + first.bias
    torch.testing.assert_close(first(batch.obs), expected)


def test_on_policy_presets_refuse_a_batch_renormalised_sampler() -> None:
    config = resolve({"algo": "ppo", "sampler.batch_renorm": True})
    with pytest.raises(UserError, match=r"sampler\.batch_renorm needs an off-policy preset"):
        PRESETS.get("ppo").build(config.algo, config.sampler_options, 3, 2)
