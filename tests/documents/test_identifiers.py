"""Names and values from a schema are quoted, never spliced: a hostile name cannot inject SQL."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from flusso_engine.model import Op
from flusso_engine.schema import parse_index_schema
from tests.documents.store import Builder, body, change

ROOT = 'we"ird; DROP TABLE victim; --'
CHILD = "c%s'); DROP TABLE victim; --"
COLUMN = 'na"me; --'

SCHEMA = """version: 1
table: placeholder_root
primary_key: id
fields:
  - keyword: label
    column: placeholder_column
    required: true
  - has_many: children
    table: placeholder_child
    foreign_key: parent_id
    primary_key: id
    filters:
      - {column: tag, op: like, value: "x'%"}
    fields:
      - keyword: tag
        required: true
"""


def test_hostile_table_and_column_names_are_only_names(pg: psycopg.Connection, builder: Builder, tmp_path: Path) -> None:
    pg.execute("CREATE TABLE victim (id int)")
    pg.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, {} text)").format(sql.Identifier(ROOT), sql.Identifier(COLUMN)))
    pg.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, parent_id int, tag text)").format(sql.Identifier(CHILD)))
    pg.execute(sql.SQL("INSERT INTO {} VALUES (1, 'ok')").format(sql.Identifier(ROOT)))
    pg.execute(sql.SQL("INSERT INTO {} VALUES (5, 1, 'x''%y'), (6, 1, 'y')").format(sql.Identifier(CHILD)))
    path = tmp_path / "s.schema.yml"
    path.write_text(SCHEMA)
    parsed = parse_index_schema(path)
    label, children = parsed.fields
    hostile = parsed.model_copy(update={"table": ROOT, "fields": (
        label.model_copy(update={"column": COLUMN}), children.model_copy(update={"table": CHILD}),
    )})
    b = builder(weird=hostile)
    assert body(b, "weird", "1") == {"label": "ok", "children": [{"tag": "x'%y"}]}
    assert b.resolve([change(CHILD, "6", Op.UPDATE)]) == {"weird": {("1",)}}
    assert pg.execute("SELECT to_regclass('victim') IS NOT NULL").fetchone() == (True,)
