"""OpenSearch mapping generation: a strict, fully typed mapping derived from the schema alone.

`dynamic: strict` makes a document that disagrees with its schema a visible rejection rather than
a silently guessed field. Text and keyword leaves get the reference's analyzers and subfields so
search, exact filtering and case-insensitive sort work without extra work; a field's `options`
are applied last, so the user always wins.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flusso_engine.schema.fields import (
    AvgField, ConstantField, CountField, CustomField, EnumField, FieldBase, GeoField, IdsField,
    JoinField, MapField, ObjectField, ScalarField, ValueAggregate,
)
from flusso_engine.schema.index_yaml import IndexSchema
from flusso_engine.schema.types import opensearch_type

KEYWORD_IGNORE_ABOVE = 256
_NON_ALNUM = re.compile(r"[^a-zA-Z0-9]")
#: Option keys that say the user decided how a json object is indexed.
_JSON_SHAPING_OPTIONS = frozenset({"dynamic", "enabled", "properties", "type"})


@dataclass(frozen=True, slots=True)
class MappingOptions:
    """The sink settings that shape a mapping (the rest of a sink's settings do not)."""

    text_analysis: Literal["builtin", "icu"] = "builtin"
    auto_subfields: bool = True


def build_mapping(schema: IndexSchema, options: MappingOptions = MappingOptions()) -> dict[str, Any]:
    """The index body's mapping part: analysis settings plus strict typed properties.

    Shard, replica and refresh settings are the sink's operational choice and are added there.
    """
    builder = _Builder(options)
    properties = builder.properties(schema.fields, ())
    return {
        "settings": {"analysis": builder.analysis()},
        "mappings": {"dynamic": "strict", "properties": properties},
    }


class _Builder:
    """Walks the field tree once, collecting the per-enum sort normalizers on the way."""

    def __init__(self, options: MappingOptions) -> None:
        self.options = options
        self.enum_sorts: dict[str, tuple[str, ...]] = {}

    def properties(self, fields: Sequence[FieldBase], at: tuple[str, ...]) -> dict[str, Any]:
        return {field.name: self.property(field, (*at, field.name)) for field in fields}

    def property(self, field: FieldBase, path: tuple[str, ...]) -> dict[str, Any]:
        if isinstance(field, ObjectField):
            body = {"type": "object", "properties": self.properties(field.fields, path)}
        elif isinstance(field, JoinField):
            body = {"type": "nested" if field.to_many else "object", "properties": self.properties(field.fields, path)}
        elif isinstance(field, MapField):
            body = {"type": "object", "dynamic": True}
        elif isinstance(field, ScalarField) and field.kind == "json":
            body = {"type": "object"} if _JSON_SHAPING_OPTIONS & field.options.keys() else {"type": "object", "enabled": False}
        elif isinstance(field, ConstantField):
            constant = _constant_type(field.value)
            body = {"type": "object", "enabled": False} if constant == "object" else self.leaf(constant)
        else:
            body = self.leaf(_leaf_type(field))
            if field.kind == "identifier":
                body["analyzer"] = "flusso_code"
            if isinstance(field, EnumField) and field.variants:
                body.setdefault("fields", {})["sort"] = self.enum_sort(path, field.variants)
        return {**body, **getattr(field, "options", {})}

    def leaf(self, mapping_type: str) -> dict[str, Any]:
        body: dict[str, Any] = {"type": mapping_type}
        if not self.options.auto_subfields:
            return body
        lowercase = {"type": "keyword", "normalizer": "flusso_lowercase", "ignore_above": KEYWORD_IGNORE_ABOVE}
        if mapping_type == "text":
            body["analyzer"] = "flusso_text"
            body["fields"] = {"keyword": {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}, "keyword_lowercase": lowercase}
        elif mapping_type == "keyword":
            body["fields"] = {"text": {"type": "text", "analyzer": "flusso_code"}, "keyword_lowercase": lowercase}
        return body

    def enum_sort(self, path: tuple[str, ...], variants: tuple[str, ...]) -> dict[str, Any]:
        name = "flusso_enumsort__" + _NON_ALNUM.sub("_", ".".join(path))
        self.enum_sorts[name] = variants
        return {"type": "keyword", "normalizer": name, "ignore_above": KEYWORD_IGNORE_ABOVE}

    def analysis(self) -> dict[str, Any]:
        icu = self.options.text_analysis == "icu"
        folding = "icu_folding" if icu else "asciifolding"
        text = (
            {"type": "custom", "tokenizer": "icu_tokenizer", "filter": ["icu_normalizer", "icu_folding"]}
            if icu else {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}
        )
        normalizers: dict[str, Any] = {
            "flusso_lowercase": {"type": "custom", "filter": ["icu_normalizer"] if icu else ["lowercase", "asciifolding"]},
        }
        char_filters: dict[str, Any] = {}
        for name, variants in self.enum_sorts.items():
            width = len(str(len(variants) - 1))
            char_filters[name] = {"type": "mapping", "mappings": [f"{v} => {rank:0{width}d}" for rank, v in enumerate(variants)]}
            normalizers[name] = {"type": "custom", "char_filter": [name]}
        analysis: dict[str, Any] = {
            "filter": {
                "flusso_word_delimiter": {"type": "word_delimiter_graph", "catenate_all": True, "preserve_original": True},
            },
            "analyzer": {
                "flusso_code": {
                    "type": "custom", "tokenizer": "whitespace",
                    "filter": ["flusso_word_delimiter", "flatten_graph", "lowercase", folding],
                },
                "flusso_text": text,
            },
            "normalizer": normalizers,
        }
        if char_filters:
            analysis["char_filter"] = char_filters
        return analysis


def _leaf_type(field: FieldBase) -> str:
    if isinstance(field, ScalarField):
        return opensearch_type(field.kind)
    if isinstance(field, CustomField):
        return field.opensearch
    if isinstance(field, GeoField):
        return "geo_point"
    if isinstance(field, CountField):
        return "long"
    if isinstance(field, AvgField):
        return "double"
    if isinstance(field, ValueAggregate):
        return opensearch_type(field.value_type)
    if isinstance(field, IdsField):
        return opensearch_type(field.element_type)
    raise TypeError(f"no leaf mapping for {type(field).__name__}")


def _constant_type(value: Any) -> str:
    """A constant's type follows its YAML shape; a list maps like its first element."""
    if isinstance(value, list):
        return _constant_type(value[0]) if value else "keyword"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, (dt.date, dt.datetime)):
        return "date"
    if isinstance(value, dict):
        return "object"
    return "keyword"
