"""Every table and column an index reads, held against the database: existence, type, nullability.

The whole schema is walked even after a problem, so one `flusso check` lists everything to fix,
each finding named by index and field path. A missing table is reported once per index and its
columns are not reported again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from psycopg import sql

from flusso_engine.documents.catalog import Catalog
from flusso_engine.model import TableRef
from flusso_engine.preflight.diagnostics import Diagnostic, error, warning
from flusso_engine.preflight.facts import ColumnFacts, TableFacts
from flusso_engine.schema.config import Index
from flusso_engine.schema.errors import did_you_mean
from flusso_engine.schema.fields import (
    AggregateField, AvgField, BelongsToField, ColumnSourced, CustomField, FieldBase, GeoField,
    HasManyField, HasOneField, IdsField, JoinField, ManyToManyField, MapField, ObjectField,
    ValueAggregate,
)
from flusso_engine.schema.filters import Filters, Through
from flusso_engine.schema.types import (
    GEO_COLUMN_POSTGRES, GEO_COORDINATE_TYPES, SCALAR_TYPES, accepts_pg, normalize_pg_type,
)

Path = tuple[str, ...]

#: The numeric families: what an average or a geo coordinate can be computed from.
NUMERIC_TYPES = GEO_COORDINATE_TYPES


@dataclass(frozen=True, slots=True)
class Database:
    """What the walk reads: the builder's catalog (types, keys) and the check's own table facts."""

    catalog: Catalog
    tables: dict[TableRef, TableFacts]
    role: str


@dataclass(frozen=True, slots=True)
class Expectation:
    """The column types a field can read, by flusso type or by literal Postgres type names."""

    label: str
    flusso_types: tuple[str, ...] = ()
    postgres: frozenset[str] = frozenset()

    def accepts(self, sql_type: str, column: ColumnFacts) -> bool:
        """A domain is judged by the type it is over; an enum (or enum array) is text-like."""
        candidates = [sql_type] if column.domain_base is None else [sql_type, column.domain_base]
        return any(self._accepts(candidate, column.is_enum) for candidate in candidates)

    def _accepts(self, sql_type: str, is_enum: bool) -> bool:
        family = normalize_pg_type(sql_type)
        if family in self.postgres or family.rsplit(".", 1)[-1] in self.postgres:
            return True
        return any(accepts_pg(t, sql_type, pg_is_enum=is_enum) for t in self.flusso_types)


def _of_type(flusso_type: str) -> Expectation:
    return Expectation(f"`{flusso_type}`", (flusso_type,))


#: Postgres widens a sum: sum(smallint|integer) is bigint and sum(bigint) is numeric.
_SUMMED_INTO: dict[str, tuple[str, ...]] = {"long": ("short", "integer"), "decimal": ("long",)}

_NUMBER = Expectation("a number", NUMERIC_TYPES)
_GEO_COLUMN = Expectation("json, jsonb or text (a geo point)", postgres=GEO_COLUMN_POSTGRES)


def check_columns(index: Index, database: Database) -> list[Diagnostic]:
    walk = _IndexWalk(index, database)
    walk.run()
    return walk.diagnostics


@dataclass
class _IndexWalk:
    index: Index
    database: Database
    diagnostics: list[Diagnostic] = field(default_factory=list)
    _seen: dict[TableRef, TableFacts | None] = field(default_factory=dict)

    def run(self) -> None:
        schema = self.index.index_schema
        root = self._table(schema.table, ())
        keys = set(schema.key_columns)
        if root is not None:
            keys = keys or set(self.database.catalog.table(root.ref, self.index.name).primary_key)
            for column in schema.key_columns:
                self._column(root, column, (), "primary_key")
            if schema.soft_delete_column is not None:
                self._column(root, schema.soft_delete_column, (), "soft_delete")
            if schema.soft_delete is not None:
                self._filters(root, schema.soft_delete.when, (), "soft_delete.when")
            self._filters(root, schema.filters, (), "filters")
        self._fields(schema.fields, (), root, keys)

    # -- the schema walk ---------------------------------------------------------------------

    def _fields(self, fields: Sequence[FieldBase], at: Path, table: TableFacts | None, keys: set[str]) -> None:
        for spec in fields:
            path = (*at, spec.name)
            if isinstance(spec, ObjectField):
                self._fields(spec.fields, path, table, keys)
            elif isinstance(spec, JoinField):
                self._join(spec, path, table)
            elif isinstance(spec, AggregateField):
                self._aggregate(spec, path)
            elif isinstance(spec, GeoField):
                self._geo(spec, path, table, keys)
            elif isinstance(spec, ColumnSourced) and table is not None:
                self._leaf(spec, path, table, keys)

    def _join(self, join: JoinField, path: Path, parent: TableFacts | None) -> None:
        if isinstance(join, BelongsToField) and parent is not None:
            found = self._column(parent, join.column, path, "column")
            if found is not None and join.required and found[1].nullable:
                self._nullable(path, parent, join.column, "the object")
        related = self._table(join.table, path)
        if related is not None:
            self._column(related, join.primary_key, path, "primary_key")
            if isinstance(join, (HasOneField, HasManyField)):
                self._column(related, join.foreign_key, path, "foreign_key")
            self._filters(related, join.filters, path, "filters")
            for order in getattr(join, "order_by", ()):
                self._column(related, order.column, path, "order_by")
        if isinstance(join, ManyToManyField):
            self._through(join.through, path)
        self._fields(join.fields, path, related, {join.primary_key})

    def _aggregate(self, aggregate: AggregateField, path: Path) -> None:
        related = self._table(aggregate.table, path)
        if aggregate.through is not None:
            self._through(aggregate.through, path)
        if related is None:
            return
        if aggregate.foreign_key is not None:
            self._column(related, aggregate.foreign_key, path, "foreign_key")
        self._filters(related, aggregate.filters, path, "filters")
        if isinstance(aggregate, AvgField):
            self._typed(related, aggregate.column, path, _NUMBER)
        elif isinstance(aggregate, ValueAggregate):
            self._typed(related, aggregate.column, path, _aggregated(aggregate))
        elif isinstance(aggregate, IdsField):
            key = self.database.catalog.table(related.ref, self.index.name).primary_key
            if len(key) == 1:
                self._typed(related, key[0], path, _of_type(aggregate.element_type), key="element_type")

    def _geo(self, geo: GeoField, path: Path, table: TableFacts | None, keys: set[str]) -> None:
        if table is None:
            return
        if geo.lat is not None and geo.lon is not None:
            for column in (geo.lat, geo.lon):
                self._typed(table, column, path, _NUMBER, required=geo.required and column not in keys)
        elif geo.column is not None:
            self._typed(table, geo.column, path, _GEO_COLUMN, required=geo.required and geo.column not in keys)

    def _leaf(self, leaf: ColumnSourced, path: Path, table: TableFacts, keys: set[str]) -> None:
        column = leaf.column
        if isinstance(leaf, CustomField):
            expected = Expectation(
                "one of " + ", ".join(leaf.postgres), postgres=frozenset(normalize_pg_type(t) for t in leaf.postgres)
            )
        elif isinstance(leaf, MapField):
            expected = _of_type("json")
        else:
            expected = _of_type(leaf.kind)
        required = getattr(leaf, "required", False) and getattr(leaf, "default", None) is None
        self._typed(table, column, path, expected, required=required and column not in keys)

    def _through(self, through: Through, path: Path) -> None:
        junction = self._table(through.table, path)
        if junction is not None:
            self._column(junction, through.left_key, path, "through.left_key")
            self._column(junction, through.right_key, path, "through.right_key")

    def _filters(self, table: TableFacts, filters: Filters, path: Path, key: str) -> None:
        for condition in filters:
            column = getattr(condition, "column", None)
            if column is not None:
                self._column(table, column, path, key)

    # -- the checks --------------------------------------------------------------------------

    def _table(self, name: str, path: Path) -> TableFacts | None:
        """The table's facts, reporting (once per index) a table that is missing or unusable."""
        ref = TableRef(self.index.index_schema.db_schema, name)
        if ref in self._seen:
            return self._seen[ref]
        table = self.database.tables.get(ref)
        self._seen[ref] = table
        where = _where(path, "table")
        if table is None:
            self._error(where, f"table {ref} does not exist (or is not visible to role {self.database.role!r})",
                        f"create the table, or correct `table: {name}` (tables are read from schema {ref.schema!r})")
        elif not table.is_table:
            self._error(where, f"{ref} is not a table (pg_class.relkind {table.kind!r}); its changes cannot be captured",
                        "point the index at the underlying table(s)")
        elif not table.can_select:
            grant = sql.SQL("GRANT SELECT ON {} TO {};").format(_qualified(ref), sql.Identifier(self.database.role))
            self._error(where, f"role {self.database.role!r} may not SELECT from {ref}", f"run: {grant.as_string(None)}")
        return table

    def _column(self, table: TableFacts, column: str, path: Path, key: str) -> tuple[str, ColumnFacts] | None:
        facts = table.columns.get(column)
        if facts is None:
            hint = did_you_mean(column, table.columns)
            self._error(_where(path, key), f"column {table.ref}.{column} does not exist{hint}",
                        f"add the column to {table.ref}, or name an existing one in `{key}`")
            return None
        return self.database.catalog.table(table.ref, self.index.name).columns[column], facts

    def _typed(
        self, table: TableFacts, column: str, path: Path, expected: Expectation, *,
        key: str = "column", required: bool = False,
    ) -> None:
        found = self._column(table, column, path, key)
        if found is None:
            return
        sql_type, facts = found
        if not expected.accepts(sql_type, facts):
            self._error(_where(path, key), f"column {table.ref}.{column} is {sql_type}; the field needs {expected.label}",
                        _type_fix(sql_type, facts))
        if required and facts.nullable:
            self._nullable(path, table, column, "the field")

    def _nullable(self, path: Path, table: TableFacts, column: str, what: str) -> None:
        statement = sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL;").format(_qualified(table.ref), sql.Identifier(column))
        self.diagnostics.append(warning(
            self.index.name, ".".join(path),
            f"{what} is declared `required: true` but column {table.ref}.{column} is nullable; "
            "a null would reach a field mapped non-null",
            f"set `required: false`, add a `default:`, or run: {statement.as_string(None)}",
        ))

    def _error(self, path: str, message: str, fix: str) -> None:
        self.diagnostics.append(error(self.index.name, path, message, fix))


