"""Fit a sampler to a Boltzmann target with the policy objective its density kind allows."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from rlasinference.core.components import Component
from rlasinference.core.errors import UserError
from rlasinference.objectives import OBJECTIVES
from rlasinference.samplers.base import Sampler
from rlasinference.workbench.targets import Target


def target_critic(target: Target) -> Callable[[Tensor, Tensor], Tensor]:
    """The target as a one-member critic ``(context [B, 0], actions [B, d]) -> Q [1, B]``."""
    return lambda context, actions: target.q(actions).unsqueeze(0)


class TargetGuide:
    """The target's score at the fit's current temperature, a sampler's ``guide``:
    ``(context, actions [R, d]) -> grad_a Q(a) / tau [R, d]``, with a graph where the actions have
    one (the chain backpropagates through its guided steps)."""

    def __init__(self, target: Target, tau: float) -> None:
        self.target, self.tau = target, tau

    def __call__(self, context: Tensor, actions: Tensor) -> Tensor:
        del context  # a target has no state
        build = actions.requires_grad and torch.is_grad_enabled()
        with torch.inference_mode(False), torch.enable_grad():
            a = actions if build else actions.detach().clone().requires_grad_()
            (score,) = torch.autograd.grad(self.target.q(a).sum() / self.tau, a, create_graph=build)
        return score


#: the automatic start temperature: this many standard deviations of Q / tau over the box
AUTO_START_SCALE = 3.0


#: the share of covering-kl's draws a fit takes uniformly on the box: a fit's targets live in few
#: dimensions, where uniform draws reach modes that the annealing emptied (docs/workbench.md)
FIT_COVER_UNIFORM = 0.5

#: the weight of covering-kl's forward term in a fit of a sampler with an exact density (its RL
#: default is 1), whose step size then decays once at tau (``fit_lr``). Between modes that no
#: draw of the sampler crosses, only that term moves mass: at 1 the reverse term's noise swings
#: the masses from mode to mode; at 10, with the decaying step, they hold (flow on edges3: all 3
#: modes on 3 seeds of 5, was 1). A guided path sampler takes it too, at a constant step (the
#: chain on edges3: all 3 modes, was 2 at weight 1); unguided, at 10 the chain's banana kl_bound
#: went from 0.27 to 0.7, and the decay alone took it to 0.34 (docs/workbench.md)
FIT_COVER_WEIGHT = 10.0

#: the weight of the ``stein`` objective's mass-aware term (``box_mmd``) in a fit, held while the
#: temperature falls and then decayed to 0 with ``fit_lr``'s cosine, so that the particles settle
#: on the target's score alone: the term's estimate is biased where few of its uniform draws land
#: on a mode (mix6d: mass coverage 0.50 held to the end, 0.76 decayed). With it svgd keeps the
#: narrow and light modes its score-only update empties (widths4, edges3; docs/workbench.md)
FIT_STEIN_COVER = 10.0


def auto_anneal_from(target: Target, tau: float, draws: int = 4096) -> float:
    """The start of an annealed fit, in multiples of ``tau``, from the target's own scale:
    ``max(1, 3 * std(Q(a) / tau))`` over ``a`` uniform on the box (fixed draws). At that
    temperature Q varies by about a third of a nat across the box, so the flattened target is
    close to uniform whatever the scale of Q: a fixed multiple is too hot for a shallow target
    and too cold for a deep one (the suite's std(Q / tau) runs from 5 to 66)."""
    generator = torch.Generator().manual_seed(0)
    actions = torch.rand(draws, target.dim, generator=generator) * 2.0 - 1.0
    with torch.no_grad():
        spread = float((target.q(actions) / tau).std())
    if not math.isfinite(spread):
        raise UserError(f"target {target.name!r}: Q is not finite on the box, no start temperature can be set")
    return max(1.0, AUTO_START_SCALE * spread)


def annealed_tau(step: int, steps: int, tau: float, anneal: float, start: float) -> float:
    """The temperature of fitting step ``step`` (0-based): ``start * tau`` at the first step, down
    geometrically to ``tau`` over the first ``anneal`` fraction of the ``steps``, then ``tau``.

    A flattened target exp(Q / (c tau)) with c > 1 has the same modes with lower barriers between
    them: a reverse-KL fit that starts there spreads over all of them before they sharpen, where
    one started at tau falls into the first mode it meets (docs/workbench.md)."""
    ramp = round(anneal * steps)
    return tau * start ** (1.0 - step / ramp) if step < ramp else tau


def fit_lr(step: int, steps: int, lr: float, anneal: float) -> float:
    """The step size of fitting step ``step``: ``lr`` while the temperature falls (``annealed_tau``),
    then a cosine decay from ``lr`` towards 0 over the steps at ``tau``. At a constant step size
    the fit ends wherever the last noisy steps left it (the mode masses of a narrow-mode target
    moved by tenths between checkpoints 500 steps apart); a decaying one settles."""
    ramp = round(anneal * steps)
    if step < ramp:
        return lr
    return lr * 0.5 * (1.0 + math.cos(math.pi * (step - ramp) / max(1, steps - ramp)))


def fit_objective(sampler: Sampler, name: str | None) -> Component:
    """The objective a standalone fit uses: ``name``, else the sampler's own ``fit_objective``,
    else the first registered one that accepts its density kind and trains it by itself."""
    valid = {n: c for n, c in OBJECTIVES if c.fits(type(sampler)) and c.trains_sampler}
    name = name or type(sampler).fit_objective or next(iter(valid), "")
    if not valid:
        raise UserError(f"no policy objective is registered for samplers with density {sampler.density!r}")
    OBJECTIVES.get(name)  # an unknown name: one line with the registered ones
    if name not in valid:
        raise UserError(
            f"objective {name!r} cannot fit a sampler of density {sampler.density!r} drawing {sampler.space} "
            f"actions by itself; valid: {', '.join(valid)}"
        )
    return valid[name]


def fit_sampler(
    sampler: Sampler,
    target: Target,
    tau: float,
    steps: int,
    batch: int = 256,
    lr: float = 1e-3,
    on_step: Callable[[int, float], None] | None = None,
    anneal: float = 0.0,
    anneal_from: float = 10.0,
    objective_name: str | None = None,
) -> list[float]:
    """Minimise a policy objective against exp(Q/tau) with an empty context, the temperature
    annealed from ``anneal_from * tau`` over the first ``anneal`` of the steps (``annealed_tau``;
    0: none). Returns the loss of every step.

    The objective is ``objective_name`` (``fit_objective``), else the first registered one that
    accepts the sampler's density kind and fits a sampler by itself (reverse KL for ``exact`` and
    ``bound`` samplers, Stein for ``none``). An empty context is a single state, so an objective
    that weighs its draws per state (``covering-kl``) weighs all ``batch`` of them together. With
    ``covering-kl`` and an exact density the forward term weighs ``FIT_COVER_WEIGHT`` and the
    step size decays at ``tau`` (``fit_lr``); a sampler that follows its guide takes the same
    weight at a constant step; every other fit keeps ``lr``. The sampler's ``guide`` is the
    target's score (``TargetGuide``), at the fit's temperature, and stays set at ``tau``. With ``stein`` the
    mass-aware term weighs ``FIT_STEIN_COVER`` over ``batch`` draws, decaying at ``tau``.
    """
    objective = fit_objective(sampler, objective_name)
    options: dict[str, float] = {}
    mass_term = "stein_cover" in objective.options  # its weight changes every step (below)
    settle = False  # the heavier forward term and the decaying step go together (FIT_COVER_WEIGHT)
    if "cover_uniform" in objective.options:  # covering-kl
        # a path sampler draws its uniform share's paths with noise_path; one without it has none
        uniform = sampler.density == "exact" or hasattr(sampler, "noise_path")
        share = FIT_COVER_UNIFORM if uniform else 0.0
        settle = sampler.density == "exact"
        weight = FIT_COVER_WEIGHT if settle or sampler.follows_guide else 1.0
        options = {"cover_samples": batch, "cover_uniform": share, "cover_weight": weight}
    device = next(sampler.parameters()).device
    context = torch.zeros(batch, 0, device=device)
    critic = target_critic(target)
    guide = sampler.guide = TargetGuide(target, tau)  # kept after the fit, at tau, for its draws
    opt = torch.optim.Adam(sampler.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: fit_lr(k, steps, lr, anneal) / lr) if settle else None
    losses = []
    for step in range(steps):
        guide.tau = annealed_tau(step, steps, tau, anneal, anneal_from)
        tau_t = torch.tensor(guide.tau, device=device)
        if mass_term:
            options = {"stein_cover": FIT_STEIN_COVER * fit_lr(step, steps, 1.0, anneal), "cover_samples": batch}
        loss = objective.fn(context, sampler, critic, tau_t, **options)["loss_policy"]
        if not torch.isfinite(loss):
            raise UserError(f"non-finite loss_policy at step {step} of the fit")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if schedule is not None:
            schedule.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step + 1, losses[-1])
    guide.tau = tau
    return losses
