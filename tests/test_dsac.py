"""DSAC-T's critic loss against its formulas written out element by element (float64, fixed
inputs), its clipping of the sampled target, and the twin-distribution choice of the target."""

from __future__ import annotations

import torch

from rlasinference.core.batch import Batch
from rlasinference.critics.base import TargetInputs
from rlasinference.critics.dsac import DSACCritic, dsac_member_losses
from rlasinference.samplers import TanhGaussian


def huber(x: float, delta: float = 50.0) -> float:
    return 0.5 * x * x if abs(x) <= delta else delta * (abs(x) - 0.5 * delta)


def written_out(q, sigma, y, ys, sbar):  # type: ignore[no-untyped-def]
    """Member k's loss: mean over b of w [huber(q - y) + sigma (sigma'^2 - huber(q' - y_b)) / (sigma' + 0.1)]."""
    losses = []
    for k in range(q.shape[0]):
        total = 0.0
        for b in range(q.shape[1]):
            qk, sk = q[k, b], sigma[k, b]
            bound = 3 * sbar[k]
            y_b = qk.item() + min(max(ys[b].item() - qk.item(), -bound.item()), bound.item())
            w = min(max(sbar[k].item() ** 2 / (sk.item() ** 2 + 0.1), 0.1), 10.0)
            diff = qk - y[b]
            mean_term = 0.5 * diff**2 if abs(diff.item()) <= 50 else 50 * (diff.abs() - 25)
            sigma_term = sk * (sk.item() ** 2 - huber(qk.item() - y_b)) / (sk.item() + 0.1)
            total = total + w * (mean_term + sigma_term)
        losses.append(total / q.shape[1])
    return torch.stack(losses)


def test_dsac_loss_and_its_gradients_are_the_formulas() -> None:
    g = torch.Generator().manual_seed(0)
    q = (torch.randn(2, 6, generator=g, dtype=torch.float64) * 3).requires_grad_()
    sigma = (torch.rand(2, 6, generator=g, dtype=torch.float64) * 2 + 0.1).requires_grad_()
    y = torch.randn(6, generator=g, dtype=torch.float64) * 3
    y[0] = 200.0  # beyond Huber's delta: the linear branch
    ys = y + torch.randn(6, generator=g, dtype=torch.float64) * 4  # some beyond the 3 sbar bound
    sbar = torch.tensor([0.8, 1.3], dtype=torch.float64)
    ours = dsac_member_losses(q, sigma, y, ys, sbar)
    ref = written_out(q, sigma, y, ys, sbar)
    torch.testing.assert_close(ours, ref)
    g_ours = torch.autograd.grad(ours.sum(), (q, sigma))
    g_ref = torch.autograd.grad(ref.sum(), (q, sigma))
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b)
    # expected-value substituting: the mean's gradient does not see the sampled target at all
    g_other = torch.autograd.grad(dsac_member_losses(q, sigma, y, ys + 7.0, sbar).sum(), q)[0]
    torch.testing.assert_close(g_other, g_ours[0])


def test_dsac_target_takes_the_member_with_the_smaller_mean_and_tracks_sigma() -> None:
    torch.manual_seed(1)
    sampler = TanhGaussian(3, 2, hidden=(8,))
    critic = DSACCritic(3, 2, [8], 2, sampler, sigma_rate=0.5)
    g = torch.Generator().manual_seed(2)
    batch = Batch(torch.randn(5, 3, generator=g), torch.rand(5, 2, generator=g) * 2 - 1, torch.randn(5, generator=g),
                  torch.randn(5, 3, generator=g), torch.zeros(5))  # fmt: skip
    a_next, log_pi = torch.rand(5, 2, generator=g) * 2 - 1, torch.randn(5, generator=g)
    tau = torch.tensor(0.3)
    inputs = TargetInputs(lambda q: q, lambda: (a_next, log_pi), tau, 0.9, 1.0)
    with torch.no_grad():
        _, sigma0 = critic.q(batch.obs, batch.actions)
    out = critic.loss(batch, inputs)
    torch.testing.assert_close(critic.mean_sigma, sigma0.mean(1))  # the first batch sets the average
    critic.loss(batch, inputs)
    torch.testing.assert_close(critic.mean_sigma, sigma0.mean(1))  # the same batch: unchanged at any rate
    # the targets: the member with the smaller target mean, per transition, its sample with the
    # same z the critic draws (clipped to +-3)
    torch.manual_seed(7)
    out = critic.loss(batch, inputs)
    with torch.no_grad():
        q_next, sigma_next = critic.target(batch.next_obs, a_next)
        torch.manual_seed(7)
        z = torch.randn_like(q_next).clamp(-3, 3)
        j = q_next.argmin(0)
        cols = torch.arange(5)
        y = batch.rewards + 0.9 * (q_next[j, cols] - tau * log_pi)
        ys = batch.rewards + 0.9 * ((q_next + z * sigma_next)[j, cols] - tau * log_pi)
        q, sigma = critic.q(batch.obs, batch.actions)
        expected = dsac_member_losses(q, sigma, y, ys, critic.mean_sigma).sum()
    torch.testing.assert_close(out["loss_critic"].detach(), expected)
    assert out["q_sigma"] > 0
