"""The `*.schema.yml` file (schema version 1): one search document, read unchanged from flusso's format.

Parsing is pydantic over the plain YAML data; the rules the grammar cannot state (a soft-delete
field must be a column of the root row, relations need the root primary key, field names are
unique per level) are checked on the assembled schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from flusso_engine.schema.errors import KeyPath, RuleError, from_validation_error
from flusso_engine.schema.fields import (
    AGGREGATE_FIELDS, FIELD_MODELS, JOIN_FIELDS, AggregateField, ColumnSourced, FieldBase,
    FieldSpec, JoinField, ObjectField, allowed_keys,
)
from flusso_engine.schema.filters import Filters, OrderBy, Through
from flusso_engine.schema.primitives import FieldName, Identifier, Model, StrictInt
from flusso_engine.schema.yaml_source import read_yaml

SUPPORTED_VERSION = 1


class SoftDelete(Model):
    """Rows whose marker is truthy (true, or any non-null non-boolean) become tombstones."""

    column: Identifier | None = Field(default=None, description="Marker column of the root table.")
    field: FieldName | None = Field(default=None, description="A root-row field whose column is the marker.")
    when: Filters = Field(default=(), description="Only rows matching these filters are soft-deleted.")

    @model_validator(mode="after")
    def _one_marker(self) -> SoftDelete:
        if (self.column is None) == (self.field is None):
            raise RuleError("soft_delete needs exactly one of `column` or `field`", "give `column: <col>` or `field: <fieldName>`")
        return self


class IndexSchema(Model):
    """One search document: its root table, fields, soft delete and root filters."""

    version: StrictInt = Field(description="Schema format version; only 1 exists.", json_schema_extra={"enum": [1]})
    table: Identifier = Field(description="The root table.")
    db_schema: Identifier = Field(default="public", alias="schema", description="Database schema of every table read.")
    primary_key: Identifier | tuple[Identifier, ...] | None = Field(
        default=None, description="Root primary-key column (or columns); the document _id derives from it."
    )
    doc_id: Any = Field(default=None, description="Reserved: setting it is an error (the _id is the primary key).")
    soft_delete: SoftDelete | None = None
    filters: Filters = Field(default=(), description="Root filters: only matching rows become documents.")
    fields: tuple[FieldSpec, ...]

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The root primary-key columns, in key order (empty when none is declared)."""
        if self.primary_key is None:
            return ()
        return (self.primary_key,) if isinstance(self.primary_key, str) else self.primary_key

    @property
    def soft_delete_column(self) -> str | None:
        """The root column that marks a row deleted, whichever form declared it."""
        if self.soft_delete is None:
            return None
        if self.soft_delete.column is not None:
            return self.soft_delete.column
        return self._row_columns()[self.soft_delete.field]  # type: ignore[index]

    def tables(self) -> set[str]:
        """Every table the document reads: root, joined, aggregated and junction tables."""
        found = {self.table}
        for _, field in walk(self.fields):
            if isinstance(field, (JoinField, AggregateField)):
                found.add(field.table)
            through = getattr(field, "through", None)
            if isinstance(through, Through):
                found.add(through.table)
        return found

    def _row_columns(self) -> dict[str, str]:
        """Field name → column for the column fields of the root row (including object groups)."""
        columns: dict[str, str] = {}
        pending: list[FieldBase] = list(self.fields)
        while pending:
            field = pending.pop()
            if isinstance(field, ObjectField):
                pending.extend(field.fields)
            elif isinstance(field, ColumnSourced) and not isinstance(field, JoinField) and field.column:
                columns[field.name] = field.column
        return columns

    @field_validator("version")
    @classmethod
    def _supported_version(cls, version: int) -> int:
        if version != SUPPORTED_VERSION:
            raise RuleError(f"unsupported schema version {version}", f"set `version: {SUPPORTED_VERSION}`")
        return version

    @model_validator(mode="after")
    def _whole_schema_rules(self) -> IndexSchema:
        if self.doc_id is not None:
            raise RuleError("`doc_id` is not supported: the document _id is always the primary key", "remove `doc_id`")
        if self.soft_delete and self.soft_delete.field and self.soft_delete.field not in self._row_columns():
            raise RuleError(
                f"soft_delete.field `{self.soft_delete.field}` is not a column field of the root row",
                "name a scalar field of the root table (not a join, aggregate or constant), or use `column:`",
            )
        relations = [f.name for _, f in walk(self.fields) if isinstance(f, (JoinField, AggregateField))]
        if relations and not self.key_columns:
            raise RuleError(
                f"`{relations[0]}` reads a related table, which needs the root `primary_key`",
                "add `primary_key: <root key column>`",
            )
        _check_unique_names(self.fields, ())
        return self


def walk(fields: Sequence[FieldBase], at: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], FieldBase]]:
    """Every field at any depth with its document path, parents before children."""
    for field in fields:
        path = (*at, field.name)
        yield path, field
        yield from walk(getattr(field, "fields", ()), path)


