"""Reading YAML with the line of every key, and refusing duplicate keys.

PyYAML's plain `safe_load` forgets positions and keeps the last of two equal keys silently;
composing the node tree first lets errors point at a line and a repeated key be an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from flusso_engine.schema.errors import KeyPath, problem


def read_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """The document at `path` as plain Python data, and the 1-based line of each key path."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise problem(path, "", f"cannot read the schema file ({exc.strerror})", "check the `schema` path in flusso.toml") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise problem(path, "", f"invalid YAML: {exc.problem}", "fix the YAML syntax at that line", line) from None
    except yaml.YAMLError as exc:
        raise problem(path, "", f"invalid YAML: {exc}", "fix the YAML syntax") from None
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _index_lines(path, node, (), lines)
    return data, lines


def _index_lines(path: Path, node: yaml.Node, at: KeyPath, lines: dict[KeyPath, int]) -> None:
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise problem(path, at + (key,), f"key `{key}` appears twice", "keep one of them", key_node.start_mark.line + 1)
            seen.add(key)
            _index_lines(path, value_node, at + (key,), lines)
            lines[at + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index_lines(path, item, at + (position,), lines)
