"""Dependencies point one way (cli -> api -> experiments -> training / workbench -> algorithms ->
samplers / objectives / values / critics -> core): every import of one sub-package by another
goes to a lower layer. Samplers never import RL code."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rlasinference"
LAYERS = {
    "core": 0,
    "samplers": 1,  # conditional generative models: core only, no RL
    "envs": 1,
    "objectives": 2,
    "values": 2,
    "critics": 2,
    "policies": 2,
    "planning": 2,  # exact solvers of tabular MDPs
    "algorithms": 3,
    "training": 4,
    "workbench": 4,
    "experiments": 5,  # sweeps and comparisons of training runs
    "api": 6,  # the Python surface over training, experiments and workbench
    "__init__": 6,  # the package's own surface (rlasinference.train, ...)
    "cli": 7,
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rlasinference"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("rlasinference"))
    return {name.split(".")[1] if "." in name else "__init__" for name in names}


def test_every_sub_package_has_a_layer() -> None:
    found = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert found | {"__init__"} == set(LAYERS)


def test_imports_point_down() -> None:
    upward = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        own = rel.parts[0] if len(rel.parts) > 1 else "__init__"
        for target in _imports(path) - {own}:
            if LAYERS[target] >= LAYERS[own]:
                upward.append(f"{rel} imports rlasinference.{target}")
    assert not upward, "\n".join(sorted(upward))
