"""What the builder needs to know of each table from the Postgres catalog: column types and key.

Read once at start-up, so that every key and filter value can be bound as text and cast to its
column's exact type (`format_type`, modifiers included) without a catalog query per batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flusso_engine.documents.source import SourceConnection
from flusso_engine.errors import BuildError
from flusso_engine.model import TableRef

_COLUMNS = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       array_position(i.indkey::int2[], a.attnum)
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_index AS i ON i.indrelid = c.oid AND i.indisprimary
WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
ORDER BY a.attnum
"""


@dataclass(frozen=True, slots=True)
class TableInfo:
    """One table: its columns' SQL types and its primary-key columns in key order."""

    ref: TableRef
    columns: dict[str, str]
    primary_key: tuple[str, ...]

    def type_of(self, column: str, used_by: str) -> str:
        """The column's SQL type; a missing column is the user's to fix, so it says where."""
        try:
            return self.columns[column]
        except KeyError:
            raise BuildError(f"{used_by}: table {self.ref} has no column {column!r}") from None

    def single_key(self, used_by: str) -> str:
        """The one primary-key column a relation or a key lookup joins on."""
        if len(self.primary_key) != 1:
            shape = "no primary key" if not self.primary_key else f"a composite primary key {self.primary_key}"
            raise BuildError(f"{used_by}: table {self.ref} has {shape}; it needs a single-column primary key")
        return self.primary_key[0]


class Catalog:
    """The tables of every index, looked up in one catalog query."""

    def __init__(self, tables: dict[TableRef, TableInfo]) -> None:
        self._tables = tables

    @classmethod
    def load(cls, source: SourceConnection, refs: Iterable[TableRef]) -> Catalog:
        refs = sorted(set(refs))
        columns: dict[TableRef, dict[str, str]] = {ref: {} for ref in refs}
        keys: dict[TableRef, dict[int, str]] = {ref: {} for ref in refs}
        rows = source.rows(_COLUMNS, ([r.schema for r in refs], [r.name for r in refs]))
        for schema, table, column, sql_type, key_position in rows:
            ref = TableRef(schema, table)
            columns[ref][column] = sql_type
            if key_position is not None:
                keys[ref][key_position] = column
        return cls({
            ref: TableInfo(ref, columns[ref], tuple(keys[ref][p] for p in sorted(keys[ref])))
            for ref in refs if columns[ref]
        })

    def table(self, ref: TableRef, used_by: str) -> TableInfo:
        try:
            return self._tables[ref]
        except KeyError:
            raise BuildError(f"{used_by}: table {ref} does not exist (or is not visible to this role)") from None
