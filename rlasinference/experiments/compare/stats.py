"""The statistics of ``rlai compare`` (rliable, Agarwal et al. 2021): IQM, mean and median with
stratified-bootstrap intervals per env, over envs on normalised scores, along the learning curves,
and the probability of improvement over a baseline."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import numpy as np

from rlasinference.core.errors import UserError
from rlasinference.experiments.compare.runs import Run

MISSING_RLIABLE = "rlai compare needs rliable, a dependency of rlasinference: pip install 'rliable>=1.2' 'pandas<3'"


METRICS = ("IQM", "mean", "median")


def load_rliable() -> tuple[Any, Any]:
    try:
        from rliable import library, metrics
    except ImportError:
        raise UserError(MISSING_RLIABLE) from None
    return library, metrics


@contextmanager
def _bootstrap_seed(seed: int) -> Iterator[None]:
    """Seed the resampling of the rliable calls inside, leaving numpy's global state as it was.

    rliable's ``StratifiedBootstrap.update_indices`` draws from numpy's global generator; the
    ``random_state`` it accepts reaches only arch's generator, which that resampling never uses. So a
    ``random_state`` alone leaves the intervals different on every call (checked on rliable 1.2).
    Not thread-safe: another thread drawing from ``np.random`` meanwhile shifts the draws (the
    CLI runs these calls on one thread)."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def per_algorithm(estimate: Any, scores: dict[str, np.ndarray], seed: int) -> tuple[dict, dict]:
    """``estimate({label: scores})`` of rliable (interval estimates, performance profiles) called
    per algorithm, each resampled from ``seed`` afresh: an algorithm's interval does not move when
    another joins (one shared stream hands out draws in turn)."""
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    for label, one in scores.items():
        with _bootstrap_seed(seed):
            a, b = estimate({label: one})
        first[label], second[label] = a[label], b[label]
    return first, second


def iqm(scores: np.ndarray) -> float:
    """The interquartile mean of all of ``scores``: rliable's ``aggregate_iqm``, which is
    ``scipy.stats.trim_mean(scores, 0.25, axis=None)``, computed as scipy does (the same partition
    and mean: the same value to the bit, a test holds them equal) without scipy's per-call
    argument handling, which took three quarters of the per-env bootstrap's time."""
    a = np.asarray(scores, dtype=float).ravel()
    low = int(0.25 * a.size)
    return float(np.mean(np.partition(a, (low, a.size - low - 1))[low : a.size - low]))


def _three(metrics: Any, one_env: bool = False) -> Any:
    """scores ``[runs, envs]`` -> [IQM, mean, median]. rliable's median is the median over envs
    of each env's mean, which for one env is the mean: there the median run is taken instead."""
    median = np.median if one_env else metrics.aggregate_median
    fns = (iqm, metrics.aggregate_mean, median)
    return lambda scores: np.array([f(scores) for f in fns])


def _grouped(runs: list[Run]) -> dict[str, dict[str, list[Run]]]:
    """``{env: {algorithm: runs}}``."""
    groups: dict[str, dict[str, list[Run]]] = defaultdict(lambda: defaultdict(list))
    for r in runs:
        groups[r.env][r.label].append(r)
    return groups


def _finals(runs: list[Run]) -> dict[str, dict[str, list[float]]]:
    """``{env: {algorithm: final eval returns}}``."""
    return {env: {a: [float(r.returns[-1]) for r in rs] for a, rs in by.items()} for env, by in _grouped(runs).items()}


def _put(row: dict[str, Any], name: str, point: float, ci: np.ndarray) -> None:
    row[name], row[f"{name}_low"], row[f"{name}_high"] = float(point), float(ci[0]), float(ci[1])


def per_env_table(runs: list[Run], reps: int, seed: int = 0) -> list[dict[str, Any]]:
    """Rows (env, algorithm, runs, IQM/mean/median with CIs) of the final raw returns, and the
    median training time of a run."""
    library, metrics = load_rliable()
    rows = []
    for env, by_label in sorted(_grouped(runs).items()):
        scores = {label: np.array([[float(r.returns[-1])] for r in rs]) for label, rs in sorted(by_label.items())}
        estimate = partial(library.get_interval_estimates, func=_three(metrics, one_env=True), reps=reps)
        point, cis = per_algorithm(estimate, scores, seed)
        for label in scores:
            row: dict[str, Any] = {"env": env, "algorithm": label, "runs": len(scores[label])}
            times = [r.seconds for r in by_label[label] if not math.isnan(r.seconds)]
            row["seconds"] = float(np.median(times)) if times else math.nan
            for i, name in enumerate(METRICS):
                _put(row, name, point[label][i], cis[label][:, i])
            rows.append(row)
    return rows


