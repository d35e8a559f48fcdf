"""Row conditions as SQL: schema filters, the soft-delete predicate, key matches.

Values from the schema are inlined as quoted literals cast to their column's catalog type, so a
filter compares as its column does (numeric, timestamptz, enum) and the document statement of
an index is fixed text that only takes the batch's keys as parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from psycopg import sql

from flusso_engine.documents.catalog import TableInfo
from flusso_engine.documents.sqltext import literal, name, verbatim
from flusso_engine.schema.filters import Filter, NullFilter, RawFilter, ValueFilter

_COMPARISONS = {
    "eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "like": "LIKE", "ilike": "ILIKE",
}


def text_literal(value: Any) -> sql.Composable:
    """A YAML scalar as the text Postgres' input functions read (booleans as true/false, ISO dates)."""
    if isinstance(value, bool):
        return literal("true" if value else "false")
    if isinstance(value, (dt.date, dt.datetime)):
        return literal(value.isoformat())
    return literal(str(value))


def typed(value: Any, sql_type: str) -> sql.Composable:
    return sql.SQL("CAST({} AS {})").format(text_literal(value), verbatim(sql_type))


def column(alias: str, column_name: str) -> sql.Composable:
    return name(alias, column_name)


def filter_condition(condition: Filter, alias: str, table: TableInfo, used_by: str) -> sql.Composable:
    """One filter on `alias`'s row. Raw filters are the schema author's SQL, kept verbatim."""
    if isinstance(condition, RawFilter):
        return sql.SQL("({})").format(verbatim(condition.raw))
    target = column(alias, condition.column)
    if isinstance(condition, NullFilter):
        return sql.SQL("{} IS NULL" if condition.op == "is_null" else "{} IS NOT NULL").format(target)
    assert isinstance(condition, ValueFilter)
    sql_type = table.type_of(condition.column, used_by)
    value = condition.value
    if condition.op == "between":
        low, high = value  # type: ignore[misc]
        return sql.SQL("{} BETWEEN {} AND {}").format(target, typed(low, sql_type), typed(high, sql_type))
    if condition.op in ("in", "not_in"):
        items = sql.SQL(", ").join(typed(v, sql_type) for v in value)  # type: ignore[union-attr]
        keyword = "IN" if condition.op == "in" else "NOT IN"
        return sql.SQL("{} {} ({})").format(target, sql.SQL(keyword), items)
    return sql.SQL("{} {} {}").format(target, sql.SQL(_COMPARISONS[condition.op]), typed(value, sql_type))


def all_of(conditions: Sequence[sql.Composable]) -> sql.Composable:
    """Conditions joined by AND; TRUE when there are none, so callers need no special case."""
    return sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("TRUE")


def soft_deleted(alias: str, marker: str, table: TableInfo, when: Sequence[sql.Composable]) -> sql.Composable:
    """A row is soft-deleted when its marker is true (boolean) or set (any other type), and `when` holds."""
    target = column(alias, marker)
    is_set = sql.SQL("coalesce({}, false)" if table.type_of(marker, "soft_delete") == "boolean" else "{} IS NOT NULL")
    return all_of([is_set.format(target), *when])


def array_of(sql_type: str) -> sql.Composable:
    return verbatim(f"{sql_type}[]")


def key_in(alias: str, columns: Sequence[str], table: TableInfo) -> sql.Composable:
    """`alias`'s key columns among the keys bound as one text array per column (one parameter each)."""
    types = [table.type_of(c, "key") for c in columns]
    if len(columns) == 1:
        return sql.SQL("{} = ANY(CAST(%s AS {}))").format(column(alias, columns[0]), array_of(types[0]))
    targets = sql.SQL(", ").join(column(alias, c) for c in columns)
    arrays = sql.SQL(", ").join(sql.SQL("CAST(%s AS {})").format(array_of(t)) for t in types)
    return sql.SQL("({}) IN (SELECT * FROM unnest({}))").format(targets, arrays)
