"""The flusso scalar types: which Postgres types each accepts and which OpenSearch type it maps to.

One table instead of per-type classes, because a type here is only a name with two bridges; the
schema model, the mapping generator and the (later) database check all read the same rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

ScalarType = Literal[
    "text", "identifier", "keyword", "enum", "uuid", "boolean", "short", "integer", "long",
    "float", "double", "decimal", "date", "timestamp", "binary", "json",
]
SCALAR_TYPES: tuple[str, ...] = get_args(ScalarType)

_TEXT_FAMILY = frozenset({"text", "character varying", "varchar", "character", "char", "bpchar", "citext", "name"})
_JSON_FAMILY = frozenset({"json", "jsonb"})


@dataclass(frozen=True, slots=True)
class TypeBridge:
    """How one flusso type reads from Postgres and lands in OpenSearch."""

    postgres: frozenset[str]
    opensearch: str


BRIDGES: dict[str, TypeBridge] = {
    "text": TypeBridge(_TEXT_FAMILY, "text"),
    "identifier": TypeBridge(_TEXT_FAMILY, "text"),
    "keyword": TypeBridge(_TEXT_FAMILY, "keyword"),
    "enum": TypeBridge(_TEXT_FAMILY, "keyword"),
    "uuid": TypeBridge(frozenset({"uuid"}), "keyword"),
    "boolean": TypeBridge(frozenset({"boolean", "bool"}), "boolean"),
    "short": TypeBridge(frozenset({"smallint", "int2", "smallserial"}), "short"),
    "integer": TypeBridge(frozenset({"integer", "int", "int4", "serial"}), "integer"),
    "long": TypeBridge(frozenset({"bigint", "int8", "bigserial"}), "long"),
    "float": TypeBridge(frozenset({"real", "float4"}), "float"),
    "double": TypeBridge(frozenset({"double precision", "float8"}), "double"),
    "decimal": TypeBridge(frozenset({"numeric", "decimal", "money"}), "double"),
    "date": TypeBridge(frozenset({"date"}), "date"),
    "timestamp": TypeBridge(
        frozenset({
            "timestamp", "timestamp without time zone", "timestamp with time zone", "timestamptz",
            "time", "time without time zone", "time with time zone", "timetz",
        }),
        "date",
    ),
    "binary": TypeBridge(frozenset({"bytea"}), "binary"),
    "json": TypeBridge(_JSON_FAMILY, "object"),
}

#: Types a `map`'s values may have: leaves OpenSearch can map dynamically without surprises.
MAP_VALUE_TYPES: tuple[str, ...] = (
    "text", "identifier", "keyword", "enum", "uuid", "short", "integer", "long", "float",
    "double", "decimal", "date", "timestamp",
)

#: Types an `ids` aggregate may collect: the ones primary keys are made of.
ID_ELEMENT_TYPES: tuple[str, ...] = ("short", "integer", "long", "keyword", "uuid", "text", "identifier")

#: Numeric column families a two-column geo point may read its lat/lon from.
GEO_COORDINATE_TYPES: tuple[str, ...] = ("short", "integer", "long", "float", "double", "decimal")

#: Column types a single-column geo point may read: JSON `{lat, lon}` / `[lon, lat]` or text `"lat,lon"`.
GEO_COLUMN_POSTGRES: frozenset[str] = _JSON_FAMILY | _TEXT_FAMILY

_MODIFIERS = re.compile(r"\(.*?\)|\[\]")


def normalize_pg_type(pg_type: str) -> str:
    """`character varying(20)[]` → `character varying`: the family name the tables use."""
    return " ".join(_MODIFIERS.sub("", pg_type).lower().split())


def accepts_pg(flusso_type: str, pg_type: str, *, pg_is_enum: bool = False) -> bool:
    """Whether a column of `pg_type` can feed a field of `flusso_type`.

    A Postgres enum type reports its own name, so the caller says when a column is one
    (`pg_type.typtype = 'e'`); it is text-like for `enum`, `keyword`, `text` and `identifier`.
    """
    family = normalize_pg_type(pg_type)
    if pg_is_enum and BRIDGES[flusso_type].postgres is _TEXT_FAMILY:
        return True
    return family in BRIDGES[flusso_type].postgres


def opensearch_type(flusso_type: str) -> str:
    return BRIDGES[flusso_type].opensearch
