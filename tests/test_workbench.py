"""Workbench metrics against known answers, and `rlai sample` as a user runs it."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from torch import Tensor
from typer.testing import CliRunner

from rlasinference.cli.main import app
from rlasinference.samplers import SAMPLERS, TanhGaussian
from rlasinference.samplers.base import DensityKind, Sampler, Samples
from rlasinference.workbench import evaluate_fit, get_target
from rlasinference.workbench import fit as workbench_fit
from rlasinference.workbench.metrics import grid, mmd2
from rlasinference.workbench.targets import Target
from tests.test_cli import assert_one_line_error

runner = CliRunner()


class PointMass(Sampler):
    """All samples within 0.01 of one point; no density."""

    density: ClassVar[DensityKind] = "none"

    def __init__(self, point: list[float]) -> None:
        super().__init__(0, len(point))
        self.point = torch.nn.Parameter(torch.tensor(point))

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        return Samples(
            actions=(self.point + 0.01 * torch.randn(context.shape[0], n, len(self.point))).clamp(-0.99, 0.99)
        )


def test_uniform_target_has_log_z_of_the_box() -> None:
    for dim in (1, 2):
        points, log_cell = grid(dim)
        assert float(torch.logsumexp(torch.zeros(len(points)), 0) + log_cell) == pytest.approx(dim * math.log(2))


def test_kl_and_log_z_are_zero_when_the_target_is_the_sampler() -> None:
    torch.manual_seed(0)
    sampler = TanhGaussian(0, 2, hidden=(8,))
    with torch.no_grad():
        sampler.net[-1].bias.copy_(torch.tensor([0.2, -0.3, -1.0, -0.7]))

    def q(a: Tensor) -> Tensor:
        with torch.no_grad():
            return sampler.log_prob(torch.zeros(1, 0), a.unsqueeze(0))[0]

    result = evaluate_fit(sampler, Target("self", 2, q), tau=1.0)
    assert result["log_z_grid"] == pytest.approx(0.0, abs=2e-3)
    assert result["kl"] == pytest.approx(0.0, abs=2e-3)
    assert result["log_z_is"] == pytest.approx(0.0, abs=1e-4)  # every importance weight is 1
    assert result["log_z_is_ess"] == pytest.approx(result["samples"], rel=1e-4)
    assert result["mmd"] < 5e-3


def test_mmd_separates_distributions() -> None:
    torch.manual_seed(0)
    x, y, z = torch.randn(500, 2), torch.randn(500, 2), torch.randn(500, 2) + 1.0
    assert abs(mmd2(x, y)) < 0.01 < mmd2(x, z)


def test_mode_coverage_of_a_point_mass() -> None:
    torch.manual_seed(0)
    result = evaluate_fit(PointMass([0.5, 0.5]), get_target("square4"), tau=1.0)
    assert (result["modes_covered"], result["modes"], result["mode_coverage"]) == (1, 4, 0.25)
    assert result["kl"] is None and result["log_z_is_proposal"] == "uniform"
    # importance sampling with a uniform proposal still estimates log Z
    assert result["log_z_is"] == pytest.approx(result["log_z_grid"], abs=0.15)


def test_gauss6d_exact_samples_have_the_target_covariance() -> None:
    torch.manual_seed(0)
    target = get_target("gauss6d")
    assert target.exact_samples is not None
    x = target.exact_samples(50_000, 0.5).double()
    idx = torch.arange(6)
    cov = 0.5 * 0.3**2 * 0.6 ** (idx[:, None] - idx[None, :]).abs().double()
    torch.testing.assert_close(torch.cov(x.T), cov, atol=3e-3, rtol=0)


def test_rlai_sample_writes_metrics_and_plot(tmp_path: Path) -> None:
    for target in ("banana", "gauss6d", "tests.helpers:quadratic_target"):
        out = tmp_path / target.replace(":", "_")
        args = ["sample", "--sampler", "gaussian", "--target", target, "--steps", "30", "--out", str(out)]
        result = runner.invoke(app, [*args, "--quiet", "--set", "sampler.hidden=[16]"])
        assert result.exit_code == 0, result.output
        metrics = json.loads((out / "metrics.json").read_text())
        for key in ("kl", "kl_bound", "log_z_grid", "log_z_is", "log_z_is_ess", "mmd", "mode_coverage", "seconds"):
            assert key in metrics
        assert (out / "samples.png").stat().st_size > 0
    quad = json.loads((tmp_path / "tests.helpers_quadratic_target" / "metrics.json").read_text())
    assert quad["kl"] is not None and quad["kl"] >= -0.01 and quad["modes"] == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--target", "nope"], "unknown target 'nope'"),
        (["--target", "tests.helpers:target_without_dim"], "integer attribute dim"),
        (["--target", "tests.helpers:detached_target"], "is not differentiable in the actions"),
        (["--target", "tests.helpers:target_nan"], "must return finite Q values, got nan at 5 of 5 actions"),
        (["--target", "tests.nothing:here"], "cannot import module 'tests.nothing'"),
        (["--sampler", "nope"], "unknown sampler 'nope'"),
        (["--set", "sampler.width=3"], "unknown sampler option 'sampler.width'"),
        (["--tau", "0"], "--tau must be > 0, got 0"),
        (["--sampler", "svgd", "--set", "sampler.noise_dim=3"], "cannot build sampler 'svgd'"),
    ],
)
def test_rlai_sample_bad_input(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = runner.invoke(app, ["sample", "--steps", "5", "--out", str(tmp_path / "o"), "--quiet", *args])
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "o").exists()


def _fit(sampler: str, target: str, seed: int, tmp_path: Path, objective: str | None = None, *extra: str) -> dict:
    out = tmp_path / f"{sampler}-{target}-{seed}-{objective}-{'-'.join(extra)}"
    args = ["sample", "--sampler", sampler, "--target", target, "--seed", str(seed), "--out", str(out), "--quiet"]
    args += ["--objective", objective] if objective else []
    args += list(extra)
    assert runner.invoke(app, args).exit_code == 0
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.slow
def test_flow_fits_the_banana_and_covers_the_square(tmp_path: Path) -> None:
    kls = [_fit("flow", "banana", seed, tmp_path)["kl"] for seed in range(3)]
    assert statistics.median(kls) <= 0.05, kls
    covered = [_fit("flow", "square4", seed, tmp_path)["modes_covered"] for seed in range(3)]
    assert statistics.median(covered) >= 3, covered


@pytest.mark.slow
def test_default_fits_keep_many_and_light_modes(tmp_path: Path) -> None:
    """Measured with the defaults (docs/workbench.md), seeds 0 / 1 / 2: flow on grid16 16 / 16 /
    12 of 16 modes (4 / 12 / 3 at tau from the start); flow on widths4 4 / 4 / 4 of 4, against
    2 / 4 / 3 with reverse KL alone (the negative control of the covering-kl default); diffusion
    (guided) on unequal3 3 / 3 / 3 of 3, and on the banana kl_bound 0.260 / 0.287 / 0.298 (median of 5
    seeds 0.298)."""
    flow = [_fit("flow", "grid16", seed, tmp_path)["modes_covered"] for seed in range(3)]
    assert statistics.median(flow) >= 15, flow
    widths = [_fit("flow", "widths4", seed, tmp_path)["modes_covered"] for seed in range(3)]
    assert statistics.median(widths) == 4, widths
    reverse = [_fit("flow", "widths4", seed, tmp_path, "reverse-kl")["modes_covered"] for seed in range(3)]
    assert statistics.median(reverse) < 4, reverse
    diffusion = [_fit("diffusion", "unequal3", seed, tmp_path)["modes_covered"] for seed in range(3)]
    assert statistics.median(diffusion) == 3, diffusion
    bounds = [_fit("diffusion", "banana", seed, tmp_path)["kl_bound"] for seed in range(3)]
    assert statistics.median(bounds) <= 0.3, bounds


@pytest.mark.slow
def test_guided_chain_resolves_narrow_modes(tmp_path: Path) -> None:
    """Measured with the defaults (docs/workbench.md), seeds 0 / 1 / 2: edges3 3 / 3 / 2 of 3 and
    grid16 16 / 16 / 16 of 16 modes. The negative control is the unguided chain, the default
    before (``--set sampler.guided=false --steps 2000``): edges3 3 / 1 / 2."""
    edges = [_fit("diffusion", "edges3", seed, tmp_path)["modes_covered"] for seed in range(3)]
    grid = [_fit("diffusion", "grid16", seed, tmp_path)["modes_covered"] for seed in range(3)]
    assert statistics.median(edges) == 3 and statistics.median(grid) >= 15, (edges, grid)
    unguided = ("--set", "sampler.guided=false", "--steps", "2000")
    plain = [_fit("diffusion", "edges3", seed, tmp_path, None, *unguided)["modes_covered"] for seed in range(3)]
    assert statistics.median(plain) < 3, plain


@pytest.mark.slow
def test_svgd_keeps_narrow_and_light_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Measured with the defaults (docs/workbench.md), seeds 0 / 1 / 2: widths4 4 / 4 / 4 of 4 and
    edges3 3 / 3 / 3 of 3 modes. The negative control is the score-only update at the same 3000
    steps (the mass-aware term off): widths4 3 / 3 / 3 of 4, its narrowest mode empty."""
    widths = [_fit("svgd", "widths4", seed, tmp_path)["modes_covered"] for seed in range(3)]
    edges = [_fit("svgd", "edges3", seed, tmp_path)["modes_covered"] for seed in range(3)]
    assert statistics.median(widths) == 4 and statistics.median(edges) == 3, (widths, edges)
    monkeypatch.setattr(workbench_fit, "FIT_STEIN_COVER", 0.0)
    plain = [_fit("svgd", "widths4", seed, tmp_path / "plain")["modes_covered"] for seed in range(3)]
    assert statistics.median(plain) < 4, plain


