"""Writes the generated reference pages when the site is built (mkdocs-gen-files): config fields
with defaults and meanings, and the metric columns each preset logs, read from the code itself
(dataclasses, constructor signatures, docstrings), so the pages cannot drift from it.

A field without a documented meaning is a warning, which fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import griffe
import mkdocs_gen_files

from rlasinference.algorithms import PRESETS
from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.on_policy import OnPolicyConfig
from rlasinference.core.checks import Range, field_range
from rlasinference.critics import CRITICS, critic_options
from rlasinference.samplers import SAMPLERS, sampler_options
from rlasinference.training.config import RunConfig
from rlasinference.training.metrics import BASE_COLUMNS, EVAL_COLUMNS

log = logging.getLogger("mkdocs.plugins.gen_reference")
DOCS = Path(__file__).resolve().parent
ENVS = ["Pendulum-v1", "InvertedPendulum-v5", "rlasinference/MultiGoal-v0", "Swimmer-v5", "Hopper-v5"]
ENVS += [
    "HalfCheetah-v5",
    "Walker2d-v5",
    "Ant-v5",
    "Humanoid-v5",
    "CartPole-v1",
    "Acrobot-v1",
    "BreakoutNoFrameskip-v4",
]
ENVS += ["MinAtar/Breakout-v1"]
PAGES = {name: name for name, _ in PRESETS}  # docs/algorithms/<preset>.md, one page per registered preset


def meanings(obj: Any) -> dict[str, str]:
    """``{name: description}`` of the ``:param name:`` lines of ``obj``'s docstring."""
    # parsed without its object, so griffe cannot match the names against a signature
    sections = griffe.Docstring(inspect.getdoc(obj) or "").parse("sphinx", warnings=False)
    params = [p for s in sections if s.kind is griffe.DocstringSectionKind.parameters for p in s.value]
    return {p.name: " ".join(p.description.split()).replace("``", "`") for p in params}  # RST literals


def cell(value: Any) -> str:
    text = "`None`" if value is None else f"`{value!r}`" if isinstance(value, str) else f"`{value}`"
    return escape(text)


def escape(text: str) -> str:
    """A table cell's text with its pipes escaped, and outside code spans its angle brackets
    (``runs/sweep-<name>`` is text, not an HTML tag)."""
    parts = text.replace("|", "\\|").split("`")
    parts[::2] = [part.replace("<", "&lt;").replace(">", "&gt;") for part in parts[::2]]
    return "`".join(parts)


def table(rows: Iterable[tuple[str, Any, str, str]], where: str) -> list[str]:
    lines = ["| key | default | valid | meaning |", "|---|---|---|---|"]
    for key, default, valid, meaning in rows:
        if not meaning:
            log.warning(f"config reference: {key!r} of {where} has no documented meaning")
        lines.append(f"| `{key}` | {cell(default)} | {escape(valid)} | {escape(meaning)} |")
    return [*lines, ""]


def valid_text(valid: Range | None, name: str, ordered: Iterable[tuple[str, str]], prefix: str = "") -> str:
    """A field's declared range (``None`` allowed, lists elementwise) and its ordering constraints."""
    parts = []
    if valid is not None:
        text = str(valid) + (" each" if valid.min_len else "")
        parts.append(text + (", or none" if valid.optional else ""))
    parts += [f"< `{prefix}{high}`" for low, high in ordered if low == name]
    parts += [f"> `{prefix}{low}`" for low, high in ordered if high == name]
    return "; ".join(parts)


def dataclass_rows(cls: type, fallback: dict[str, str]) -> list[tuple[str, Any, str, str]]:
    own = meanings(cls)
    rows = []
    for f in dataclasses.fields(cls):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        valid = valid_text(field_range(cls, f.name), f.name, getattr(cls, "ORDERED", ()))
        rows.append((f.name, default, valid, own.get(f.name) or fallback.get(f.name, "")))
    return rows


