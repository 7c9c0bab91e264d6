"""``rlai compare``: statistics over runs with rliable (Agarwal et al. 2021).

Scores are the deterministic evaluation returns in each run's metrics.csv. For each env and
algorithm: IQM, mean and median of the final returns with 95% stratified-bootstrap confidence
intervals. Across envs the returns are first normalised per env to [0, 1] by the lowest and
highest final return of any compared run in that env (so "optimality gap" is the gap to the best
run seen, not to a known optimum), then aggregated the same way, with performance profiles.
Learning curves: IQM over runs at every evaluation step, with its 95% CI as a band.

Published results (``--reference CSV``, long format: algo, env, seed, step, eval_return) join
the per-env table and the curves as algorithms of their own ("sac (published, v4)"): their
value at the step our runs end, and their curve as the mean over their seeds with a 95%
bootstrap band. They are matched to our env by name, or by the name without its version when
that is all there is (published MuJoCo results are on v4 tasks). They stay out of the normalised
aggregate. ``--export CSV`` writes our runs in the same long format.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rlasinference.core.errors import UserError, first_line
from rlasinference.core.files import atomic_path, save_figure
from rlasinference.core.yaml_text import read_yaml
from rlasinference.training.config import RUN_KEYS
from rlasinference.training.metrics import eval_rows, read_metrics

MISSING_RLIABLE = "rlai compare needs rliable: pip install 'rlasinference[sweep]'"
METRICS = ("IQM", "mean", "median")


@dataclass
class Run:
    """One run directory's evaluation curve."""

    path: Path
    label: str  # the algorithm: preset, plus the sampler where it is not the preset's own
    env: str
    seed: int
    steps: np.ndarray
    returns: np.ndarray
    target_steps: int
    seconds: float  # training wall-clock time (the last time_s written; NaN when none was)
    published: bool = False  # a seed of a reference CSV, not one of our runs
    config: dict[str, Any] | None = None  # its config.yaml (our runs)


def _label(config: dict[str, Any]) -> str:
    from rlasinference.algorithms import PRESETS

    algo, sampler = str(config.get("algo")), config.get("sampler")
    # a run of an algorithm this install does not know (a peer library, a user's module:Preset,
    # which compare does not import) keeps its sampler name as it is
    default = PRESETS.get(algo).config_cls().sampler if algo in PRESETS else None
    return algo if sampler in (None, default) else f"{algo}+{sampler}"


def load_run(path: Path) -> Run | None:
    """The run in ``path``, or ``None`` when it has no evaluation yet."""
    config = read_yaml(path / "config.yaml") or {}
    if not isinstance(config, dict):
        raise TypeError("config.yaml is not a mapping")
    rows = eval_rows(path)
    if not rows:
        return None
    times = [float(r["time_s"]) for r in read_metrics(path / "metrics.csv") if r.get("time_s")]
    returns = np.array([float(r["eval_return"]) for r in rows])
    if not np.isfinite(returns).all():
        raise ValueError("an evaluation return is not finite")
    return Run(
        path=path,
        label=_label(config),
        env=str(config.get("env")),
        seed=int(config.get("seed", 0)),
        steps=np.array([int(float(r["step"])) for r in rows]),
        returns=returns,
        target_steps=int(config.get("steps", 0)),
        seconds=times[-1] if times else math.nan,
        config=config,
    )


# keys that name a run or change how it is run or evaluated, not what its algorithm learns: the
# run's own (RunConfig's fields) and the sampler, which is already in the label
_BOOKKEEPING = RUN_KEYS | {"sampler"}


def _preset_defaults(algo: str, env: str, sampler: Any) -> dict[str, Any]:
    from rlasinference.training.config import resolve

    try:
        overrides = {"algo": algo, "env": env, **({"sampler": sampler} if sampler else {})}
        return resolve(overrides).flat()
    except UserError:  # an algorithm this install does not know (a peer): no defaults to name
        return {}


def split_variants(runs: list[Run]) -> None:
    """Runs of one algorithm in one env that differ in a config key (a sweep's ``grid``, a
    learning rate tried beside the preset's) are told apart: a run whose value of such a key is
    not the preset's default gets ``key=value`` in its label, so it is not pooled with the others."""
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for r in runs:
        if r.config is not None:
            groups[(r.label, r.env)].append(r)
    for (_, env), group in groups.items():
        keys = {k for r in group for k in r.config or {}} - _BOOKKEEPING
        varying = sorted(k for k in keys if len({repr((r.config or {}).get(k)) for r in group}) > 1)
        if not varying:
            continue
        first = group[0].config or {}
        defaults = _preset_defaults(str(first.get("algo")), env, first.get("sampler"))
        for r in group:
            config = r.config or {}
            # a key a run's config lacks (written before the key existed) is at its default
            own = [
                f"{k}={config[k]}" for k in varying if k in config and (k not in defaults or config[k] != defaults[k])
            ]
            if own:
                r.label = f"{r.label} {' '.join(own)}"


