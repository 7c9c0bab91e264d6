"""Process-wide settings a test may change are put back after it; under pytest-xdist (the README's
``pytest -n 2``) the tests that each keep both cores busy run on one worker, one after another."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch

from rlasinference.core.precision import set_precision


@pytest.fixture(autouse=True)
def _float32_networks() -> Iterator[None]:
    """A run with ``precision=bf16`` sets the networks' precision for the process (as a run
    does); the next test starts from float32."""
    yield
    set_precision("fp32")


# each of these runs a Ray sweep of two trials, or kills and restarts runs at moments that a
# doubly loaded machine would shift: one worker runs them in turn (xdist's ``loadgroup``
# distribution, set in ``pytest_configure``; without it xdist ignores the groups)
HEAVY = (
    "test_docs.py::test_tutorial_runs_as_written[sweep-and-compare]",
    "test_experiments.py::test_sweep_runs_skips_finished_and_resumes_on_ray",
    "test_kill.py::",
)


def pytest_configure(config: pytest.Config) -> None:
    # ``-n N`` distributes by groups (here, not in pyproject's options: pytest without xdist, or
    # with ``-p no:xdist``, would refuse an option it does not know)
    if getattr(config.option, "dist", None) == "load":
        config.option.dist = "loadgroup"
    # two workers of two torch threads each on two cores would spin against each other (the
    # oversubscription docs/performance.md measures); a run sets its own count, as it would anyway
    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(name in item.nodeid for name in HEAVY):
            item.add_marker(pytest.mark.xdist_group("heavy"))
