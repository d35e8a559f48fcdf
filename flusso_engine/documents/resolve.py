"""Reverse lookups: which documents a batch of changed rows affects.

Set-based: for each relation that reads a changed table, one statement per hop for the whole
batch. A relation's changed rows become the keys of their parent rows, hop by hop up to the
root. The old tuple (`old_values`, present with REPLICA IDENTITY FULL) is read beside the
current row, so a deleted child or one moved to another parent rebuilds the parent it left.

TRUNCATE of any table an index reads returns every current root key of that index (a truncated
root table then has none left: the engine handles that case, not resolve).

Each lookup statement is composed once and then reused, so the connection renders it once
(see source.py): a batch takes a handful of hops, and rendering each anew cost more than running it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from psycopg import sql

from flusso_engine.documents.catalog import TableInfo
from flusso_engine.documents.conditions import array_of, column, key_in
from flusso_engine.documents.plan import IndexPlan, LinkKind, Relation
from flusso_engine.documents.source import SourceConnection
from flusso_engine.documents.sqltext import name
from flusso_engine.model import Change, Op, RowKey, TableRef

_LOOKUP = "t"


class Resolver:
    def __init__(self, source: SourceConnection, plans: Mapping[str, IndexPlan]) -> None:
        self._source = source
        self._plans = plans
        self._statements: dict[tuple[object, ...], sql.Composable] = {}

    def resolve(self, changes: Sequence[Change]) -> dict[str, set[RowKey]]:
        by_table: dict[TableRef, list[Change]] = defaultdict(list)
        for change in changes:
            by_table[change.table].append(change)
        affected: dict[str, set[RowKey]] = {}
        for index, plan in self._plans.items():
            keys = self._index_keys(plan, by_table)
            if keys:
                affected[index] = keys
        return affected

    def _index_keys(self, plan: IndexPlan, by_table: Mapping[TableRef, list[Change]]) -> set[RowKey]:
        touched = [c for ref in plan.tables() for c in by_table.get(ref, ())]
        if any(c.op is Op.TRUNCATE for c in touched):
            return self._all_keys(plan)
        keys: set[RowKey] = set()
        for change in by_table.get(plan.root.ref, ()):
            keys.add(change.key)
            if change.old_key is not None:
                keys.add(change.old_key)
        for relation in plan.relations.values():
            values = self._entry_values(relation, by_table)
            keys.update((value,) for value in self._climb(plan, relation, values))
        return keys

    def _entry_values(self, relation: Relation, by_table: Mapping[TableRef, list[Change]]) -> set[str]:
        """Key values of the parent rows that the batch's changes of this relation's tables touch."""
        link = relation.link
        parents: set[str] = set()
        changed = by_table.get(relation.table.ref, ())
        if changed:
            if link.kind is LinkKind.DIRECT:
                parents |= self._row_values(relation.table, link.column, changed)
            else:
                assert relation.key is not None
                parents |= self._hop(relation, self._row_values(relation.table, relation.key, changed))
        if link.junction is not None and link.junction.ref in by_table:
            parents |= self._row_values(link.junction, link.left_key, by_table[link.junction.ref])
        return parents

    def _climb(self, plan: IndexPlan, relation: Relation, values: set[str]) -> set[str]:
        """From parent-row key values up to root key values, one set-based hop per level."""
        parent_path = relation.parent_path
        while values and parent_path is not None:
            parent = plan.relation(parent_path)
            values = self._hop(parent, values)
            parent_path = parent.parent_path
        return values

    def _hop(self, relation: Relation, keys: set[str]) -> set[str]:
        """Rows of `relation.table` named by their `key` values → key values of their parent rows."""
        if not keys:
            return set()
        link = relation.link
        if link.kind is LinkKind.DIRECT:
            assert relation.key is not None
            return self._select(relation.table, link.column, relation.key, keys)
        if link.kind is LinkKind.BELONGS_TO:
            return self._select(relation.parent, relation.parent_key, link.parent_column, keys)
        assert link.junction is not None
        return self._select(link.junction, link.left_key, link.right_key, keys)

    def _select(self, table: TableInfo, wanted: str, matched: str, values: Iterable[str]) -> set[str]:
        """`wanted` of every row of `table` whose `matched` is among `values` (as canonical text)."""
        statement = self._statement(("select", table.ref, wanted, matched), lambda: sql.SQL(
            "SELECT DISTINCT CAST({} AS text) FROM {} AS {} WHERE {} = ANY(CAST(%s AS {}))"
        ).format(
            column(_LOOKUP, wanted), name(table.ref.schema, table.ref.name), name(_LOOKUP),
            column(_LOOKUP, matched), array_of(table.type_of(matched, "resolve")),
        ))
        return self._values(statement, [list(values)])

    def _row_values(self, table: TableInfo, wanted: str, changes: Sequence[Change]) -> set[str]:
        """`wanted` of the changed rows: from their keys when it is a key column, else from the old
        tuple and from the current rows (a deleted row has only its old tuple)."""
        if wanted in table.primary_key:
            position = table.primary_key.index(wanted)
            keys = [c.key for c in changes] + [c.old_key for c in changes if c.old_key is not None]
            return {key[position] for key in keys if len(key) > position}
        found = {
            value for c in changes if c.old_values for value in [c.old_values.get(wanted)] if value is not None
        }
        live = [c.key for c in changes if c.op is not Op.DELETE]
        if live and table.primary_key:
            statement = self._statement(("row", table.ref, wanted), lambda: sql.SQL(
                "SELECT DISTINCT CAST({} AS text) FROM {} AS {} WHERE {}"
            ).format(
                column(_LOOKUP, wanted), name(table.ref.schema, table.ref.name), name(_LOOKUP),
                key_in(_LOOKUP, table.primary_key, table),
            ))
            found |= self._values(statement, [[key[i] for key in live] for i in range(len(table.primary_key))])
        return found

    def _statement(self, key: tuple[object, ...], compose: Callable[[], sql.Composable]) -> sql.Composable:
        """The statement for `key`, composed on first use and the same object ever after."""
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = compose()
        return statement

    def _all_keys(self, plan: IndexPlan) -> set[RowKey]:
        root = plan.root
        statement = sql.SQL("SELECT {} FROM {} AS {}").format(
            sql.SQL(", ").join(sql.SQL("CAST({} AS text)").format(column(_LOOKUP, c)) for c in plan.root_key),
            name(root.ref.schema, root.ref.name), name(_LOOKUP),
        )
        return {tuple(row) for row in self._source.rows(statement)}

    def _values(self, statement: sql.Composable, params: list[list[str]]) -> set[str]:
        return {value for (value,) in self._source.rows(statement, params) if value is not None}