def config_page() -> str:
    shared = {False: meanings(ActorCriticConfig), True: meanings(OnPolicyConfig)}  # by preset.on_policy
    out = [
        "# Config fields",
        "",
        "Every key below is accepted by `--set key=value` and `--config file.yaml`, and is written to a",
        "run's `config.yaml` (one flat mapping). This page is generated from the code when the site is",
        "built. An unknown key is an error that lists the valid ones.",
        "",
        "## Run fields (every preset)",
        "",
        *table(dataclass_rows(RunConfig, {}), "the run"),
    ]
    for name, preset in PRESETS:
        out += [f"## `{name}`", "", preset.summary + f" ([page](../algorithms/{PAGES[name]}.md)).", ""]
        out += table(dataclass_rows(preset.config_cls, shared[preset.on_policy]), f"preset {name!r}")
        if preset.env_defaults is not None:
            per_env = {env: preset.env_defaults(env) for env in ENVS}
            per_env = {env: values for env, values in per_env.items() if values}
            if per_env:
                out += ["Defaults that depend on `--env` (your settings override them):", ""]
                out += ["| env | defaults |", "|---|---|"]
                out += [f"| `{env}` | {', '.join(f'`{k}={v}`' for k, v in d.items())} |" for env, d in per_env.items()]
                out += [""]
        if preset.sampler_options:
            own = ", ".join(f"`sampler.{k}={v}`" for k, v in preset.sampler_options.items())
            out += [
                f"Options of its sampler `{preset.config_cls().sampler}`, pinned to the paper's settings (they "
                f"stay when the sampler's own defaults change): {own}.",
                "",
            ]
        if preset.critic_options:
            own = ", ".join(f"`critic.{k}={v}`" for k, v in preset.critic_options.items())
            out += [
                f"Options of its critic `{preset.config_cls().critic}` that differ from the critic's defaults: {own}.",
                "",
            ]
    out += ["## Sampler options", "", "Set with `--set sampler.<option>=value` (and `rlai sample --set`).", ""]
    for name, cls in SAMPLERS:
        title = f"### `{name}` ({cls.__name__}, density `{cls.density}`)"
        out += options_section(cls, sampler_options(cls), "sampler", name, title)
    out += ["## Standalone fits", "", "What `rlai sample` uses for a sampler unless told otherwise:", ""]
    out += ["| sampler | `--steps` (fit_steps) | `--anneal` (fit_anneal) | `--objective` (fit_objective) |"]
    out += ["|---|---|---|---|"]
    for name, cls in SAMPLERS:
        objective = cls.fit_objective or "the first objective that takes its density"
        out.append(f"| `{name}` | {cls.fit_steps} | {cls.fit_anneal:g} | {escape(objective)} |")
    out += ["", "## Critic options", "", "Set with `--set critic=NAME` and `--set critic.<option>=value`.", ""]
    for name, cls in CRITICS:
        title = f"### `{name}` ({cls.__name__})"
        out += options_section(cls, critic_options(cls), "critic", name, f"{title}\n\n{cls.summary}.")
    return "\n".join(out)


def options_section(cls: type, options: dict[str, Any], kind: str, name: str, title: str) -> list[str]:
    """A sampler's or critic's options: default, declared range, meaning from its docstring."""
    if not options:
        return [title, "", "No options.", ""]
    own = meanings(cls)
    ranges, ordered = getattr(cls, "option_ranges", {}), getattr(cls, "ordered_options", ())
    rows = [
        (f"{kind}.{k}", v, valid_text(ranges.get(k), k, ordered, f"{kind}."), own.get(k, ""))
        for k, v in options.items()
    ]
    return [title, "", *table(rows, f"{kind} {name!r}")]


def metric_columns(preset_name: str) -> tuple[str, ...]:
    """The metric columns of a preset at its defaults (built at Pendulum's sizes)."""
    preset = PRESETS.get(preset_name)
    config = preset.config_cls()
    return preset.build(config, preset.default_sampler_options(config.sampler), 3, 1).metric_names


def metrics_page() -> str:
    out = [
        "# Logged metrics",
        "",
        "`metrics.csv` (and TensorBoard under `tb/`) holds two kinds of rows: training rows every",
        "`log_every` env steps and evaluation rows every `eval_every`. Generated from the code when",
        "the site is built.",
        "",
        "## Columns of every run",
        "",
        "| column | meaning |",
        "|---|---|",
    ]
    common = {
        "step": "env steps so far",
        "time_s": "wall-clock seconds of the run so far, evaluations included (summed over resumes); on "
        "training and evaluation rows",
        "sps": "env steps per second over the last `log_every` steps",
        "episode_return": "mean return of the training episodes that ended in the window",
        "episode_length": "mean length of those episodes",
        "eval_return": "mean return of the `eval_episodes` evaluation episodes (deterministic, or `eval_stochastic`)",
        "eval_return_std": "their standard deviation",
        "eval_length": "their mean length",
    }
    for column in (*BASE_COLUMNS, *EVAL_COLUMNS):
        if column not in common:
            log.warning(f"metrics reference: column {column!r} has no meaning")
        out.append(f"| `{column}` | {common.get(column, '')} |")
    out += [
        "",
        "Envs with their own evaluation metrics add `eval_<name>` columns: the multi-goal env adds",
        "`eval_goals_reached` and `eval_goal_entropy` ([SQL](../algorithms/sql.md)).",
        "",
        "## Columns of each preset",
        "",
        "The update's metrics, averaged over the window; their meanings are on each preset's page.",
        "Replacing the sampler or objective can add or remove columns (`entropy` needs a density; the",
        "`stein` objective adds `stein_norm`, `covering-kl` adds `forward_ess`, the mean effective sample",
        "size of its importance weights as a fraction of `cover_samples`).",
        "",
        "| preset | columns |",
        "|---|---|",
    ]
    for name, _ in PRESETS:
        columns = ", ".join(f"`{c}`" for c in metric_columns(name))
        out.append(f"| [`{name}`](../algorithms/{PAGES[name]}.md#logged-metrics) | {columns} |")
    return "\n".join(out) + "\n"


