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
aggregate. ``--export CSV`` writes our runs in the same long format. A paper that gives means
only (a CSV of algo, env, step, mean_return) adds a row "sac-discrete (published mean)" with
that mean at the step our runs end, and a point on the curves: one number, outside the
bootstrap, the aggregate and P(improvement).
"""

from rlasinference.experiments.compare.reference import (
    PublishedMean,
    env_base,
    export_long_csv,
    read_long_csv,
    reference_runs,
    with_means,
)
from rlasinference.experiments.compare.report import palette, plot_curves, plot_profiles, write_tables
from rlasinference.experiments.compare.runs import Run, find_runs, finished_runs, load_run, on_envs, split_variants
from rlasinference.experiments.compare.stats import (
    METRICS,
    MISSING_RLIABLE,
    aggregate_table,
    budget_notes,
    curves,
    few_runs_notes,
    improvement_table,
    normalised_scores,
    per_env_table,
)

__all__ = [
    "METRICS", "MISSING_RLIABLE", "PublishedMean", "Run", "aggregate_table", "budget_notes", "curves", "env_base",
    "export_long_csv", "few_runs_notes", "find_runs", "finished_runs", "improvement_table", "load_run",
    "normalised_scores", "on_envs", "palette", "per_env_table", "plot_curves", "plot_profiles", "read_long_csv",
    "reference_runs", "split_variants", "with_means", "write_tables",
]  # fmt: skip
