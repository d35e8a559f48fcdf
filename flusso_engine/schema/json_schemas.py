"""Editor JSON Schemas for flusso.toml and *.schema.yml, generated from the models that parse them.

Generated, not hand-written, so the editor's completion can never drift from what the loader
accepts. Rules that span several keys (one type key per field, a join's key sibling) are the
loader's to enforce; the schema lists what each type key accepts.
"""

from __future__ import annotations

from typing import Any, Literal

from flusso_engine.schema.config_toml import ConfigToml
from flusso_engine.schema.index_yaml import IndexSchema

SchemaKind = Literal["config", "index"]
_TITLES = {"config": "flusso.toml", "index": "flusso index schema (*.schema.yml)"}


def json_schema(kind: SchemaKind) -> dict[str, Any]:
    model = ConfigToml if kind == "config" else IndexSchema
    body = model.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body, "title": _TITLES[kind]}
