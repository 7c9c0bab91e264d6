"""``rlai sweep``: run the trials of a spec with Ray Tune, one ordinary run directory each.

Each trial's state lives in its run directory, not in Ray: a trial whose last checkpoint
reached its configured steps is skipped, one with an earlier checkpoint is resumed from it (the
exact-resume path of ``rlai resume``), and one without a checkpoint starts over. So a sweep that
was killed is finished by running the same command again, and Ray only schedules the work left.

With ``--keep DIR``, each trial that finishes is also copied there without its checkpoints and
TensorBoard files (config, metrics, versions, command: small enough to commit), and a trial
finished there counts as finished. So the results outlive the machine that made them: a sweep
run again on a new machine with the same ``--keep`` runs only what was not finished.
"""

from rlasinference.experiments.sweep.keep import KEPT_FILES, check_keep, keep_finished, keep_run
from rlasinference.experiments.sweep.plan import (
    SPEC_FILE,
    Planned,
    check_resources,
    final_returns,
    plan,
    trial_step,
    unfinished,
    write_spec,
)
from rlasinference.experiments.sweep.ray_backend import (
    MISSING_RAY,
    check_address,
    execute,
    run_trial,
)

__all__ = [
    "KEPT_FILES", "MISSING_RAY", "SPEC_FILE", "Planned", "check_address", "check_keep", "check_resources", "execute",
    "final_returns", "keep_finished", "keep_run", "plan", "run_trial", "trial_step", "unfinished", "write_spec",
]  # fmt: skip