@pytest.mark.slow
def test_svgd_covers_the_ring(tmp_path: Path) -> None:
    covered = [_fit("svgd", "ring8", seed, tmp_path)["modes_covered"] for seed in range(3)]
    assert statistics.median(covered) >= 7, covered


class Oracle(Sampler):
    """Draws from given samples of the target: the positive control of the coverage metrics."""

    density: ClassVar[DensityKind] = "none"

    def __init__(self, draws: torch.Tensor) -> None:
        super().__init__(0, draws.shape[1])
        self.draws = draws.float()
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def sample(self, context: torch.Tensor, n: int = 1) -> Samples:
        return Samples(actions=self.draws[torch.randint(len(self.draws), (n,))].unsqueeze(0))


@pytest.mark.parametrize(
    "name", ["ring8", "square4", "unequal3", "widths4", "edges3", "grid16", "ring12", "mix3d", "mix6d"]
)
def test_coverage_fails_the_negative_controls_and_passes_the_oracle(name: str) -> None:
    """An untrained tanh-Gaussian (spread over the box) and a point mass on one mode must not
    cover every mode; samples of the target itself must, with their mass where it should be."""
    torch.manual_seed(0)
    target = get_target(name)
    untrained = evaluate_fit(TanhGaussian(0, target.dim, hidden=(8,)), target, tau=1.0)
    assert untrained["modes_covered"] < untrained["modes"], untrained["mode_mass"]
    assert untrained["mass_coverage"] < 0.5
    assert target.modes is not None
    point = evaluate_fit(PointMass(target.modes[0].tolist()), target, tau=1.0)
    assert point["modes_covered"] == 1 and point["mass_coverage"] < 0.6
    oracle = evaluate_fit(Oracle(untrained["_exact"]), target, tau=1.0, seed=1)
    assert oracle["modes_covered"] == oracle["modes"] and oracle["mass_coverage"] > 0.95
    assert abs(oracle["mmd"]) < 5e-3


