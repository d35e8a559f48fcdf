"""An index schema compiled against the catalog into a relation tree.

Assembly and resolve read the same tree: every table an index reads, and how each one connects
to its parent row. Compiling it once checks every table, column and key the index names, so a
wrong name fails at start-up with the index and field in the message, not in a batch.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from flusso_engine.documents.catalog import Catalog, TableInfo
from flusso_engine.errors import BuildError
from flusso_engine.model import TableRef
from flusso_engine.schema.fields import (
    AggregateField, BelongsToField, FieldBase, HasManyField, HasOneField, IdsField, JoinField,
    ManyToManyField, ObjectField,
)
from flusso_engine.schema.filters import Filters, Through
from flusso_engine.schema.index_yaml import IndexSchema

#: A field's position in the document: the names from the root down.
Path = tuple[str, ...]
RelationField = JoinField | AggregateField


class LinkKind(enum.Enum):
    """Which row holds the key that connects a related row to its parent row."""

    BELONGS_TO = "belongs_to"  # the parent's `parent_column` holds the related row's `column`
    DIRECT = "direct"  # the related row's `column` holds the parent's `parent_column`
    THROUGH = "through"  # a junction row holds both: left_key → parent, right_key → related


@dataclass(frozen=True, slots=True)
class Link:
    kind: LinkKind
    parent_column: str
    column: str
    junction: TableInfo | None = None
    left_key: str = ""
    right_key: str = ""


@dataclass(frozen=True, slots=True)
class Relation:
    """One related table as the document reads it.

    `key` is the column that identifies a row of `table` to the relations nested under it and
    to reverse lookups: the join's declared primary key, or the catalog key of an aggregated table.
    """

    path: Path
    field: RelationField
    table: TableInfo
    parent: TableInfo
    parent_path: Path | None
    parent_key: str
    link: Link
    key: str | None

    @property
    def filters(self) -> Filters:
        return self.field.filters


@dataclass(frozen=True, slots=True)
class IndexPlan:
    name: str
    schema: IndexSchema
    root: TableInfo
    root_key: tuple[str, ...]
    relations: dict[Path, Relation]

    def relation(self, path: Path) -> Relation:
        return self.relations[path]

    def tables(self) -> set[TableRef]:
        """Every table a change to which may affect a document of this index."""
        found = {self.root.ref}
        for relation in self.relations.values():
            found.add(relation.table.ref)
            if relation.link.junction is not None:
                found.add(relation.link.junction.ref)
        return found


def table_refs(schema: IndexSchema) -> set[TableRef]:
    """The tables a schema names, for loading the catalog before compiling."""
    return {TableRef(schema.db_schema, table) for table in schema.tables()}


def compile_plan(name: str, schema: IndexSchema, catalog: Catalog) -> IndexPlan:
    root = catalog.table(TableRef(schema.db_schema, schema.table), f"index {name!r}")
    root_key = schema.key_columns or root.primary_key
    if not root_key:
        raise BuildError(f"index {name!r}: root table {root.ref} has no primary key; declare `primary_key`")
    for column in root_key:
        root.type_of(column, f"index {name!r} primary_key")
    relations: dict[Path, Relation] = {}
    for path, field, parent_path in _relation_fields(schema.fields, (), None):
        parent = root if parent_path is None else relations[parent_path]
        relations[path] = _relation(name, schema, catalog, path, field, parent, parent_path, root_key)
    return IndexPlan(name, schema, root, tuple(root_key), relations)


def _relation_fields(
    fields: Sequence[FieldBase], at: Path, parent_path: Path | None
) -> Iterator[tuple[Path, RelationField, Path | None]]:
    """Relation fields in document order, each with the relation (or root: None) it hangs from."""
    for field in fields:
        path = (*at, field.name)
        if isinstance(field, ObjectField):
            yield from _relation_fields(field.fields, path, parent_path)
        elif isinstance(field, (JoinField, AggregateField)):
            yield path, field, parent_path
            if isinstance(field, JoinField):
                yield from _relation_fields(field.fields, path, path)


def _relation(
    index: str, schema: IndexSchema, catalog: Catalog, path: Path, field: RelationField,
    parent: TableInfo | Relation, parent_path: Path | None, root_key: Sequence[str],
) -> Relation:
    where = f"index {index!r} field {'.'.join(path)!r}"
    table = catalog.table(TableRef(schema.db_schema, field.table), where)
    if isinstance(parent, Relation):
        parent_table, parent_key = parent.table, parent.key
    else:
        parent_table = parent
        parent_key = root_key[0] if len(root_key) == 1 else None
    if parent_key is None:
        raise BuildError(f"{where}: the parent table {parent_table.ref} needs a single-column key for relations")
    key = field.primary_key if isinstance(field, JoinField) else _aggregate_key(field, table, where)
    if key is not None:
        table.type_of(key, where)
    link = _link(schema, catalog, field, table, parent_table, parent_key, key, where)
    for column in _columns_read(field):
        table.type_of(column, where)
    return Relation(path, field, table, parent_table, parent_path, parent_key, link, key)


def _aggregate_key(field: AggregateField, table: TableInfo, where: str) -> str | None:
    """Aggregates need the aggregated table's own key only to collect ids or to go through a junction."""
    if isinstance(field, IdsField) or field.through is not None:
        return table.single_key(where)
    return table.primary_key[0] if len(table.primary_key) == 1 else None


def _link(
    schema: IndexSchema, catalog: Catalog, field: RelationField, table: TableInfo,
    parent: TableInfo, parent_key: str, key: str | None, where: str,
) -> Link:
    if isinstance(field, BelongsToField):
        parent.type_of(field.column, where)
        return Link(LinkKind.BELONGS_TO, parent_column=field.column, column=field.primary_key)
    through = field.through if isinstance(field, (ManyToManyField, AggregateField)) else None
    if isinstance(through, Through):
        junction = catalog.table(TableRef(schema.db_schema, through.table), where)
        junction.type_of(through.left_key, where)
        junction.type_of(through.right_key, where)
        assert key is not None  # a junction always points at a keyed row (checked above)
        return Link(LinkKind.THROUGH, parent_key, key, junction, through.left_key, through.right_key)
    assert isinstance(field, (HasOneField, HasManyField, AggregateField)) and field.foreign_key
    table.type_of(field.foreign_key, where)
    return Link(LinkKind.DIRECT, parent_column=parent_key, column=field.foreign_key)


def _columns_read(field: RelationField) -> Iterator[str]:
    """The related table's columns a relation filters, orders or reduces by."""
    for condition in field.filters:
        column = getattr(condition, "column", None)
        if column is not None:
            yield column
    yield from (order.column for order in getattr(field, "order_by", ()))
    if isinstance(field, AggregateField) and getattr(field, "column", None):
        yield field.column  # type: ignore[attr-defined]
