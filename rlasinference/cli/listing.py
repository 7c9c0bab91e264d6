"""``rlai list``: the registries, what each part is and which combinations are valid."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from rlasinference.cli.output import console


def valid_presets(sampler_cls: Any) -> str:
    """The presets a sampler can be used with: named, or, where that is shorter, as every preset
    of its action space but those it cannot."""
    from rlasinference.algorithms import PRESETS
    from rlasinference.samplers import SAMPLERS

    valid = [n for n, p in PRESETS if p.accepts(sampler_cls)]
    same_space = [n for n, p in PRESETS if SAMPLERS.get(p.parts()[0]).space == sampler_cls.space]
    others = [n for n in same_space if n not in valid]
    if len(valid) > 3 and set(valid) <= set(same_space) and len(others) < len(valid):
        return f"every {sampler_cls.space} preset" + (f" but {', '.join(others)}" if others else "")
    return ", ".join(valid) or "none"


def list_(
    long: Annotated[
        bool, typer.Option("--long", "-l", help="Every column: temperatures, options, what each part does.")
    ] = False,
) -> None:
    """Presets, samplers with their density kinds, and which combinations are valid."""
    from rlasinference.algorithms import PRESETS
    from rlasinference.critics import CRITICS, critic_options
    from rlasinference.objectives import OBJECTIVES
    from rlasinference.samplers import SAMPLERS
    from rlasinference.values import VALUE_ESTIMATORS

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
    for name, p in PRESETS:
        presets.add_row(name, *p.parts(), *((p.temperature,) if long else ()))
    samplers = table(
        "samplers (--sampler)",
        "name",
        "actions",
        "density",
        "valid with presets",
        *(("deterministic action",) if long else ()),
    )
    for name, cls in SAMPLERS:
        valid = valid_presets(cls)
        samplers.add_row(
            name, cls.space, cls.density, valid, *((cls.mode_rule or "best of N under Q",) if long else ())
        )
    parts = table(
        "objectives, value estimators (--set objective=..., value_estimator=...)",
        "kind",
        "name",
        "actions",
        "sampler densities",
        *(("what",) if long else ()),
    )
    for kind, reg in (("objective", OBJECTIVES), ("value estimator", VALUE_ESTIMATORS)):
        for name, comp in reg:
            what = (escape(comp.summary),) if long else ()
            parts.add_row(kind, name, ", ".join(comp.spaces), ", ".join(comp.accepts), *what)
    critics = table(
        "critics (--set critic=..., critic.<option>=...)",
        "name",
        "actions",
        "value estimators",
        *(("options", "what") if long else ()),
    )
    for name, critic in CRITICS:
        estimators = ", ".join(critic.value_estimators) if critic.value_estimators is not None else "any"
        extra = (", ".join(critic_options(critic)) or "-", escape(critic.summary)) if long else ()
        critics.add_row(name, critic.space, estimators, *extra)
    for made in (presets, samplers, parts, critics):
        console.print(made)
        console.print()
    if not long:
        console.print("more columns: rlai list --long")
