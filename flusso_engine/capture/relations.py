"""The relation cache: what a pgoutput relation id means to us, and how its rows are keyed.

Keys come from the table's catalog primary key, never from pgoutput's replica-identity flags:
those flags mark every column under REPLICA IDENTITY FULL and an index's columns under USING
INDEX, and a key that changes with a table setting is not a key (the reference's mistake).
Values stay in Postgres text form, the canonical RowKey form, so a key from the WAL equals the
key `pk::text` reads back for every type. Relations outside the capture's table set are never
looked up or validated: an unrelated table in a shared publication cannot stop the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import psycopg

from flusso_engine.capture.pgoutput import UNCHANGED, Relation, TupleData
from flusso_engine.errors import CaptureError
from flusso_engine.model import RowKey, TableRef

_PRIMARY_KEY_BY_OID = """
SELECT a.attname
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s AND i.indisprimary
ORDER BY k.position
"""

_RELATION_OID = """
SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s
"""


def primary_key_columns(conn: psycopg.Connection, table: TableRef | int) -> tuple[str, ...]:
    """The table's primary-key column names in key order; CaptureError when it has none."""
    oid = table if isinstance(table, int) else _relation_oid(conn, table)
    rows = conn.execute(_PRIMARY_KEY_BY_OID, (oid,)).fetchall()
    if not rows:
        raise CaptureError(
            f"table {table} has no primary key; flusso keys documents and changes by it. "
            "Fix: ALTER TABLE ... ADD PRIMARY KEY (...)"
        )
    return tuple(name for (name,) in rows)


def _relation_oid(conn: psycopg.Connection, table: TableRef) -> int:
    row = conn.execute(_RELATION_OID, (table.schema, table.name)).fetchone()
    if row is None:
        raise CaptureError(f"table {table} does not exist")
    return int(row[0])


@dataclass(frozen=True, slots=True)
class RelationInfo:
    """One relation of the capture's table set, as its latest Relation message described it."""

    table: TableRef
    columns: tuple[str, ...]
    #: Tuple positions of the primary-key columns, in primary-key order.
    key_positions: tuple[int, ...]
    #: Tuple positions an old 'K' tuple really carries (the replica identity's columns).
    identity_positions: tuple[int, ...]
    #: How many leading columns of a tuple hold every key column: all a new tuple is read for.
    key_end: int

    def key(self, values: TupleData) -> RowKey | None:
        """The canonical key of a tuple, or None when the tuple lacks a key column's value."""
        key = tuple([values[i] for i in self.key_positions])
        if None in key or UNCHANGED in key:
            return None
        return key  # type: ignore[return-value]  # checked: every value is a str

    def old_key(self, kind: str, values: TupleData) -> RowKey | None:
        """The key an old tuple carries; None when its replica identity does not include the PK."""
        if kind == "K" and not set(self.key_positions) <= set(self.identity_positions):
            return None
        return self.key(values)

    def old_values(self, kind: str, values: TupleData) -> dict[str, str | None]:
        """The columns an old tuple truly provides: all of them for 'O' (REPLICA IDENTITY FULL),
        only the identity columns for 'K' (the others are sent as NULLs that mean "unknown"),
        and never an unchanged-TOAST placeholder."""
        positions = self.identity_positions if kind == "K" else range(len(self.columns))
        columns = self.columns
        return {columns[i]: values[i] for i in positions if values[i] is not UNCHANGED}  # type: ignore[misc]


class RelationCache:
    """Relation id → RelationInfo for the tables the capture follows.

    `primary_key` is asked once per Relation message of a followed table (the server resends
    the message after a schema change, so a changed key is picked up too).
    """

    def __init__(
        self, tables: Collection[TableRef], primary_key: Callable[[int], tuple[str, ...]]
    ) -> None:
        self._tables = frozenset(tables)
        self._primary_key = primary_key
        self._known: dict[int, RelationInfo] = {}

    def learn(self, relation: Relation) -> None:
        table = TableRef(relation.namespace, relation.name)
        if table not in self._tables:
            self._known.pop(relation.oid, None)
            return
        columns = tuple(column.name for column in relation.columns)
        position = {name: i for i, name in enumerate(columns)}
        key_columns = self._primary_key(relation.oid)
        missing = [name for name in key_columns if name not in position]
        if missing:
            raise CaptureError(
                f"table {table}: primary-key column(s) {', '.join(missing)} are not in the "
                "replicated columns; a publication column list must include the primary key"
            )
        key_positions = tuple(position[name] for name in key_columns)
        self._known[relation.oid] = RelationInfo(
            table=table,
            columns=columns,
            key_positions=key_positions,
            identity_positions=tuple(
                i for i, column in enumerate(relation.columns) if column.in_replica_identity
            ),
            key_end=max(key_positions) + 1,
        )

    def get(self, oid: int) -> RelationInfo | None:
        """The relation if the capture follows it, else None (its changes are skipped)."""
        return self._known.get(oid)
