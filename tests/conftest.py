"""Process-wide settings a test may change are put back after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rlasinference.core.precision import set_precision


@pytest.fixture(autouse=True)
def _float32_networks() -> Iterator[None]:
    """A run with ``precision=bf16`` sets the networks' precision for the process (as a run
    does); the next test starts from float32."""
    yield
    set_precision("fp32")
