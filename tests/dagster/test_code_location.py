"""The code location that workspace.yaml names loads."""

from __future__ import annotations

import importlib

import dagster as dg
import yaml

from dev.home import PROJECT_ROOT


def test_workspace_names_a_loadable_code_location() -> None:
    workspace = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())
    target = workspace["load_from"][0]["python_module"]
    module = importlib.import_module(target["module_name"])
    defs = getattr(module, target["attribute"])
    dg.Definitions.validate_loadable(defs)