def _check_unique_names(fields: Sequence[FieldBase], at: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for field in fields:
        if field.name in seen:
            where = ".".join(at) or "the document"
            raise RuleError(f"field name `{field.name}` is used twice in {where}", "rename one of the two fields")
        seen.add(field.name)
        _check_unique_names(getattr(field, "fields", ()), (*at, field.name))


_ROOT_KEYS = [info.alias or name for name, info in IndexSchema.model_fields.items()]
_NESTED_KEYS: dict[str, list[str]] = {
    "through": list(Through.model_fields),
    "order_by": list(OrderBy.model_fields),
    "soft_delete": [info.alias or name for name, info in SoftDelete.model_fields.items()],
    "filters": ["raw", "column", "op", "value"],
    "when": ["raw", "column", "op", "value"],
}
_TO_MANY = "a to-many join is always a non-null array: remove `required`"
_AGGREGATE_REQUIRED = "an aggregate's nullability is fixed by its op: remove `required`"
_HINTS: dict[tuple[str, str], str] = {
    ("belongs_to", "foreign_key"): "a `belongs_to` is keyed by `column` (this table's column pointing at the related row); "
    "if the related table points back here, use `has_one` or `has_many`",
    ("has_one", "column"): "`has_one` is keyed by `foreign_key` (the related table's column pointing back here); "
    "if this table holds the key, use `belongs_to`",
    ("has_many", "column"): "`has_many` is keyed by `foreign_key` (the related table's column pointing back here)",
    ("many_to_many", "foreign_key"): "`many_to_many` is keyed by `through: {table, left_key, right_key}`",
    ("many_to_many", "through"): "add `through: {table: <junction>, left_key: <col to this row>, right_key: <col to related row>}`",
    ("belongs_to", "order_by"): "a `belongs_to` target is unique: remove `order_by`",
    ("belongs_to", "limit"): "a `belongs_to` target is unique: remove `limit`",
    ("has_one", "limit"): "`has_one` already reads one row: remove `limit` (use `order_by` to choose which)",
    ("has_many", "required"): _TO_MANY,
    ("many_to_many", "required"): _TO_MANY,
    ("object", "required"): "an object is never null: remove `required`",
    ("custom", "transforms"): "a `custom` field takes no transforms: remove `transforms`",
    ("count", "column"): "`count` counts rows: remove `column`",
    ("count", "value_type"): "`count` is always a long: remove `value_type`",
    ("avg", "value_type"): "`avg` is always a double: remove `value_type`",
    ("ids", "column"): "`ids` collects the related table's primary key: remove `column`",
    ("ids", "value_type"): "`ids` takes its type from `element_type`: rename `value_type` to `element_type`",
    ("sum", "value_type"): "add `value_type: <flusso type of the column>` (e.g. integer, decimal)",
    ("min", "value_type"): "add `value_type: <flusso type of the column>` (e.g. integer, date)",
    ("max", "value_type"): "add `value_type: <flusso type of the column>` (e.g. integer, date)",
    ("ids", "element_type"): "add `element_type: long` (or keyword, uuid, ...)",
    ("map", "values"): "add `values: <leaf type>` (e.g. text, keyword, integer)",
    ("custom", "postgres"): "add `postgres: [<pg type>, ...]` (the column types accepted)",
    ("custom", "opensearch"): "add `opensearch: <mapping type>` (e.g. scaled_float)",
    ("has_one", "foreign_key"): "add `foreign_key: <related table's column pointing back here>`",
    ("has_many", "foreign_key"): "add `foreign_key: <related table's column pointing back here>`",
}
_HINTS.update({(op, "element_type"): "`element_type` applies to `ids` only; sum/min/max use `value_type`"
               for op in ("count", "sum", "avg", "min", "max")})
_HINTS.update({(op, "required"): _AGGREGATE_REQUIRED for op in AGGREGATE_FIELDS})


class _IndexKeyGuide:
    """Where an index-schema key is wrong, the keys and fixes that apply at that place."""

    def allowed_keys(self, path: KeyPath, mapping: Mapping[str, Any]) -> Sequence[str]:
        tag = _tag_of(mapping)
        if tag:
            return allowed_keys(tag)
        if not path:
            return _ROOT_KEYS
        named = [part for part in path if isinstance(part, str)]
        return _NESTED_KEYS.get(named[-1], []) if named else []

    def hint(self, path: KeyPath, mapping: Mapping[str, Any], key: str) -> str | None:
        tag = _tag_of(mapping)
        if tag is None:
            return None
        if key == "required" and tag not in JOIN_FIELDS and tag not in AGGREGATE_FIELDS and tag != "object":
            return "add `required: true` (never null) or `required: false` (may be null)"
        return _HINTS.get((tag, key))


def _tag_of(mapping: Mapping[str, Any]) -> str | None:
    tags = [key for key in mapping if key in FIELD_MODELS]
    return tags[0] if len(tags) == 1 else None


INDEX_KEY_GUIDE = _IndexKeyGuide()


def parse_index_schema(path: Path) -> IndexSchema:
    """Read and validate one schema file; every problem is reported with its key and line."""
    data, lines = read_yaml(path)
    try:
        return IndexSchema.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, path, data, INDEX_KEY_GUIDE, lines) from None
