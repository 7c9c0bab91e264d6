"""The documentation stays true: the site builds with ``mkdocs build --strict`` (broken links,
missing pages and undocumented config fields fail it), the tutorials run as written, and every
metric a preset logs is explained on its page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rlasinference.algorithms import PRESETS

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
# a fenced block: ```lang or ```lang title="file"; the closing fence alone on its line
BLOCK = re.compile(r'^```(\w+)(?: title="([^"]+)")?\n(.*?)^```$', re.MULTILINE | re.DOTALL)


def _environment() -> dict[str, str]:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", DISABLE_MKDOCS_2_WARNING="true")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # this venv's rlai
    return env


def test_site_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_environment(),
        check=False,
    )
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0, "\n".join(warnings) or result.stderr[-3000:]
    for page in ("reference/cli", "reference/config", "reference/metrics", "reference/api", "tutorials/own-sampler"):
        assert (tmp_path / "site" / page / "index.html").exists()
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    assert "--cpus-per-trial" in cli and "rlai compare" in cli  # generated from the Typer app


@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs_as_written(page: Path, tmp_path: Path) -> None:
    """Files the page asks you to save are saved; bash and Python blocks run in order, in one
    directory; ``text`` blocks are shown output and are not run."""
    blocks = BLOCK.findall(page.read_text())
    assert any(lang == "bash" for lang, _, _ in blocks)
    for lang, title, code in blocks:
        if title:
            (tmp_path / title).write_text(code)
            continue
        if lang == "text":
            continue
        command = ["bash", "-euo", "pipefail", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=_environment(), check=False)
        assert result.returncode == 0, f"{page.name}: {code}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"


def test_own_sampler_tutorial_keeps_its_promise() -> None:
    page = (ROOT / "docs" / "tutorials" / "own-sampler.md").read_text()
    files = {title: code for _, title, code in BLOCK.findall(page) if title}
    assert len(files["my_sampler.py"].splitlines()) < 60  # "in under 60 lines"


def _metrics_section(page: str) -> str:
    text = (ROOT / "docs" / "algorithms" / f"{page}.md").read_text()
    start = text.index("## Logged metrics")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


@pytest.mark.parametrize("name", PRESETS.names())
def test_every_logged_metric_is_explained_on_the_preset_page(name: str) -> None:
    preset = PRESETS.get(name)
    config = preset.config_cls()
    agent = preset.build(config, preset.default_sampler_options(config.sampler), 3, 1)
    section = _metrics_section(name)
    for other in re.findall(r"\]\((\w+)\.md\)", section):  # "as for [SAC](sac.md)"
        section += _metrics_section(other)
    missing = [m for m in agent.metric_names if f"`{m}`" not in section]
    assert not missing, f"docs/algorithms/{name}.md does not explain {missing}"