def _where(path: Path, key: str) -> str:
    """`items.product` for a field, `primary_key` for a top-level key, `items.foreign_key` for a join key."""
    if not path:
        return key
    return ".".join(path) if key == "column" or key == "table" else f"{'.'.join(path)} ({key})"


def _qualified(ref: TableRef) -> sql.Identifier:
    return sql.Identifier(ref.schema, ref.name)


def _aggregated(aggregate: ValueAggregate) -> Expectation:
    """min/max keep the column's type; sum may widen it."""
    if aggregate.kind != "sum":
        return _of_type(aggregate.value_type)
    widened = _SUMMED_INTO.get(aggregate.value_type, ())
    return Expectation(f"`{aggregate.value_type}` (the column's type, or one whose sum is that)",
                       (aggregate.value_type, *widened))


def _type_fix(sql_type: str, column: ColumnFacts) -> str:
    fitting = _fitting_types(sql_type, column)
    if fitting:
        return f"declare the field as one of: {', '.join(fitting)} (or change the column's type)"
    return (f"use a `custom` field with `postgres: [{normalize_pg_type(sql_type)}]` and the OpenSearch type it "
            "should map to")


def _fitting_types(sql_type: str, column: ColumnFacts) -> list[str]:
    return [t for t in SCALAR_TYPES if _of_type(t).accepts(sql_type, column)]