def test_unequal_weights_are_in_the_target_mode_mass() -> None:
    result = evaluate_fit(PointMass([-0.5, -0.4]), get_target("unequal3"), tau=1.0)
    # 95% of each mode's share of the mass lies within its radius
    assert result["target_mode_mass"] == pytest.approx([0.95 * 0.5, 0.95 * 0.3, 0.95 * 0.2], abs=0.01)
    assert result["mode_mass"] == pytest.approx([1.0, 0.0, 0.0])
    assert result["mass_coverage"] == pytest.approx(0.5, abs=0.01)


def test_importance_reference_matches_the_exact_one_beyond_two_dimensions() -> None:
    """A 3-D mixture without its exact sampler gets coverage and MMD from importance sampling,
    with the same target mode mass as the exact sampler gives."""
    torch.manual_seed(0)
    exact = get_target("mix3d")
    blind = Target("mix3d-blind", 3, exact.q, exact.modes)
    sampler = TanhGaussian(0, 3, hidden=(8,))
    a, b = evaluate_fit(sampler, exact, tau=1.0), evaluate_fit(sampler, blind, tau=1.0)
    assert (a["reference"], b["reference"]) == ("exact", "importance") and b["reference_ess"] > 1000
    assert b["target_mode_mass"] == pytest.approx(a["target_mode_mass"], abs=0.02)
    assert b["mmd"] == pytest.approx(a["mmd"], abs=0.01)
    # and at a temperature the exact sampler cannot draw at
    hot = evaluate_fit(sampler, exact, tau=0.5)
    assert hot["reference"] == "importance" and hot["mode_coverage"] is not None


