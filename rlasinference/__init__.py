"""rlasinference: maximum-entropy reinforcement learning as probabilistic inference.

The public API (docs/tutorials/python-api.md, docs/reference/api.md)::

    import rlasinference as rlai
    run = rlai.train("sac", "Pendulum-v1", steps=15_000)
    policy = rlai.load(run.dir)              # or run.policy()
    action = policy.predict(obs)             # in the env's units and shape
    rlai.evaluate(policy, episodes=10)       # the numbers of `rlai eval`
    rlai.sweep(algo="sac", env="Hopper-v5", seeds=3)   # `rlai sweep` (Ray Tune)
    rlai.compare("runs/sweep-sac-Hopper-v5").table      # the statistics of `rlai compare`
    rlai.components()["samplers"]["flow"]               # the registries (`rlai list`)
"""

from typing import Any

__version__ = "0.1.0"

_API = (
    "Callback", "Comparison", "Policy", "Run", "StopAtReturn", "SweepResult", "SweepTrial", "UserError", "compare",
    "components", "evaluate", "fit_sampler", "load", "planner", "resume", "solve", "sweep", "train",
)  # fmt: skip
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    # imported on first use: `import rlasinference` (and `rlai --help`) stays light
    if name == "UserError":
        from rlasinference.core.errors import UserError

        return UserError
    if name in _API:
        from rlasinference import api

        return getattr(api, name)
    raise AttributeError(f"module 'rlasinference' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)  # what tab completion and help() offer: the API, imported lazily above
