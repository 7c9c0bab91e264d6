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
    for page in ("reference/cli", "reference/config", "reference/metrics", "reference/api", "reference/presets"):
        assert (tmp_path / "site" / page / "index.html").exists()
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    assert "--cpus-per-trial" in cli and "rlai compare" in cli  # generated from the Typer app
    _check_maths_and_hosts(tmp_path / "site")


KATEX_CHECK = """
const katex = require(process.argv[1]);
const items = JSON.parse(require("fs").readFileSync(0, "utf8"));
const bad = [];
for (const [page, tex, display] of items) {
  try { katex.renderToString(tex, { displayMode: display, throwOnError: true }); }
  catch (e) { bad.push(page + ": " + e.message); }
}
console.log(bad.join("\\n"));
process.exit(bad.length ? 1 : 0);
"""


def _check_maths_and_hosts(site: Path) -> None:
    """The pages load nothing from another host (no CDN, no web fonts), the maths is marked up for
    the KaTeX the site serves, and every expression renders with it (where node is installed)."""
    import html
    import json
    import shutil

    expressions = []
    for page in site.rglob("*.html"):
        text = page.read_text()
        foreign = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//[^"]+"', text)
        assert not foreign, f"{page}: {foreign[:3]}"
        for tex in re.findall(r'class="arithmatex">(.*?)</(?:div|span)>', text, re.DOTALL):
            tex = html.unescape(tex).strip()
            expressions.append([str(page.relative_to(site)), tex[2:-2], tex.startswith("\\[")])
            assert 'src="' in text and "assets/katex/katex.min.js" in text, page
    pages = {page for page, _, _ in expressions}
    assert {"concepts/index.html", "samplers/diffusion/index.html"} <= pages
    assert (site / "assets" / "katex" / "katex.min.js").is_file()
    assert not [e for e in expressions if "$" in e[1]]  # no stray dollar signs read as maths
    node = shutil.which("node")
    if node is None:
        return
    bundled = str(site / "assets" / "katex" / "katex.min.js")
    done = subprocess.run(
        [node, "-e", KATEX_CHECK, bundled], input=json.dumps(expressions), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# `pip install -e ".[sweep]"` and the like, on a line of a tutorial's bash block
PIP_EXTRAS = re.compile(r"""^\s*pip install (?:-e )?["']?\.\[([\w,-]+)\]["']?\s*$""", re.MULTILINE)
BLOCKER = """import os, sys
for name in filter(None, os.environ.get("RLAI_NOT_INSTALLED", "").split(",")):
    sys.modules[name] = None  # import fails as for a package that is not installed
"""


def _extra_modules() -> dict[str, set[str]]:
    """The top-level modules each extra of the package adds to its base install."""
    from importlib.metadata import packages_distributions, requires

    from packaging.requirements import Requirement

    modules_of: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            modules_of.setdefault(dist.lower().replace("_", "-"), set()).add(module)
    base: set[str] = set()
    extras: dict[str, set[str]] = {}
    for line in requires("rlasinference") or []:
        req = Requirement(line)
        extra = next((m.split("==")[1].strip(" '\"") for m in [str(req.marker)] if req.marker and "extra" in m), None)
        names = modules_of.get(req.name.lower().replace("_", "-"), set())
        if req.name == "rlasinference":  # an extra made of other extras (test = sweep, bench, ...)
            continue
        (extras.setdefault(extra, set()) if extra else base).update(names)
    return {extra: names - base for extra, names in extras.items()}


@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs_as_written(page: Path, tmp_path: Path) -> None:
    """Files the page asks you to save are saved; bash and Python blocks run in order, in one
    directory; ``text`` blocks are shown output and are not run. Each page runs as in a venv
    made with the README's install and the extras the page installs itself (its ``pip install
    -e ".[extra]"`` lines): the packages of every other extra fail to import."""
    text = page.read_text()
    blocks = BLOCK.findall(text)
    assert any(lang == "bash" for lang, _, _ in blocks)
    installed = {extra for found in PIP_EXTRAS.findall(text) for extra in found.split(",")}
    missing = set().union(*(names for extra, names in _extra_modules().items() if extra not in installed))
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(BLOCKER)
    env = _environment()
    env["RLAI_NOT_INSTALLED"] = ",".join(sorted(missing))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path / "blocker"), env.get("PYTHONPATH")]))
    work = tmp_path / "work"
    work.mkdir()
    for lang, title, code in blocks:
        if title:
            (work / title).write_text(code)
            continue
        if lang == "text":
            continue
        code = PIP_EXTRAS.sub("", code)  # this environment has every extra; the others are blocked
        if not code.strip():
            continue
        command = ["bash", "-euo", "pipefail", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
        result = subprocess.run(command, cwd=work, capture_output=True, text=True, env=env, check=False)
        assert result.returncode == 0, f"{page.name}: {code}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"


def test_tutorials_run_without_the_extras_they_do_not_install() -> None:
    """The check above holds something back: the extras' packages are known and blocked."""
    extras = _extra_modules()
    assert "ray" in extras["sweep"] and "stable_baselines3" in extras["bench"] and "rliable" not in extras["sweep"]


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


TOY = '''
from dataclasses import dataclass

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.preset import Preset
from rlasinference.samplers import TanhGaussian


class ToySampler(TanhGaussian):
    """A tanh-Gaussian under another name.

    :param hidden: hidden layer sizes.
    :param log_std_min: lower clamp of log sigma.
    :param log_std_max: upper clamp of log sigma.
    :param activation: of the hidden layers.
    :param state_std: sigma is an output of the MLP.
    :param log_std_init: initial log sigma of the free parameter.
    :param orthogonal_init: orthogonal weights.
    :param batch_renorm: batch renormalisation in front of every linear layer.
    :param renorm_momentum: rate of its running statistics.
    :param renorm_warmup: training passes of plain batch norm.
    :param natural_gradient: scale the density's gradients by the inverse Fisher.
    """


@dataclass
class ToyConfig(ActorCriticConfig):
    """SAC's fields with the toy sampler."""

    sampler: str = "toy-sampler"


TOY = Preset(name="toy", config_cls=ToyConfig, summary="a toy preset from a user's module", temperature="learned")
'''


def test_a_new_preset_and_sampler_appear_everywhere_they_are_listed(tmp_path: Path, monkeypatch) -> None:
    """The touch list of a new preset (its module and its page) and a new sampler (its module,
    the registry line and optionally a page): ``rlai list``, the generated presets table and the
    site's navigation find them without any other edit."""
    import shutil

    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from typer.testing import CliRunner

    from rlasinference.cli.main import app
    from rlasinference.samplers import SAMPLERS

    (tmp_path / "toy_parts.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    import toy_parts  # type: ignore[import-not-found]

    monkeypatch.setitem(SAMPLERS._items, "toy-sampler", toy_parts.ToySampler)  # the registry line
    monkeypatch.setitem(PRESETS._items, "toy", toy_parts.TOY)  # what registering its module does
    listing = CliRunner().invoke(app, ["list"], env={"COLUMNS": "300"})
    assert listing.exit_code == 0 and "toy " in listing.output and "toy-sampler" in listing.output

    site = tmp_path / "project"
    shutil.copytree(ROOT / "docs", site / "docs")
    shutil.copy(ROOT / "mkdocs.yml", site / "mkdocs.yml")
    (site / "docs" / "algorithms" / "toy.md").write_text("# Toy\n\nA toy preset.\n\n## Logged metrics\n\nSAC's.\n")
    (site / "docs" / "samplers" / "toy-sampler.md").write_text("# The toy sampler\n\nA tanh-Gaussian.\n")
    monkeypatch.setenv("DISABLE_MKDOCS_2_WARNING", "true")
    build(load_config(str(site / "mkdocs.yml"), site_dir=str(tmp_path / "site"), strict=True))
    presets = (tmp_path / "site" / "reference" / "presets" / "index.html").read_text()
    assert "toy-sampler" in presets and "a toy preset from a user" in presets
    home = (tmp_path / "site" / "index.html").read_text()
    assert 'href="algorithms/toy/"' in home and 'href="samplers/toy-sampler/"' in home


def test_every_preset_in_the_package_is_registered_under_its_name() -> None:
    import importlib
    import pkgutil

    import rlasinference.algorithms as algorithms
    from rlasinference.algorithms.preset import Preset

    for module in pkgutil.iter_modules(algorithms.__path__):
        for value in vars(importlib.import_module(f"rlasinference.algorithms.{module.name}")).values():
            if isinstance(value, Preset):
                assert PRESETS.get(value.name) is value
