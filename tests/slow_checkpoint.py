"""Run the ``rlai`` CLI with checkpoint writes slowed down: half of each checkpoint's bytes are
written, a marker file (``$RLAI_TEST_WRITING``) appears, and the rest follows a second later, so
that a test can kill the process in the middle of a checkpoint write.

    python -m tests.slow_checkpoint train ...
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from rlasinference.cli.main import main

_save = torch.save


def slow_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
    buffer = io.BytesIO()
    _save(obj, buffer, *args, **kwargs)
    data = buffer.getvalue()
    f.write(data[: len(data) // 2])
    f.flush()
    Path(os.environ["RLAI_TEST_WRITING"]).touch()
    time.sleep(1.0)
    f.write(data[len(data) // 2 :])


if __name__ == "__main__":
    torch.save = slow_save
    sys.argv[0] = "rlai"
    main()