def normalised_scores(runs: list[Run], every_env: bool = False) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """``{algorithm: [runs, envs]}`` of final returns normalised per env to [0, 1] by the lowest
    and highest final return there; envs and notes on what was left out.

    An env that fewer than half of the algorithms ran on (a side check, such as one algorithm on
    an older task version) is left out of the aggregate, with a note, unless ``every_env`` (the
    user named the envs): otherwise it would leave out every algorithm but the few that ran it."""
    published = sorted({r.label for r in runs if r.published})
    notes = [f"{a}: published results, left out of the aggregate" for a in published]
    runs = [r for r in runs if not r.published]
    by_env = _finals(runs)
    labels = sorted({r.label for r in runs})
    envs = sorted(e for e in by_env if every_env or 2 * len(by_env[e]) >= len(labels)) or sorted(by_env)
    for e in sorted(set(by_env) - set(envs)):
        ran = f"run by {len(by_env[e])} of {len(labels)} algorithms"
        notes.append(f"{e}: {ran}, left out of the aggregate (--env keeps it)")
    complete = [a for a in labels if all(a in by_env[e] for e in envs)]
    for a in set(labels) - set(complete):
        notes.append(f"{a}: not run on every env, left out of the aggregate")
    scores: dict[str, np.ndarray] = {}
    for a in complete:
        n = min(len(by_env[e][a]) for e in envs)
        if any(len(by_env[e][a]) != n for e in envs):
            notes.append(f"{a}: unequal runs per env, the first {n} of each used in the aggregate")
        columns = []
        for e in envs:
            values = np.concatenate([np.array(v) for v in by_env[e].values()])
            lo, hi = values.min(), values.max()
            x = np.array(by_env[e][a][:n])
            columns.append((x - lo) / (hi - lo) if hi > lo else np.ones_like(x))
        scores[a] = np.stack(columns, axis=1)
    return scores, envs, notes


def aggregate_table(scores: dict[str, np.ndarray], reps: int, seed: int = 0) -> list[dict[str, Any]]:
    """Rows (algorithm, IQM/mean/median/optimality gap with CIs) over normalised scores."""
    library, metrics = load_rliable()

    def fn(s: np.ndarray) -> np.ndarray:
        return np.append(_three(metrics)(s), metrics.aggregate_optimality_gap(s, 1.0))

    point, cis = per_algorithm(partial(library.get_interval_estimates, func=fn, reps=reps), scores, seed)
    rows = []
    for label in scores:
        row: dict[str, Any] = {"algorithm": label, "runs": scores[label].shape[0], "envs": scores[label].shape[1]}
        for i, name in enumerate((*METRICS, "optimality gap")):
            _put(row, name, point[label][i], cis[label][:, i])
        rows.append(row)
    return rows


def curves(
    runs: list[Run], reps: int, seed: int = 0, progress: Callable[[int, int], None] | None = None
) -> dict[str, dict[str, tuple[np.ndarray, ...]]]:
    """``{env: {algorithm: (steps, iqm, low, high, runs)}}`` over the evaluation steps all its runs
    share; ``progress(done, total)`` as each curve starts (the bootstraps of many runs take minutes)."""
    library, _ = load_rliable()
    import scipy.stats  # a dependency of rliable, loaded above

    groups = _grouped(runs)
    out: dict[str, dict[str, tuple[np.ndarray, ...]]] = {}
    total, done = sum(len(by) for by in groups.values()), 0
    for env, by_label in sorted(groups.items()):
        out[env] = {}
        for label, rs in sorted(by_label.items()):
            done += 1
            if progress is not None:
                progress(done, total)
            steps = sorted(set.intersection(*(set(r.steps.tolist()) for r in rs)))
            matrix = np.array([[dict(zip(r.steps.tolist(), r.returns, strict=True))[s] for s in steps] for r in rs])
            if len(rs) == 1:
                out[env][label] = (np.array(steps), matrix[0], matrix[0], matrix[0], np.array(1))
                continue

            # every step's IQM (rliable's aggregate_iqm, a 25% trimmed mean) in one call over the
            # columns: one call per step gave the same values to rounding (2e-16 relative, checked
            # on the MuJoCo suite's runs) and spent most of `rlai compare`'s minutes in scipy's
            # per-call overhead
            def per_step(s: np.ndarray, published: bool = rs[0].published) -> np.ndarray:
                return s.mean(axis=0) if published else scipy.stats.trim_mean(s, proportiontocut=0.25, axis=0)

            estimate = partial(library.get_interval_estimates, func=per_step, reps=reps)
            point, cis = per_algorithm(estimate, {label: matrix}, seed)
            out[env][label] = (np.array(steps), point[label], cis[label][0], cis[label][1], np.array(len(rs)))
    return out


