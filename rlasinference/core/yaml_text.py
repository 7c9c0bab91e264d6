"""YAML as this project reads it: safe types only and no aliases.

Every YAML the tool reads (``--config``, ``--set`` values, sweep and grid specs, a run's
config.yaml, which ``rlai compare`` reads from runs it did not make) goes through ``load_yaml``.
PyYAML's safe loader still expands aliases, so a few hundred bytes of nested aliases expand to
gigabytes (a "billion laughs"); none of our files needs an alias, so any alias is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class AliasRefused(yaml.YAMLError):
    """A YAML alias (``*name``): refused, see the module docstring."""


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise AliasRefused(f"YAML aliases are not accepted (*{event.anchor}, line {event.start_mark.line + 1})")
        return super().compose_node(parent, index)


def load_yaml(text: str) -> Any:
    """``text`` parsed as YAML with safe types and no aliases; a ``yaml.YAMLError`` otherwise."""
    return yaml.load(text, Loader=_NoAliasLoader)


def read_yaml(path: Path) -> Any:
    """The YAML file ``path``, decoded as strict UTF-8: ``OSError``, ``UnicodeDecodeError`` (a
    ``ValueError``) or ``yaml.YAMLError`` when it cannot be read."""
    return load_yaml(path.read_bytes().decode("utf-8"))
