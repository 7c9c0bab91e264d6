"""The README's two commands are the ones CI runs and the CLI provides."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci_command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert "pytest" in ci_command and "torch==2.13.0" in ci_command
    assert ci_command in (ROOT / "README.md").read_text()


def test_readme_train_command_uses_the_cpu_torch_first() -> None:
    readme = (ROOT / "README.md").read_text()
    train = next(line for line in readme.splitlines() if line.endswith("rlai train"))
    assert train.index("pip install torch==2.13.0") < train.index("pip install -e .")


@pytest.mark.parametrize("tool", [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]])
def test_code_quality(tool: list[str]) -> None:
    result = subprocess.run(tool, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_links_resolve_and_the_project_has_a_license_and_a_citation() -> None:
    import re

    import yaml

    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), target
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] and citation["license"] == "MIT" and citation["title"].startswith("rlasinference")
    # the two commands come first, before any other code block
    blocks = re.findall(r"```(\w*)\n(.*?)```", readme, re.DOTALL)
    assert blocks[0][1].strip().endswith("rlai train") and blocks[1][1].strip().endswith("pytest -n 2")


def test_readme_names_every_registered_preset_sampler_and_critic() -> None:
    import rlasinference

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## What is inside") :]
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")}
    components = rlasinference.components()
    kinds = {
        "presets": "presets (`--algo`)",
        "samplers": "samplers (`--sampler`)",
        "critics": "critics (`--set critic=`)",
    }
    for kind, row in kinds.items():
        for name in components[kind]:
            assert f"`{name}`" in rows[row], (kind, name)
