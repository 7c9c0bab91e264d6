"""TECRL's parts: the entropy critic's target and loss against their formulas written out
(float64, fixed inputs), the trajectory temperature rule's gradient, what the reward critic and
the actor read once the entropy critic is on, and the one-line refusals of parts that cannot
take it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rlasinference.algorithms import PRESETS
from rlasinference.core.batch import Batch
from rlasinference.critics.entropy import EntropyCritic, entropy_target
from rlasinference.objectives import temperature_loss, trajectory_temperature_loss
from tests.test_critic_axis import SMALL_SAMPLER, _batch


def test_entropy_target_is_the_formula() -> None:
    g = torch.Generator().manual_seed(0)
    log_pi = torch.randn(5, generator=g, dtype=torch.float64)
    q_next = torch.randn(2, 5, generator=g, dtype=torch.float64) * 4
    done = torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    got = entropy_target(log_pi, q_next, done, 0.9)
    for b in range(5):
        want = 0.9 * (1 - done[b].item()) * (min(q_next[0, b].item(), q_next[1, b].item()) - log_pi[b].item())
        assert got[b].item() == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_entropy_critic_loss_regresses_on_its_target_network() -> None:
    torch.manual_seed(0)
    critic = EntropyCritic(3, 2, [8]).double()
    batch = Batch(*(t.double() for t in _batch()))
    g = torch.Generator().manual_seed(3)
    a_next = torch.rand(16, 2, generator=g, dtype=torch.float64) * 2 - 1
    log_pi = torch.randn(16, generator=g, dtype=torch.float64)
    with torch.no_grad():  # the target copy differs from the online net, as after updates
        for p in critic.target.parameters():
            p.add_(0.1)
    out = critic.loss(batch, lambda: (a_next, log_pi), 0.99)
    with torch.no_grad():
        q_next = critic.target(batch.next_obs, a_next)
        y = 0.99 * (1 - batch.terminated) * (q_next.min(0).values - log_pi)
        q = critic.q(batch.obs, batch.actions)
        want = sum(0.5 * ((q[k] - y) ** 2).mean() for k in range(2))
    torch.testing.assert_close(out["loss_entropy_critic"].detach(), want)
    # a terminal s' has no entropy to come
    assert batch.terminated.sum() > 0
    torch.testing.assert_close(out["entropy_to_go"], (1 - batch.terminated) * (q_next.min(0).values - log_pi))
    # gradients reach the online net only
    out["loss_entropy_critic"].backward()
    assert all(p.grad is None for p in critic.target.parameters())
    assert all(p.grad is not None for p in critic.q.parameters())


@pytest.mark.parametrize("mean_to_go", [50.0, 250.0])
def test_trajectory_rule_moves_tau_towards_the_average_entropy(mean_to_go: float) -> None:
    """d loss / d log tau = -(H_bar - (1 - gamma) mean V_e): with H_bar = -1 and gamma 0.99,
    V_e = 50 (average entropy 0.5 > -1) lowers tau, V_e = -250 (average -2.5 < -1) raises it."""
    for sign in (1.0, -1.0):
        log_tau = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        to_go = torch.full((4,), sign * mean_to_go, dtype=torch.float64)
        trajectory_temperature_loss(log_tau, to_go, -1.0, 0.99).backward()
        assert log_tau.grad is not None
        assert log_tau.grad.item() == pytest.approx(-(-1.0 - 0.01 * sign * mean_to_go), rel=1e-12)
        # a gradient step lowers tau when the trajectory is more random than H_bar, and raises it otherwise
        assert (log_tau.grad.item() > 0) == (0.01 * sign * mean_to_go > -1.0)
    # with the same entropy at every step the two rules agree: V_e = H / (1 - gamma)
    log_tau = torch.tensor(0.0, requires_grad=True)
    h = torch.tensor([-0.7, -0.7])
    trajectory = torch.autograd.grad(trajectory_temperature_loss(log_tau, h / 0.01, -2.0, 0.99), log_tau)[0]
    step = torch.autograd.grad(temperature_loss(log_tau, -h, -2.0), log_tau)[0]
    torch.testing.assert_close(trajectory, step)


def _agent(algo: str = "sac", **fields: object):  # type: ignore[no-untyped-def]
    preset = PRESETS.get(algo)
    config = preset.config_cls(batch_size=16, critic_hidden=[8], **fields)  # type: ignore[arg-type]
    return preset.build(config, SMALL_SAMPLER["gaussian"], 3, 2)


def test_with_an_entropy_critic_the_reward_target_has_no_entropy_and_the_actor_reads_both() -> None:
    torch.manual_seed(0)
    agent = _agent(entropy_critic=True, temperature_rule="trajectory", temperature=0.37)
    seen = {}
    loss = agent.critic.loss

    def spy(batch, inputs):  # type: ignore[no-untyped-def]
        seen["tau"] = inputs.tau.item()
        return loss(batch, inputs)

    agent.critic.loss = spy
    batch = _batch()
    before = [p.detach().clone() for p in agent.entropy_critic.q.parameters()]
    log_tau = agent.temperature.log_tau.detach().clone()
    metrics = agent.update(batch)
    assert seen["tau"] == 0.0  # the reward critic's target: no entropy term, whatever tau is
    # tau moved by the trajectory rule on the entropy to go the update logged
    want = trajectory_temperature_loss(log_tau, metrics["entropy_to_go"].reshape(1), agent.target_entropy, 0.99)
    torch.testing.assert_close(metrics["loss_temperature"], want)
    assert {"loss_entropy_critic", "entropy_q_mean", "entropy_to_go", "loss_temperature"} <= set(metrics)
    obs, actions = batch.obs, batch.actions
    with torch.no_grad():
        tau = agent.temperature()
        want = agent.critic.actor_q(obs, actions) + tau * agent.entropy_critic.q(obs, actions).min(0).values
        torch.testing.assert_close(agent.actor_q(obs, actions), want)
    # the entropy critic stepped with the critic, and it is part of what a checkpoint holds
    assert all(not torch.equal(a, b) for a, b in zip(before, agent.entropy_critic.q.parameters()))
    assert any(k.startswith("entropy_critic.target.") for k in agent.checkpoint_state()["modules"])


def test_dsac_e_is_dsac_t_with_the_two_parts() -> None:
    t, e = PRESETS.get("dsac-t").config_cls(), PRESETS.get("dsac-e").config_cls()
    assert (e.entropy_critic, e.temperature_rule) == (True, "trajectory")
    assert (t.entropy_critic, t.temperature_rule) == (False, "step")
    assert {k: v for k, v in vars(e).items() if k not in ("entropy_critic", "temperature_rule")} == {
        k: v for k, v in vars(t).items() if k not in ("entropy_critic", "temperature_rule")
    }


def test_entropy_parts_combine_with_other_samplers_from_the_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rlasinference.cli.main import app
    from rlasinference.training.checkpoint import load_checkpoint
    from tests.helpers import TINY

    out = tmp_path / "run"
    run = ["train", "--steps", "150", "--eval-every", "150", "--eval-episodes", "1", "--out", str(out), "--quiet"]
    parts = ["--sampler", "diffusion", "--set", "sampler.steps=2", "--set", "entropy_critic=true"]
    parts += ["--set", "temperature_rule=trajectory"]
    result = CliRunner().invoke(app, [*run, *TINY, *parts])
    assert result.exit_code == 0, result.output
    assert "entropy_to_go" in (out / "metrics.csv").read_text().splitlines()[0]
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 150


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--set", "temperature_rule=trajectory"], "needs --set entropy_critic=true and learn_temperature=true"),
        (["--set", "temperature_rule=episode"], "temperature_rule must be one of step, trajectory"),
        (
            ["--algo", "sql", "--sampler", "gaussian", "--set", "entropy_critic=true"],
            "which value estimator 'importance' cannot; valid: sampled",
        ),
        (["--algo", "meow", "--set", "entropy_critic=true"], "entropy_critic needs a box sampler with a log-density"),
        (["--algo", "soft-dqn", "--env", "CartPole-v1", "--set", "entropy_critic=true"], "entropy_critic needs"),
    ],
)
def test_entropy_parts_refuse_what_cannot_take_them(tmp_path: Path, extra: list[str], fragment: str) -> None:
    from typer.testing import CliRunner

    from rlasinference.cli.main import app
    from tests.test_cli import assert_one_line_error

    run = ["train", "--steps", "10", "--out", str(tmp_path / "r"), "--quiet"]
    assert_one_line_error(CliRunner().invoke(app, [*run, *extra]), fragment)
    assert not (tmp_path / "r").exists()