def find_runs(paths: list[Path]) -> tuple[list[Run], list[str]]:
    """Runs under ``paths`` (run directories, or directories holding them, e.g. a sweep), and a
    note per directory left out."""
    runs, notes = [], []
    seen: set[Path] = set()
    for path in paths:
        if not path.is_dir():
            raise UserError(f"{str(path)!r} is not a directory")
        dirs = [path] if (path / "config.yaml").exists() else sorted(p.parent for p in path.glob("*/config.yaml"))
        if not dirs:
            raise UserError(f"{str(path)!r} holds no run directories (no config.yaml in it or one level down)")
        for d in dirs:
            if d.resolve() in seen:  # a link to a run, or a path given twice: one run
                continue
            seen.add(d.resolve())
            try:
                run = load_run(d)
            except (OSError, ValueError, KeyError, TypeError, csv.Error, yaml.YAMLError) as exc:
                notes.append(
                    f"warning: {d} is damaged, skipped ({type(exc).__name__}: {first_line(exc, 'unreadable')})"
                )
                continue
            if run is None:
                notes.append(f"{d}: no evaluation yet, left out")
            else:
                runs.append(run)
    split_variants(runs)
    return runs, notes


REFERENCE_COLUMNS = ("algo", "env", "seed", "step", "eval_return")


def env_base(env: str) -> str:
    """An env id without its namespace and version: ``Hopper-v5`` -> ``Hopper``."""
    return re.sub(r"-v\d+$", "", env.split(":")[-1].split("/")[-1])