FEW_RUNS = 3  # fewer runs than this per algorithm and env: intervals say little about the algorithm


def few_runs_notes(runs: list[Run]) -> list[str]:
    """A note per algorithm with fewer than ``FEW_RUNS`` runs on an env: a bootstrap interval of
    one or two runs spans only those runs (two runs above every baseline run give P(improvement)
    1.00 [1.00, 1.00]), not what another seed would give."""
    notes = []
    for env, by_label in sorted(_grouped([r for r in runs if not r.published]).items()):
        for label, rs in sorted(by_label.items()):
            if len(rs) < FEW_RUNS:
                notes.append(
                    f"{label} on {env}: {len(rs)} run{'s' if len(rs) > 1 else ''}; its intervals describe "
                    f"{'these runs' if len(rs) > 1 else 'this run'}, not the algorithm (run {FEW_RUNS} seeds or more)"
                )
    return notes


def budget_notes(runs: list[Run]) -> list[str]:
    """A note per env whose runs were given different step budgets: their final scores are not of
    one budget, and a longer run has had more time to learn."""
    notes = []
    for env, by_label in sorted(_grouped([r for r in runs if not r.published]).items()):
        budgets = {label: sorted({r.target_steps for r in rs}) for label, rs in by_label.items()}
        if len({b for bs in budgets.values() for b in bs}) > 1:
            shown = ", ".join(f"{label} {'/'.join(f'{b:,}' for b in bs)}" for label, bs in sorted(budgets.items()))
            notes.append(f"{env}: the runs have different step budgets ({shown}); their final scores are not alike")
    return notes


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) per task, averaged over tasks, for ``x [n, tasks]`` and ``y [m, tasks]``: the
    share of pairs of runs where x is higher, ties counted half. The same value as rliable's
    ``metrics.probability_of_improvement`` (a test holds them equal), which calls scipy's
    ``mannwhitneyu`` once per task and resample; counting the pairs directly takes the bootstrap's
    thousands of resamples from most of a minute to a second."""
    above = (x[:, None, :] > y[None, :, :]).sum(axis=(0, 1))
    ties = (x[:, None, :] == y[None, :, :]).sum(axis=(0, 1))
    return float(np.mean((above + 0.5 * ties) / (x.shape[0] * y.shape[0])))


def improvement_table(runs: list[Run], baseline: str, reps: int, seed: int = 0) -> list[dict[str, Any]]:
    """Rows (env, algorithm, runs, P(improvement) with its CI): the probability that a run of the
    algorithm ends above a run of ``baseline`` in that env (rliable's probability of improvement,
    a Mann-Whitney count, ties halved), resampling both sides' runs; then, for each algorithm run
    on every env the baseline was, the average over those envs ("all")."""
    library, _ = load_rliable()
    finals = _finals(runs)
    envs = sorted(e for e, by in finals.items() if baseline in by)
    if not envs:
        raise UserError(f"--baseline {baseline!r} is not among the compared algorithms")

    def estimate(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        with _bootstrap_seed(seed):
            point, ci = library.get_interval_estimates({"x": [x, y]}, probability_of_improvement, reps=reps)
        return point["x"], np.ravel(ci["x"])

    rows = []
    for env in envs:
        y = np.array(finals[env][baseline])[:, None]
        for label, values in sorted(finals[env].items()):
            if label != baseline:
                row: dict[str, Any] = {"env": env, "algorithm": label, "runs": len(values), "baseline_runs": len(y)}
                _put(row, "P(improvement)", *estimate(np.array(values)[:, None], y))
                rows.append(row)
    labels = sorted({label for e in envs for label in finals[e]} - {baseline})
    for label in (a for a in labels if len(envs) > 1 and all(a in finals[e] for e in envs)):
        n, m = (min(len(finals[e][a]) for e in envs) for a in (label, baseline))
        x = np.array([finals[e][label][:n] for e in envs]).T
        y = np.array([finals[e][baseline][:m] for e in envs]).T
        row = {"env": "all", "algorithm": label, "runs": n, "baseline_runs": m}
        _put(row, "P(improvement)", *estimate(x, y))
        rows.append(row)
    return rows
