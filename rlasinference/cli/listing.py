"""``rlai list``: the registries, what each part is and which combinations are valid."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from rlasinference.cli.output import console


def valid_presets(sampler: dict[str, Any], presets: dict[str, dict[str, Any]], samplers: dict[str, Any]) -> str:
    """The presets a sampler can be used with: named, or, where that is shorter, as every preset
    of its action space but those it cannot."""
    valid = sampler["valid_presets"]
    space = sampler["actions"]
    same_space = [n for n, p in presets.items() if samplers[p["sampler"]]["actions"] == space]
    others = [n for n in same_space if n not in valid]
    if len(valid) > 3 and set(valid) <= set(same_space) and len(others) < len(valid):
        return f"every {space} preset" + (f" but {', '.join(others)}" if others else "")
    return ", ".join(valid) or "none"


def list_(
    long: Annotated[
        bool, typer.Option("--long", "-l", help="Every column: temperatures, options, what each part does.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print everything as JSON (rlasinference.components()).")
    ] = False,
) -> None:
    """Presets, samplers with their density kinds, and which combinations are valid."""
    from rlasinference.api.catalog import components

    listed = components()
    if as_json:
        typer.echo(json.dumps(listed, indent=2))
        return

    def table(title: str, *columns: str) -> Table:
        # one line per row unless --long: a cell too wide for the terminal ends in "..."
        made = Table(
            title=title,
            box=box.HEAVY_HEAD if long else None,
            title_justify="left",
            pad_edge=False,
            min_width=len(title),
        )
        for col in columns:
            made.add_column(col, no_wrap=not long, overflow="fold" if long else "ellipsis")
        return made

    presets = table(
        "presets (--algo)",
        "name",
        "sampler",
        "objective",
        "value estimator",
        "critic",
        *(("temperature",) if long else ()),
    )
    for name, p in listed["presets"].items():
        parts_of = (p["sampler"], p["objective"], p["value_estimator"], p["critic"])
        presets.add_row(name, *parts_of, *((p["temperature"],) if long else ()))
    samplers = table(
        "samplers (--sampler)",
        "name",
        "actions",
        "density",
        "valid with presets",
        *(("deterministic action",) if long else ()),
    )
    for name, smp in listed["samplers"].items():
        valid = valid_presets(smp, listed["presets"], listed["samplers"])
        samplers.add_row(name, smp["actions"], smp["density"], valid, *((smp["deterministic_action"],) if long else ()))
    parts = table(
        "objectives, value estimators (--set objective=..., value_estimator=...)",
        "kind",
        "name",
        "actions",
        "sampler densities",
        *(("what",) if long else ()),
    )
    for kind, key in (("objective", "objectives"), ("value estimator", "value_estimators")):
        for name, comp in listed[key].items():
            what = (escape(comp["summary"]),) if long else ()
            parts.add_row(kind, name, ", ".join(comp["actions"]), ", ".join(comp["sampler_densities"]), *what)
    critics = table(
        "critics (--set critic=..., critic.<option>=...)",
        "name",
        "actions",
        "value estimators",
        *(("options", "what") if long else ()),
    )
    for name, critic in listed["critics"].items():
        estimators = ", ".join(critic["value_estimators"]) if critic["value_estimators"] is not None else "any"
        extra = (", ".join(critic["options"]) or "-", escape(critic["summary"])) if long else ()
        critics.add_row(name, critic["actions"], estimators, *extra)
    for made in (presets, samplers, parts, critics):
        console.print(made)
        console.print()
    if not long:
        console.print("more columns: rlai list --long")