def read_long_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a long-format results CSV (``REFERENCE_COLUMNS``), checked: one line per problem."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # (-sig: a spreadsheet's byte-order mark)
            reader = csv.DictReader(f)
            missing = [c for c in REFERENCE_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                need = ", ".join(REFERENCE_COLUMNS)
                raise UserError(f"reference {str(path)!r} has no column {missing[0]!r}; it needs {need}")
            rows = []
            for i, row in enumerate(reader, start=2):
                if any(row.get(c) is None for c in REFERENCE_COLUMNS):
                    raise UserError(f"reference {str(path)!r}, line {i}: fewer values than the header has columns")
                try:
                    seed, step, value = int(row["seed"]), int(float(row["step"])), float(row["eval_return"])
                except (TypeError, ValueError, OverflowError):
                    seed, step, value = -1, -1, math.nan
                if seed < 0 or step < 0 or not math.isfinite(value):
                    where = f"reference {str(path)!r}, line {i}"
                    need = "seed and step must be non-negative integers, eval_return a finite number"
                    raise UserError(f"{where}: {need}")
                rows.append({"algo": row["algo"], "env": row["env"], "seed": seed, "step": step, "eval_return": value})
    except OSError as exc:
        raise UserError(f"cannot read reference {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"reference {str(path)!r} is not a UTF-8 text file") from None
    except csv.Error as exc:
        raise UserError(f"reference {str(path)!r} is not a CSV file: {exc}") from None
    return rows


def reference_runs(path: Path, runs: list[Run], algos: list[str] | None = None) -> tuple[list[Run], list[str]]:
    """The published seeds of ``path`` on the envs of ``runs``, each cut at the step those runs
    end (as one ``Run`` per seed, ``published``), and notes on what had no match."""
    rows = read_long_csv(path)
    if algos:
        unknown = sorted(set(algos) - {r["algo"] for r in rows})
        if unknown:
            raise UserError(f"reference {str(path)!r} has no algorithm {unknown[0]!r}")
        rows = [r for r in rows if r["algo"] in algos]
    out, notes = [], []
    for env in sorted({r.env for r in runs if not r.published}):
        end = max(r.target_steps for r in runs if r.env == env)
        exact = [r for r in rows if r["env"] == env]
        matched = exact or [r for r in rows if env_base(r["env"]) == env_base(env)]
        if not matched:
            notes.append(f"{path}: no published results for {env}")
            continue
        by_seed: dict[tuple[str, str, int], dict[int, float]] = defaultdict(dict)
        for r in matched:
            if r["step"] <= end:
                by_seed[(r["algo"], r["env"], r["seed"])][r["step"]] = r["eval_return"]
        for (algo, their_env, seed), points in sorted(by_seed.items()):
            if end not in points:
                notes.append(f"{path}: {algo} on {their_env} has no result at step {end}, left out")
                continue
            version = "" if exact else f", {their_env.rsplit('-', 1)[-1]}"
            steps = np.array(sorted(points))
            out.append(
                Run(path=path, label=f"{algo} (published{version})", env=env, seed=seed, steps=steps,
                    returns=np.array([points[s] for s in steps]), target_steps=end, seconds=math.nan, published=True)
            )  # fmt: skip
    return out, sorted(set(notes))


def export_long_csv(runs: list[Run], path: Path) -> None:
    """Our runs' evaluation returns, one row per (algorithm, env, seed, step): the long format
    that ``--reference`` reads."""
    try:
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(REFERENCE_COLUMNS)
            for r in sorted((r for r in runs if not r.published), key=lambda r: (r.label, r.env, r.seed)):
                points = zip(r.steps, r.returns, strict=True)
                writer.writerows([r.label, r.env, r.seed, int(s), f"{x:.6g}"] for s, x in points)
    except OSError as exc:
        raise UserError(f"cannot write {str(path)!r}: {exc.strerror}") from None


def finished_runs(runs: list[Run]) -> tuple[list[Run], list[str]]:
    """The runs that reached their configured steps, and a note per run that did not."""
    kept, notes = [], []
    for r in runs:
        if r.steps[-1] < r.target_steps:
            notes.append(f"{r.path}: stopped at step {r.steps[-1]} of {r.target_steps}, left out of the final scores")
        else:
            kept.append(r)
    return kept, notes


def _rliable() -> tuple[Any, Any]:
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


def _per_algorithm(estimate: Any, scores: dict[str, np.ndarray], seed: int) -> tuple[dict, dict]:
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


def _three(metrics: Any, one_env: bool = False) -> Any:
    """scores ``[runs, envs]`` -> [IQM, mean, median]. rliable's median is the median over envs
    of each env's mean, which for one env is the mean: there the median run is taken instead."""
    median = np.median if one_env else metrics.aggregate_median
    fns = (metrics.aggregate_iqm, metrics.aggregate_mean, median)
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
    library, metrics = _rliable()
    rows = []
    for env, by_label in sorted(_grouped(runs).items()):
        scores = {label: np.array([[float(r.returns[-1])] for r in rs]) for label, rs in sorted(by_label.items())}
        estimate = partial(library.get_interval_estimates, func=_three(metrics, one_env=True), reps=reps)
        point, cis = _per_algorithm(estimate, scores, seed)
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
    library, metrics = _rliable()

    def fn(s: np.ndarray) -> np.ndarray:
        return np.append(_three(metrics)(s), metrics.aggregate_optimality_gap(s, 1.0))

    point, cis = _per_algorithm(partial(library.get_interval_estimates, func=fn, reps=reps), scores, seed)
    rows = []
    for label in scores:
        row: dict[str, Any] = {"algorithm": label, "runs": scores[label].shape[0], "envs": scores[label].shape[1]}
        for i, name in enumerate((*METRICS, "optimality gap")):
            _put(row, name, point[label][i], cis[label][:, i])
        rows.append(row)
    return rows


def on_envs(runs: list[Run], envs: list[str]) -> list[Run]:
    """The runs on ``envs``; an env no run is on is a one-line ``UserError`` naming those found."""
    found = sorted({r.env for r in runs})
    missing = [e for e in dict.fromkeys(envs) if e not in found]
    if missing:
        raise UserError(f"--env {missing[0]!r}: no run on it; the runs are on {', '.join(found) or 'no env'}")
    return [r for r in runs if r.env in envs]


def curves(runs: list[Run], reps: int, seed: int = 0) -> dict[str, dict[str, tuple[np.ndarray, ...]]]:
    """``{env: {algorithm: (steps, iqm, low, high, runs)}}`` over the evaluation steps all its runs share."""
    library, metrics = _rliable()
    groups = _grouped(runs)
    out: dict[str, dict[str, tuple[np.ndarray, ...]]] = {}
    for env, by_label in sorted(groups.items()):
        out[env] = {}
        for label, rs in sorted(by_label.items()):
            steps = sorted(set.intersection(*(set(r.steps.tolist()) for r in rs)))
            matrix = np.array([[dict(zip(r.steps.tolist(), r.returns, strict=True))[s] for s in steps] for r in rs])
            if len(rs) == 1:
                out[env][label] = (np.array(steps), matrix[0], matrix[0], matrix[0], np.array(1))
                continue

            center = np.mean if rs[0].published else metrics.aggregate_iqm

            def per_step(s: np.ndarray, center: Any = center) -> np.ndarray:
                return np.array([center(s[:, j]) for j in range(s.shape[1])])

            estimate = partial(library.get_interval_estimates, func=per_step, reps=reps)
            point, cis = _per_algorithm(estimate, {label: matrix}, seed)
            out[env][label] = (np.array(steps), point[label], cis[label][0], cis[label][1], np.array(len(rs)))
    return out


def improvement_table(runs: list[Run], baseline: str, reps: int, seed: int = 0) -> list[dict[str, Any]]:
    """Rows (env, algorithm, runs, P(improvement) with its CI): the probability that a run of the
    algorithm ends above a run of ``baseline`` in that env (rliable's probability of improvement,
    a Mann-Whitney count, ties halved), resampling both sides' runs; then, for each algorithm run
    on every env the baseline was, the average over those envs ("all")."""
    library, metrics = _rliable()
    finals = _finals(runs)
    envs = sorted(e for e, by in finals.items() if baseline in by)
    if not envs:
        raise UserError(f"--baseline {baseline!r} is not among the compared algorithms")

    def estimate(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        with _bootstrap_seed(seed):
            point, ci = library.get_interval_estimates({"x": [x, y]}, metrics.probability_of_improvement, reps=reps)
        return point["x"], np.ravel(ci["x"])

    rows = []
    for env in envs:
        y = np.array(finals[env][baseline])[:, None]
        for label, values in sorted(finals[env].items()):
            if label != baseline:
                row: dict[str, Any] = {"env": env, "algorithm": label, "runs": len(values)}
                _put(row, "P(improvement)", *estimate(np.array(values)[:, None], y))
                rows.append(row)
    labels = sorted({label for e in envs for label in finals[e]} - {baseline})
    for label in (a for a in labels if len(envs) > 1 and all(a in finals[e] for e in envs)):
        n, m = (min(len(finals[e][a]) for e in envs) for a in (label, baseline))
        x = np.array([finals[e][label][:n] for e in envs]).T
        y = np.array([finals[e][baseline][:m] for e in envs]).T
        row = {"env": "all", "algorithm": label, "runs": n}
        _put(row, "P(improvement)", *estimate(x, y))
        rows.append(row)
    return rows


def _number(x: float) -> str:
    """Returns in plain digits (-1834.2, 3021), normalised scores to three significant ones."""
    return f"{x:.0f}" if abs(x) >= 1000 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.3g}"


def _duration(seconds: float) -> str:
    """A run's median training time: ``-`` unknown, ``42 s``, ``12.5 min``."""
    return "-" if math.isnan(seconds) else f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.1f} min"


def _fmt(row: dict[str, Any], name: str) -> str:
    return f"{_number(row[name])} [{_number(row[f'{name}_low'])}, {_number(row[f'{name}_high'])}]"


def _fmt3(row: dict[str, Any], name: str) -> str:
    return f"{row[name]:.2f} [{row[f'{name}_low']:.2f}, {row[f'{name}_high']:.2f}]"


def write_tables(
    env_rows: list[dict[str, Any]],
    agg_rows: list[dict[str, Any]],
    out: Path,
    reps: int,
    improvement: tuple[str, list[dict[str, Any]]] | None = None,
) -> str:
    """table.csv and table.md in ``out``; returns the markdown. ``improvement``: the baseline and
    the rows of :func:`improvement_table`."""
    with open(out / "table.csv", "w", newline="") as f:
        fields = ["scope", "env", "algorithm", "runs", "seconds"] + [
            f"{m}{s}" for m in (*METRICS, "optimality gap", "P(improvement)") for s in ("", "_low", "_high")
        ]
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows([{"scope": "env", **r} for r in env_rows])
        writer.writerows([{"scope": "aggregate", "env": "all (normalised)", **r} for r in agg_rows])
        if improvement is not None:
            writer.writerows([{"scope": f"against {improvement[0]}", **r} for r in improvement[1]])
    lines = [
        f"Final deterministic evaluation return per env: point estimate [95% stratified-bootstrap CI, {reps} reps];",
        "time per run: the median training wall-clock time (time_s in metrics.csv).",
        "",
        "| env | algorithm | runs | IQM | mean | median | time per run |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['env']} | {r['algorithm']} | {r['runs']} | {_fmt(r, 'IQM')} | {_fmt(r, 'mean')} | {_fmt(r, 'median')} | "
        f"{_duration(r['seconds'])} |"
        for r in env_rows
    ]
    if agg_rows:
        lines += [
            "",
            "Aggregate over envs, returns normalised per env by the lowest and highest final return of any run",
            "(1 = the best run seen; the optimality gap is to that run):",
            "",
            "| algorithm | runs x envs | IQM | mean | median | optimality gap |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['algorithm']} | {r['runs']} x {r['envs']} | {_fmt(r, 'IQM')} | {_fmt(r, 'mean')} | "
            f"{_fmt(r, 'median')} | {_fmt(r, 'optimality gap')} |"
            for r in agg_rows
        ]
    if improvement is not None:
        baseline, rows = improvement
        lines += [
            "",
            f"Against {baseline}: the probability that a run of the algorithm ends above a run of {baseline}",
            "(0.5: no difference; above 0.5 with the whole interval above it: better; all: the mean over the",
            "envs where both ran):",
            "",
            f"| env | algorithm | runs | P(improvement over {baseline}) |",
            "|---|---|---|---|",
        ]
        lines += [f"| {r['env']} | {r['algorithm']} | {r['runs']} | {_fmt3(r, 'P(improvement)')} |" for r in rows]
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    return text


def _colour_key(label: str) -> str:
    """A curve's label without the task version a published label may carry."""
    return re.sub(r", v\d+\)$", ")", label)


def palette(labels: Iterable[str]) -> dict[str, Any]:
    """One colour per algorithm, keyed by ``_colour_key``: a published label names the task version
    only where it differs from the panel's ("sac (published, v4)" beside v5, "sac (published)" on
    v4). Made once from every label of a comparison, so the curves and the profile agree. tab10's
    ten colours first, then tab20's lighter shades of them: twenty algorithms before two share one."""
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    keys = sorted({_colour_key(label) for label in labels})
    return {key: cmap((2 * i + i // 10) % 20) for i, key in enumerate(keys)}


def plot_curves(
    data: dict[str, dict[str, tuple[np.ndarray, ...]]], path: Path, colours: dict[str, Any] | None = None
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(data)
    cols = min(3, len(envs))
    rows = math.ceil(len(envs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), dpi=110, squeeze=False)
    # one colour per algorithm across panels
    colours = colours or palette(label for by in data.values() for label in by)
    handles: dict[str, Any] = {}
    runs_of: dict[str, set[int]] = {}
    for ax, env in zip(axes.flat, envs, strict=False):
        for label, (steps, iqm, low, high, runs) in data[env].items():
            style = {"ls": "--", "marker": "o", "ms": 3} if "(published" in label else {}
            key = _colour_key(label)
            (line,) = ax.plot(steps, iqm, lw=1.6, color=colours[key], **style)
            ax.fill_between(steps, low, high, color=colours[key], alpha=0.2, lw=0)
            handles.setdefault(key, (line, label))
            runs_of.setdefault(key, set()).add(int(runs))
        ax.set_title(env)
        ax.set_xlabel("env steps")
        ax.set_ylabel("eval return (IQM; published: mean; 95% CI)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(envs) :]:
        ax.set_visible(False)
    # one legend under the panels (a colour is one algorithm in every panel): a legend inside a
    # panel hides the curves it names once there are a dozen of them
    labels = [f"{label} ({_runs_text(runs_of[key])})" for key, (_, label) in handles.items()]
    fig.tight_layout()
    fig.legend(
        [line for line, _ in handles.values()],
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(cols, 3),
        fontsize=8,
        frameon=False,
    )
    save_figure(fig, path, bbox_inches="tight")


def _runs_text(runs: set[int]) -> str:
    """``3 runs``, or ``3-5 runs`` where the panels differ."""
    low, high = min(runs), max(runs)
    count = f"{low}" if low == high else f"{low}-{high}"
    return f"{count} run" + ("s" if high != 1 else "")


def plot_profiles(scores: dict[str, np.ndarray], path: Path, reps: int, colours: dict[str, Any] | None = None) -> None:
    """Performance profiles: the fraction of runs (over envs) with normalised score above tau,
    each algorithm in its colour of ``colours`` (``palette`` of a set of labels holding these)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    library, _ = _rliable()
    taus = np.linspace(0.0, 1.0, 51)
    profiles, cis = _per_algorithm(partial(library.create_performance_profile, tau_list=taus, reps=reps), scores, 0)
    colours = colours or palette(scores)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for label in scores:
        colour = colours[_colour_key(label)]
        ax.plot(taus, profiles[label], lw=1.6, label=label, color=colour)
        ax.fill_between(taus, cis[label][0], cis[label][1], color=colour, alpha=0.2, lw=0)
    ax.set_xlabel("normalised score tau (per env: lowest to highest final return seen)")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)