def cli_page() -> str:
    """Every command with its usage and options, from the click command Typer builds from the app.

    Written here rather than with mkdocs-click: Typer vendors its own click, whose parameter
    classes mkdocs-click does not recognise (it lists no options), and ``typer ... utils docs``
    drops the ``[default: ...]`` the help strings give."""
    import typer
    from typer import _click as click

    from rlasinference.cli.main import app

    root = typer.main.get_command(app)
    out = [
        "# Command line",
        "",
        "Every `rlai` command and option, generated from the Typer app when the site is built (the",
        "same text as `rlai COMMAND --help`). Exit codes: 0 done, 1 a sweep with failed or unfinished",
        "trials, 2 bad input (one line on stderr), 130 interrupted (a checkpoint was saved).",
        "",
        root.help or "",
        "",
    ]
    parent = click.Context(root, info_name="rlai")
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        ctx = click.Context(command, info_name=name, parent=parent)
        usage = command.get_usage(ctx).removeprefix("Usage: ")
        out += [f"## `rlai {name}`", "", escape(command.help or ""), "", "```text", usage, "```", ""]
        out += ["| argument / option | meaning |", "|---|---|"]
        for param in command.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None and param.name != "help":
                out.append(f"| {escape(f'`{record[0]}`')} | {escape(' '.join(record[1].split()))} |")
        out.append("")
    return "\n".join(out)


def presets_page() -> str:
    """Every registered preset with its default parts and temperature, from the registry."""
    out = [
        "# Presets",
        "",
        "Every registered preset (`rlai list`, `rlai train --algo NAME`) with its default parts,",
        "generated from the registry when the site is built. Each part can be swapped",
        "(`--sampler`, `--set critic=`, `--set objective=`, `--set value_estimator=`); a combination",
        "that cannot work is refused with one line naming the valid choices.",
        "",
        "| preset | recipe | sampler | policy objective | value estimator | critic | temperature | what it is |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, preset in PRESETS:
        sampler, objective, value, critic = preset.parts()
        page = f"[`{name}`](../algorithms/{name}.md)" if (DOCS / "algorithms" / f"{name}.md").exists() else f"`{name}`"
        cells = [page, preset.recipe.name, f"`{sampler}`", f"`{objective}`", f"`{value}`", f"`{critic}`"]
        out.append("| " + " | ".join([*cells, escape(preset.temperature), escape(preset.summary)]) + " |")
    return "\n".join(out) + "\n"


def title(page: Path) -> str:
    """A page's first heading."""
    first = next((line for line in page.read_text().splitlines() if line.startswith("# ")), f"# {page.stem}")
    return first[2:].strip()


def nav_page() -> str:
    """The site's navigation (mkdocs-literate-nav): fixed sections, and every page under
    docs/tutorials/, docs/algorithms/ and docs/samplers/ by its title, so that a new preset's or
    sampler's page appears without editing a list."""

    def listed(folder: str) -> list[str]:
        return [f"    - [{title(p)}]({folder}/{p.name})" for p in sorted((DOCS / folder).glob("*.md"))]

    out = ["- [Home](index.md)", "- [Install](install.md)", "- [Concepts](concepts.md)", "- Tutorials"]
    out += listed("tutorials")
    out += ["- Guides", "    - [The sampler contract](extending.md)"]
    out += [
        "    - [The workbench (rlai sample)](workbench.md)",
        "    - [Planning (rlai solve, rlai plan)](planning.md)",
    ]
    out += ["    - [Sweeps and comparisons](experiments.md)"]
    out += ["- Results", "    - [Benchmarks](benchmarks.md)", "    - [Speed, threads and precision](performance.md)"]
    out += ["- Algorithms", "    - [Presets](reference/presets.md)", *listed("algorithms")]
    out += ["- Samplers", *listed("samplers")]
    out += ["- Reference", "    - [Command line](reference/cli.md)", "    - [Config fields](reference/config.md)"]
    out += ["    - [Run directory](reference/run-directory.md)", "    - [Logged metrics](reference/metrics.md)"]
    out += ["    - [Python API](reference/api.md)"]
    return "\n".join(out) + "\n"


with mkdocs_gen_files.open("reference/presets.md", "w") as f:
    f.write(presets_page())
with mkdocs_gen_files.open("SUMMARY.md", "w") as f:
    f.write(nav_page())
with mkdocs_gen_files.open("reference/cli.md", "w") as f:
    f.write(cli_page())
with mkdocs_gen_files.open("reference/config.md", "w") as f:
    f.write(config_page())
with mkdocs_gen_files.open("reference/metrics.md", "w") as f:
    f.write(metrics_page())