def test_a_user_target_in_3d_with_modes_gets_every_metric(tmp_path: Path) -> None:
    out = tmp_path / "fit"
    args = ["sample", "--target", "tests.helpers:user_mix3d", "--steps", "20", "--out", str(out), "--quiet"]
    assert runner.invoke(app, [*args, "--set", "sampler.hidden=[8]"]).exit_code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["reference"] == "importance" and metrics["reference_ess"] >= 200
    for key in ("mmd", "mode_coverage", "mass_coverage", "mode_mass", "target_mode_mass"):
        assert metrics[key] is not None, key
    assert sum(metrics["target_mode_mass"]) == pytest.approx(0.95, abs=0.03)


def test_rlai_sample_grid_runs_resumes_and_tabulates(tmp_path: Path) -> None:
    out = tmp_path / "grid"
    args = ["sample", "--sampler", "gaussian", "--sampler", "flow", "--target", "square4", "--seeds", "2"]
    args += ["--steps", "5", "--set", "sampler.hidden=[8]", "--out", str(out), "--workers", "2"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "4 fits" in first.stdout and "0 done (skipped), 4 to run" in first.stdout
    table = (out / "table.md").read_text()
    assert "| gaussian | square4 | 2 |" in table and "| flow | square4 | 2 |" in table
    assert (out / "grid.png").stat().st_size > 0
    (out / "flow-square4-s1" / "metrics.json").unlink()  # as if that fit had been interrupted
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "3 done (skipped), 1 to run" in again.stdout
    bad = runner.invoke(app, ["sample", "--sampler", "nope", "--sampler", "flow", "--out", str(tmp_path / "b")])
    assert_one_line_error(bad, "unknown sampler 'nope'")


def test_rlai_sample_one_fit_takes_one_thread_and_equals_the_grids_fit(tmp_path: Path) -> None:
    """A fit's numbers depend on torch's thread count (the last bits of its sums): one fit takes
    one thread unless asked, as a grid's fits do, so the two give the same fit on any machine; the
    caller's count comes back after it."""
    import torch

    args = [
        "--sampler",
        "flow",
        "--target",
        "ring8",
        "--steps",
        "20",
        "--batch",
        "512",
        "--set",
        "sampler.hidden=[64,64]",
    ]
    grid = runner.invoke(app, ["sample", *args, "--seeds", "1", "--workers", "1", "--out", str(tmp_path / "grid")])
    assert grid.exit_code == 0, grid.output
    torch.set_num_threads(2)  # as torch starts on a two-core machine
    one = runner.invoke(app, ["sample", *args, "--seed", "0", "--quiet", "--out", str(tmp_path / "one")])
    assert one.exit_code == 0, one.output
    alone = json.loads((tmp_path / "one" / "metrics.json").read_text())
    cell = json.loads((tmp_path / "grid" / "flow-ring8-s0" / "metrics.json").read_text())
    assert alone["threads"] == cell["threads"] == 1
    assert torch.get_num_threads() == 2  # the caller's count, set back after the fit
    assert alone["kl"] == cell["kl"] and alone["final_loss"] == cell["final_loss"]
    assert_one_line_error(runner.invoke(app, ["sample", "--threads", "-1"]), "--threads must be 0 (every core) or more")


def test_rlai_sample_grid_from_a_spec(tmp_path: Path) -> None:
    spec = tmp_path / "g.yaml"
    spec.write_text("samplers: [gaussian]\ntargets: [square4, mix3d]\nsteps: 5\nset: {sampler.hidden: [8]}\n")
    result = runner.invoke(app, ["sample", "--spec", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "| gaussian | mix3d | 1 |" in (tmp_path / "out" / "table.md").read_text()
    spec.write_text("samplers: [gaussian]\ntargets: [square4]\nruns: 3\n")
    assert_one_line_error(runner.invoke(app, ["sample", "--spec", str(spec)]), "unknown grid key 'runs'")
    # the suite every sampler is measured on
    suite = Path(__file__).parents[1] / "benchmarks" / "workbench.yaml"
    from rlasinference.workbench.grid import load_spec

    assert set(load_spec(suite)["targets"]) >= {"unequal3", "grid16", "mix6d"}


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_rlai_sample_fits_every_registered_sampler(tmp_path: Path, name: str) -> None:
    # every sampler kind reaches a policy objective that trains it (Stein for density none)
    out = tmp_path / name
    target = "cat5" if SAMPLERS.get(name).space == "discrete" else "square4"
    args = ["sample", "--sampler", name, "--target", target, "--steps", "3", "--batch", "8", "--out", str(out)]
    result = runner.invoke(app, [*args, "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "metrics.json").read_text())["steps"] == 3


def test_annealed_temperature_schedule() -> None:
    from rlasinference.workbench.fit import annealed_tau

    taus = [annealed_tau(k, 8, 0.5, 0.5, 10.0) for k in range(8)]
    # from 10 tau down geometrically over the first half of the steps, then tau
    assert taus[:4] == pytest.approx([5.0, 5.0 * 10**-0.25, 5.0 * 10**-0.5, 5.0 * 10**-0.75])
    assert taus[4:] == [0.5] * 4
    assert [annealed_tau(k, 8, 0.5, 0.0, 10.0) for k in range(8)] == [0.5] * 8


@pytest.mark.parametrize(
    ("name", "options", "decays"),
    [
        ("flow", {"cover_samples": 8, "cover_uniform": 0.5, "cover_weight": 10.0}, True),
        ("diffusion", {"cover_samples": 8, "cover_uniform": 0.5, "cover_weight": 10.0}, False),
        ("diffusion:guided=false", {"cover_samples": 8, "cover_uniform": 0.5, "cover_weight": 1.0}, False),
        ("gaussian", {}, False),
    ],
)
def test_fit_settles_only_exact_densities_with_covering_kl(
    monkeypatch: pytest.MonkeyPatch, name: str, options: dict[str, float], decays: bool
) -> None:
    # an exact density fits with the heavier forward term and a decaying step; the guided chain
    # with the heavier term at a constant step; an unguided one and a reverse-KL fit keep the RL
    # weight and a constant step
    import dataclasses

    from rlasinference.workbench import fit as fit_module

    seen: list[dict[str, float]] = []
    lrs: list[float] = []
    real = fit_module.fit_objective

    def recording(sampler: Sampler, objective: str | None) -> object:
        component = real(sampler, objective)

        def fn(*args: object, **kwargs: float) -> dict[str, Tensor]:
            seen.append(kwargs)
            return component.fn(*args, **kwargs)

        return dataclasses.replace(component, fn=fn)

    monkeypatch.setattr(fit_module, "fit_objective", recording)
    real_step = torch.optim.Adam.step

    def step(self: torch.optim.Adam, *args: object, **kwargs: object) -> object:
        lrs.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    name, _, option = name.partition(":")
    sampler = SAMPLERS.get(name)(0, 2, **({"guided": False} if option else {}))
    fit_module.fit_sampler(sampler, get_target("square4"), 1.0, steps=4, batch=8, anneal=0.5, anneal_from=2.0)
    assert seen == [options] * 4
    assert (lrs[-1] < lrs[0]) is decays and lrs[:2] == [1e-3] * 2


def test_fit_guides_the_sampler_with_the_targets_score_at_its_temperature() -> None:
    """The fit sets the sampler's guide to grad_a Q(a) / tau at each step's annealed temperature
    (the autograd gradient of the target's Q), and leaves it at tau for the draws that follow; the
    guide builds a graph only where the actions have one."""
    from rlasinference.workbench.fit import TargetGuide, annealed_tau

    target = get_target("banana")
    actions = torch.rand(5, 2) * 1.8 - 0.9
    guide = TargetGuide(target, 0.5)
    expected = torch.func.vmap(torch.func.grad(lambda a: target.q(a[None])[0]))(actions) / 0.5
    torch.testing.assert_close(guide(torch.zeros(5, 0), actions), expected)
    assert not guide(torch.zeros(5, 0), actions).requires_grad
    tracked = actions.clone().requires_grad_()
    assert guide(torch.zeros(5, 0), tracked * 1.0).requires_grad
    with torch.inference_mode():  # a caller that draws in inference mode still gets the score
        torch.testing.assert_close(guide(torch.zeros(5, 0), actions.clone()), expected)

    seen: list[float] = []
    sampler = SAMPLERS.get("diffusion")(0, 2, steps=2, hidden=[8])

    def record(step: int, loss: float) -> None:
        assert isinstance(sampler.guide, TargetGuide)
        seen.append(sampler.guide.tau)

    workbench_fit.fit_sampler(sampler, target, 0.5, steps=4, batch=8, on_step=record, anneal=0.5, anneal_from=4.0)
    assert seen == [annealed_tau(k, 4, 0.5, 0.5, 4.0) for k in range(4)] and seen[0] == 2.0
    assert isinstance(sampler.guide, TargetGuide) and sampler.guide.tau == 0.5 and sampler.guide.target is target


def test_presets_chains_are_unguided() -> None:
    # DIME, DiffSAC and DiffPPO keep the reference chain: no gains, whatever a caller sets
    from rlasinference.training.config import resolve

    for algo in ("dime", "diffsac", "diffppo"):
        assert resolve({"algo": algo}).sampler_options["guided"] is False


def test_fit_step_size_holds_while_annealing_then_decays() -> None:
    from rlasinference.workbench.fit import fit_lr

    lrs = [fit_lr(k, 8, 1e-3, 0.5) for k in range(8)]
    assert lrs[:4] == [1e-3] * 4  # constant while the temperature falls
    assert lrs[4] == pytest.approx(1e-3)  # then a cosine from lr ...
    assert all(a > b for a, b in itertools.pairwise(lrs[4:]))  # ... strictly down ...
    assert 0 < lrs[-1] < 0.2e-3  # ... to near 0, never 0 (every step still moves)
    assert fit_lr(0, 8, 1e-3, 0.0) == pytest.approx(1e-3) and fit_lr(7, 8, 1e-3, 0.0) < 0.1e-3  # no ramp


def test_rlai_sample_anneal_is_recorded_and_checked(tmp_path: Path) -> None:
    out = tmp_path / "fit"
    args = ["sample", "--target", "square4", "--steps", "4", "--batch", "8", "--quiet"]
    result = runner.invoke(app, [*args, "--anneal", "0.5", "--anneal-from", "20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["anneal"], metrics["anneal_from"]) == (0.5, 20.0)
    assert_one_line_error(runner.invoke(app, [*args, "--anneal", "1"]), "--anneal must be in [0, 1)")
    assert_one_line_error(runner.invoke(app, [*args, "--anneal-from", "0.5"]), "--anneal-from must be >= 1")
    grid = [*args, "--seeds", "2", "--anneal", "-0.1", "--out", str(tmp_path / "grid")]
    assert_one_line_error(runner.invoke(app, grid), "--anneal must be in [0, 1)")
    spec = tmp_path / "grid.yaml"
    spec.write_text("samplers: [gaussian]\ntargets: [square4]\nsteps: 2.5\n")
    result = runner.invoke(app, ["sample", "--spec", str(spec), "--out", str(tmp_path / "g2")])
    assert_one_line_error(result, "--steps must be a whole number, got 2.5")


def test_default_fit_anneals_as_the_sampler_says_from_the_targets_own_scale(tmp_path: Path) -> None:
    from rlasinference.workbench.fit import auto_anneal_from

    args = ["sample", "--target", "square4", "--steps", "4", "--batch", "8", "--quiet"]
    start = auto_anneal_from(get_target("square4"), 1.0)
    for name, anneal, anneal_from in (("svgd", 0.5, start), ("gaussian", 0.0, 1.0)):
        out = tmp_path / name
        result = runner.invoke(app, [*args, "--sampler", name, "--out", str(out)])
        assert result.exit_code == 0, result.output
        metrics = json.loads((out / "metrics.json").read_text())
        assert (metrics["anneal"], metrics["anneal_from"]) == (anneal, anneal_from)
    # the start is 3 standard deviations of Q / tau over the box: it scales with Q and not below tau
    deep = Target("deep", 2, lambda a: 10.0 * get_target("square4").q(a))
    assert start > 1.0 and auto_anneal_from(deep, 1.0) == pytest.approx(10.0 * start, rel=1e-4)
    assert auto_anneal_from(deep, 10.0) == pytest.approx(start, rel=1e-4)
    assert auto_anneal_from(Target("flat", 2, lambda a: 1e-3 * a[:, 0]), 1.0) == 1.0
    assert_one_line_error(
        runner.invoke(app, ["sample", "--target", "tests.test_workbench:nan_target", "--anneal", "0.5", "--quiet"]),
        "Q is not finite on the box",
    )


class QuickGaussian(TanhGaussian):
    """A sampler whose own fit is five steps long."""

    fit_steps: ClassVar[int] = 5


def test_default_fit_steps_are_the_samplers_own_and_can_be_chosen(tmp_path: Path) -> None:
    args = ["sample", "--sampler", "tests.test_workbench:QuickGaussian", "--batch", "8", "--quiet"]
    for extra, steps in (([], 5), (["--steps", "3"], 3)):
        out = tmp_path / str(steps)
        result = runner.invoke(app, [*args, *extra, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert json.loads((out / "metrics.json").read_text())["steps"] == steps
    assert SAMPLERS.get("svgd").fit_steps == 3000 and TanhGaussian.fit_steps == 2000


def test_default_fit_objective_is_the_samplers_own_and_can_be_chosen(tmp_path: Path) -> None:
    args = ["sample", "--target", "square4", "--steps", "3", "--batch", "8", "--quiet"]
    cases = [("flow", [], "covering-kl"), ("diffusion", [], "covering-kl"), ("gaussian", [], "reverse-kl")]
    cases += [("svgd", [], "stein"), ("flow", ["--objective", "reverse-kl"], "reverse-kl")]
    cases += [("gaussian", ["--objective", "covering-kl"], "covering-kl")]
    for name, extra, objective in cases:
        out = tmp_path / f"{name}-{objective}"
        options = ["--set", "sampler.steps=2"] if name == "diffusion" else []
        result = runner.invoke(app, [*args, "--sampler", name, *extra, *options, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert json.loads((out / "metrics.json").read_text())["objective"] == objective
    for extra, message in (
        (
            ["--sampler", "svgd", "--objective", "covering-kl"],
            "cannot fit a sampler of density 'none' drawing box actions by itself",
        ),
        (["--sampler", "flow", "--objective", "none"], "valid: reverse-kl, covering-kl, wpo, stein"),
        (["--sampler", "flow", "--objective", "nope"], "unknown policy objective 'nope'"),
    ):
        assert_one_line_error(runner.invoke(app, [*args, *extra, "--out", str(tmp_path / "bad")]), message)
    assert not (tmp_path / "bad").exists()


def nan_target(a: Tensor) -> Tensor:
    """A user target that is not finite near the box's edge (past the load check's probe)."""
    return torch.where(a[:, 0] > 0.9, torch.nan, 0.0 * a[:, 0])


nan_target.dim = 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("target", ["ring8", "gauss6d"])
def test_plot_titles_say_how_many_samples_were_scored_and_shown(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlasinference.workbench import plot

    drawn: list[object] = []
    monkeypatch.setattr(plot, "save_figure", lambda fig, path: drawn.append(fig) or path)
    t = get_target(target)
    actions = torch.rand(4000, t.dim) * 2 - 1
    plot.plot_fit(tmp_path / "samples.png", t, 1.0, actions, actions if t.dim > 2 else None, "title")
    fig = drawn[0]
    texts = [ax.get_title() for ax in fig.axes] + [  # type: ignore[attr-defined]
        text.get_text()
        for ax in fig.axes
        for text in (ax.get_legend().get_texts() if ax.get_legend() else [])  # type: ignore[attr-defined]
    ]
    assert any("2000 of the 4000 samples scored" in text for text in texts), texts


def test_softmax_fits_a_categorical_target_exactly_and_spaces_must_match(tmp_path: Path) -> None:
    """On K points exp(Q/tau) is a softmax: the softmax sampler's fit reaches it (exact KL both ways
    near 0, every peak kept), the plot is written; a box sampler on it, or the softmax sampler on
    a box target, is one line."""
    result = runner.invoke(
        app, ["sample", "--sampler", "softmax", "--target", "cat5", "--tau", "0.5", "--steps", "300",
              "--lr", "0.03", "--set", "hidden=[16]", "--out", str(tmp_path / "fit")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "fit" / "metrics.json").read_text())
    assert metrics["objective"] == "exact-kl" and metrics["kl"] < 1e-3 and metrics["kl_forward"] < 1e-3
    assert metrics["mode_coverage"] == 1.0 and (tmp_path / "fit" / "samples.png").exists()
    target = get_target("cat5")
    assert target.modes is not None and target.modes.argmax(-1).tolist() == [0, 3]
    for sampler, name, needle in (("gaussian", "cat5", "5 discrete points"), ("softmax", "ring8", "continuous box")):
        bad = runner.invoke(app, ["sample", "--sampler", sampler, "--target", name, "--out", str(tmp_path / "x")])
        assert_one_line_error(bad, needle)
