"""Random damage to valid configs is always reported as a ConfigError, never another exception."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flusso_engine.errors import ConfigError
from flusso_engine.schema import load_config

from conftest import FIXTURE_ENV, VALID

SCHEMAS = ["users.schema.yml", "orders.schema.yml", "schemas/products.schema.yml", "schemas/line_items.schema.yaml"]
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), st.text(max_size=6),
    st.lists(st.integers(0, 2), max_size=2), st.dictionaries(st.sampled_from(["a", "env", "raw", "keyword"]), st.integers(), max_size=2),
    st.sampled_from(["keyword", "has_many", "between", "in", "icu", "=>", "postgres://x", "Bad Name", ""]),
)


def _containers(node: Any, found: list[Any]) -> list[Any]:
    if isinstance(node, (dict, list)):
        found.append(node)
        for child in (node.values() if isinstance(node, dict) else node):
            _containers(child, found)
    return found


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """The document after one to three edits: drop, replace, rename or add a key; drop or duplicate an item."""
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(_containers(document, [])))
        if isinstance(target, dict) and target:
            key = draw(st.sampled_from(sorted(target, key=str)))
            action = draw(st.sampled_from(["drop", "replace", "rename", "add"]))
            if action == "drop":
                del target[key]
            elif action == "replace":
                target[key] = draw(JUNK)
            elif action == "rename":
                target[key + draw(st.sampled_from(["s", "_", "x"]))] = target.pop(key)
            else:
                target[draw(st.sampled_from(["required", "column", "limit", "through", "fields", "when", "env"]))] = draw(JUNK)
        elif isinstance(target, list) and target:
            position = draw(st.integers(0, len(target) - 1))
            if draw(st.booleans()):
                del target[position]
            else:
                target.append(target[position])
    return document


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(VALID, tmp_path / "valid")
    return tmp_path / "valid"


def _load(folder: Path) -> None:
    try:
        load_config(folder / "flusso.toml", environ=FIXTURE_ENV)
    except ConfigError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), name=st.sampled_from(SCHEMAS))
def test_mutated_schemas_raise_only_config_errors(workdir: Path, data: st.DataObject, name: str):
    original = yaml.safe_load((VALID / name).read_text())
    document = data.draw(mutated(original))
    (workdir / name).write_text(yaml.safe_dump(document, sort_keys=False))
    _load(workdir)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_config_text_raises_only_config_errors(workdir: Path, data: st.DataObject):
    lines = (VALID / "flusso.toml").read_text().splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(lines) - 1))
        replacement = data.draw(st.sampled_from(["", "x = 1", "[sinks.more]", 'type = "stdout"', "enabled = 3",
                                                 "[[index]]", 'name = "users"', "port = -1", '"', "url = {}"]))
        lines[position] = replacement
    (workdir / "flusso.toml").write_text("\n".join(lines) + "\n")
    _load(workdir)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("abc:-[]{}# \n'\"&*!|>0123")), max_size=80))
def test_arbitrary_yaml_text_raises_only_config_errors(workdir: Path, text: str):
    (workdir / "users.schema.yml").write_text(text)
    _load(workdir)
